"""A finding's severity: docs/CONTRACT.md's rule, from its caller, its refused actions, its remedy kind and hazards.

- ``critical``: the root user; reconnaissance (remedy kind ``investigate``); or a caller from an account that
  is neither the owner, trusted (``Options.trusted_accounts``) nor in the organization
  (``Options.organization_accounts``).
- ``high``: an explicit deny or an organization policy (reasons ``explicit_identity_deny``, ``explicit_deny``,
  ``scp``, ``rcp``, or ``denied_explicitly``) refused a Write or Permissions-management action; or
  ``iam:PassRole`` was refused, for whatever reason.
- ``medium``: any other Write, Permissions-management or Tagging refusal; or a caller from another account
  that is trusted or in the organization.
- ``low``: otherwise (Read and List, and actions the IAM catalog does not know).

Hazards (``analysis.hazards``) raise it: a finding with a hazard is at least ``high``; it is ``critical``
when a privilege-escalation or defence-evasion hazard was refused by an explicit deny or an organization
policy (someone tried it and a guardrail stopped it), or when the caller is from an untrusted account.
Access levels are the Service Authorization Reference's, read from the IAM catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from analysis.catalog import access_level
from analysis.contract import Severity
from analysis.hazards import hazards_of
from analysis.model import Options

GUARDRAIL_REASONS = frozenset({"explicit_identity_deny", "explicit_deny", "scp", "rcp"})
CHANGING_LEVELS = frozenset({"Write", "Permissions management"})
ATTACK_CATEGORIES = frozenset({"privilege_escalation", "defence_evasion"})


def severity_of(finding: BaseModel | Mapping[str, Any], options: Options) -> Severity:
    """The finding's severity (the model or its data: principal, accounts, actions, remedy)."""
    data = finding.model_dump() if isinstance(finding, BaseModel) else finding
    actions = data.get("actions") or []
    hazards = {hazard.action.lower(): hazard.category for hazard in hazards_of(data)}
    if _is_root(data) or _remedy_kind(data) == "investigate" or _caller_outside(data, options):
        return "critical"
    if any(hazards.get(_name(a)) in ATTACK_CATEGORIES and _by_guardrail(a) for a in actions):
        return "critical"
    if hazards or any(_name(a) == "iam:passrole" or _guardrail_stopped_a_change(a) for a in actions):
        return "high"
    if data.get("cross_account") or any(_level(a) in CHANGING_LEVELS | {"Tagging"} for a in actions):
        return "medium"
    return "low"


def _is_root(finding: Mapping[str, Any]) -> bool:
    return (finding.get("principal") or {}).get("type") == "Root"


def _remedy_kind(finding: Mapping[str, Any]) -> str | None:
    remedy = finding.get("remedy")
    return remedy.get("kind") if isinstance(remedy, Mapping) else None


def _caller_outside(finding: Mapping[str, Any], options: Options) -> bool:
    """A caller from another account that is neither trusted nor in the organization (never inferred)."""
    account = (finding.get("principal") or {}).get("account_id")
    known = options.trusted_accounts | options.organization_accounts
    return bool(finding.get("cross_account") and account and account not in known)


def _by_guardrail(action: Mapping[str, Any]) -> bool:
    """Refused by an explicit deny or an organization policy."""
    return bool(action.get("denied_explicitly")) or bool(GUARDRAIL_REASONS & set(action.get("reasons") or []))


def _guardrail_stopped_a_change(action: Mapping[str, Any]) -> bool:
    return _by_guardrail(action) and _level(action) in CHANGING_LEVELS


def _name(action: Mapping[str, Any]) -> str:
    return str(action.get("action", "")).lower()


def _level(action: Mapping[str, Any]) -> str | None:
    return access_level(_name(action))


def with_severity(finding: Mapping[str, Any], options: Options) -> dict[str, Any]:
    """The finding's data with its ``hazards`` and ``severity`` filled (after its remedy: ``investigate``
    counts)."""
    hazards = [hazard.model_dump() for hazard in hazards_of(finding)]
    return {**finding, "hazards": hazards, "severity": severity_of(finding, options)}
