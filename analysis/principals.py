"""Who made a call: the canonical principal of a CloudTrail ``userIdentity`` block."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, get_args

from analysis.contract import PrincipalType
from analysis.identifiers import ACCOUNT_ID

PRINCIPAL_TYPES: tuple[str, ...] = get_args(PrincipalType)

# AWSReservedSSO_<PermissionSetName>_<16 hex>: the permission set name may itself contain "_".
_IDENTITY_CENTER_ROLE = re.compile(r"^AWSReservedSSO_(?P<permission_set>.+)_(?P<hash>[0-9a-f]{16})$")
_ASSUMED_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)$"
)
_FEDERATED_ARN = re.compile(r"^arn:(?P<partition>[^:]+):sts::(?P<account>\d{12}):federated-user/(?P<user>.+)$")
_ANY_ARN = re.compile(r"^arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:\S+$")
_ACCOUNT_IN_ARN = re.compile(r"^arn:[^:]+:[^:]*:[^:]*:(?P<account>\d{12}):")


@dataclass(frozen=True)
class Principal:
    arn: str | None
    type: str
    account_id: str | None
    session: str | None = None
    permission_set: str | None = None
    key: str = ""  # what findings group by: the canonical ARN, else the best identifier the log has


def account_of_arn(arn: str | None) -> str | None:
    if not arn:
        return None
    match = _ACCOUNT_IN_ARN.match(arn)
    return match.group("account") if match else None


def identity_center_permission_set(role_arn: str | None) -> str | None:
    if not role_arn or ":role/" not in role_arn:
        return None
    role_name = role_arn.rsplit("/", 1)[-1]
    match = _IDENTITY_CENTER_ROLE.match(role_name)
    return match.group("permission_set") if match else None


def principal_from_identity(identity: Any, partition: str = "aws") -> Principal:
    """The canonical principal of a ``userIdentity``; ``partition`` (of the record's region) names the root
    user when the log gives only its account."""
    if not isinstance(identity, dict):
        identity = {}
    # A type AWS adds later, or garbage, is Unknown: the contract lists the types it knows.
    kind = identity.get("type") if identity.get("type") in PRINCIPAL_TYPES else "Unknown"
    raw_arn = _arn(identity.get("arn"))
    account = _account(identity.get("accountId")) or account_of_arn(raw_arn)
    context = identity.get("sessionContext")
    issuer = (context.get("sessionIssuer") if isinstance(context, dict) else None) or {}
    issuer_arn = _arn(issuer.get("arn")) if isinstance(issuer, dict) else None
    arn, session = _canonical(kind, raw_arn, issuer_arn, identity, account, partition)
    principal_id = _str(identity.get("principalId"))
    if session is None and principal_id and ":" in principal_id and kind in ("AssumedRole", "AWSAccount"):
        session = principal_id.split(":", 1)[1]
    key = arn or _fallback_key(kind, identity, account, principal_id)
    return Principal(
        arn=arn,
        type=kind,
        account_id=account,
        session=session,
        permission_set=identity_center_permission_set(arn),
        key=key,
    )


def _canonical(
    kind: str,
    raw_arn: str | None,
    issuer_arn: str | None,
    identity: dict[str, Any],
    account: str | None,
    partition: str,
) -> tuple[str | None, str | None]:
    """(canonical ARN, session name) as docs/CONTRACT.md defines the canonical ARN."""
    assumed = _ASSUMED_ROLE_ARN.match(raw_arn or "")
    if assumed:
        session = assumed.group("session")
        if issuer_arn and ":role/" in issuer_arn:
            return issuer_arn, session
        # Without the issuer the role's path is unknown; the role name is still exact.
        return f"arn:{assumed.group('partition')}:iam::{assumed.group('account')}:role/{assumed.group('role')}", session
    federated = _FEDERATED_ARN.match(raw_arn or "")
    if federated:
        session = federated.group("user")
        if issuer_arn and ":user/" in issuer_arn:
            return issuer_arn, session
        return None, session
    if kind == "Root":
        if raw_arn and raw_arn.endswith(":root"):
            return raw_arn, None
        return (f"arn:{partition}:iam::{account}:root" if account else None), None
    if kind == "AssumedRole" and issuer_arn:
        return issuer_arn, None
    if kind == "FederatedUser" and issuer_arn and ":user/" in issuer_arn:
        return issuer_arn, None  # docs/CONTRACT.md: a federated user is the IAM user that issued the session
    if kind == "IAMUser" and raw_arn and ":user/" in raw_arn:
        return raw_arn, None
    if raw_arn and raw_arn.startswith("arn:") and kind not in ("AWSService", "AWSAccount"):
        return raw_arn, None
    return None, None


def _fallback_key(kind: str, identity: dict[str, Any], account: str | None, principal_id: str | None) -> str:
    if kind == "AWSService":
        return f"service:{identity.get('invokedBy') or 'unknown'}"
    role_id = principal_id.split(":", 1)[0] if principal_id else None
    on_behalf_of = identity.get("onBehalfOf")
    on_behalf_of = on_behalf_of if isinstance(on_behalf_of, dict) else {}
    candidates = (
        ("user", _str(on_behalf_of.get("userId"))),
        ("name", _str(identity.get("userName"))),
        ("id", role_id),
    )
    for label, value in candidates:
        if value:
            return f"{kind}:{account or '?'}:{label}:{value}"
    return f"{kind}:{account or '?'}"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _arn(value: Any) -> str | None:
    """An ARN as the log wrote it, or None for anything that is not one (a canonical ARN must be an ARN)."""
    return value if isinstance(value, str) and _ANY_ARN.match(value) else None


def _account(value: Any) -> str | None:
    return value if isinstance(value, str) and ACCOUNT_ID.match(value) else None


_IDENTITY_CENTER_PATH = re.compile(
    r":role/aws-reserved/sso\.amazonaws\.com/(?:(?P<region>[a-z]{2,}(?:-[a-z]+)+-\d+)/)?AWSReserved"
)


def is_service_linked_role(arn: str | None) -> bool:
    """A role under ``/aws-service-role/``: AWS defines its permissions and they cannot be edited."""
    return bool(arn) and ":role/aws-service-role/" in (arn or "")


def identity_center_region(role_arn: str | None) -> str | None:
    """The Region of the Identity Center instance that made an ``AWSReservedSSO_`` role, from the role's path
    (``/aws-reserved/sso.amazonaws.com/REGION/``); None for roles whose path does not carry it."""
    match = _IDENTITY_CENTER_PATH.search(role_arn or "")
    return match.group("region") if match else None


_IAM_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)  # the characters of IAM names and path parts (IAM user guide, quotas)


def short_name(arn: str) -> str:
    """``user/dev-alice``, ``role/Deploy``, ``assumed-role/Deploy``, ``root``: an ARN's resource without its path
    (for people; the account is shown beside it). A name IAM could not have given (a ``/`` inside odd characters)
    is shown whole: no part of what the log says is hidden."""
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else arn
    kind, slash, rest = resource.partition("/")
    segments = rest.split("/")
    if not slash or not all(_IAM_NAME.fullmatch(segment) for segment in segments):
        return resource
    if kind == "assumed-role":  # assumed-role/ROLE/SESSION: the role is who; sessions are many
        return f"{kind}/{segments[0]}"
    return f"{kind}/{segments[-1]}"
