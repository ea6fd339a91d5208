#!/usr/bin/env python3
"""Generate one deterministic day (2026-11-28) of an AWS organization's CloudTrail.

The output is a tree of real trail files in the layout an organization trail writes to S3::

    OUT/AWSLogs/o-a1b2c3d4e5/ACCOUNT/CloudTrail/REGION/2026/11/28/
        ACCOUNT_CloudTrail_REGION_20261128THHMMZ_XXXXXXXXXXXXXXXX.json.gz

each one gzip'd compact JSON ``{"Records":[...]}`` with ``eventVersion`` first in every record, one
file per account, region and 5-minute delivery slot that has events. The folder date and the time in
the name are the delivery time, so events from the last minutes of the day land in ``2026/11/29``
and a few stragglers from 2026-11-27 23:5x sit in the first file of ``2026/11/28``, as CloudTrail
does.

Background traffic (thousands of successful calls and some non-denial errors of many services) is
mixed with App Runner denial scenarios; ``scripts/SAMPLE_DAY.md`` lists them with the principal,
the actions, the counts and what an IAM administrator should conclude. The generator is standalone:
it imports nothing from ``analysis``. Output is byte-identical on every run (fixed seed, fixed date,
gzip mtime 0, filenames drawn from the seeded generator).

    python scripts/generate_sample_day.py [--out analysis/data/sample] [--quiet]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import random
import re
import shutil
import string
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20261128
DAY = datetime(2026, 11, 28, tzinfo=UTC)
SLOT = timedelta(minutes=5)

ORG_ID = "o-a1b2c3d4e5"
PROD = "111122223333"  # owns App Runner services web, api (us-east-1) and worker (eu-west-1)
STAGING = "444455556666"  # owns web-staging (us-east-1)
CI = "777788889999"  # CI/tools: GitHub OIDC role GitHubActionsDeploy, legacy user svc-legacy
SECURITY = "210987654321"  # management + security: Organizations, Identity Center, trail bucket
OUTSIDE = "999988887777"  # not in the organization, not trusted
PARTNER = "123456789012"  # trusted partner, not in the organization
MEMBERS = (PROD, STAGING, CI, SECURITY)

IDENTITY_STORE_ARN = f"arn:aws:identitystore::{SECURITY}:identitystore/d-9067a1b2c3"
TRAIL_BUCKET = f"aws-cloudtrail-logs-{SECURITY}-org"
SCP_ARN = f"arn:aws:organizations::{SECURITY}:policy/{ORG_ID}/service_control_policy/p-regionlock1"
DENY_POLICY_ARN = f"arn:aws:iam::{PROD}:policy/DenyDestructiveAppRunner"
INSTANCE_ROLE_ARN = f"arn:aws:iam::{PROD}:role/AppRunnerInstanceRole"
ECR_ACCESS_ROLE_ARN = f"arn:aws:iam::{PROD}:role/service-role/AppRunnerECRAccessRole"
SSO_DEVELOPER_ROLE = "AWSReservedSSO_Developer_Access_0a1b2c3d4e5f6789"
SSO_ADMIN_ROLE = "AWSReservedSSO_AdministratorAccess_5c1e7a9b3d2f4e60"
SSO_SECURITY_ROLE = "AWSReservedSSO_SecurityAudit_9f8e7d6c5b4a3210"
SSO_SUPPORT_ROLE = "AWSReservedSSO_SupportEngineer_1a2b3c4d5e6f7a8b"
GITHUB_OIDC = f"arn:aws:iam::{CI}:oidc-provider/token.actions.githubusercontent.com"
SAML_QUALIFIER = "xQ7pV2mK9rT4wZ8yB3nC6dF1gH0="
DENIAL_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Client.UnauthorizedOperation"}
)

# name -> (owner account, region, service id assigned by AWS)
APP_SERVICES: dict[str, tuple[str, str, str]] = {
    "web": (PROD, "us-east-1", "8fe1e10304f84fd2b0df550fe98a71fa"),
    "api": (PROD, "us-east-1", "2c5b7e09a4d34f1e8b6a90c3d7f5e214"),
    "worker": (PROD, "eu-west-1", "d93a0f6c21be4c7a95e8f04b6a1c3d58"),
    "web-staging": (STAGING, "us-east-1", "6e1f9b3a0c8d47e2a5b4c7d9e0f1a236"),
}
DELETED_SERVICE_ARN = f"arn:aws:apprunner:us-east-1:{PROD}:service/web-old/0b7d1c9e4a2f48d6b3e5a7c9d1f3b5e7"

# User agents; "{cmd}" is replaced by the CLI command (e.g. "apprunner.describe-service").
CLI_MAC = (
    "aws-cli/2.22.9 md/awscrt#0.23.4 ua/2.1 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.7 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{cmd}"
)
CLI_LINUX = (
    "aws-cli/2.22.9 md/awscrt#0.23.4 ua/2.1 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.12.7 "
    "md/pyimpl#CPython exec-env/GitHubActions cfg/retry-mode#standard md/installer#exe "
    "md/distrib#ubuntu.24 md/prompt#off md/command#{cmd}"
)
CLI_OLD = "aws-cli/1.29.62 Python/3.9.18 Linux/5.10.228-219.884.amzn2.x86_64 botocore/1.31.62"
BOTO_LAMBDA = (
    "Boto3/1.35.60 md/Botocore#1.35.60 ua/2.0 os/linux#5.10.228-219.884.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy "
    "Botocore/1.35.60"
)
GO_SDK = "aws-sdk-go-v2/1.32.5 ua/2.1 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64"
JS_ACTION = "aws-sdk-js/3.699.0 ua/2.1 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.18.0 api/sts#3.699.0"
CONSOLE = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
CONSOLE_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
TERRAFORM = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.78.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.5 ua/2.1 os/linux "
    "lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 api/apprunner#1.32.6"
)
JENKINS = (
    "aws-sdk-java/1.12.780 Linux/5.15.0-1071-aws OpenJDK_64-Bit_Server_VM/17.0.13+11 java/17.0.13 "
    "vendor/Eclipse_Adoptium cfg/retry-mode/standard"
)
PYTHON_REQUESTS = "python-requests/2.31"
SSM_AGENT = "aws-sdk-go/1.55.5 (go1.22.8; linux; amd64) amazon-ssm-agent/3.3.1142.0"

CLI_SERVICE = {"monitoring": "cloudwatch", "s3": "s3api"}
VERSION_BY_SOURCE = {
    "s3.amazonaws.com": "1.10",
    "ec2.amazonaws.com": "1.10",
    "signin.amazonaws.com": "1.09",
    "monitoring.amazonaws.com": "1.09",
    "logs.amazonaws.com": "1.09",
    "ssm.amazonaws.com": "1.09",
}
HOST_BY_SOURCE = {
    "iam.amazonaws.com": "iam.amazonaws.com",
    "organizations.amazonaws.com": "organizations.us-east-1.amazonaws.com",
    "signin.amazonaws.com": "signin.aws.amazon.com",
    "ecr.amazonaws.com": "api.ecr.{region}.amazonaws.com",
    "sso.amazonaws.com": "portal.sso.{region}.amazonaws.com",
    "s3.amazonaws.com": "s3.{region}.amazonaws.com",
}
READ_PREFIXES = (
    "Describe",
    "List",
    "Get",
    "Lookup",
    "BatchGet",
    "BatchCheck",
    "AssumeRole",
    "Decrypt",
    "Generate",
)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stable(prefix: str, key: str, length: int) -> str:
    """An AWS-looking identifier (AIDA…, AROA…, AKIA…) that depends only on ``key``."""
    return prefix + base64.b32encode(hashlib.sha256(key.encode()).digest()).decode()[:length]


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", re.sub(r"\d{8}(v\d)?$", "", name)).lower()


def expiry(when: datetime) -> str:
    """STS writes credential expiry as e.g. "Nov 28, 2026, 10:50:02 AM"."""
    hour = when.hour % 12 or 12
    return f"{when:%b} {when.day}, {when.year}, {hour}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


def service_arn(name: str) -> str:
    account, region, service_id = APP_SERVICES[name]
    return f"arn:aws:apprunner:{region}:{account}:service/{name}/{service_id}"


# ------------------------------------------------------------------------------------------------
# Error messages, in the forms AWS writes them (see shared/corpus/messages.md)


def denied(arn: str, action: str, resource: str | None = None, clause: str = "") -> str:
    text = f"User: {arn} is not authorized to perform: {action}"
    if resource is not None:
        text += f" on resource: {resource}"
    return f"{text} {clause}" if clause else text


def no_allow(kind: str, action: str) -> str:
    return f"because no {kind} allows the {action} action"


def explicit(kind: str, policy: str | None = None) -> str:
    article = "an" if kind[0] in "aeiou" else "a"
    text = f"with an explicit deny in {article} {kind}"
    return f"{text}: {policy}" if policy else text


# ------------------------------------------------------------------------------------------------
# Principals


@dataclass(frozen=True)
class Actor:
    """Who calls: the userIdentity block, the ARN AWS names in messages, and the client."""

    identity: dict[str, Any]
    arn: str | None
    account: str | None
    ip: str
    agent: str
    console: bool = False
    tls: bool = True
    tls_version: str = "TLSv1.3"


def iam_user(account: str, name: str, ip: str, agent: str, *, tls_version: str = "TLSv1.3") -> Actor:
    arn = f"arn:aws:iam::{account}:user/{name}"
    identity = {
        "type": "IAMUser",
        "principalId": stable("AIDA", f"{account}/user/{name}", 17),
        "arn": arn,
        "accountId": account,
        "accessKeyId": stable("AKIA", f"key/{account}/{name}", 16),
        "userName": name,
    }
    return Actor(identity, arn, account, ip, agent, tls_version=tls_version)


def role_id(account: str, role: str) -> str:
    return stable("AROA", f"{account}/role/{role}", 17)


def role_session(
    account: str,
    role: str,
    session: str,
    created: datetime,
    ip: str,
    agent: str,
    *,
    path: str = "/",
    console: bool = False,
    invoked_by: str | None = None,
    web_id: dict[str, Any] | None = None,
    mfa: bool = False,
) -> Actor:
    rid = role_id(account, role)
    arn = f"arn:aws:sts::{account}:assumed-role/{role}/{session}"
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"{rid}:{session}",
        "arn": arn,
        "accountId": account,
        "accessKeyId": stable("ASIA", f"{account}/{role}/{session}/{iso(created)}", 16),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": rid,
                "arn": f"arn:aws:iam::{account}:role{path}{role}",
                "accountId": account,
                "userName": role,
            },
            "webIdFederationData": web_id or {},
            "attributes": {"creationDate": iso(created), "mfaAuthenticated": "true" if mfa else "false"},
        },
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
        return Actor(identity, arn, account, invoked_by, invoked_by, tls=False)
    return Actor(identity, arn, account, ip, agent, console=console)


def sso_session(account: str, role: str, user: str, created: datetime, ip: str, agent: str) -> Actor:
    return role_session(account, role, user, created, ip, agent, path="/aws-reserved/sso.amazonaws.com/", console=True)


def root_console(account: str, created: datetime, ip: str) -> Actor:
    arn = f"arn:aws:iam::{account}:root"
    identity = {
        "type": "Root",
        "principalId": account,
        "arn": arn,
        "accountId": account,
        "accessKeyId": stable("ASIA", f"root/{account}/{iso(created)}", 16),
        "sessionContext": {
            "sessionIssuer": {},
            "webIdFederationData": {},
            "attributes": {"creationDate": iso(created), "mfaAuthenticated": "true"},
        },
    }
    return Actor(identity, arn, account, ip, CONSOLE_WIN, console=True)


def federated_user(account: str, name: str, issuer: str, created: datetime, ip: str, agent: str) -> Actor:
    arn = f"arn:aws:sts::{account}:federated-user/{name}"
    identity = {
        "type": "FederatedUser",
        "principalId": f"{account}:{name}",
        "arn": arn,
        "accountId": account,
        "accessKeyId": stable("ASIA", f"federated/{account}/{name}/{iso(created)}", 16),
        "sessionContext": {
            "sessionIssuer": {
                "type": "IAMUser",
                "principalId": stable("AIDA", f"{account}/user/{issuer}", 17),
                "arn": f"arn:aws:iam::{account}:user/{issuer}",
                "accountId": account,
                "userName": issuer,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": iso(created), "mfaAuthenticated": "false"},
        },
    }
    return Actor(identity, arn, account, ip, agent)


def aws_account(caller: Actor) -> Actor:
    """How a caller from another account appears in the resource owner's log."""
    identity = {
        "type": "AWSAccount",
        "principalId": caller.identity["principalId"],
        "accountId": caller.account,
    }
    return replace(caller, identity=identity)


def aws_service(service: str) -> Actor:
    return Actor({"type": "AWSService", "invokedBy": service}, service, None, service, service, tls=False)


def saml_user(user: str, ip: str, agent: str, message_arn: str) -> Actor:
    identity = {
        "type": "SAMLUser",
        "principalId": f"{SAML_QUALIFIER}:{user}",
        "userName": user,
        "identityProvider": SAML_QUALIFIER,
    }
    return Actor(identity, message_arn, None, ip, agent)


def web_identity_user(subject: str, ip: str, agent: str, message_arn: str | None = None) -> Actor:
    identity = {
        "type": "WebIdentityUser",
        "principalId": f"{GITHUB_OIDC}:sts.amazonaws.com:{subject}",
        "userName": subject,
        "identityProvider": GITHUB_OIDC,
    }
    return Actor(identity, message_arn, None, ip, agent)


def identity_center_user(user_id: str, ip: str) -> Actor:
    identity = {
        "type": "IdentityCenterUser",
        "accountId": SECURITY,
        "onBehalfOf": {"userId": user_id, "identityStoreArn": IDENTITY_STORE_ARN},
        "credentialId": stable("", f"credential/{user_id}", 52).replace("=", "") + "EXAMPLE",
    }
    return Actor(identity, None, SECURITY, ip, CONSOLE)


# ------------------------------------------------------------------------------------------------
# The day


@dataclass
class Event:
    record: dict[str, Any]
    when: datetime
    seq: int
    late: int = 0
    scenario: str | None = None


@dataclass
class Scenario:
    key: str
    title: str
    principal: str
    expected: int
    ids: list[str] = field(default_factory=list)


class SampleDay:
    """Builds every record of the day in memory, then writes the trail files."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.events: list[Event] = []
        self.duplicates: list[Event] = []
        self.scenarios: dict[str, Scenario] = {}

    # -- primitives -------------------------------------------------------------------------------

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def token(self, length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(length))

    def hex(self, length: int) -> str:
        return self.token(length, "0123456789abcdef")

    @staticmethod
    def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
        return DAY + timedelta(hours=hour, minutes=minute, seconds=second)

    def jitter(self, when: datetime, seconds: int) -> datetime:
        return when + timedelta(seconds=self.rng.randint(0, seconds))

    def scenario(self, key: str, title: str, principal: str, expected: int) -> None:
        self.scenarios[key] = Scenario(key, title, principal, expected)

    def record(
        self,
        actor: Actor,
        when: datetime,
        source: str,
        name: str,
        region: str,
        *,
        recipient: str | None = None,
        request: Any = None,
        response: Any = None,
        error: tuple[str, str | None] | None = None,
        read_only: bool | None = None,
        resources: list[dict[str, str]] | None = None,
        additional: dict[str, Any] | None = None,
        shared: str | None = None,
        event_type: str = "AwsApiCall",
        vpce: str | None = None,
        request_id: str | None = None,
    ) -> dict[str, Any]:
        """One CloudTrail record, keys in the order AWS writes them."""
        prefix = source.split(".")[0]
        agent = actor.agent.replace("{cmd}", f"{CLI_SERVICE.get(prefix, prefix)}.{kebab(name)}")
        rec: dict[str, Any] = {
            "eventVersion": VERSION_BY_SOURCE.get(source, "1.11"),
            "userIdentity": actor.identity,
            "eventTime": iso(when),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": actor.ip,
            "userAgent": agent,
        }
        if error is not None:
            rec["errorCode"] = error[0]
            if error[1] is not None:
                rec["errorMessage"] = error[1]
        rec["requestParameters"] = request
        rec["responseElements"] = response
        if additional is not None:
            rec["additionalEventData"] = additional
        if event_type == "AwsApiCall":
            if request_id is None:
                request_id = self.token(16) if source == "s3.amazonaws.com" else self.uuid4()
            rec["requestID"] = request_id
        rec["eventID"] = self.uuid4()
        rec["readOnly"] = name.startswith(READ_PREFIXES) if read_only is None else read_only
        if resources is not None:
            rec["resources"] = resources
        rec["eventType"] = event_type
        rec["managementEvent"] = True
        rec["recipientAccountId"] = recipient or actor.account
        if shared is not None:
            rec["sharedEventID"] = shared
        if vpce is not None:
            rec["vpcEndpointId"] = vpce
        rec["eventCategory"] = "Management"
        if actor.tls:
            host = HOST_BY_SOURCE.get(source, f"{prefix}.{{region}}.amazonaws.com").format(region=region)
            if source == "sts.amazonaws.com":
                host = f"sts.{region}.amazonaws.com"
            cipher = "TLS_AES_128_GCM_SHA256" if actor.tls_version == "TLSv1.3" else "ECDHE-RSA-AES128-GCM-SHA256"
            rec["tlsDetails"] = {
                "tlsVersion": actor.tls_version,
                "cipherSuite": cipher,
                "clientProvidedHostHeader": host,
            }
        if actor.console:
            rec["sessionCredentialFromConsole"] = "true"
        return rec

    def emit(self, rec: dict[str, Any], *, scenario: str | None = None, late: int | None = None) -> Event:
        when = datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if late is None:  # a few records miss their window and arrive in the next file
            late = 1 if self.rng.random() < 0.02 else 0
        event = Event(rec, when, len(self.events), late, scenario)
        self.events.append(event)
        if scenario is not None:
            self.scenarios[scenario].ids.append(rec["eventID"])
        return event

    def call(self, actor: Actor, when: datetime, source: str, name: str, region: str, **kwargs: Any) -> dict[str, Any]:
        scenario = kwargs.pop("scenario", None)
        late = kwargs.pop("late", None)
        rec = self.record(actor, when, source, name, region, **kwargs)
        self.emit(rec, scenario=scenario, late=late)
        return rec

    def apprunner(
        self,
        actor: Actor,
        when: datetime,
        name: str,
        region: str,
        request: Any,
        *,
        message: str | None = None,
        code: str = "AccessDeniedException",
        deny: bool = False,
        response: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """An App Runner call; ``deny`` (or a message) makes it a denial."""
        error = (code, message) if deny or message is not None else kwargs.pop("error", None)
        return self.call(
            actor,
            when,
            "apprunner.amazonaws.com",
            name,
            region,
            request=request,
            response=response,
            error=error,
            **kwargs,
        )

    def burst(
        self, actor: Actor, start: datetime, calls: Iterable[tuple[str, str, str, Any]], gap: tuple[int, int]
    ) -> datetime:
        """Several successful calls in a row, ``gap`` seconds apart; returns the last time."""
        when = start
        for source, name, region, request in calls:
            self.call(actor, when, source, name, region, request=request)
            when += timedelta(seconds=self.rng.randint(*gap))
        return when

    def cross_account_assume(
        self, caller: Actor, when: datetime, target_role_arn: str, session: str, region: str = "us-east-1"
    ) -> None:
        """sts:AssumeRole into another account: one record in each account's log, one sharedEventID."""
        owner = target_role_arn.split(":")[4]
        target_role = target_role_arn.rsplit("/", 1)[1]
        shared = self.uuid4()
        request = {"roleArn": target_role_arn, "roleSessionName": session}
        response = {
            "credentials": {
                "accessKeyId": stable("ASIA", f"{owner}/{target_role}/{session}/{iso(when)}", 16),
                "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
                "expiration": expiry(when + timedelta(hours=1)),
            },
            "assumedRoleUser": {
                "assumedRoleId": f"{role_id(owner, target_role)}:{session}",
                "arn": f"arn:aws:sts::{owner}:assumed-role/{target_role}/{session}",
            },
        }
        resources = [{"accountId": owner, "type": "AWS::IAM::Role", "ARN": target_role_arn}]
        request_id = self.uuid4()
        for who, recipient in ((caller, caller.account), (aws_account(caller), owner)):
            self.call(
                who,
                when,
                "sts.amazonaws.com",
                "AssumeRole",
                region,
                recipient=recipient,
                request=request,
                response=response,
                resources=resources,
                shared=shared,
                request_id=request_id,
            )

    # -- background traffic -----------------------------------------------------------------------

    def app_runner_runtime(self) -> None:
        """App Runner assumes each service's instance role; the app calls KMS, Secrets Manager, SSM."""
        secrets = {
            "web": ("web/session-key", "/web/feature-flags"),
            "api": ("api/db-credentials", "/api/config"),
            "worker": ("worker/queue-credentials", "/worker/config"),
            "web-staging": ("staging/web/session-key", "/web-staging/feature-flags"),
        }
        for name, (account, region, _) in APP_SERVICES.items():
            role_arn = INSTANCE_ROLE_ARN if account == PROD else f"arn:aws:iam::{account}:role/AppRunnerInstanceRole"
            secret, parameter = secrets[name]
            key_arn = f"arn:aws:kms:{region}:{account}:key/{stable('', 'kms/' + name, 8).lower()}-3f2a-4c1d-9e8b"
            start = DAY - timedelta(minutes=4) if name == "web" else DAY
            step = {"web": 6, "api": 7, "worker": 9, "web-staging": 10}[name]
            session = ip = ""
            created = start
            when = self.jitter(start, 60)
            while when < DAY + timedelta(days=1):
                if not session or when - created > timedelta(hours=1):
                    created = when
                    session = self.hex(32)
                    ip = f"3.{self.rng.randint(80, 95)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"
                    svc = aws_service("tasks.apprunner.amazonaws.com")
                    self.call(
                        svc,
                        when,
                        "sts.amazonaws.com",
                        "AssumeRole",
                        region,
                        recipient=account,
                        request={"roleArn": role_arn, "roleSessionName": session},
                        response={
                            "credentials": {
                                "accessKeyId": stable("ASIA", session, 16),
                                "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
                                "expiration": expiry(when + timedelta(hours=1)),
                            },
                            "assumedRoleUser": {
                                "assumedRoleId": f"{role_id(account, 'AppRunnerInstanceRole')}:{session}",
                                "arn": f"arn:aws:sts::{account}:assumed-role/AppRunnerInstanceRole/{session}",
                            },
                        },
                        resources=[{"accountId": account, "type": "AWS::IAM::Role", "ARN": role_arn}],
                        shared=self.uuid4(),
                    )
                app = role_session(account, "AppRunnerInstanceRole", session, created, ip, f"{GO_SDK} api/kms#1.37.6")
                calls = self.rng.sample(("secret", "parameters", "metrics", "secret"), self.rng.randint(1, 3))
                at = when
                for what in calls:
                    at += timedelta(seconds=self.rng.randint(0, 40))
                    if at >= DAY + timedelta(days=1):  # the day ends here
                        break
                    if what == "secret":
                        self.call(
                            app,
                            at,
                            "kms.amazonaws.com",
                            "Decrypt",
                            region,
                            request={
                                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                                "encryptionContext": {
                                    "SecretARN": f"arn:aws:secretsmanager:{region}:{account}:secret:{secret}-AbCdEf"
                                },
                            },
                            resources=[{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_arn}],
                        )
                        self.call(
                            app,
                            at + timedelta(seconds=1),
                            "secretsmanager.amazonaws.com",
                            "GetSecretValue",
                            region,
                            request={"secretId": secret},
                        )
                    elif what == "parameters":
                        error = ("ThrottlingException", "Rate exceeded") if self.rng.random() < 0.04 else None
                        self.call(
                            app,
                            at,
                            "ssm.amazonaws.com",
                            "GetParameters",
                            region,
                            request={"names": [parameter], "withDecryption": True},
                            error=error,
                        )
                    else:
                        self.call(
                            app,
                            at,
                            "monitoring.amazonaws.com",
                            "PutMetricData",
                            region,
                            request={
                                "namespace": f"App/{name}",
                                "metricData": [
                                    {
                                        "metricName": "QueueDepth" if name == "worker" else "ActiveSessions",
                                        "unit": "Count",
                                    }
                                ],
                            },
                        )
                when += timedelta(minutes=step, seconds=self.rng.randint(-90, 90))

    def config_recorder(self) -> None:
        """AWS Config's service-linked role describing resources, hourly."""
        plans = [
            (PROD, "us-east-1", ["web", "api"]),
            (PROD, "eu-west-1", ["worker"]),
            (STAGING, "us-east-1", ["web-staging"]),
        ]
        for account, region, services in plans:
            for hour in range(24):
                when = self.jitter(self.at(hour, 22), 240)
                actor = role_session(
                    account,
                    "AWSServiceRoleForConfig",
                    "AWSConfig-Describe",
                    when - timedelta(minutes=3),
                    "",
                    "",
                    path="/aws-service-role/config.amazonaws.com/",
                    invoked_by="config.amazonaws.com",
                )
                calls: list[tuple[str, str, str, Any]] = [
                    (
                        "ec2.amazonaws.com",
                        "DescribeSecurityGroups",
                        region,
                        {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}},
                    ),
                    ("ec2.amazonaws.com", "DescribeVpcs", region, {"vpcSet": {}, "filterSet": {}}),
                    ("ec2.amazonaws.com", "DescribeSubnets", region, {"subnetSet": {}, "filterSet": {}}),
                    (
                        "ec2.amazonaws.com",
                        "DescribeNetworkInterfaces",
                        region,
                        {"networkInterfaceIdSet": {}, "filterSet": {}},
                    ),
                ]
                for svc in services:
                    calls.append(
                        ("apprunner.amazonaws.com", "DescribeService", region, {"serviceArn": service_arn(svc)})
                    )
                    calls.append(
                        ("apprunner.amazonaws.com", "ListTagsForResource", region, {"resourceArn": service_arn(svc)})
                    )
                last = self.burst(actor, when, calls, (1, 4))
                if account == PROD and region == "us-east-1" and hour < 6:
                    self.apprunner(
                        actor,
                        last,
                        "DescribeService",
                        region,
                        {"serviceArn": DELETED_SERVICE_ARN},
                        error=(
                            "ResourceNotFoundException",
                            f"Service with the provided ARN doesn't exist: {DELETED_SERVICE_ARN}",
                        ),
                    )
                if hour % 7 == 3:
                    self.apprunner(
                        actor,
                        last + timedelta(seconds=1),
                        "ListOperations",
                        region,
                        {"serviceArn": service_arn(services[0])},
                        error=("ThrottlingException", "Rate exceeded"),
                    )

    def security_audit(self) -> None:
        """A scanner Lambda in the security account assumes OrgSecurityAudit in each member, hourly."""
        scanner_created = self.at(0, 4)
        for hour in range(24):
            start = self.jitter(self.at(hour, 7), 90)
            if start - scanner_created > timedelta(hours=1):
                scanner_created = start - timedelta(seconds=5)
            scanner = role_session(
                SECURITY,
                "SecurityAuditScanner",
                "SecurityAuditScanner",
                scanner_created,
                f"54.{self.rng.randint(160, 170)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}",
                BOTO_LAMBDA,
            )
            self.call(scanner, start, "organizations.amazonaws.com", "ListAccounts", "us-east-1", request=None)
            when = start + timedelta(seconds=2)
            for account in (PROD, STAGING, CI):
                session = f"security-scan-{hour:02d}00"
                self.cross_account_assume(scanner, when, f"arn:aws:iam::{account}:role/OrgSecurityAudit", session)
                audit = role_session(account, "OrgSecurityAudit", session, when, scanner.ip, BOTO_LAMBDA)
                regions = ["us-east-1", "eu-west-1"] if account == PROD else ["us-east-1"]
                if hour == 3:  # daily sweep of the other enabled regions
                    regions += ["us-west-2", "eu-central-1"]
                calls: list[tuple[str, str, str, Any]] = [
                    ("iam.amazonaws.com", "ListRoles", "us-east-1", None),
                    ("iam.amazonaws.com", "ListUsers", "us-east-1", None),
                    ("s3.amazonaws.com", "ListBuckets", "us-east-1", {"Host": "s3.us-east-1.amazonaws.com"}),
                ]
                if hour % 6 == 0:
                    calls.append(
                        (
                            "iam.amazonaws.com",
                            "GetAccountAuthorizationDetails",
                            "us-east-1",
                            {"filter": ["User", "Role", "Group", "LocalManagedPolicy"]},
                        )
                    )
                for region in regions:
                    calls.append(
                        ("ec2.amazonaws.com", "DescribeInstances", region, {"instancesSet": {}, "filterSet": {}})
                    )
                    calls.append(
                        (
                            "ec2.amazonaws.com",
                            "DescribeSecurityGroups",
                            region,
                            {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}},
                        )
                    )
                    if region in ("us-east-1", "eu-west-1"):
                        calls.append(("apprunner.amazonaws.com", "ListServices", region, None))
                        for svc, (owner, svc_region, _) in APP_SERVICES.items():
                            if owner == account and svc_region == region:
                                calls.append(
                                    (
                                        "apprunner.amazonaws.com",
                                        "DescribeService",
                                        region,
                                        {"serviceArn": service_arn(svc)},
                                    )
                                )
                when = self.burst(audit, when + timedelta(seconds=1), calls, (0, 2))

    def trail_bucket_checks(self) -> None:
        """CloudTrail itself checks the organization trail bucket's ACL (AWSService caller)."""
        svc = aws_service("cloudtrail.amazonaws.com")
        for hour in range(0, 24, 2):
            when = self.jitter(self.at(hour, 41), 200)
            self.call(
                svc,
                when,
                "s3.amazonaws.com",
                "GetBucketAcl",
                "us-east-1",
                recipient=SECURITY,
                request={"bucketName": TRAIL_BUCKET, "Host": f"{TRAIL_BUCKET}.s3.us-east-1.amazonaws.com", "acl": ""},
                additional={
                    "SignatureVersion": "SigV4",
                    "CipherSuite": "TLS_AES_128_GCM_SHA256",
                    "bytesTransferredIn": 0,
                    "AuthenticationMethod": "AuthHeader",
                    "bytesTransferredOut": 552,
                },
                resources=[{"accountId": SECURITY, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{TRAIL_BUCKET}"}],
                shared=self.uuid4(),
            )

    def scheduled_jobs(self) -> None:
        """A Lambda in prod every 15 minutes; SSM agents on build hosts in the CI account."""
        created = DAY
        for quarter in range(96):
            when = self.jitter(DAY + timedelta(minutes=15 * quarter + 3), 40)
            if when - created > timedelta(hours=1) or quarter == 0:
                created = when - timedelta(seconds=1)
            job = role_session(PROD, "invoice-exporter-role", "invoice-exporter", created, "44.211.17.90", BOTO_LAMBDA)
            table = "invoices" if quarter % 19 else "invoices-v1"
            error = None
            if table == "invoices-v1":
                error = ("ResourceNotFoundException", f"Requested resource not found: Table: {table} not found")
            self.call(
                job,
                when,
                "dynamodb.amazonaws.com",
                "DescribeTable",
                "us-east-1",
                request={"tableName": table},
                error=error,
            )
            self.call(
                job,
                when + timedelta(seconds=1),
                "kms.amazonaws.com",
                "GenerateDataKey",
                "us-east-1",
                request={"keyId": "alias/invoice-exports", "keySpec": "AES_256"},
            )
            if quarter % 4 == 1:
                self.call(
                    job,
                    when + timedelta(seconds=2),
                    "logs.amazonaws.com",
                    "CreateLogStream",
                    "us-east-1",
                    request={
                        "logGroupName": "/aws/lambda/invoice-exporter",
                        "logStreamName": f"2026/11/28/[$LATEST]{self.hex(32)}",
                    },
                )
        for host, instance in (("10.20.1.17", "i-0a1b2c3d4e5f60718"), ("10.20.2.41", "i-0f9e8d7c6b5a40312")):
            created = DAY
            for step in range(48):
                when = self.jitter(DAY + timedelta(minutes=30 * step + 9), 120)
                if when - created > timedelta(hours=6) or step == 0:
                    created = when - timedelta(minutes=2)
                agent = role_session(CI, "BuildAgentRole", instance, created, host, SSM_AGENT)
                self.call(
                    agent,
                    when,
                    "ssm.amazonaws.com",
                    "UpdateInstanceInformation",
                    "us-east-1",
                    request={
                        "instanceId": instance,
                        "agentVersion": "3.3.1142.0",
                        "agentStatus": "Active",
                        "platformType": "Linux",
                        "platformName": "Ubuntu",
                        "platformVersion": "24.04",
                    },
                    read_only=False,
                )
                if step % 2 == 0:
                    self.call(
                        agent,
                        when + timedelta(seconds=3),
                        "ec2.amazonaws.com",
                        "DescribeInstances",
                        "us-east-1",
                        request={"instancesSet": {"items": [{"instanceId": instance}]}, "filterSet": {}},
                    )
                build = replace(agent, agent=CLI_OLD)
                self.burst(
                    build,
                    when + timedelta(seconds=self.rng.randint(20, 90)),
                    [
                        ("ecr.amazonaws.com", "GetAuthorizationToken", "us-east-1", None),
                        ("s3.amazonaws.com", "ListBuckets", "us-east-1", {"Host": "s3.amazonaws.com"}),
                    ],
                    (1, 4),
                )
        # A Lambda in staging every 20 minutes, sometimes throttled by DynamoDB's control plane.
        created = DAY
        for step in range(72):
            when = self.jitter(DAY + timedelta(minutes=20 * step + 11), 60)
            if when - created > timedelta(hours=1) or step == 0:
                created = when - timedelta(seconds=1)
            job = role_session(STAGING, "cache-warmer-role", "cache-warmer", created, "52.4.180.12", BOTO_LAMBDA)
            error = None
            if step % 23 == 5:
                error = ("ThrottlingException", "Rate of requests exceeds the allowed throughput.")
            self.call(
                job,
                when,
                "dynamodb.amazonaws.com",
                "DescribeTable",
                "us-east-1",
                request={"tableName": "sessions"},
                error=error,
            )
            self.call(
                job,
                when + timedelta(seconds=1),
                "ssm.amazonaws.com",
                "GetParameter",
                "us-east-1",
                request={"name": "/web-staging/cache/warm-list", "withDecryption": False},
            )

    def humans(self) -> None:
        """Engineers at work: console sessions and the CLI, mostly successes."""
        # An administrator in prod through Identity Center (console).
        for hour, minute in ((8, 10), (9, 40), (11, 15), (13, 30), (15, 10), (16, 45)):
            start = self.at(hour, minute, self.rng.randint(0, 59))
            ops = sso_session(PROD, SSO_ADMIN_ROLE, "ops.lead@example.com", self.at(8, 9), "198.51.100.14", CONSOLE)
            calls: list[tuple[str, str, str, Any]] = [
                ("apprunner.amazonaws.com", "ListServices", "us-east-1", None),
                ("apprunner.amazonaws.com", "DescribeService", "us-east-1", {"serviceArn": service_arn("web")}),
                (
                    "apprunner.amazonaws.com",
                    "ListOperations",
                    "us-east-1",
                    {"serviceArn": service_arn("web"), "maxResults": 20},
                ),
                ("apprunner.amazonaws.com", "DescribeService", "us-east-1", {"serviceArn": service_arn("api")}),
                ("logs.amazonaws.com", "DescribeLogGroups", "us-east-1", {"logGroupNamePrefix": "/aws/apprunner/web"}),
                ("monitoring.amazonaws.com", "DescribeAlarms", "us-east-1", None),
                ("apprunner.amazonaws.com", "ListServices", "eu-west-1", None),
                ("apprunner.amazonaws.com", "DescribeService", "eu-west-1", {"serviceArn": service_arn("worker")}),
                (
                    "cloudtrail.amazonaws.com",
                    "LookupEvents",
                    "us-east-1",
                    {
                        "lookupAttributes": [
                            {"attributeKey": "EventSource", "attributeValue": "apprunner.amazonaws.com"}
                        ],
                        "maxResults": 50,
                    },
                ),
                ("iam.amazonaws.com", "GetRole", "us-east-1", {"roleName": "AppRunnerInstanceRole"}),
            ]
            self.burst(ops, start, self.rng.sample(calls, self.rng.randint(6, len(calls))), (3, 25))
        # Developer in prod with an access key (CLI); her App Runner denials are scenario 1.
        alice = iam_user(PROD, "dev-alice", "198.51.100.77", CLI_MAC)
        for hour, minute in ((8, 38), (9, 12), (10, 0), (10, 48), (11, 45), (14, 20), (16, 2)):
            start = self.at(hour, minute, self.rng.randint(0, 59))
            calls = [
                ("sts.amazonaws.com", "GetCallerIdentity", "us-east-1", None),
                ("lambda.amazonaws.com", "ListFunctions20150331", "us-east-1", None),
                (
                    "logs.amazonaws.com",
                    "FilterLogEvents",
                    "us-east-1",
                    {"logGroupName": "/aws/apprunner/web/service", "filterPattern": "ERROR", "limit": 100},
                ),
                ("s3.amazonaws.com", "ListBuckets", "us-east-1", {"Host": "s3.us-east-1.amazonaws.com"}),
                ("ec2.amazonaws.com", "DescribeInstances", "us-east-1", {"instancesSet": {}, "filterSet": {}}),
                ("dynamodb.amazonaws.com", "ListTables", "us-east-1", None),
                ("ecr.amazonaws.com", "DescribeImages", "us-east-1", {"repositoryName": "web"}),
            ]
            self.burst(alice, start, self.rng.sample(calls, self.rng.randint(3, 6)), (2, 20))
        # Lambda lookups by dev-alice that hit a function that no longer exists.
        self.call(
            alice,
            self.at(14, 24, 5),
            "lambda.amazonaws.com",
            "GetFunction20150331v2",
            "us-east-1",
            request={"functionName": "thumbnailer"},
            error=(
                "ResourceNotFoundException",
                f"Function not found: arn:aws:lambda:us-east-1:{PROD}:function:thumbnailer",
            ),
        )
        # Staging developer through Identity Center (console); denials are scenario 3.
        for hour, minute in ((9, 4), (10, 9), (11, 29), (14, 44), (16, 29)):
            jane = sso_session(
                STAGING, SSO_DEVELOPER_ROLE, "jane.doe@example.com", self.at(9, 3), "203.0.113.24", CONSOLE
            )
            start = self.at(hour, minute, self.rng.randint(0, 30))
            calls = [
                ("apprunner.amazonaws.com", "DescribeService", "us-east-1", {"serviceArn": service_arn("web-staging")}),
                ("apprunner.amazonaws.com", "ListOperations", "us-east-1", {"serviceArn": service_arn("web-staging")}),
                (
                    "apprunner.amazonaws.com",
                    "ListTagsForResource",
                    "us-east-1",
                    {"resourceArn": service_arn("web-staging")},
                ),
                (
                    "logs.amazonaws.com",
                    "DescribeLogStreams",
                    "us-east-1",
                    {"logGroupName": "/aws/apprunner/web-staging/service", "orderBy": "LastEventTime"},
                ),
                (
                    "logs.amazonaws.com",
                    "GetLogEvents",
                    "us-east-1",
                    {"logGroupName": "/aws/apprunner/web-staging/service", "startFromHead": False},
                ),
                ("monitoring.amazonaws.com", "DescribeAlarms", "us-east-1", None),
            ]
            self.burst(jane, start, self.rng.sample(calls, self.rng.randint(3, 6)), (4, 30))
        # Data scientist role in staging.
        ds = role_session(STAGING, "DataScience", "priya.shah", self.at(10, 20), "203.0.113.51", CLI_MAC)
        for hour, minute in ((10, 21), (13, 2), (15, 33)):
            calls = [
                ("s3.amazonaws.com", "ListBuckets", "us-east-1", {"Host": "s3.us-east-1.amazonaws.com"}),
                ("sagemaker.amazonaws.com", "ListNotebookInstances", "us-east-1", None),
                ("athena.amazonaws.com", "ListWorkGroups", "us-east-1", None),
                ("glue.amazonaws.com", "GetDatabases", "us-east-1", None),
            ]
            self.burst(ds, self.at(hour, minute, 12), calls, (2, 15))
        # Security team through Identity Center in the management account.
        for hour, minute in ((9, 29), (14, 2)):
            sec = sso_session(
                SECURITY, SSO_SECURITY_ROLE, "sam.rivera@example.com", self.at(9, 28), "198.51.100.90", CONSOLE
            )
            calls = [
                ("organizations.amazonaws.com", "ListPolicies", "us-east-1", {"filter": "SERVICE_CONTROL_POLICY"}),
                ("organizations.amazonaws.com", "DescribePolicy", "us-east-1", {"policyId": "p-regionlock1"}),
                (
                    "guardduty.amazonaws.com",
                    "ListFindings",
                    "us-east-1",
                    {"detectorId": "a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2", "maxResults": 50},
                ),
                ("securityhub.amazonaws.com", "GetFindings", "us-east-1", {"maxResults": 100}),
                ("cloudtrail.amazonaws.com", "DescribeTrails", "us-east-1", {"includeShadowTrails": True}),
            ]
            self.burst(sec, self.at(hour, minute, 30), calls, (5, 40))
        # Identity Center portal calls made on behalf of the people above.
        for user_id, start, role, account, ip in (
            ("94d00cd8-e9e6-4810-b177-b08e84775435", self.at(8, 8, 40), "AdministratorAccess", PROD, "198.51.100.14"),
            ("544894e8-80c1-707f-60e3-3ba6510dfac1", self.at(9, 2, 51), "Developer_Access", STAGING, "203.0.113.24"),
            ("c1a2b3d4-0e1f-4a5b-8c9d-7e6f5a4b3c2d", self.at(9, 27, 33), "SecurityAudit", SECURITY, "198.51.100.90"),
            ("5f4e3d2c-1b0a-4f9e-8d7c-6b5a4f3e2d1c", self.at(20, 27, 9), "SupportEngineer", PROD, "198.51.100.88"),
        ):
            person = identity_center_user(user_id, ip)
            self.call(person, start, "sso.amazonaws.com", "ListAccounts", "us-east-1", request=None)
            self.call(
                person,
                start + timedelta(seconds=4),
                "sso.amazonaws.com",
                "ListAccountRoles",
                "us-east-1",
                request={"accountId": account},
            )
            self.call(
                person,
                start + timedelta(seconds=9),
                "sso.amazonaws.com",
                "GetRoleCredentials",
                "us-east-1",
                request={"accountId": account, "roleName": role},
            )
        # svc-legacy's legitimate nightly backup from the build server.
        legacy = iam_user(CI, "svc-legacy", "198.51.100.23", CLI_OLD, tls_version="TLSv1.2")
        calls = [
            ("s3.amazonaws.com", "ListBuckets", "us-east-1", {"Host": "s3.amazonaws.com"}),
            (
                "s3.amazonaws.com",
                "GetBucketLocation",
                "us-east-1",
                {"bucketName": "ci-artifacts-777788889999", "Host": "s3.amazonaws.com", "location": ""},
            ),
            ("ecr.amazonaws.com", "GetAuthorizationToken", "us-east-1", None),
        ]
        self.burst(legacy, self.at(1, 5, 12), calls, (1, 5))

    def ci_run(self, run: int, start: datetime, account: str, region: str, service: str, kind: str) -> Actor:
        """One GitHub Actions workflow: OIDC into the CI account, role chain into the target, push, deploy.

        Returns the workflow's session in the target account (scenario 2 goes on with it).
        """
        session = f"GitHubActions-run-{run}"
        repo = "example-org/web" if service in ("web", "web-staging") else f"example-org/{service}"
        subject = f"repo:{repo}:ref:refs/heads/main"
        runner_ip = f"20.{self.rng.randint(25, 120)}.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"
        oidc = web_identity_user(subject, runner_ip, JS_ACTION)
        ci_role_arn = f"arn:aws:iam::{CI}:role/GitHubActionsDeploy"
        self.call(
            oidc,
            start,
            "sts.amazonaws.com",
            "AssumeRoleWithWebIdentity",
            "us-east-1",
            recipient=CI,
            request={"roleArn": ci_role_arn, "roleSessionName": session, "durationSeconds": 3600},
            response={
                "credentials": {
                    "accessKeyId": stable("ASIA", f"{CI}/{session}", 16),
                    "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
                    "expiration": expiry(start + timedelta(hours=1)),
                },
                "subjectFromWebIdentityToken": subject,
                "assumedRoleUser": {
                    "assumedRoleId": f"{role_id(CI, 'GitHubActionsDeploy')}:{session}",
                    "arn": f"arn:aws:sts::{CI}:assumed-role/GitHubActionsDeploy/{session}",
                },
                "provider": GITHUB_OIDC,
                "audience": "sts.amazonaws.com",
            },
            additional={"identityProviderConnectionVerificationMethod": "IAMTrustStore"},
            resources=[{"accountId": CI, "type": "AWS::IAM::Role", "ARN": ci_role_arn}],
        )
        web_id = {"federatedProvider": GITHUB_OIDC, "attributes": {}}
        ci_session = role_session(CI, "GitHubActionsDeploy", session, start, runner_ip, CLI_LINUX, web_id=web_id)
        when = start + timedelta(seconds=self.rng.randint(2, 6))
        self.cross_account_assume(ci_session, when, f"arn:aws:iam::{account}:role/GitHubActionsDeploy", session)
        deploy = role_session(account, "GitHubActionsDeploy", session, when, runner_ip, CLI_LINUX)
        when += timedelta(seconds=3)
        self.call(deploy, when, "sts.amazonaws.com", "GetCallerIdentity", "us-east-1", request=None)
        repo_name = service
        when += timedelta(seconds=self.rng.randint(20, 60))
        ecr = [
            ("ecr.amazonaws.com", "GetAuthorizationToken", region, None),
            (
                "ecr.amazonaws.com",
                "BatchCheckLayerAvailability",
                region,
                {"repositoryName": repo_name, "layerDigests": [f"sha256:{self.hex(64)}"]},
            ),
            ("ecr.amazonaws.com", "InitiateLayerUpload", region, {"repositoryName": repo_name}),
            (
                "ecr.amazonaws.com",
                "CompleteLayerUpload",
                region,
                {"repositoryName": repo_name, "uploadId": self.uuid4(), "layerDigests": [f"sha256:{self.hex(64)}"]},
            ),
            (
                "ecr.amazonaws.com",
                "PutImage",
                region,
                {
                    "repositoryName": repo_name,
                    "imageTag": f"build-{run}",
                    "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json",
                },
            ),
        ]
        when = self.burst(deploy, when, ecr, (1, 8))
        if kind == "deploy":
            arn = service_arn(service)
            self.apprunner(
                deploy, when, "StartDeployment", region, {"serviceArn": arn}, response={"operationId": self.hex(32)}
            )
            for _ in range(self.rng.randint(4, 7)):
                when += timedelta(seconds=self.rng.randint(30, 60))
                self.apprunner(deploy, when, "DescribeService", region, {"serviceArn": arn})
            self.apprunner(
                deploy, when + timedelta(seconds=2), "ListOperations", region, {"serviceArn": arn, "maxResults": 5}
            )
        return deploy

    def ci_runs(self) -> None:
        self.ci_run(12347, self.at(10, 20, 14), PROD, "us-east-1", "web", "deploy")
        self.ci_run(12364, self.at(12, 30, 2), PROD, "eu-west-1", "worker", "deploy")
        self.ci_run(12370, self.at(14, 12, 40), PROD, "us-east-1", "web", "deploy")
        self.ci_run(12389, self.at(16, 55, 7), PROD, "us-east-1", "web", "deploy")
        for run, (hour, minute) in zip(
            range(12340, 12400, 6),
            ((8, 5), (9, 50), (11, 10), (12, 55), (13, 40), (15, 0), (15, 52), (17, 30)),
            strict=False,
        ):
            self.ci_run(
                run, self.at(hour, minute, self.rng.randint(0, 59)), STAGING, "us-east-1", "web-staging", "deploy"
            )

    # -- App Runner denial scenarios --------------------------------------------------------------

    def s1_developer_grant(self) -> None:
        self.scenario("S1", "plain grant: no identity-based policy allows", "IAMUser dev-alice (111122223333)", 12)
        alice = iam_user(PROD, "dev-alice", "198.51.100.77", CLI_MAC)
        arn = service_arn("web")
        plan = [
            ((8, 42, 5), "DescribeService"),
            ((8, 42, 31), "DescribeService"),
            ((9, 15, 12), "DescribeService"),
            ((9, 15, 40), "ListOperations"),
            ((10, 3, 2), "DescribeService"),
            ((10, 3, 9), "DescribeService"),
            ((10, 3, 51), "ListOperations"),
            ((10, 51, 20), "DescribeService"),
            ((10, 51, 44), "ListOperations"),
            ((11, 48, 3), "DescribeService"),
            ((11, 48, 19), "DescribeService"),
            ((11, 49, 2), "ListOperations"),
        ]
        for (hour, minute, second), action in plan:
            request: dict[str, Any] = {"serviceArn": arn}
            if action == "ListOperations":
                request["maxResults"] = 20
            full = f"apprunner:{action}"
            rec = self.apprunner(
                alice,
                self.at(hour, minute, second),
                action,
                "us-east-1",
                request,
                message=denied(alice.arn or "", full, arn, no_allow("identity-based policy", full)),
                scenario="S1",
            )
            if (hour, minute, second) == (10, 3, 9):
                self.duplicate(rec)
        # and one S3 denial while looking for the deployment bucket
        self.call(
            alice,
            self.at(10, 4, 30),
            "s3.amazonaws.com",
            "GetBucketPolicy",
            "us-east-1",
            request={
                "bucketName": "prod-web-assets-111122223333",
                "Host": "prod-web-assets-111122223333.s3.us-east-1.amazonaws.com",
                "policy": "",
            },
            error=("AccessDenied", "Access Denied"),
            resources=[
                {"accountId": PROD, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::prod-web-assets-111122223333"}
            ],
        )

    def s2_ci_pass_role(self) -> None:
        self.scenario(
            "S2",
            "CI: iam:PassRole on CreateService + StartDeployment on api",
            "AssumedRole GitHubActionsDeploy (111122223333)",
            7,
        )
        image = f"{PROD}.dkr.ecr.us-east-1.amazonaws.com/billing:build-{{run}}"
        for run, times in ((12345, ((9, 31, 44), (9, 33, 2))), (12361, ((13, 5, 37),))):
            start = self.at(*times[0]) - timedelta(minutes=2)
            deploy = self.ci_run(run, start, PROD, "us-east-1", "billing", "create")
            for hour, minute, second in times:
                request = {
                    "serviceName": "billing",
                    "sourceConfiguration": {
                        "imageRepository": {
                            "imageIdentifier": image.format(run=run),
                            "imageConfiguration": {"port": "8080"},
                            "imageRepositoryType": "ECR",
                        },
                        "autoDeploymentsEnabled": False,
                        "authenticationConfiguration": {"accessRoleArn": ECR_ACCESS_ROLE_ARN},
                    },
                    "instanceConfiguration": {"cpu": "1024", "memory": "2048", "instanceRoleArn": INSTANCE_ROLE_ARN},
                    "healthCheckConfiguration": {"protocol": "HTTP", "path": "/healthz"},
                }
                self.apprunner(
                    deploy,
                    self.at(hour, minute, second),
                    "CreateService",
                    "us-east-1",
                    request,
                    message=denied(
                        deploy.arn or "",
                        "iam:PassRole",
                        INSTANCE_ROLE_ARN,
                        no_allow("identity-based policy", "iam:PassRole"),
                    ),
                    scenario="S2",
                )
        for run, times in ((12350, ((11, 2, 18), (11, 2, 49))), (12377, ((15, 40, 3), (15, 41, 10)))):
            start = self.at(*times[0]) - timedelta(minutes=2)
            deploy = self.ci_run(run, start, PROD, "us-east-1", "api", "push")
            arn = service_arn("api")
            for index, (hour, minute, second) in enumerate(times):
                rec = self.apprunner(
                    deploy,
                    self.at(hour, minute, second),
                    "StartDeployment",
                    "us-east-1",
                    {"serviceArn": arn},
                    message=denied(
                        deploy.arn or "",
                        "apprunner:StartDeployment",
                        arn,
                        no_allow("identity-based policy", "apprunner:StartDeployment"),
                    ),
                    scenario="S2",
                )
                if run == 12377 and index == 1:
                    self.duplicate(rec)

    def s3_identity_center(self) -> None:
        self.scenario(
            "S3",
            "Identity Center permission set (underscore in its name)",
            f"AssumedRole {SSO_DEVELOPER_ROLE}/jane.doe@example.com (444455556666)",
            8,
        )
        jane = sso_session(STAGING, SSO_DEVELOPER_ROLE, "jane.doe@example.com", self.at(9, 3), "203.0.113.24", CONSOLE)
        arn = service_arn("web-staging")
        for hour, minute, second in ((10, 12, 8), (10, 13, 30), (14, 47, 55)):
            request = {"serviceArn": arn, "instanceConfiguration": {"cpu": "1024", "memory": "3072"}}
            self.apprunner(
                jane,
                self.at(hour, minute, second),
                "UpdateService",
                "us-east-1",
                request,
                message=denied(
                    jane.arn or "",
                    "apprunner:UpdateService",
                    arn,
                    no_allow("identity-based policy", "apprunner:UpdateService"),
                ),
                scenario="S3",
            )
        for index, (hour, minute, second) in enumerate(
            ((9, 5, 1), (9, 6, 14), (11, 30, 22), (14, 45, 3), (16, 30, 40))
        ):
            resource = "*" if index in (1, 3) else None
            rec = self.apprunner(
                jane,
                self.at(hour, minute, second),
                "ListServices",
                "us-east-1",
                None,
                message=denied(
                    jane.arn or "",
                    "apprunner:ListServices",
                    resource,
                    no_allow("identity-based policy", "apprunner:ListServices"),
                ),
                scenario="S3",
            )
            if index == 2:
                self.duplicate(rec)

    def s4_cross_account(self) -> None:
        self.scenario(
            "S4a",
            "cross-account from trusted partner (seen in the owner's log)",
            f"AWSAccount {PARTNER} (role PartnerReadOnly)",
            5,
        )
        self.scenario(
            "S4b",
            "cross-account from an account outside the organization",
            f"AWSAccount {OUTSIDE} (role ExternalAuditor)",
            5,
        )
        partner = role_session(
            PARTNER,
            "PartnerReadOnly",
            "partner-sync",
            self.at(13, 19),
            "192.0.2.140",
            BOTO_LAMBDA.replace("exec-env/AWS_Lambda_python3.12 ", ""),
        )
        seen = aws_account(partner)
        arn = service_arn("web")
        for hour, minute, second in ((13, 20, 2), (13, 21, 15), (13, 25, 48), (17, 2, 9), (17, 3, 27)):
            self.apprunner(
                seen,
                self.at(hour, minute, second),
                "DescribeService",
                "us-east-1",
                {"serviceArn": arn},
                recipient=PROD,
                code="AccessDenied",
                message=denied(
                    partner.arn or "",
                    "apprunner:DescribeService",
                    arn,
                    no_allow("resource-based policy", "apprunner:DescribeService"),
                ),
                scenario="S4a",
            )
        auditor = role_session(OUTSIDE, "ExternalAuditor", "audit-2026-11-28", self.at(4, 36), "192.0.2.201", CLI_MAC)
        seen = aws_account(auditor)
        for hour, minute, second in ((4, 37, 5), (4, 37, 49)):
            self.apprunner(
                seen,
                self.at(hour, minute, second),
                "ListServices",
                "us-east-1",
                None,
                recipient=PROD,
                message=denied(
                    auditor.arn or "",
                    "apprunner:ListServices",
                    None,
                    no_allow("identity-based policy", "apprunner:ListServices"),
                ),
                scenario="S4b",
            )
        arn = service_arn("api")
        for hour, minute, second in ((4, 38, 11), (4, 38, 40), (4, 39, 22)):
            self.apprunner(
                seen,
                self.at(hour, minute, second),
                "DescribeService",
                "us-east-1",
                {"serviceArn": arn},
                recipient=PROD,
                message=denied(
                    auditor.arn or "",
                    "apprunner:DescribeService",
                    arn,
                    no_allow("resource-based policy", "apprunner:DescribeService"),
                ),
                scenario="S4b",
            )

    def s5_explicit_identity_deny(self) -> None:
        self.scenario(
            "S5",
            "explicit deny in an identity-based policy (policy ARN named)",
            "IAMUser contractor-bob (111122223333)",
            2,
        )
        bob = iam_user(PROD, "contractor-bob", "192.0.2.77", CLI_MAC)
        arn = service_arn("api")
        self.burst(
            bob,
            self.at(15, 10, 4),
            [
                ("apprunner.amazonaws.com", "ListServices", "us-east-1", None),
                ("apprunner.amazonaws.com", "DescribeService", "us-east-1", {"serviceArn": arn}),
            ],
            (3, 30),
        )
        for hour, minute, second in ((15, 18, 33), (15, 19, 50)):
            self.apprunner(
                bob,
                self.at(hour, minute, second),
                "DeleteService",
                "us-east-1",
                {"serviceArn": arn},
                message=denied(
                    bob.arn or "", "apprunner:DeleteService", arn, explicit("identity-based policy", DENY_POLICY_ARN)
                ),
                scenario="S5",
            )

    def s6_scp(self) -> None:
        self.scenario("S6", "service control policy (region lock)", "AssumedRole DataScience (444455556666)", 2)
        ds = role_session(STAGING, "DataScience", "priya.shah", self.at(10, 20), "203.0.113.51", CLI_MAC)
        for hour, minute, second in ((10, 44, 12), (10, 46, 3)):
            request = {
                "serviceName": "ml-inference",
                "sourceConfiguration": {
                    "imageRepository": {
                        "imageIdentifier": "public.ecr.aws/docker/library/python:3.12-slim",
                        "imageConfiguration": {"port": "8000"},
                        "imageRepositoryType": "ECR_PUBLIC",
                    },
                    "autoDeploymentsEnabled": False,
                },
                "instanceConfiguration": {"cpu": "2048", "memory": "4096"},
            }
            self.apprunner(
                ds,
                self.at(hour, minute, second),
                "CreateService",
                "eu-central-1",
                request,
                message=denied(
                    ds.arn or "", "apprunner:CreateService", None, explicit("service control policy", SCP_ARN)
                ),
                scenario="S6",
            )
        self.call(
            ds,
            self.at(10, 47, 30),
            "lambda.amazonaws.com",
            "ListFunctions20150331",
            "eu-central-1",
            request=None,
            error=(
                "AccessDeniedException",
                denied(ds.arn or "", "lambda:ListFunctions", "*", explicit("service control policy", SCP_ARN)),
            ),
        )

    def s7_other_policies(self) -> None:
        self.scenario("S7a", "permissions boundary", "AssumedRole ServiceOperator (111122223333)", 3)
        self.scenario("S7b", "session policy", "AssumedRole SupportAccess/case-4711 (111122223333)", 2)
        self.scenario("S7c", "VPC endpoint policy", "AssumedRole BatchReporter (444455556666)", 3)
        operator = role_session(PROD, "ServiceOperator", "oncall-kim", self.at(17, 58), "198.51.100.61", CLI_MAC)
        arn = service_arn("worker")
        self.burst(
            operator,
            self.at(18, 0, 40),
            [
                ("apprunner.amazonaws.com", "DescribeService", "eu-west-1", {"serviceArn": arn}),
                ("apprunner.amazonaws.com", "ListOperations", "eu-west-1", {"serviceArn": arn}),
            ],
            (5, 20),
        )
        for hour, minute, second in ((18, 5, 2), (18, 6, 15), (18, 10, 41)):
            self.apprunner(
                operator,
                self.at(hour, minute, second),
                "PauseService",
                "eu-west-1",
                {"serviceArn": arn},
                message=denied(
                    operator.arn or "",
                    "apprunner:PauseService",
                    arn,
                    no_allow("permissions boundary", "apprunner:PauseService"),
                ),
                scenario="S7a",
            )
        # The on-call engineer signs in with the SupportEngineer permission set, then assumes SupportAccess
        # with an inline session policy that denies changes (the support runbook's guard rail).
        engineer = sso_session(
            PROD, SSO_SUPPORT_ROLE, "sky.chen@example.com", self.at(20, 27), "198.51.100.88", CLI_MAC
        )
        session_policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["apprunner:Describe*", "apprunner:List*", "logs:FilterLogEvents"],
                    "Resource": "*",
                },
                {"Effect": "Deny", "Action": ["apprunner:UpdateService", "apprunner:DeleteService"], "Resource": "*"},
            ],
        }
        support_role = f"arn:aws:iam::{PROD}:role/SupportAccess"
        self.call(
            engineer,
            self.at(20, 28, 0),
            "sts.amazonaws.com",
            "AssumeRole",
            "us-east-1",
            request={
                "roleArn": support_role,
                "roleSessionName": "case-4711",
                "policy": json.dumps(session_policy, separators=(",", ":")),
                "durationSeconds": 3600,
            },
            response={
                "credentials": {
                    "accessKeyId": stable("ASIA", "support/case-4711", 16),
                    "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
                    "expiration": expiry(self.at(21, 28, 0)),
                },
                "assumedRoleUser": {
                    "assumedRoleId": f"{role_id(PROD, 'SupportAccess')}:case-4711",
                    "arn": f"arn:aws:sts::{PROD}:assumed-role/SupportAccess/case-4711",
                },
                "packedPolicySize": 9,
            },
            resources=[{"accountId": PROD, "type": "AWS::IAM::Role", "ARN": support_role}],
        )
        support = role_session(PROD, "SupportAccess", "case-4711", self.at(20, 28), "198.51.100.88", CLI_MAC)
        arn = service_arn("web")
        self.burst(
            support,
            self.at(20, 29, 10),
            [
                ("apprunner.amazonaws.com", "DescribeService", "us-east-1", {"serviceArn": arn}),
                ("apprunner.amazonaws.com", "ListOperations", "us-east-1", {"serviceArn": arn}),
                (
                    "logs.amazonaws.com",
                    "FilterLogEvents",
                    "us-east-1",
                    {"logGroupName": "/aws/apprunner/web/service", "filterPattern": '"status=500"'},
                ),
            ],
            (6, 40),
        )
        for hour, minute, second in ((20, 31, 5), (20, 32, 44)):
            self.apprunner(
                support,
                self.at(hour, minute, second),
                "UpdateService",
                "us-east-1",
                {"serviceArn": arn, "instanceConfiguration": {"cpu": "2048", "memory": "4096"}},
                message=denied(support.arn or "", "apprunner:UpdateService", arn, explicit("session policy")),
                scenario="S7b",
            )
        reporter = role_session(STAGING, "BatchReporter", "nightly-report", self.at(0, 59), "10.40.3.18", GO_SDK)
        arn = service_arn("web-staging")
        for hour, minute, second in ((1, 0, 4), (1, 30, 4), (2, 0, 5)):
            self.apprunner(
                reporter,
                self.at(hour, minute, second),
                "ListOperations",
                "us-east-1",
                {"serviceArn": arn},
                message=denied(
                    reporter.arn or "",
                    "apprunner:ListOperations",
                    arn,
                    no_allow("VPC endpoint policy", "apprunner:ListOperations"),
                ),
                vpce="vpce-0c3f5a7e9b1d2f468",
                scenario="S7c",
            )

    def s8_root(self) -> None:
        self.scenario("S8", "root user, old short form (no reason clause)", "Root 444455556666", 2)
        login = self.at(16, 2, 11)
        self.call(
            Actor(
                {
                    "type": "Root",
                    "principalId": STAGING,
                    "arn": f"arn:aws:iam::{STAGING}:root",
                    "accountId": STAGING,
                    "accessKeyId": "",
                },
                None,
                STAGING,
                "203.0.113.9",
                CONSOLE_WIN,
            ),
            login,
            "signin.amazonaws.com",
            "ConsoleLogin",
            "us-east-1",
            event_type="AwsConsoleSignIn",
            response={"ConsoleLogin": "Success"},
            read_only=False,
            additional={
                "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                "MobileVersion": "No",
                "MFAIdentifier": f"arn:aws:iam::{STAGING}:mfa/root-account-mfa-device",
                "MFAUsed": "Yes",
            },
        )
        root = root_console(STAGING, login, "203.0.113.9")
        arn = service_arn("web-staging")
        self.apprunner(root, self.at(16, 4, 2), "ListServices", "us-east-1", None)
        for hour, minute, second in ((16, 5, 20), (16, 6, 2)):
            self.apprunner(
                root,
                self.at(hour, minute, second),
                "DeleteService",
                "us-east-1",
                {"serviceArn": arn},
                message=denied(root.arn or "", "apprunner:DeleteService", arn),
                code="AccessDenied",
                scenario="S8",
            )

    def s9_aws_service(self) -> None:
        self.scenario("S9", "AWS service principal (automatic deployment)", "AWSService apprunner.amazonaws.com", 2)
        svc = aws_service("apprunner.amazonaws.com")
        arn = service_arn("api")
        for hour, minute, second in ((11, 20, 31), (15, 45, 12)):
            self.apprunner(
                svc,
                self.at(hour, minute, second),
                "StartDeployment",
                "us-east-1",
                {"serviceArn": arn},
                recipient=PROD,
                message=denied("apprunner.amazonaws.com", "apprunner:StartDeployment", arn),
                scenario="S9",
            )

    def s10_reconnaissance(self) -> None:
        self.scenario(
            "S10",
            "reconnaissance: 14 distinct actions in 4 minutes from 203.0.113.66",
            "IAMUser svc-legacy (777788889999)",
            19,
        )
        thief = iam_user(CI, "svc-legacy", "203.0.113.66", PYTHON_REQUESTS, tls_version="TLSv1.2")
        region = "us-east-1"
        base = f"arn:aws:apprunner:{region}:{CI}"
        svc = f"{base}:service/app/4f2a9c1e7b3d4a58a6e0c2f4b8d1e3a5"
        default = "DefaultConfiguration/1/00000000000000000000000000000001"  # the ARN AWS gives every account
        scaling = f"{base}:autoscalingconfiguration/{default}"
        observability = f"{base}:observabilityconfiguration/{default}"
        connector = f"{base}:vpcconnector/default/1/9c8b7a6f5e4d4c3b2a1f0e9d8c7b6a5f"
        plan: list[tuple[str, str | None, Any]] = [
            ("ListServices", None, None),
            ("ListConnections", None, None),
            ("ListAutoScalingConfigurations", None, None),
            ("ListObservabilityConfigurations", None, None),
            ("ListVpcConnectors", None, None),
            ("ListVpcIngressConnections", None, None),
            ("DescribeService", svc, {"serviceArn": svc}),
            ("ListOperations", svc, {"serviceArn": svc}),
            ("ListTagsForResource", svc, {"resourceArn": svc}),
            ("DescribeCustomDomains", svc, {"serviceArn": svc}),
            ("DescribeAutoScalingConfiguration", scaling, {"autoScalingConfigurationArn": scaling}),
            ("DescribeObservabilityConfiguration", observability, {"observabilityConfigurationArn": observability}),
            ("DescribeVpcConnector", connector, {"vpcConnectorArn": connector}),
            ("DescribeWebAclForService", svc, {"serviceArn": svc}),
        ]
        when = self.at(2, 13, 51)
        self.call(thief, when, "sts.amazonaws.com", "GetCallerIdentity", region, request=None)
        self.call(
            thief,
            when + timedelta(seconds=6),
            "iam.amazonaws.com",
            "ListAttachedUserPolicies",
            region,
            request={"userName": "svc-legacy"},
            error=(
                "AccessDenied",
                denied(
                    thief.arn or "",
                    "iam:ListAttachedUserPolicies",
                    thief.arn,
                    no_allow("identity-based policy", "iam:ListAttachedUserPolicies"),
                ),
            ),
        )
        when = self.at(2, 14, 7)
        retries = {"ListServices", "DescribeService", "ListTagsForResource", "ListOperations", "ListVpcConnectors"}
        for action, resource, request in plan:
            full = f"apprunner:{action}"
            for _ in range(2 if action in retries else 1):
                self.apprunner(
                    thief,
                    when,
                    action,
                    region,
                    request,
                    message=denied(thief.arn or "", full, resource, no_allow("identity-based policy", full)),
                    scenario="S10",
                )
                when += timedelta(seconds=self.rng.randint(5, 13))
        self.call(
            thief,
            when + timedelta(seconds=4),
            "ecr.amazonaws.com",
            "DescribeRepositories",
            region,
            request=None,
            error=(
                "AccessDeniedException",
                denied(
                    thief.arn or "",
                    "ecr:DescribeRepositories",
                    f"arn:aws:ecr:{region}:{CI}:repository/*",
                    no_allow("identity-based policy", "ecr:DescribeRepositories"),
                ),
            ),
        )
        # The same stolen key tries EC2 (encoded authorization failure messages).
        self.call(
            thief,
            when + timedelta(seconds=19),
            "ec2.amazonaws.com",
            "DescribeInstances",
            region,
            request={"instancesSet": {}, "filterSet": {}},
            error=(
                "Client.UnauthorizedOperation",
                "You are not authorized to perform this operation. User: arn:aws:iam::777788889999:user/svc-legacy "
                "is not authorized to perform: ec2:DescribeInstances because no identity-based policy allows the "
                f"ec2:DescribeInstances action. Encoded authorization failure message: {self.encoded()}",
            ),
        )
        self.call(
            thief,
            when + timedelta(seconds=27),
            "ec2.amazonaws.com",
            "RunInstances",
            region,
            request={
                "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
                "instanceType": "p4d.24xlarge",
            },
            error=(
                "Client.UnauthorizedOperation",
                "You are not authorized to perform this operation. "
                f"Encoded authorization failure message: {self.encoded()}",
            ),
            read_only=False,
        )

    def encoded(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        return self.token(412, alphabet)

    def s11_message_forms(self) -> None:
        self.scenario("S11a", "'Access Denied' only", "IAMUser ops-intern (444455556666)", 2)
        self.scenario(
            "S11b",
            "no errorMessage at all (one at 23:58, delivered 2026-11-29)",
            "AssumedRole LegacyJenkins (111122223333)",
            2,
        )
        self.scenario("S11c", "'on the specified resource'", "IAMUser dev-carol (444455556666)", 1)
        self.scenario(
            "S11d",
            "message cut at 1,024 characters ending in '...'",
            "AssumedRole PlatformTerraformApplyRole-… (111122223333)",
            1,
        )
        self.scenario(
            "S11e",
            "FederatedUser (GetFederationToken), no session policy allows",
            "FederatedUser bob (issuer IAMUser bob, 111122223333)",
            2,
        )
        self.scenario("S11f", "SAMLUser", "SAMLUser maria.garcia@example.com (444455556666)", 1)
        self.scenario("S11g", "WebIdentityUser", "WebIdentityUser repo:example-org/docs (777788889999)", 1)

        intern = iam_user(STAGING, "ops-intern", "203.0.113.30", CLI_MAC)
        arn = service_arn("web-staging")
        for hour, minute, second in ((12, 10, 4), (12, 11, 38)):
            self.apprunner(
                intern,
                self.at(hour, minute, second),
                "DescribeService",
                "us-east-1",
                {"serviceArn": arn},
                code="AccessDenied",
                message="Access Denied",
                scenario="S11a",
            )

        jenkins = role_session(PROD, "LegacyJenkins", "jenkins-build", self.at(7, 14), "10.10.4.20", JENKINS)
        arn = service_arn("api")
        self.apprunner(
            jenkins, self.at(7, 15, 33), "ListOperations", "us-east-1", {"serviceArn": arn}, deny=True, scenario="S11b"
        )
        jenkins = role_session(PROD, "LegacyJenkins", "jenkins-build", self.at(23, 40), "10.10.4.20", JENKINS)
        self.apprunner(
            jenkins,
            self.at(23, 58, 41),
            "ListOperations",
            "us-east-1",
            {"serviceArn": arn},
            deny=True,
            scenario="S11b",
            late=0,
        )

        carol = iam_user(STAGING, "dev-carol", "203.0.113.42", CLI_MAC)
        arn = service_arn("web-staging")
        self.apprunner(
            carol,
            self.at(13, 50, 17),
            "ResumeService",
            "us-east-1",
            {"serviceArn": arn},
            message=f"User: {carol.arn} is not authorized to perform: apprunner:ResumeService on the "
            "specified resource",
            scenario="S11c",
        )

        role = "PlatformTerraformApplyRole-AppRunnerProvisioning-prod-use1"
        session = "terraform-apply-platform-apprunner-20261128T191015Z-4f1c2a9e"
        tf = role_session(PROD, role, session, self.at(19, 10, 15), "10.10.8.31", TERRAFORM)
        instance_role = (
            f"arn:aws:iam::{PROD}:role/service-role/apprunner/instance-roles/production/us-east-1/"
            "AppRunnerInstanceRole-reports-production"
        )
        # IAM allows policy paths of 512 characters and names of 128: generated guardrails get long.
        guardrail = (
            f"arn:aws:iam::{PROD}:policy/guardrails/org-baseline/v3/platform-engineering/"
            "terraform-pipelines/apprunner/pass-role-restrictions/production/us-east-1/"
            "approved-instance-role-paths/service-role/apprunner/instance-roles/production/"
            "managed-by/platform-terraform-automation/stack/platform-apprunner-stack/"
            "owner/platform-engineering-team/cost-center/cc-4410/compliance/soc2-type2/"
            "change-ticket/CHG-2026-11-0042/generated-by/guardrail-compiler-v2-7-1/"
            "enforced-since/2026-06-01/review-cycle/quarterly/2026-q4/exceptions/none/scope/region/"
            "DenyPassRoleOutsideApprovedInstanceRolePathsForTerraformPipelinesInProductionAccountsExcept"
            "BreakGlass"
        )
        full = denied(tf.arn or "", "iam:PassRole", instance_role, explicit("identity-based policy", guardrail))
        cut = full[:1021] + "..."
        assert len(full) > 1024 and cut.index(" with an explicit deny in an identity-based policy: ") < 1000
        self.burst(
            tf,
            self.at(19, 11, 2),
            [
                ("apprunner.amazonaws.com", "ListServices", "us-east-1", None),
                ("apprunner.amazonaws.com", "ListAutoScalingConfigurations", "us-east-1", None),
            ],
            (1, 3),
        )
        request = {
            "serviceName": "reports",
            "sourceConfiguration": {
                "imageRepository": {
                    "imageIdentifier": f"{PROD}.dkr.ecr.us-east-1.amazonaws.com/reports:1.4.2",
                    "imageConfiguration": {"port": "8080"},
                    "imageRepositoryType": "ECR",
                },
                "autoDeploymentsEnabled": True,
                "authenticationConfiguration": {"accessRoleArn": ECR_ACCESS_ROLE_ARN},
            },
            "instanceConfiguration": {"cpu": "1024", "memory": "2048", "instanceRoleArn": instance_role},
        }
        self.apprunner(tf, self.at(19, 12, 6), "CreateService", "us-east-1", request, message=cut, scenario="S11d")

        issuer = iam_user(PROD, "bob", "198.51.100.33", CLI_MAC)
        self.call(
            issuer,
            self.at(9, 50, 2),
            "sts.amazonaws.com",
            "GetFederationToken",
            "us-east-1",
            request={
                "name": "bob",
                "durationSeconds": 3600,
                "policyArns": [{"arn": f"arn:aws:iam::{PROD}:policy/FederatedS3ReadOnly"}],
            },
            response={
                "credentials": {
                    "accessKeyId": stable("ASIA", "federated/bob", 16),
                    "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
                    "expiration": "Nov 28, 2026, 10:50:02 AM",
                },
                "federatedUser": {"federatedUserId": f"{PROD}:bob", "arn": f"arn:aws:sts::{PROD}:federated-user/bob"},
                "packedPolicySize": 6,
            },
        )
        fed = federated_user(PROD, "bob", "bob", self.at(9, 50, 2), "198.51.100.33", CLI_MAC)
        arn = service_arn("api")
        for hour, minute, second in ((9, 52, 14), (9, 53, 1)):
            self.apprunner(
                fed,
                self.at(hour, minute, second),
                "DescribeService",
                "us-east-1",
                {"serviceArn": arn},
                message=denied(
                    fed.arn or "",
                    "apprunner:DescribeService",
                    arn,
                    no_allow("session policy", "apprunner:DescribeService"),
                ),
                scenario="S11e",
            )

        saml_role = f"arn:aws:iam::{STAGING}:role/ADFS-ReadOnly"
        maria_arn = f"arn:aws:sts::{STAGING}:assumed-role/ADFS-ReadOnly/maria.garcia@example.com"
        maria = saml_user("maria.garcia@example.com", "AWS Internal", "aws-internal/3 aws-sdk-java/1.12.779", maria_arn)
        self.call(
            maria,
            self.at(8, 14, 20),
            "sts.amazonaws.com",
            "AssumeRoleWithSAML",
            "us-east-1",
            recipient=STAGING,
            request={
                "sAMLAssertionID": f"_{self.hex(32)}",
                "roleSessionName": "maria.garcia@example.com",
                "roleArn": saml_role,
                "principalArn": f"arn:aws:iam::{STAGING}:saml-provider/ADFS",
                "durationSeconds": 3600,
            },
            response={
                "credentials": {
                    "accessKeyId": stable("ASIA", "saml/maria", 16),
                    "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
                    "expiration": "Nov 28, 2026, 9:14:20 AM",
                },
                "assumedRoleUser": {
                    "assumedRoleId": f"{role_id(STAGING, 'ADFS-ReadOnly')}:maria.garcia@example.com",
                    "arn": maria_arn,
                },
                "subject": "maria.garcia@example.com",
                "subjectType": "persistent",
                "issuer": "http://adfs.example.com/adfs/services/trust",
                "audience": "https://signin.aws.amazon.com/saml",
                "nameQualifier": SAML_QUALIFIER,
            },
            resources=[
                {"accountId": STAGING, "type": "AWS::IAM::Role", "ARN": saml_role},
                {
                    "accountId": STAGING,
                    "type": "AWS::IAM::SAMLProvider",
                    "ARN": f"arn:aws:iam::{STAGING}:saml-provider/ADFS",
                },
            ],
        )
        maria = replace(maria, ip="203.0.113.77", agent=CONSOLE)
        self.apprunner(
            maria,
            self.at(8, 15, 2),
            "ListServices",
            "us-east-1",
            None,
            recipient=STAGING,
            message=denied(
                maria_arn, "apprunner:ListServices", None, no_allow("identity-based policy", "apprunner:ListServices")
            ),
            scenario="S11f",
        )

        subject = "repo:example-org/docs:ref:refs/heads/main"
        preview_arn = f"arn:aws:sts::{CI}:assumed-role/GitHubDocsPreview/GitHubActions"
        oidc = web_identity_user(subject, "20.57.43.112", JS_ACTION, preview_arn)
        self.apprunner(
            oidc,
            self.at(12, 40, 26),
            "ListServices",
            "us-east-1",
            None,
            recipient=CI,
            message=denied(
                preview_arn, "apprunner:ListServices", "*", no_allow("identity-based policy", "apprunner:ListServices")
            ),
            scenario="S11g",
        )

    def s12_background_duplicate(self) -> None:
        """One ordinary success delivered twice (same eventID) besides the two denials."""
        for event in self.events:
            if event.record["eventName"] == "GetSecretValue" and event.when.hour == 6:
                self.duplicate(event.record)
                return

    def duplicate(self, rec: dict[str, Any]) -> None:
        event = next(e for e in reversed(self.events) if e.record is rec)
        self.duplicates.append(replace(event, late=event.late + 1))

    def build(self) -> None:
        self.app_runner_runtime()
        self.config_recorder()
        self.security_audit()
        self.trail_bucket_checks()
        self.scheduled_jobs()
        self.humans()
        self.ci_runs()
        self.s1_developer_grant()
        self.s2_ci_pass_role()
        self.s3_identity_center()
        self.s4_cross_account()
        self.s5_explicit_identity_deny()
        self.s6_scp()
        self.s7_other_policies()
        self.s8_root()
        self.s9_aws_service()
        self.s10_reconnaissance()
        self.s11_message_forms()
        self.s12_background_duplicate()

    # -- files ------------------------------------------------------------------------------------

    def files(self) -> dict[str, list[dict[str, Any]]]:
        """Group records into trail files: account, region, 5-minute delivery slot."""
        groups: dict[tuple[str, str, datetime], list[Event]] = defaultdict(list)
        for event in [*self.events, *self.duplicates]:
            rec = event.record
            start = event.when.replace(second=0) - timedelta(minutes=event.when.minute % 5)
            delivered = start + SLOT * (1 + event.late)
            groups[(rec["recipientAccountId"], rec["awsRegion"], delivered)].append(event)
        out: dict[str, list[dict[str, Any]]] = {}
        for (account, region, delivered), events in sorted(groups.items()):
            events.sort(key=lambda e: (e.late, e.when, e.seq))  # stragglers from earlier windows last
            stamp = delivered.strftime("%Y%m%dT%H%MZ")
            suffix = self.token(16, string.ascii_letters + string.digits)
            path = (
                f"AWSLogs/{ORG_ID}/{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
                f"{account}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"
            )
            out[path] = [e.record for e in events]
        return out


def write(out: Path, files: dict[str, list[dict[str, Any]]]) -> int:
    """Write the trail files under ``out`` (replacing ``out/AWSLogs``); return the bytes written."""
    root = out / "AWSLogs"
    if root.exists():
        shutil.rmtree(root)
    total = 0
    for rel, records in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"Records": records}, separators=(",", ":")).encode()
        data = gzip.compress(body, compresslevel=9, mtime=0)
        path.write_bytes(data)
        total += len(data)
    return total


NAME_RE = re.compile(
    r"AWSLogs/(o-[a-z0-9]+)/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/"
    r"(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8})T(\d{4})Z_([A-Za-z0-9]{16})\.json\.gz"
)


def verify(out: Path, day: SampleDay) -> dict[str, Any]:
    """Read every file back: gzip, JSON, a Records list, eventVersion first, name matching folder."""
    paths = sorted((out / "AWSLogs").rglob("*.json.gz"))
    records: list[dict[str, Any]] = []
    by_folder: Counter[str] = Counter()
    for path in paths:
        rel = path.relative_to(out).as_posix()
        match = NAME_RE.fullmatch(rel)
        if not match:
            raise SystemExit(f"{rel}: name does not follow the CloudTrail layout")
        _, account, region, yyyy, mm, dd, name_account, name_region, name_day, _, _ = match.groups()
        if (account, region, f"{yyyy}{mm}{dd}") != (name_account, name_region, name_day):
            raise SystemExit(f"{rel}: file name disagrees with its folder")
        document = json.loads(gzip.decompress(path.read_bytes()))
        if not isinstance(document, dict) or not isinstance(document.get("Records"), list):
            raise SystemExit(f"{rel}: not a {{'Records': [...]}} document")
        for rec in document["Records"]:
            if next(iter(rec)) != "eventVersion":
                raise SystemExit(f"{rel}: a record does not start with eventVersion")
            if (rec["recipientAccountId"], rec["awsRegion"]) != (account, region):
                raise SystemExit(f"{rel}: record {rec['eventID']} is in another account's or region's folder")
        records.extend(document["Records"])
        by_folder[f"{yyyy}/{mm}/{dd}"] += 1
    unique = {(r["eventID"], r["recipientAccountId"]): r for r in records}
    denials = [r for r in unique.values() if r.get("errorCode") in DENIAL_CODES]
    apprunner = [r for r in denials if r["eventSource"] == "apprunner.amazonaws.com"]
    counts: Counter[str] = Counter(r["eventID"] for r in records)
    scenario_counts = {key: sum(1 for event_id in sc.ids if counts[event_id]) for key, sc in day.scenarios.items()}
    for key, sc in day.scenarios.items():
        if scenario_counts[key] != sc.expected:
            raise SystemExit(f"scenario {key}: {scenario_counts[key]} records, expected {sc.expected}")
    return {
        "files": len(paths),
        "by_folder": dict(sorted(by_folder.items())),
        "records": len(records),
        "unique": len(unique),
        "duplicates": len(records) - len(unique),
        "denials": len(denials),
        "apprunner_denials": len(apprunner),
        "errors": sum(1 for r in unique.values() if "errorCode" in r),
        "before_day": sum(1 for r in unique.values() if r["eventTime"] < iso(DAY)),
        "sources": len({r["eventSource"] for r in unique.values()}),
        "identity_types": Counter(r["userIdentity"].get("type", "?") for r in unique.values()),
        "scenarios": scenario_counts,
        "apprunner_actions": Counter(r["eventName"] for r in apprunner),
    }


def summary(day: SampleDay, stats: dict[str, Any], size: int, out: Path, elapsed: float) -> str:
    lines = [
        f"wrote {stats['files']} trail files ({size / 1024:.0f} KiB gzip) under {out}/AWSLogs/{ORG_ID}/",
        f"  folders by delivery date: {stats['by_folder']}",
        f"  records: {stats['records']} written, {stats['unique']} unique (eventID, recipientAccountId), "
        f"{stats['duplicates']} duplicate deliveries, {stats['before_day']} from 2026-11-27",
        f"  errors: {stats['errors']} (denials {stats['denials']}, App Runner denials "
        f"{stats['apprunner_denials']}), {stats['sources']} event sources",
        "  userIdentity types: " + ", ".join(f"{k} {v}" for k, v in sorted(stats["identity_types"].items())),
        "  App Runner denials by eventName: "
        + ", ".join(f"{k} {v}" for k, v in sorted(stats["apprunner_actions"].items())),
        "  scenarios (App Runner denial records, unique):",
    ]
    for key, sc in day.scenarios.items():
        lines.append(f"    {key:<5} {stats['scenarios'][key]:>3}  {sc.principal}: {sc.title}")
    lines.append(f"done in {elapsed:.1f}s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "analysis" / "data" / "sample",
        help="folder to write AWSLogs/ into (default: the project's analysis/data/sample); its AWSLogs/ is replaced",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    day = SampleDay()
    day.build()
    size = write(args.out, day.files())
    stats = verify(args.out, day)
    if not args.quiet:
        print(summary(day, stats, size, args.out, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
