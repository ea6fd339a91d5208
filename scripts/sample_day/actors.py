"""Who calls: a ``userIdentity`` with stable IDs, the ARN AWS names in messages, and the client."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from . import identities
from .identities import SSO_PATH
from .world import CONSOLE, CONSOLE_WIN, GITHUB_OIDC, IDENTITY_STORE_ARN, SAML_QUALIFIER, SECURITY, iso, stable


@dataclass(frozen=True)
class Actor:
    identity: dict[str, Any]
    arn: str | None
    account: str | None
    ip: str
    agent: str
    console: bool = False
    tls: bool = True
    tls_version: str = "TLSv1.3"


def role_id(account: str, role: str) -> str:
    return stable("AROA", f"{account}/role/{role}", 17)


def user_id(account: str, name: str) -> str:
    return stable("AIDA", f"{account}/user/{name}", 17)


def iam_user(account: str, name: str, ip: str, agent: str, *, tls_version: str = "TLSv1.3") -> Actor:
    key = stable("AKIA", f"key/{account}/{name}", 16)
    identity = identities.iam_user(account, name, principal_id=user_id(account, name), access_key_id=key)
    return Actor(identity, identity["arn"], account, ip, agent, tls_version=tls_version)


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
) -> Actor:
    """A role session; one an AWS service holds (``invoked_by``) has the service as address and client."""
    identity = identities.assumed_role(
        account,
        role,
        session,
        role_id=role_id(account, role),
        access_key_id=stable("ASIA", f"{account}/{role}/{session}/{iso(created)}", 16),
        created=iso(created),
        path=path,
        web_id=web_id,
        invoked_by=invoked_by,
    )
    if invoked_by:
        return Actor(identity, identity["arn"], account, invoked_by, invoked_by, tls=False)
    return Actor(identity, identity["arn"], account, ip, agent, console=console)


def sso_session(account: str, role: str, user: str, created: datetime, ip: str, agent: str) -> Actor:
    """An Identity Center permission set's role session, opened from the access portal."""
    return role_session(account, role, user, created, ip, agent, path=SSO_PATH, console=True)


def root_console(account: str, created: datetime, ip: str) -> Actor:
    key = stable("ASIA", f"root/{account}/{iso(created)}", 16)
    identity = identities.root(account, access_key_id=key, created=iso(created))
    return Actor(identity, identity["arn"], account, ip, CONSOLE_WIN, console=True)


def root_sign_in(account: str, ip: str) -> Actor:
    """The root user as its ``ConsoleLogin`` record shows it: an empty key, no session yet."""
    return Actor(identities.root(account, access_key_id=""), None, account, ip, CONSOLE_WIN)


def federated_user(account: str, name: str, issuer: str, created: datetime, ip: str, agent: str) -> Actor:
    identity = identities.federated_user(
        account,
        name,
        issuer=issuer,
        issuer_id=user_id(account, issuer),
        access_key_id=stable("ASIA", f"federated/{account}/{name}/{iso(created)}", 16),
        created=iso(created),
    )
    return Actor(identity, identity["arn"], account, ip, agent)


def seen_by_owner(caller: Actor) -> Actor:
    """A caller from another account as the resource owner's log shows it (messages still name the caller)."""
    identity = identities.aws_account(caller.account or "", caller.identity["principalId"])
    return replace(caller, identity=identity)


def aws_service(service: str) -> Actor:
    return Actor(identities.aws_service(service), service, None, service, service, tls=False)


def saml_user(user: str, ip: str, agent: str, message_arn: str) -> Actor:
    identity = identities.saml_user(user, qualifier=SAML_QUALIFIER, provider=SAML_QUALIFIER)
    return Actor(identity, message_arn, None, ip, agent)


def web_identity_user(subject: str, ip: str, agent: str, message_arn: str | None = None) -> Actor:
    identity = identities.web_identity_user(subject, GITHUB_OIDC, "sts.amazonaws.com")
    return Actor(identity, message_arn, None, ip, agent)


def identity_center_user(user: str, ip: str) -> Actor:
    credential = stable("", f"credential/{user}", 52).replace("=", "") + "EXAMPLE"
    identity = identities.identity_center_user(
        user, account=SECURITY, identity_store_arn=IDENTITY_STORE_ARN, credential_id=credential
    )
    return Actor(identity, None, SECURITY, ip, CONSOLE)
