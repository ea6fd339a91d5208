"""Wording and safety shared by every rendering: reasons in plain words, masking, fences.

The reasons' words (``REASON_WORDS``, ``reason_words``) are ``analysis.advice_words``', shared with the alerts.
"""

from __future__ import annotations

import json
import re
from typing import Any, get_args

from analysis.advice_words import REASON_WORDS as REASON_WORDS  # the renderers read them from here
from analysis.advice_words import policy_actions
from analysis.advice_words import reason_words as reason_words
from analysis.contract import DeniedAction, Finding, Hazard, Remedy, Report, Severity
from analysis.redact import mask_secrets, printable
from analysis.remedies.commands import document_file

REMEDY_WORDS = {
    "grant": "Grant the missing permission",
    "cross_account_role": "Create a role in the owning account for the caller to assume",
    "permission_set": "Change the IAM Identity Center permission set",
    "review_deny": "Do not grant: review the deny or guardrail that refused it",
    "org_policy": "Do not grant: an organization policy refused it",
    "investigate": "Do not grant: investigate (looks like reconnaissance)",
}


def pretty_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def fence(text: str, language: str = "") -> str:
    """A Markdown code fence longer than any backtick run inside, so log text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text}\n{ticks}"


# --- shared by the HTML, Markdown and CSV renderings and the delivery messages --------------------------

SERVICE_NAMES = {"apprunner": "App Runner", "all": "AWS"}
SEVERITIES: tuple[str, ...] = get_args(Severity)  # critical first, as the contract lists them
# Between findings of the same severity and denials: possible attack, then outsiders, then people blocked by
# a deny, then plain grants, then guardrails working as intended.
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


def service_name(service: str | None) -> str:
    service = service or "apprunner"
    return SERVICE_NAMES.get(service, service)


def remedy_kind(finding: Finding) -> str | None:
    return finding.remedy.kind if finding.remedy else None


def by_urgency(findings: list[Finding]) -> list[Finding]:
    """Findings most urgent first: by severity (critical first), then denials (most first), then remedy kind
    (see URGENCY), then the contract's order."""
    rank = {kind: index for index, kind in enumerate(URGENCY)}
    return sorted(
        findings,
        key=lambda f: (SEVERITIES.index(f.severity), -f.denials, rank.get(remedy_kind(f) or "", len(URGENCY))),
    )


def severity_counts(report: Report) -> dict[str, int]:
    """How many findings of each severity, critical first (severities with none left out)."""
    counts = {severity: 0 for severity in SEVERITIES}
    for finding in report.findings:
        counts[finding.severity] += 1
    return {severity: count for severity, count in counts.items() if count}


def hazard_words(hazard: Hazard) -> str:
    """'iam:PutUserPolicy (privilege escalation): why' for a reader."""
    return f"{hazard.action} ({hazard.category.replace('_', ' ')}): {hazard.why}"


def hazard_source(hazard: Hazard) -> dict[str, str] | None:
    """The hazard's source as a link ({"title", "url"}), or None when its URL is not safe to link."""
    url = safe_url(hazard.source)
    return {"title": "source", "url": url} if url else None


def kind_counts(report: Report) -> dict[str, int]:
    """How many findings of each remedy kind, in URGENCY order (kinds with none left out)."""
    counts = {kind: 0 for kind in URGENCY}
    for finding in report.findings:
        kind = remedy_kind(finding)
        if kind in counts:
            counts[kind] += 1
    return {kind: count for kind, count in counts.items() if count}


def window_words(report: Report) -> tuple[str, str]:
    return report.window.start or "the first record", report.window.end or "the last record"


def empty_sentence(report: Report) -> str:
    start, end = window_words(report)
    return f"No {service_name(report.service)} denials between {start} and {end}."


def report_day(report: Report) -> str:
    """The day a report is about, YYYY-MM-DD: a daily report's local date, else its window's start (UTC),
    else the day it was generated."""
    stamp = (report.daily.key if report.daily else None) or report.window.start or report.generated_at
    return stamp[:10]


def safe_url(url: Any) -> str | None:
    """An https URL safe to put in a link, or None (log-derived or odd URLs are never linked)."""
    return url if isinstance(url, str) and SAFE_URL.match(url) else None


def remedy_docs(remedy: Remedy | None) -> list[dict[str, str]]:
    """The remedy's documentation links whose URL is safe to link, as {"title", "url"}."""
    docs = remedy.docs if remedy else []
    return [{"title": doc.title or doc.url, "url": url} for doc in docs if (url := safe_url(doc.url))]


def policy_blocks(remedy: Remedy | None) -> list[dict[str, Any]]:
    """The documents of a remedy to show, each with its title, the file name its commands use, and where the
    JSON report holds it (``field``, e.g. ``remedy.trust_policy``); ``document`` is the policy as JSON data.

    Nothing is shown for ``investigate``: no policy is ever proposed for reconnaissance."""
    if not remedy or remedy.kind == "investigate":
        return []
    kind = remedy.kind
    blocks = []
    fields = ["remedy.policy", *(f"remedy.more_policies[{n}]" for n in range(len(remedy.more_policies)))]
    documents = [(field, d) for field, d in zip(fields, [remedy.policy, *remedy.more_policies], strict=True) if d]
    for index, (field, document) in enumerate(documents):
        title = POLICY_TITLES.get(kind, POLICY_TITLES["grant"])
        name = document_file(index + 1)
        blocks.append(
            {
                "title": title if index == 0 else f"{title} (part {index + 1})",
                "file": name,
                "field": field,
                "document": document.model_dump(mode="json"),
                "actions": policy_actions(document),
            }
        )
    for key, title in (("trust_policy", TRUST_TITLE), ("caller_policy", CALLER_TITLE)):
        document = getattr(remedy, key)
        if document:
            blocks.append(
                {
                    "title": title,
                    "file": POLICY_FILES[key],
                    "field": f"remedy.{key}",
                    "document": document.model_dump(mode="json"),
                    "actions": policy_actions(document),
                }
            )
    return blocks


def remedy_commands(remedy: Remedy | None) -> list[str]:
    """The remedy's ready-to-run commands (built by remedies; none for reconnaissance)."""
    if not remedy or remedy.kind == "investigate":
        return []
    return list(remedy.commands)


def action_notes(action: DeniedAction) -> list[str]:
    """What a reader should know about how an action's denial was read from the log."""
    notes = [f"{failure} (not an IAM permission)" for failure in action.non_iam_failures]
    notes += [f"refusing policy: {arn}" for arn in action.policy_arns]
    if action.encoded_messages:
        notes.append(f"{action.encoded_messages} encoded authorization message(s): decode to see more")
    if action.truncated_messages:
        notes.append(
            f"{action.truncated_messages} message(s) cut (by AWS at about 1,024 characters, or at the parser's 16,384)"
        )
    origins = set(action.resource_origin)
    if origins & {"request", "record"}:
        notes.append("resource inferred from the request")
    if "none" in origins:
        notes.append("resource not named by the log")
    if not action.action_from_message:
        notes.append("action taken from the event name")
    return notes


def clean_text(text: str, limit: int = MAX_TEXT) -> str:
    """A log-derived string made safe to show: secrets masked, control and bidi characters shown as escapes
    (``redact.printable``), and cut past ``limit`` characters (saying how much was left out)."""
    text = printable(mask_secrets(text))
    if len(text) > limit:
        return f"{text[:limit]}… ({len(text) - limit} more characters)"
    return text


def principal_name(finding: Finding) -> str:
    return finding.principal.arn or finding.principal.key or "unknown"


def late_rows(report: Report) -> list[dict[str, Any]]:
    """Late arrivals of a daily report (denials of earlier days whose logs came after those days' reports),
    one row per original day and finding: {"day", "principal", "denials", "kind", "advice"}."""
    rows = []
    for section in report.late_arrivals or []:
        for finding in by_urgency(section.findings):
            kind = remedy_kind(finding)
            rows.append(
                {
                    "day": section.window.key,
                    "principal": principal_name(finding),
                    "denials": finding.denials,
                    "kind": kind,
                    "advice": REMEDY_WORDS.get(kind or "", "No advice yet"),
                }
            )
    return rows
