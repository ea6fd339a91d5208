"""IAM policy documents: least-privilege grants, trust policies, and their check against the catalog."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from policy_sentry.util.arns import get_service_from_arn

from analysis import catalog

POLICY_VERSION = "2012-10-17"
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace not counted (IAM quotas)
PASS_ROLE = "iam:PassRole"
_SID_UNSAFE = re.compile(r"[^A-Za-z0-9]")


@dataclass(frozen=True)
class Grant:
    """One refused action and the resources it was refused on (ARNs or '*')."""

    action: str
    resources: tuple[str, ...]
    passed_to_services: tuple[str, ...] = ()


@dataclass
class ScopedResources:
    """The resources a policy may name for an action, and what had to be left out (with why)."""

    resources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def scope_resources(action: str, stated: Iterable[str], *, principal_arn: str | None = None) -> ScopedResources:
    """Keep only resources that the catalog says the action takes; '*' only where it takes no resource (the caller's
    own session, ``principal_arn``, is never one)."""
    stated = tuple(stated)
    resources, notes = _scoped(action, stated, principal_arn if principal_arn in stated else None)
    return ScopedResources(list(resources), list(notes))


# Bounded (keys come from logs); a storm refuses the same few resources to thousands of principals.
@lru_cache(maxsize=4096)
def _scoped(action: str, stated: tuple[str, ...], principal_arn: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if catalog.takes_only_star(action):
        return ("*",), ()
    resources: list[str] = []
    notes: list[str] = []
    for resource in stated:
        if resource == principal_arn and _is_sts_session(resource):
            continue
        if resource != "*" and catalog.matching_resource_type(action, resource):
            resources.append(resource)
        elif resource == "*":
            notes.append(f"{action}: refused on '*' although it takes a resource: name the resource to grant.")
        else:
            notes.append(f"{action}: '{resource}' is not a resource this action takes; left out.")
    return tuple(_without_subsumed(sorted(set(resources)))), tuple(notes)


def _is_sts_session(arn: str) -> bool:
    """The caller's own STS identity (a session, not a resource a policy can name)."""
    try:
        return get_service_from_arn(arn) == "sts"
    except Exception:  # policy_sentry's ARN parser raises a bare Exception for what is not an ARN
        return False


def _without_subsumed(resources: list[str]) -> list[str]:
    """Drop ARNs that a wildcard ARN in the same list already covers (service/web/abc under service/web/*)."""
    patterns = [r for r in resources if "*" in r]
    return [r for r in resources if not any(p != r and fnmatch.fnmatchcase(r, p) for p in patterns)]


def grant_policy(grants: Iterable[Grant]) -> dict[str, Any] | None:
    """One Allow statement per distinct resource set; iam:PassRole alone, with iam:PassedToService."""
    by_resources: dict[tuple[str, ...], list[str]] = {}
    pass_role: list[Grant] = []
    for grant in grants:
        if not grant.resources:
            continue
        if grant.action == PASS_ROLE:
            pass_role.append(grant)
            continue
        by_resources.setdefault(tuple(sorted(grant.resources)), []).append(grant.action)
    statements = [_allow(sorted(set(actions)), list(resources)) for resources, actions in by_resources.items()]
    for grant in pass_role:
        statement = _allow([PASS_ROLE], list(grant.resources))
        if grant.passed_to_services:
            services = sorted(set(grant.passed_to_services))
            statement["Condition"] = {"StringEquals": {"iam:PassedToService": _one_or_many(services)}}
        statements.append(statement)
    if not statements:
        return None
    _name_statements(statements)
    return {"Version": POLICY_VERSION, "Statement": statements}


def _allow(actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": _one_or_many(actions), "Resource": _one_or_many(sorted(resources))}


def _one_or_many(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def _name_statements(statements: list[dict[str, Any]]) -> None:
    used: set[str] = set()
    for statement in statements:
        actions = _as_list(statement["Action"])
        base = _sid_base(actions[0], len(actions))
        sid, n = base[:100], 2
        while sid in used:
            sid, n = f"{base[:96]}{n}", n + 1
        used.add(sid)
        statement["Sid"] = sid
        statement.update({k: statement.pop(k) for k in ("Effect", "Action", "Resource", "Condition") if k in statement})


@lru_cache(maxsize=4096)
def _sid_base(first_action: str, actions: int) -> str:
    first = first_action.split(":", 1)
    base = "Allow" + _SID_UNSAFE.sub("", first[0].title() + first[1])
    return base + f"And{actions - 1}More" if actions > 1 else base


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))  # json.dumps would build one per call


def policy_size(policy: Mapping[str, Any]) -> int:
    """Characters IAM counts against its quotas: the JSON without whitespace."""
    return len(_COMPACT_JSON.encode(policy))


def split_policy(policy: dict[str, Any] | None, limit: int = MANAGED_POLICY_LIMIT) -> list[dict[str, Any]]:
    """Policies of at most ``limit`` characters each, splitting statements (and large resource lists)."""
    if policy is None:
        return []
    whole = {"Version": POLICY_VERSION, "Statement": list(policy["Statement"])}
    if whole["Statement"] and policy_size(whole) <= limit:  # each statement fits, and every run of them
        return [whole]
    documents: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    for statement in _fitting_statements(policy["Statement"], limit):
        candidate = {"Version": POLICY_VERSION, "Statement": [*current, statement]}
        if current and policy_size(candidate) > limit:
            documents.append({"Version": POLICY_VERSION, "Statement": current})
            current = [statement]
        else:
            current.append(statement)
    if current:
        documents.append({"Version": POLICY_VERSION, "Statement": current})
    return documents


def _fitting_statements(statements: list[dict[str, Any]], limit: int) -> Iterable[dict[str, Any]]:
    for statement in statements:
        if policy_size({"Version": POLICY_VERSION, "Statement": [statement]}) <= limit:
            yield statement
            continue
        resources = _as_list(statement["Resource"])
        half = max(1, len(resources) // 2)
        if len(resources) == 1:
            yield statement  # one resource too long for any policy: nothing narrower exists
            continue
        for index, part in enumerate((resources[:half], resources[half:]), start=1):
            piece = {**statement, "Sid": f"{statement.get('Sid', 'Part')}{index}", "Resource": _one_or_many(part)}
            yield from _fitting_statements([piece], limit)


def trust_policy(
    principal: str,
    *,
    external_id: str | None = None,
    organization_id: str | None = None,
    principal_arn_like: str | None = None,
) -> dict[str, Any]:
    """Who may assume the new role: the caller (a role or user ARN, or an account root, narrowed by
    ``principal_arn_like`` to the roles whose ARN matches, such as an Identity Center role's every version)."""
    statement: dict[str, Any] = {
        "Sid": "AllowCallerToAssume",
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": "sts:AssumeRole",
    }
    conditions: dict[str, dict[str, str]] = {}
    if external_id:
        conditions.setdefault("StringEquals", {})["sts:ExternalId"] = external_id
    if organization_id:
        conditions.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = organization_id
    if principal_arn_like:
        conditions["ArnLike"] = {"aws:PrincipalArn": principal_arn_like}
    if conditions:
        statement["Condition"] = conditions
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def assume_role_policy(role_arn: str, also: dict[str, Any] | None = None) -> dict[str, Any]:
    """The caller's permission to assume ``role_arn``, with the statements of ``also`` (actions that act in the
    caller's own account, granted where the caller is)."""
    statement = {"Sid": "AllowAssumeTargetRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}
    return {"Version": POLICY_VERSION, "Statement": [statement, *((also or {}).get("Statement") or [])]}


def catalog_problems(policy: Mapping[str, Any]) -> list[str]:
    """What makes a proposed policy not least privilege, checked against the IAM catalog."""
    problems = []
    for statement in policy.get("Statement", []):
        for forbidden in ("NotAction", "NotResource"):
            if forbidden in statement:
                problems.append(f"{statement.get('Sid')}: uses {forbidden}")
        actions = _as_list(statement.get("Action", []))
        resources = _as_list(statement.get("Resource", []))
        for action in actions:
            if "*" in action or "?" in action:
                problems.append(f"{action}: wildcard action")
            elif catalog.canonical_action(action) != action:
                problems.append(f"{action}: not an action of the IAM catalog (or not spelled as it is)")
            else:
                problems.extend(_resource_problems(action, resources))
    return problems


def _resource_problems(action: str, resources: list[str]) -> list[str]:
    problems = []
    for resource in resources:
        if resource == "*":
            if not catalog.takes_only_star(action):
                problems.append(f"{action}: '*' although the action takes a resource")
        elif not catalog.matching_resource_type(action, resource):
            problems.append(f"{action}: {resource} matches none of the action's resource types")
    return problems
