"""The report's "what to do" and "why" in a few words, shared by the report's renderings and the alerts.

``render.terminal`` prints ``what_to_do`` in its "what to do" column and ``alerting.message`` puts it on the alert's
fix line, so that an alert gives the same advice the daily report would give; the report's text, Markdown, HTML and
CSV say why an action was refused in ``REASON_WORDS`` (``render.common.reason_words``) and the alert's "Why:" line
says it in the same words. It sits below both (``alerting`` is in the layer beside ``render`` and may not import
it): only the contract is read here, nothing is rendered.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.contract import Finding, Policy

# What a refusal came from, in the few words a summary line has room for.
REASON_SHORT = {
    "no_identity_allow": "no policy allows it",
    "explicit_identity_deny": "identity policy deny",
    "scp": "SCP",
    "rcp": "RCP",
    "permissions_boundary": "permissions boundary",
    "session_policy": "session policy",
    "resource_policy": "resource policy",
    "vpc_endpoint_policy": "VPC endpoint policy",
    "explicit_deny": "explicit deny",
    "unknown": "reason unknown",
}
# What a refusal came from, in the report's words (its text, Markdown, HTML and CSV "why").
REASON_WORDS = {
    "no_identity_allow": "no identity-based policy allows it",
    "explicit_identity_deny": "an identity-based policy explicitly denies it",
    "scp": "a service control policy (AWS Organizations) refuses it",
    "rcp": "a resource control policy (AWS Organizations) refuses it",
    "permissions_boundary": "the permissions boundary does not allow it",
    "session_policy": "the session policy does not allow it",
    "resource_policy": "a resource-based policy refuses it",
    "vpc_endpoint_policy": "the VPC endpoint policy refuses it",
    "explicit_deny": "an explicit deny (the message names no policy type)",
    "unknown": "AWS did not say why",
}
DENY_REASONS = tuple(reason for reason in REASON_SHORT if reason not in {"no_identity_allow", "unknown"})


def reason_words(reason: str) -> str:
    """Why an action was refused, in the report's words (the code itself for a reason the contract does not know)."""
    return REASON_WORDS.get(reason, reason)


def policy_actions(policy: Policy | None) -> list[str]:
    """The actions a policy document allows, in order of appearance."""
    actions: list[str] = []
    for statement in policy.Statement if policy else []:
        if statement.get("Effect") != "Allow":
            continue
        listed = statement.get("Action", [])
        actions.extend([listed] if isinstance(listed, str) else listed)
    return list(dict.fromkeys(actions))


def what_to_do(finding: Finding) -> str:
    """The remedy in a few words and its first action: ``grant apprunner:DescribeService, +2``,
    ``do not grant: explicit deny``."""
    remedy = finding.remedy
    if remedy is None:
        return "no advice yet: see the full report"
    kind = remedy.kind
    if kind == "grant":
        return f"grant {first_actions(finding)}"
    if kind == "permission_set":
        named = remedy.permission_set or finding.principal.permission_set
        return f"permission set{' ' + named if named else ''}: grant {first_actions(finding)}"
    if kind == "cross_account_role":
        return f"cross-account role for {first_actions(finding)}"
    if kind == "review_deny":
        return f"do not grant: {deny_words(finding)}"
    if kind == "org_policy":
        return f"do not grant: {deny_words(finding, among=('scp', 'rcp'), otherwise='organization policy')}"
    if kind == "investigate":
        return "do not grant: investigate (reconnaissance)"
    return kind


def first_actions(finding: Finding, shown: int = 1) -> str:
    """The first action(s) the remedy grants (else the refused ones) and how many more."""
    remedy = finding.remedy
    documents = [remedy.policy, *remedy.more_policies] if remedy else []
    actions = list(dict.fromkeys(action for document in documents for action in policy_actions(document)))
    actions = actions or list(dict.fromkeys(action.action for action in finding.actions))
    more = len(actions) - shown
    return ", ".join(actions[:shown]) + (f", +{more}" if more > 0 else "")


def deny_words(finding: Finding, among: Sequence[str] = DENY_REASONS, otherwise: str = "explicit deny") -> str:
    """What refused the finding's actions (the reasons ``among`` those named), the most specific first."""
    reasons = {reason for action in finding.actions for reason in action.reasons}
    return ", ".join(REASON_SHORT[reason] for reason in among if reason in reasons) or otherwise
