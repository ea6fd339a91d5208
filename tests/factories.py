"""Event factories: CloudTrail records shaped like the ones AWS writes (see tests/data/real/).

The userIdentity blocks and message wording come from scripts/sample_day/, which the sample day is made with.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from typing import Any

from analysis.sources.base import RecordsSource
from scripts.sample_day import identities
from scripts.sample_day.messages import denied

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
# App Runner's read-only calls, in the order a reconnaissance sweep might make them.
APPRUNNER_READ_EVENTS = (
    "ListServices",
    "ListConnections",
    "ListAutoScalingConfigurations",
    "ListObservabilityConfigurations",
    "ListVpcConnectors",
    "ListVpcIngressConnections",
    "DescribeService",
    "ListOperations",
    "ListTagsForResource",
    "DescribeCustomDomains",
    "DescribeAutoScalingConfiguration",
    "DescribeObservabilityConfiguration",
    "DescribeVpcConnector",
    "DescribeWebAclForService",
)
SERVICE_ID = "8fe1e10304f84fd2b0df550fe98a71fa"
EXAMPLE_KEY = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_SESSION_KEY = "ASIAEXAMPLETEMPKEY12"
CREATED = "2026-11-28T08:00:00Z"
_counter = itertools.count(1)


def service_arn(name: str = "web", account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:apprunner:{region}:{account}:service/{name}/{SERVICE_ID}"


def iam_user(name: str = "dev-alice", account: str = ACCOUNT) -> dict[str, Any]:
    return identities.iam_user(account, name, principal_id="AIDAEXAMPLEUSERID1234", access_key_id=EXAMPLE_KEY)


def assumed_role(role: str = "Deploy", session: str = "jane", account: str = ACCOUNT, path: str = "/") -> dict:
    return identities.assumed_role(
        account,
        role,
        session,
        role_id="AROAEXAMPLEROLEID1234",
        access_key_id=EXAMPLE_SESSION_KEY,
        created=CREATED,
        path=path,
    )


def identity_center_role(permission_set: str = "Developer_Access", session: str = "jane@example.com") -> dict:
    role = identities.sso_role_name(permission_set, "0a1b2c3d4e5f6789")
    return assumed_role(role, session, path=identities.SSO_PATH)


def root(account: str = ACCOUNT) -> dict[str, Any]:
    return identities.root(account)


def federated_user(user: str = "bob", account: str = ACCOUNT) -> dict[str, Any]:
    return identities.federated_user(
        account,
        user,
        issuer=user,
        issuer_id="AIDAEXAMPLEUSERID1234",
        access_key_id=EXAMPLE_SESSION_KEY,
        created=CREATED,
    )


def aws_account(account: str = OTHER_ACCOUNT, session: str = "partner-session") -> dict[str, Any]:
    return identities.aws_account(account, f"AROAEXAMPLEPARTNER12:{session}")


def aws_service(service: str = "apprunner.amazonaws.com") -> dict[str, Any]:
    return identities.aws_service(service)


def identity_center_user(user_id: str = "94482488-3041-7026-18f3-be45837cd0e4") -> dict[str, Any]:
    return identities.identity_center_user(
        user_id,
        account=ACCOUNT,
        identity_store_arn="arn:aws:identitystore::111122223333:identitystore/d-1234567890",
        credential_id="EXAMPLEcredentialId",
    )


def saml_user(name: str = "SamlExample") -> dict[str, Any]:
    return identities.saml_user(name, qualifier="SampleUkh1i4+ExamplexL/jEvs=", provider="bdGOnTesti4+ExamplexL/jEvs=")


def web_identity_user(name: str = "amzn1.account.AF6RHO7KZU5XRVQJGXK6HEXAMPLE") -> dict[str, Any]:
    return identities.web_identity_user(name, "www.amazon.com")


def message(
    principal_arn: str,
    action: str,
    resource: str | None = None,
    tail: str = "because no identity-based policy allows the {action} action",
) -> str:
    return denied(principal_arn, action, resource or None, tail.format(action=action)).rstrip()


def record(
    event_name: str = "DescribeService",
    *,
    identity: dict[str, Any] | None = None,
    error_code: str | None = "AccessDeniedException",
    error_message: str | None = "default",
    event_source: str = "apprunner.amazonaws.com",
    request: dict[str, Any] | None = None,
    event_time: str = "2026-11-28T09:15:00Z",
    recipient: str = ACCOUNT,
    region: str = REGION,
    event_id: str | None = "auto",
) -> dict[str, Any]:
    """One CloudTrail record, by default dev-alice denied apprunner:DescribeService on service web."""
    identity = identity if identity is not None else iam_user()
    if request is None and event_source == "apprunner.amazonaws.com":
        request = {"serviceArn": service_arn(account=recipient, region=region)}
    if error_message == "default":
        arn = identity.get("arn") or f"arn:aws:iam::{identity.get('accountId', ACCOUNT)}:user/unknown"
        prefix = event_source.split(".")[0]
        resource = (request or {}).get("serviceArn")
        error_message = message(arn, f"{prefix}:{event_name}", resource)
    result: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": event_time,
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.17.32 md/command#apprunner.describe-service",
        "requestParameters": request,
        "responseElements": None,
        "requestID": str(uuid.UUID(int=next(_counter))),
        "eventID": str(uuid.uuid4()) if event_id == "auto" else event_id,
        "readOnly": event_name.startswith(("Describe", "List", "Get")),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": recipient,
        "eventCategory": "Management",
    }
    if error_code is not None:
        result["errorCode"] = error_code
    if error_message is not None and error_code is not None:
        result["errorMessage"] = error_message
    return result


def trail_file(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


def eventbridge_envelope(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "5471314a-e675-32d7-2742-690d2d978102",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.apprunner",
        "account": detail.get("recipientAccountId", ACCOUNT),
        "time": detail.get("eventTime"),
        "region": detail.get("awsRegion"),
        "resources": [],
        "detail": detail,
    }


def lookup_event(detail: dict[str, Any]) -> dict[str, Any]:
    import json

    return {
        "EventId": detail.get("eventID"),
        "EventName": detail.get("eventName"),
        "ReadOnly": "true",
        "EventTime": detail.get("eventTime"),
        "EventSource": detail.get("eventSource"),
        "Username": "dev-alice",
        "Resources": [],
        "CloudTrailEvent": json.dumps(detail),
    }


MemorySource = RecordsSource  # a source over records held in memory


def pass_role_message(principal_arn: str, role_arn: str) -> str:
    return message(principal_arn, "iam:PassRole", role_arn)


def finding_id_of(principal_key: str, owner: str) -> str:
    """docs/CONTRACT.md's finding id, worked out here: "f-" and 16 hex digits of sha-256("<key>\\n<owner>")."""
    return "f-" + hashlib.sha256(f"{principal_key}\n{owner}".encode()).hexdigest()[:16]


def cross_account_role_name(principal_key: str, caller: str, owner: str, service: str = "AppRunner") -> str:
    """The role a cross-account remedy creates: one per finding, named by the caller's account and the finding."""
    return f"{service}AccessFrom{caller}-{finding_id_of(principal_key, owner)[2:10]}"
