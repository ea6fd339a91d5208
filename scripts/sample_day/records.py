"""One CloudTrail record, keys in the order AWS writes them, and the STS response elements the day repeats."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .actors import Actor, role_id
from .world import SESSION_TOKEN, expiry, iso

APPRUNNER = "apprunner.amazonaws.com"
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
    "sts.amazonaws.com": "sts.{region}.amazonaws.com",
}
READ_PREFIXES = ("Describe", "List", "Get", "Lookup", "BatchGet", "BatchCheck", "AssumeRole", "Decrypt", "Generate")


@dataclass(frozen=True)
class Details:
    """What a record may carry besides who, when, what and where."""

    request: Any = None
    response: Any = None
    error: tuple[str, str | None] | None = None  # errorCode, errorMessage (None: no message at all)
    recipient: str | None = None  # the account whose log holds it; default: the caller's
    read_only: bool | None = None  # default: from the event name
    resources: list[dict[str, str]] | None = None
    additional: dict[str, Any] | None = None
    shared: str | None = None  # sharedEventID, when the record is in two accounts' logs
    event_type: str = "AwsApiCall"
    vpce: str | None = None
    request_id: str | None = None


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", re.sub(r"\d{8}(v\d)?$", "", name)).lower()


def cloudtrail_record(
    actor: Actor, when: datetime, source: str, name: str, region: str, details: Details, event_id: str
) -> dict[str, Any]:
    """The record; ``details.request_id`` is written for API calls only."""
    prefix = source.split(".")[0]
    rec: dict[str, Any] = {
        "eventVersion": VERSION_BY_SOURCE.get(source, "1.11"),
        "userIdentity": actor.identity,
        "eventTime": iso(when),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": actor.ip,
        "userAgent": actor.agent.replace("{cmd}", f"{CLI_SERVICE.get(prefix, prefix)}.{kebab(name)}"),
    }
    if details.error is not None:
        rec["errorCode"] = details.error[0]
        if details.error[1] is not None:
            rec["errorMessage"] = details.error[1]
    rec["requestParameters"] = details.request
    rec["responseElements"] = details.response
    if details.additional is not None:
        rec["additionalEventData"] = details.additional
    if details.event_type == "AwsApiCall":
        rec["requestID"] = details.request_id
    rec["eventID"] = event_id
    rec["readOnly"] = name.startswith(READ_PREFIXES) if details.read_only is None else details.read_only
    rec.update(_delivery(actor, source, region, details))
    return rec


def _delivery(actor: Actor, source: str, region: str, details: Details) -> dict[str, Any]:
    """The record's second half: resources, type, the account whose log holds it, the connection."""
    tail: dict[str, Any] = {} if details.resources is None else {"resources": details.resources}
    tail.update(eventType=details.event_type, managementEvent=True)
    tail["recipientAccountId"] = details.recipient or actor.account
    if details.shared is not None:
        tail["sharedEventID"] = details.shared
    if details.vpce is not None:
        tail["vpcEndpointId"] = details.vpce
    tail["eventCategory"] = "Management"
    if actor.tls:
        host = HOST_BY_SOURCE.get(source, f"{source.split('.')[0]}.{{region}}.amazonaws.com").format(region=region)
        cipher = "TLS_AES_128_GCM_SHA256" if actor.tls_version == "TLSv1.3" else "ECDHE-RSA-AES128-GCM-SHA256"
        tail["tlsDetails"] = {"tlsVersion": actor.tls_version, "cipherSuite": cipher, "clientProvidedHostHeader": host}
    if actor.console:
        tail["sessionCredentialFromConsole"] = "true"
    return tail


def credentials(access_key_id: str, issued: datetime) -> dict[str, str]:
    """Temporary credentials as STS returns them, valid for an hour."""
    return {
        "accessKeyId": access_key_id,
        "sessionToken": SESSION_TOKEN,
        "expiration": expiry(issued + timedelta(hours=1)),
    }


def assumed_role_user(account: str, role: str, session: str) -> dict[str, str]:
    return {
        "assumedRoleId": f"{role_id(account, role)}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
    }


def role_resource(role_arn: str) -> list[dict[str, str]]:
    return [{"accountId": role_arn.split(":")[4], "type": "AWS::IAM::Role", "ARN": role_arn}]
