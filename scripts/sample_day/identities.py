"""CloudTrail ``userIdentity`` blocks, one builder per principal type, keys in the order AWS writes them.

Shared by the sample-day generator and ``tests/factories.py``; standard library only.
"""

from __future__ import annotations

from typing import Any

Identity = dict[str, Any]

SSO_PATH = "/aws-reserved/sso.amazonaws.com/"


def sso_role_name(permission_set: str, suffix: str) -> str:
    """The role Identity Center creates for a permission set: ``AWSReservedSSO_<set>_<suffix>``."""
    return f"AWSReservedSSO_{permission_set}_{suffix}"


def iam_user(account: str, name: str, *, principal_id: str, access_key_id: str) -> Identity:
    return {
        "type": "IAMUser",
        "principalId": principal_id,
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": access_key_id,
        "userName": name,
    }


def _issuer(kind: str, principal_id: str, arn: str, account: str, name: str) -> Identity:
    return {"type": kind, "principalId": principal_id, "arn": arn, "accountId": account, "userName": name}


def session_context(
    issuer: Identity, created: str, *, mfa: bool = False, web_id: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "sessionIssuer": issuer,
        "webIdFederationData": web_id or {},
        "attributes": {"creationDate": created, "mfaAuthenticated": "true" if mfa else "false"},
    }


def assumed_role(
    account: str,
    role: str,
    session: str,
    *,
    role_id: str,
    access_key_id: str,
    created: str,
    path: str = "/",
    mfa: bool = False,
    web_id: dict[str, Any] | None = None,
    invoked_by: str | None = None,
) -> Identity:
    """A role session (``sts:AssumeRole*``); Identity Center sessions use ``path=SSO_PATH``."""
    issuer = _issuer("Role", role_id, f"arn:aws:iam::{account}:role{path}{role}", account, role)
    identity: Identity = {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": access_key_id,
        "sessionContext": session_context(issuer, created, mfa=mfa, web_id=web_id),
    }
    if invoked_by is not None:
        identity["invokedBy"] = invoked_by
    return identity


def root(account: str, *, access_key_id: str | None = None, created: str | None = None) -> Identity:
    """The root user; a console session has a key and a session context (always with MFA here)."""
    identity: Identity = {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
    }
    if access_key_id is not None:
        identity["accessKeyId"] = access_key_id
    if created is not None:
        identity["sessionContext"] = session_context({}, created, mfa=True)
    return identity


def federated_user(
    account: str, name: str, *, issuer: str, issuer_id: str, access_key_id: str, created: str
) -> Identity:
    """A ``sts:GetFederationToken`` session of IAM user ``issuer``."""
    user = _issuer("IAMUser", issuer_id, f"arn:aws:iam::{account}:user/{issuer}", account, issuer)
    return {
        "type": "FederatedUser",
        "principalId": f"{account}:{name}",
        "arn": f"arn:aws:sts::{account}:federated-user/{name}",
        "accountId": account,
        "accessKeyId": access_key_id,
        "sessionContext": session_context(user, created),
    }


def aws_account(account: str, principal_id: str) -> Identity:
    """How a caller from another account appears in the resource owner's log."""
    return {"type": "AWSAccount", "principalId": principal_id, "accountId": account}


def aws_service(service: str) -> Identity:
    return {"type": "AWSService", "invokedBy": service}


def identity_center_user(user_id: str, *, account: str, identity_store_arn: str, credential_id: str) -> Identity:
    return {
        "type": "IdentityCenterUser",
        "accountId": account,
        "onBehalfOf": {"userId": user_id, "identityStoreArn": identity_store_arn},
        "credentialId": credential_id,
    }


def saml_user(name: str, *, qualifier: str, provider: str) -> Identity:
    """A SAML caller: the principal ID is ``<name qualifier>:<name>``."""
    return {"type": "SAMLUser", "principalId": f"{qualifier}:{name}", "userName": name, "identityProvider": provider}


def web_identity_user(name: str, provider: str, audience: str | None = None) -> Identity:
    """An OIDC caller; the principal ID has the audience between provider and subject when there is one."""
    principal_id = f"{provider}:{audience}:{name}" if audience else f"{provider}:{name}"
    return {"type": "WebIdentityUser", "principalId": principal_id, "userName": name, "identityProvider": provider}
