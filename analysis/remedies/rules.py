"""Which of docs/CONTRACT.md's rules each refused action falls under, and whether a grant is part of its fix."""

from __future__ import annotations

from typing import Any

from analysis import catalog
from analysis.principals import account_of_arn, is_service_linked_role
from analysis.remedies.situation import Situation

KINDS = ("investigate", "org_policy", "review_deny", "cross_account_role", "permission_set", "grant")
GRANTABLE_REASONS = frozenset({"no_identity_allow", "unknown"})
ORG_REASONS = frozenset({"scp", "rcp"})
REVIEW_REASONS = frozenset(
    {"explicit_identity_deny", "explicit_deny", "permissions_boundary", "session_policy", "vpc_endpoint_policy"}
)
FEDERATION_ACTIONS = frozenset({"sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"})
PASS_ROLE = "iam:PassRole"


def is_root(principal: dict[str, Any]) -> bool:
    return bool(principal["type"] == "Root")


def action_rule(situation: Situation, action: dict[str, Any]) -> str:
    """The rule (a remedy kind) one refused action falls under."""
    reasons = set(action["reasons"])
    if reasons & ORG_REASONS:
        return "org_policy"
    if is_root(situation.principal) and "resource_policy" not in reasons:
        return "org_policy"
    if review_cause(situation, action):
        return "review_deny"
    if situation.finding["cross_account"] and not acts_in_callers_account(action["action"]):
        return "cross_account_role"
    if situation.principal.get("permission_set"):
        return "permission_set"
    return "grant"


def review_cause(situation: Situation, action: dict[str, Any]) -> str | None:
    """Why a grant alone would not help (rule 3), or None."""
    reasons = set(action["reasons"])
    principal = situation.principal
    if reasons & REVIEW_REASONS:
        return "policy"
    if "resource_policy" in reasons and (not situation.finding["cross_account"] or is_root(principal)):
        return "resource_policy"
    if principal["type"] == "AWSService":
        return "aws_service"
    if is_service_linked_role(principal.get("arn")):
        return "service_linked_role"
    if action["action"] in FEDERATION_ACTIONS:  # the role's trust policy decides, not a grant
        return "federation"
    if action["action"] == PASS_ROLE and foreign_roles(situation, action):
        return "foreign_pass_role"
    if action["non_iam_failures"]:
        return "not_iam"
    return None


def acts_in_callers_account(action: str) -> bool:
    """An action that takes no resource (only '*', such as apprunner:ListServices) acts in the caller's account."""
    return catalog.takes_only_star(action)


def foreign_roles(situation: Situation, action: dict[str, Any]) -> list[str]:
    """The roles of another account that iam:PassRole was refused for (a role is passed only in its account)."""
    caller = situation.principal.get("account_id")
    return [r for r in action["resources"] if caller and account_of_arn(r) not in (None, caller)]


def grant_fixes(action: dict[str, Any], rule: str) -> bool:
    """Whether a grant is (part of) the fix for this action."""
    if action["non_iam_failures"] or not action["action_in_catalog"]:
        return False
    return rule in ("cross_account_role", "permission_set", "grant")


def finding_kind(rules: dict[str, str], reconnaissance: bool) -> str:
    return "investigate" if reconnaissance else min(rules.values(), key=KINDS.index)
