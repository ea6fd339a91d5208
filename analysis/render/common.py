"""Wording and safety shared by every rendering: reasons in plain words, masking, fences."""

from __future__ import annotations

import json
import re
from typing import Any

from analysis.redact import mask_secrets

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
REMEDY_WORDS = {
    "grant": "Grant the missing permission",
    "cross_account_role": "Create a role in the owning account for the caller to assume",
    "permission_set": "Change the IAM Identity Center permission set",
    "review_deny": "Do not grant: review the deny or guardrail that refused it",
    "org_policy": "Do not grant: an organization policy refused it",
    "investigate": "Do not grant: investigate (looks like reconnaissance)",
}


def reason_words(reason: str) -> str:
    return REASON_WORDS.get(reason, reason)


def pretty_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def fence(text: str, language: str = "") -> str:
    """A Markdown code fence longer than any backtick run inside, so log text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text}\n{ticks}"


# --- shared by the HTML, Markdown and CSV renderings and the delivery messages --------------------------

SERVICE_NAMES = {"apprunner": "App Runner", "all": "AWS"}
# Most urgent first: possible attack, then outsiders, then people blocked by a deny, then plain grants,
# then guardrails working as intended. Within a kind, the most denials first.
URGENCY = ("investigate", "cross_account_role", "review_deny", "grant", "permission_set", "org_policy")
KIND_SHORT = {
    "grant": "grant",
    "cross_account_role": "cross-account role",
    "permission_set": "permission set",
    "review_deny": "review the deny",
    "org_policy": "organization policy",
    "investigate": "investigate",
}
NO_FIX_KINDS = frozenset({"investigate", "org_policy"})  # shown as such: nothing to paste for what they refused
KIND_WARNINGS = {
    "investigate": "Looks like reconnaissance: many distinct actions denied in a short time. No policy is proposed.",
    "org_policy": "Refused by an organization policy (or the root user): an account-level grant cannot fix it.",
    "review_deny": "A deny or guardrail refused it: a grant alone will not help.",
}
POLICY_FILES = {"policy": "policy.json", "trust_policy": "trust-policy.json", "caller_policy": "caller-policy.json"}
POLICY_TITLES = {
    "grant": "Policy to attach to the principal",
    "permission_set": "Inline policy for the permission set",
    "cross_account_role": "Permissions of the new role (in the owning account)",
    "review_deny": "Policy for the actions a grant would fix (review the deny first)",
    "org_policy": "Policy for the other actions only (those a grant would fix)",
}
TRUST_TITLE = "Trust policy of the new role"
CALLER_TITLE = "Policy for the caller (its side: sts:AssumeRole on the new role)"
SAFE_URL = re.compile(r"^https://[A-Za-z0-9.-]+(?:/[^\s\"'<>`\\]*)?$")
MAX_TEXT = 3000  # characters of one log-derived value shown before it is cut
LONG_TEXT = 20_000  # for remedy notes, which may hold a whole command (an encoded authorization message)
# C0/C1 controls (but tab and newline) and the bidirectional overrides that can make text read backwards.
_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def service_name(service: str | None) -> str:
    service = service or "apprunner"
    return SERVICE_NAMES.get(service, service)


def remedy_kind(finding: dict[str, Any]) -> str | None:
    remedy = finding.get("remedy")
    return remedy.get("kind") if isinstance(remedy, dict) else None


def by_urgency(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings most urgent first (see URGENCY); the contract's order (denials) within a kind."""
    rank = {kind: index for index, kind in enumerate(URGENCY)}
    return sorted(findings, key=lambda f: (rank.get(remedy_kind(f) or "", len(URGENCY)), -int(f.get("denials", 0))))


def kind_counts(report: dict[str, Any]) -> dict[str, int]:
    """How many findings of each remedy kind, in URGENCY order (kinds with none left out)."""
    counts = {kind: 0 for kind in URGENCY}
    for finding in report.get("findings", []):
        kind = remedy_kind(finding)
        if kind in counts:
            counts[kind] += 1
    return {kind: count for kind, count in counts.items() if count}


def window_words(report: dict[str, Any]) -> tuple[str, str]:
    window = report.get("window") or {}
    return window.get("start") or "the first record", window.get("end") or "the last record"


def empty_sentence(report: dict[str, Any]) -> str:
    start, end = window_words(report)
    return f"No {service_name(report.get('service'))} denials between {start} and {end}."


def report_day(report: dict[str, Any]) -> str:
    """The day a report is about, YYYY-MM-DD: a daily report's local date, else its window's start (UTC),
    else the day it was generated."""
    daily = report.get("daily") or {}
    window = report.get("window") or {}
    stamp = daily.get("key") or window.get("start") or report.get("generated_at") or ""
    return stamp[:10]


def safe_url(url: Any) -> str | None:
    """An https URL safe to put in a link, or None (log-derived or odd URLs are never linked)."""
    return url if isinstance(url, str) and SAFE_URL.match(url) else None


def remedy_docs(remedy: dict[str, Any] | None) -> list[dict[str, str]]:
    """The remedy's documentation links whose URL is safe to link, as {"title", "url"}."""
    docs = (remedy or {}).get("docs") or []
    return [
        {"title": str(doc.get("title") or doc.get("url")), "url": url}
        for doc in docs
        if isinstance(doc, dict) and (url := safe_url(doc.get("url")))
    ]


def policy_actions(policy: dict[str, Any] | None) -> list[str]:
    """The actions a policy document allows, in order of appearance."""
    actions: list[str] = []
    for statement in (policy or {}).get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        listed = statement.get("Action", [])
        actions.extend([listed] if isinstance(listed, str) else listed)
    return list(dict.fromkeys(actions))


def policy_blocks(remedy: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The documents of a remedy to show, each with its title and the file name its commands use.

    Nothing is shown for ``investigate``: no policy is ever proposed for reconnaissance."""
    if not remedy or remedy.get("kind") == "investigate":
        return []
    kind = remedy.get("kind", "grant")
    blocks = []
    documents = [remedy.get("policy"), *(remedy.get("more_policies") or [])]
    for index, document in enumerate(d for d in documents if d):
        title = POLICY_TITLES.get(kind, POLICY_TITLES["grant"])
        name = "policy.json" if index == 0 else f"policy-{index + 1}.json"
        blocks.append(
            {
                "title": title if index == 0 else f"{title} (part {index + 1})",
                "file": name,
                "document": document,
                "actions": policy_actions(document),
            }
        )
    for key, title in (("trust_policy", TRUST_TITLE), ("caller_policy", CALLER_TITLE)):
        if remedy.get(key):
            blocks.append(
                {
                    "title": title,
                    "file": POLICY_FILES[key],
                    "document": remedy[key],
                    "actions": policy_actions(remedy[key]),
                }
            )
    return blocks


def remedy_commands(remedy: dict[str, Any] | None) -> list[str]:
    """The remedy's ready-to-run commands (built by remedies; none for reconnaissance)."""
    if not remedy or remedy.get("kind") == "investigate":
        return []
    return [str(command) for command in remedy.get("commands") or []]


def action_notes(action: dict[str, Any]) -> list[str]:
    """What a reader should know about how an action's denial was read from the log."""
    notes = [f"{failure} (not an IAM permission)" for failure in action.get("non_iam_failures") or []]
    notes += [f"refusing policy: {arn}" for arn in action.get("policy_arns") or []]
    if action.get("encoded_messages"):
        notes.append(f"{action['encoded_messages']} encoded authorization message(s): decode to see more")
    if action.get("truncated_messages"):
        notes.append(f"{action['truncated_messages']} message(s) cut at about 1,024 characters")
    origins = set(action.get("resource_origin") or [])
    if origins & {"request", "record"}:
        notes.append("resource inferred from the request")
    if "none" in origins:
        notes.append("resource not named by the log")
    if action.get("action_from_message") is False:
        notes.append("action taken from the event name")
    return notes


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """A log-derived string made safe to show: access key IDs masked, control and bidi characters replaced,
    and cut past ``limit`` characters (saying how much was left out)."""
    text = _UNSAFE_CHARS.sub("\ufffd", mask_secrets(text))
    if len(text) > limit:
        return f"{text[:limit]}… ({len(text) - limit} more characters)"
    return text


def late_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Late arrivals of a daily report (denials of earlier days whose logs came after those days' reports),
    one row per original day and finding: {"day", "principal", "denials", "kind", "advice"}."""
    rows = []
    for section in report.get("late_arrivals") or []:
        day = ((section.get("window") or {}).get("key") or "")[:10]
        for finding in by_urgency(section.get("findings") or []):
            principal = finding.get("principal") or {}
            kind = remedy_kind(finding)
            rows.append(
                {
                    "day": day,
                    "principal": principal.get("arn") or principal.get("key") or "unknown",
                    "denials": finding.get("denials", 0),
                    "kind": kind,
                    "advice": REMEDY_WORDS.get(kind or "", "No advice yet"),
                }
            )
    return rows
