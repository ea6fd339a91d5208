"""A finding's remedy: its kind from the rules, the policy from the grants, then notes and commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from analysis import policies
from analysis.grouping import UNKNOWN_OWNER, Row, reconnaissance_principals, rows_by_finding
from analysis.hazards import hazards_of
from analysis.remedies.commands import attach_commands, policy_name
from analysis.remedies.cross_account import cross_account
from analysis.remedies.grants import grant_documents, grants
from analysis.remedies.identity_center import permission_set_commands
from analysis.remedies.notes import action_notes, finding_notes, hazard_note
from analysis.remedies.reconnaissance import investigate_notes
from analysis.remedies.rules import PASS_ROLE, action_rule, acts_in_callers_account, finding_kind, grant_fixes
from analysis.remedies.situation import Situation, texts

if TYPE_CHECKING:
    from analysis.model import Options

_REFUSED_ELSEWHERE = ("review_deny", "org_policy")


def advise(
    findings: list[dict[str, Any]],
    rows: Sequence[Row],
    options: Options,
    groups: dict[tuple[str, str], list[Row]] | None = None,
) -> list[dict[str, Any]]:
    """Each finding's remedy, in the findings' order (``rows`` are their denial rows, ``analysis.grouping``'s;
    ``groups`` the same rows by finding, when the caller has them already)."""
    if not findings:
        return []
    suspects = reconnaissance_principals(rows, options.recon_distinct_actions, options.recon_window_minutes)
    groups = rows_by_finding(rows) if groups is None else groups
    advice = []
    for finding in findings:
        key = finding["principal"]["key"]
        situation = Situation(
            finding, groups[key, finding["target_account_id"] or UNKNOWN_OWNER], options, key in suspects
        )
        advice.append(remedy_for(situation))
    return advice


def advise_one(
    finding: dict[str, Any], rows: list[dict[str, Any]], options: Options, *, reconnaissance: bool = False
) -> dict[str, Any]:
    """The remedy of a finding built from ``rows`` alone (one event, as the alert path sees it), without pandas.
    Reconnaissance cannot be judged from so little: ``reconnaissance`` says whether the caller (the alert state's
    windows, ``analysis.alerting``) saw the principal cross the report's threshold."""
    return remedy_for(Situation(finding, rows, options, reconnaissance=reconnaissance))


def remedy_for(situation: Situation) -> dict[str, Any]:
    finding = situation.finding
    rules = {a["action"]: action_rule(situation, a) for a in finding["actions"]}
    kind = finding_kind(rules, situation.reconnaissance)
    remedy: dict[str, Any] = {
        "kind": kind,
        "policy": None,
        "trust_policy": None,
        "caller_policy": None,
        "notes": [],
        "more_policies": [],
        "permission_set": finding["principal"].get("permission_set"),
        "role_name": None,
        "commands": [],
        "docs": _docs(kind, finding),
    }
    if kind == "investigate":
        remedy["notes"] = investigate_notes(situation)
        return remedy
    hazards = {hazard.action: hazard for hazard in hazards_of(finding)}
    withheld = _withheld_because(situation, kind)
    granted = [
        action
        for action in finding["actions"]
        if _granted(action, rules[action["action"]], kind) and not (withheld and action["action"] in hazards)
    ]
    callers_own = [a for a in granted if kind == "cross_account_role" and acts_in_callers_account(a["action"])]
    notes: list[str] = remedy["notes"]
    documents = grant_documents(situation, [a for a in granted if a not in callers_own], notes)
    remedy["policy"] = documents[0] if documents else None
    remedy["more_policies"] = documents[1:]
    granted_names = {a["action"] for a in granted}
    for action in finding["actions"]:
        notes.extend(action_notes(situation, action, rules[action["action"]], action["action"] in granted_names))
    for action in finding["actions"]:
        if rules[action["action"]] == "cross_account_role" and kind != "cross_account_role":
            notes.append(
                texts()["principals"]["cross_account_later"].format(
                    action=action["action"], owner=finding["target_account_id"]
                )
            )
    for name, hazard in hazards.items():
        if name in granted_names or withheld:
            notes.append(hazard_note(hazard, None if name in granted_names else withheld))
    if kind == "cross_account_role":
        left_out = bool(withheld) and any(name not in granted_names for name in hazards)
        cross_account(situation, remedy, policies.grant_policy(grants(situation, callers_own, notes)), left_out)
    elif documents:
        commands, command_notes = _attach(situation, documents)
        remedy["commands"] = commands
        notes.extend(command_notes)
    notes.extend(finding_notes(situation, kind))
    remedy["notes"] = list(dict.fromkeys(notes))
    return remedy


def _granted(action: dict[str, Any], rule: str, kind: str) -> bool:
    """A grant fixes the action, and it can be attached: an action of another account's resource needs the role
    that only a cross-account remedy builds."""
    return grant_fixes(action, rule) and (rule != "cross_account_role" or kind == "cross_account_role")


def _withheld_because(situation: Situation, kind: str) -> str | None:
    """Why a dangerous action stays out of this finding's policy, or None when it may be granted with a warning."""
    if kind in _REFUSED_ELSEWHERE:
        return "this finding's advice is not to grant"
    if kind == "cross_account_role" and situation.caller_untrusted:
        return "the caller's account is neither trusted nor in the organization"
    return None


def _attach(situation: Situation, documents: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    if situation.principal.get("permission_set"):
        return permission_set_commands(situation, documents)
    return attach_commands(
        situation.principal.get("arn"), documents, policy_name(situation.finding), situation.partition
    )


def _docs(kind: str, finding: dict[str, Any]) -> list[dict[str, str]]:
    docs = texts()["docs"]
    chosen = [docs["no_permissions"]]
    if any(a["action"] == PASS_ROLE for a in finding["actions"]):
        chosen.append(docs["passrole"])
    if kind == "cross_account_role":
        chosen.append(docs["cross_account"])
    if kind in ("grant", "permission_set"):
        chosen.append(docs["delegate"])
    if kind == "permission_set":
        chosen.append(docs["permission_sets"])
    if kind in ("org_policy", "review_deny"):
        chosen.append(docs["policy_evaluation"])
    return chosen
