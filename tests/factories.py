"""Event factories: CloudTrail records shaped like the ones AWS writes (see tests/data/real/)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from analysis.sources.base import RecordsSource

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
SERVICE_ID = "8fe1e10304f84fd2b0df550fe98a71fa"
_counter = itertools.count(1)


def service_arn(name: str = "web", account: str = ACCOUNT, region: str = REGION) -> str:
    return f"arn:aws:apprunner:{region}:{account}:service/{name}/{SERVICE_ID}"


def iam_user(name: str = "dev-alice", account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEUSERID1234",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "userName": name,
    }


def assumed_role(role: str = "Deploy", session: str = "jane", account: str = ACCOUNT, path: str = "/") -> dict:
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLEROLEID1234:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLETEMPKEY12",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEROLEID1234",
                "arn": f"arn:aws:iam::{account}:role{path}{role}",
                "accountId": account,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-11-28T08:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def identity_center_role(permission_set: str = "Developer_Access", session: str = "jane@example.com") -> dict:
    role = f"AWSReservedSSO_{permission_set}_0a1b2c3d4e5f6789"
    return assumed_role(role, session, path="/aws-reserved/sso.amazonaws.com/")


def root(account: str = ACCOUNT) -> dict[str, Any]:
    return {"type": "Root", "principalId": account, "arn": f"arn:aws:iam::{account}:root", "accountId": account}


def federated_user(user: str = "bob", account: str = ACCOUNT) -> dict[str, Any]:
    return {
        "type": "FederatedUser",
        "principalId": f"{account}:{user}",
        "arn": f"arn:aws:sts::{account}:federated-user/{user}",
        "accountId": account,
        "sessionContext": {
            "sessionIssuer": {
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLEUSERID1234",
                "arn": f"arn:aws:iam::{account}:user/{user}",
                "accountId": account,
                "userName": user,
            },
            "attributes": {"creationDate": "2026-11-28T08:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def aws_account(account: str = OTHER_ACCOUNT, session: str = "partner-session") -> dict[str, Any]:
    return {"type": "AWSAccount", "principalId": f"AROAEXAMPLEPARTNER12:{session}", "accountId": account}


def aws_service(service: str = "apprunner.amazonaws.com") -> dict[str, Any]:
    return {"type": "AWSService", "invokedBy": service}


def identity_center_user(user_id: str = "94482488-3041-7026-18f3-be45837cd0e4") -> dict[str, Any]:
    return {
        "type": "IdentityCenterUser",
        "accountId": ACCOUNT,
        "onBehalfOf": {
            "userId": user_id,
            "identityStoreArn": "arn:aws:identitystore::111122223333:identitystore/d-1234567890",
        },
        "credentialId": "EXAMPLEcredentialId",
    }


def saml_user(name: str = "SamlExample") -> dict[str, Any]:
    return {
        "type": "SAMLUser",
        "principalId": f"SampleUkh1i4+ExamplexL/jEvs=:{name}",
        "userName": name,
        "identityProvider": "bdGOnTesti4+ExamplexL/jEvs=",
    }


def web_identity_user(name: str = "amzn1.account.AF6RHO7KZU5XRVQJGXK6HEXAMPLE") -> dict[str, Any]:
    return {
        "type": "WebIdentityUser",
        "principalId": f"www.amazon.com:{name}",
        "userName": name,
        "identityProvider": "www.amazon.com",
    }


def message(
    principal_arn: str,
    action: str,
    resource: str | None = None,
    tail: str = "because no identity-based policy allows the {action} action",
) -> str:
    on = f" on resource: {resource}" if resource else ""
    text = f"User: {principal_arn} is not authorized to perform: {action}{on}"
    return f"{text} {tail.format(action=action)}".rstrip()


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
