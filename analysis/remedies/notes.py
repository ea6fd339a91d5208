"""The words of a remedy: why each action was refused, what must change, and what the log could not say."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from analysis import catalog
from analysis.principals import account_of_arn
from analysis.remedies.commands import shell_word
from analysis.remedies.rules import GRANTABLE_REASONS, acts_in_callers_account, foreign_roles, is_root, review_cause
from analysis.remedies.situation import Situation, name_of, present, texts

# Reasons that blame a policy the root user does not have: its notes say what can refuse root instead.
_NOT_ROOTS = frozenset(
    {"no_identity_allow", "unknown", "explicit_identity_deny", "permissions_boundary", "session_policy"}
)
_TRUNCATED = itemgetter("truncated")
_ENCODED = itemgetter("encoded_message")
# A principal-wide cause: the principal's note explains every action, the reason's note would contradict it.
_PRINCIPAL_CAUSES = frozenset({"aws_service", "service_linked_role", "federation"})


def action_notes(situation: Situation, action: dict[str, Any], rule: str, granted: bool) -> list[str]:
    name = action["action"]
    cause = review_cause(situation, action)
    notes = [*_reason_notes(situation, action, rule, granted, cause), *_cause_notes(situation, action, cause)]
    for policy_arn in action["policy_arns"]:
        notes.append(f"{name}: the message names the refusing policy {policy_arn}.")
    for failure in action["non_iam_failures"]:
        notes.append(f"{name}: {failure}. This is not a missing permission: no grant is proposed for it.")
    if not action["action_in_catalog"]:
        notes.append(f"{name} is not an action of the IAM catalog: no grant is proposed for it.")
    notes.extend(_origin_notes(action))
    uncovered = _uncovered_required_types(name, action["resources"])
    if uncovered:
        notes.append(
            f"{name} is also authorised against {', '.join(uncovered)} resources (the catalog marks them required); "
            "the log names none, so none is granted: a later denial may name them."
        )
    if name == "iam:PassRole" and granted:
        notes.extend(_passed_to_unknown(situation, name))
    for related_to in [name, *_event_actions(situation, name)]:
        notes.extend(_related(related_to, situation.refused, granted))
    if situation.finding["cross_account"] and acts_in_callers_account(name) and granted:
        notes.append(
            texts()["principals"]["callers_own_account"].format(
                action=name,
                caller_account=situation.principal.get("account_id"),
                owner=situation.finding["target_account_id"],
            )
        )
    return notes


def _reason_notes(
    situation: Situation, action: dict[str, Any], rule: str, granted: bool, cause: str | None
) -> list[str]:
    reasons_text = texts()["reasons"]
    notes = []
    for reason in action["reasons"]:
        if is_root(situation.principal) and reason in _NOT_ROOTS:
            continue
        if cause in _PRINCIPAL_CAUSES and reason in ("no_identity_allow", "unknown"):
            continue
        blocked = set(action["reasons"]) - GRANTABLE_REASONS
        if reason == "no_identity_allow" and not (rule in ("review_deny", "org_policy") and (granted or blocked)):
            continue
        if reason == "vpc_endpoint_policy":
            notes.append(_endpoint_note(situation, action))
            if _without_endpoint_policies(action["action"]):
                continue
        key = _reason_key(situation, action, rule, reason)
        if reason == "no_identity_allow" and not granted:
            key = "no_identity_allow_behind"
        notes.append(
            reasons_text[key].format(
                action=action["action"],
                principal=situation.who,
                account=shell_word(_policy_account(situation, reason)),
                service=_service_name(action["action"]),
                permission_set=situation.principal.get("permission_set"),
            )
        )
    return notes


def _passed_to_unknown(situation: Situation, action: str) -> list[str]:
    sources = {row["event_source"] for row in situation.rows_of(action) if present(row["event_source"])}
    unknown = sorted(s for s in sources if s != "iam.amazonaws.com" and catalog.passed_to_service(s) is None)
    return [texts()["passed_to_unknown"].format(source=source) for source in unknown]


def _policy_account(situation: Situation, reason: str) -> str | None:
    """The account whose organization policies to list: an SCP bounds the caller's account, an RCP the owner's."""
    owner: str | None = situation.finding["target_account_id"]
    return (situation.principal.get("account_id") or owner) if reason == "scp" else owner


def _without_endpoint_policies(action: str) -> bool:
    return action.split(":", 1)[0] in texts()["vpc_endpoints"]["without_endpoint_policies"]


def _reason_key(situation: Situation, action: dict[str, Any], rule: str, reason: str) -> str:
    """The text for a reason: an explicit Deny is removed, not outweighed; an Identity Center role's policies and
    boundary live in its permission set; a resource policy only where the resource's type takes one."""
    explicit = "_deny" if action.get("denied_explicitly") else ""
    if reason in ("explicit_identity_deny", "permissions_boundary") and situation.principal.get("permission_set"):
        return f"{reason}{explicit if reason == 'permissions_boundary' else ''}_permission_set"
    if reason in ("permissions_boundary", "session_policy", "vpc_endpoint_policy"):
        return f"{reason}{explicit}"
    if reason == "resource_policy":
        if rule == "cross_account_role":
            return "resource_policy_cross_account"
        if not policy_resource_type(action["action"], action["resources"]) and action["action"] != "sts:AssumeRole":
            return "resource_policy_no_such_policy"
    return reason


def _endpoint_note(situation: Situation, action: dict[str, Any]) -> str:
    endpoints = texts()["vpc_endpoints"]
    if _without_endpoint_policies(action["action"]):
        return str(endpoints["no_policies"].format(action=action["action"], service=_service_name(action["action"])))
    rows = [r for r in situation.rows_of(action["action"]) if present(r.get("vpc_endpoint_id"))]
    if not rows:
        return str(endpoints["unnamed"].format(action=action["action"]))
    owner = rows[0].get("vpc_endpoint_account_id")
    return str(
        endpoints["named"].format(
            action=action["action"],
            endpoint=shell_word(rows[0]["vpc_endpoint_id"]),
            owner=owner if present(owner) else situation.finding["target_account_id"],
        )
    )


def _cause_notes(situation: Situation, action: dict[str, Any], cause: str | None) -> list[str]:
    principals = texts()["principals"]
    name = action["action"]
    resource = action["resources"][0] if action["resources"] else "the role"
    if cause == "aws_service":
        service = (situation.principal.get("key") or "").removeprefix("service:") or "that service"
        return [principals["aws_service"].format(action=name, service=service)]
    if cause == "service_linked_role":
        return [principals["service_linked_role"].format(action=name, principal=situation.who)]
    if cause == "federation":
        role_name = shell_word(name_of(resource) or "ROLE_NAME")
        return [principals["federation"].format(action=name, resource=resource, role_name=role_name)]
    if cause == "foreign_pass_role":
        caller = situation.principal.get("account_id")
        return [
            principals["foreign_pass_role"].format(
                resource=role, role_account=account_of_arn(role), caller_account=caller
            )
            for role in foreign_roles(situation, action)
        ]
    return []


def policy_resource_type(action: str, resources: list[str]) -> str | None:
    """The type of the first refused resource that takes a resource-based policy (data: resource_policy_types)."""
    prefix = action.split(":", 1)[0]
    types = set(texts()["resource_policy_types"].get(prefix, []))
    for resource in resources:
        found = catalog.matching_resource_type(action, resource) if resource != "*" else None
        if found is not None and found.name in types:
            return found.name
    return None


def _service_name(action: str) -> str:
    prefix = action.split(":", 1)[0]
    return "App Runner" if prefix == "apprunner" else prefix


def _origin_notes(action: dict[str, Any]) -> list[str]:
    name = action["action"]
    notes = []
    origins = set(action["resource_origin"])
    if origins & {"request", "record"}:
        notes.append(f"{name}: the message names no resource; the resource was inferred from the request.")
    if "message_name" in origins:
        notes.append(
            f"{name}: the message names the resource by its name only; the policy uses the request's ARN of that "
            "name, or the name-scoped ARN in the record's Region and account."
        )
    if "message_iam_name" in origins:
        for arn in action["resources"]:  # arn:PARTITION:iam::ACCOUNT:KIND/NAME, as the message named it
            kind, _, resource_name = arn.rsplit(":", 1)[-1].partition("/")
            named = f"{kind.replace('-', ' ')} {resource_name}"
            notes.append(f"{name}: the message names '{named}'; the policy uses {arn} (default path /).")
    if "none" in origins:
        notes.append(f"{name}: neither the message nor the request names the resource.")
    if not action["action_from_message"]:
        notes.append(f"{name}: the message names no action; the action was taken from the event name.")
    return notes


def _uncovered_required_types(action: str, resources_refused: list[str]) -> list[str]:
    required = catalog.required_resource_types(action)
    if len(required) < 2:
        return []
    return [r.name for r in required if not any(r.arn_pattern.fullmatch(arn) for arn in resources_refused)]


def _event_actions(situation: Situation, action: str) -> list[str]:
    """The actions the events themselves stand for (CreateService for an iam:PassRole refused in it)."""
    pairs = situation.events_of(action)
    found = {catalog.action_for_event(source, name) for source, name in pairs if present(source) and present(name)}
    return sorted(found - {action})


def _related(action: str, refused: frozenset[str], granted: bool) -> list[str]:
    """The permissions App Runner checks beside ``action``; a sentence about one that was refused is left out, and
    one about how ``action`` is granted only stays when it is."""
    entries = texts()["related_permissions"].get(action, [])
    return [
        entry["text"]
        for entry in entries
        if entry.get("unless_refused") not in refused and (granted or not entry.get("only_if_granted"))
    ]


def finding_notes(situation: Situation, kind: str) -> list[str]:
    finding = situation.finding
    notes = []
    if is_root(situation.principal):
        principals = texts()["principals"]
        notes.append(principals["root"].format(account=finding["principal"].get("account_id") or "?"))
        reasons = {reason for action in finding["actions"] for reason in action["reasons"]}
        if finding["cross_account"]:
            notes.append(
                principals["root_cross_account"].format(
                    caller_account=finding["principal"]["account_id"], owner=finding["target_account_id"]
                )
            )
        elif reasons & _NOT_ROOTS:
            notes.append(principals["root_refusals"])
    if finding.get("confidence") == "low" and kind in ("grant", "permission_set", "cross_account_role"):
        notes.append(
            f"Low confidence: {finding['denials']} event(s); a one-off is not a pattern. Confirm the "
            "principal needs this access before granting."
        )
    truncated = sum(1 for flag in filter(None, map(_TRUNCATED, situation.rows)) if present(flag))
    if truncated:
        notes.append(
            f"{truncated} message(s) were cut at about 1,024 characters: the reason and resource are read "
            "as far as the message goes."
        )
    encoded = [message for message in map(_ENCODED, situation.rows) if message is not None and present(message)]
    if encoded:
        notes.append(
            "Decode the authorization failure message (needs sts:DecodeAuthorizationMessage): aws sts "
            f"decode-authorization-message --encoded-message {shell_word(encoded[0])} --query DecodedMessage "
            "--output text"
        )
    return notes


def hazard_note(hazard: Any, withheld_because: str | None) -> str:
    """The warning on a dangerous action: granted with it, or left out of the policy (and why)."""
    category = hazard.category.replace("_", " ")
    if withheld_because is None:
        return (
            f"Warning: {hazard.action} is a {category} risk: {hazard.why} Grant it only after a person has "
            f"confirmed the need ({hazard.source})."
        )
    return (
        f"{hazard.action} is a {category} risk and is left out of the policy because {withheld_because}: "
        f"{hazard.why} ({hazard.source})"
    )
