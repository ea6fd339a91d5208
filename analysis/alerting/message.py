"""The SNS alert for one denial that alerts (issue 9's Output): a subject, a body a person reads in ten seconds, the
message attributes subscribers filter on, and AWS Chatbot's custom notification as an option.

Pure: a finding (and the store's decision) in, strings out; nothing here calls AWS or loads pandas. Every string
that reaches SNS has its access key IDs and session tokens masked (``redact.mask_secrets``) before it is cut, and
its control and invisible characters shown as escapes (``redact.printable``): what a log says is shown, never
obeyed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from analysis.advice_words import DENY_REASONS, REASON_SHORT, reason_words, what_to_do
from analysis.contract import Finding
from analysis.principals import short_name
from analysis.redact import map_strings, mask_secrets, printable

# Publish's Subject: "UTF-8 text with no line breaks or control characters, and less than 100 characters long" (SNS
# API reference). Counted in UTF-16 code units, the strictest reading, so a pair is never split.
SUBJECT_MAX = 99
# Publish: at most 10 message attributes; a String attribute's value may not be empty. Each value is cut here so
# that the attributes stay a small part of the message's 256 KB (an IAM ARN is at most 2,048 characters).
ATTRIBUTES_MAX = 10
ATTRIBUTE_VALUE_MAX = 2048
FIX_LINE_MAX = 200
CHATBOT_DESCRIPTION_MAX = 4000  # the daily report's Chatbot description budget (delivery.sns.chatbot_message)
CONSOLE = "https://console.aws.amazon.com/iam/home#/"
# A name IAM accepts (users and roles: letters, digits and +=,.@_-); anything else gets no link.
_IAM_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
COVERED_SHOWN = 3  # a principal's alert: the covered actions named in the body (the JSON document has them all)

Format = Literal["text", "chatbot"]


class Rule(Protocol):
    """A fired rule as ``alerting.rules.FiredRule`` gives it."""

    @property
    def name(self) -> str: ...
    @property
    def reason(self) -> str: ...


@dataclass(frozen=True)
class Covered:
    """What a principal's alert covers (burst or reconnaissance fired: ``dedup.Decision.actions_in_window``): the
    distinct actions denied to the principal within ``window_minutes`` (the longest of the burst and reconnaissance
    windows), this one included, in order of first denial; and ``period_hours``, the period in which the principal's
    other denials are counted into it rather than alerted (but for ``dedup.OWN_RULES`` the alert did not list)."""

    actions: tuple[str, ...]
    window_minutes: int
    period_hours: int


@dataclass(frozen=True)
class AlertMessage:
    subject: str
    body: str
    attributes: dict[str, dict[str, str]]  # Publish's MessageAttributes: {"severity": {"DataType": "String", ...}}


def alert_message(
    finding: Finding,
    service: str,
    rules: Sequence[Rule] = (),
    events_since_last_alert: int | None = None,
    fmt: Format = "text",
    *,
    covered: Covered | None = None,
) -> AlertMessage:
    """The alert for ``finding``'s first action; ``rules`` those that fired (most important first); ``covered`` what
    a principal's alert covers (None for the alert of one key)."""
    subject = alert_subject(finding, service)
    lines = body_lines(finding, rules, events_since_last_alert, covered)
    body = chatbot_body(subject, lines, finding) if fmt == "chatbot" else "\n".join(lines) + "\n"
    return AlertMessage(subject, printable(mask_secrets(body)), message_attributes(finding, rules))


def alert_subject(finding: Finding, service: str) -> str:
    """``apprunner alert [high]: role/DataScience denied apprunner:CreateService (SCP)``, cut to SNS's limit; the
    reason tag is left out rather than cut when only it does not fit (the body says why)."""
    action = finding.actions[0]
    why = _reason_tag(action.reasons)
    text = printable(
        mask_secrets(f"{service} alert [{finding.severity}]: {principal_name(finding)} denied {action.action}"), keep=""
    )
    tagged = f"{text} ({printable(why, keep='')})" if why else text
    return tagged if cut_utf16(tagged, SUBJECT_MAX) == tagged else cut_utf16(text, SUBJECT_MAX)


def body_lines(
    finding: Finding, rules: Sequence[Rule], events_since_last_alert: int | None, covered: Covered | None = None
) -> list[str]:
    """Who, what (and, for a principal's alert, what it covers), why, the fix, the console link: one short line each
    (the rules one per line). The key's events counted since its last alert (``dedup.Decision.suppressed``: within
    that alert's period, or folded into another alert of the principal) are named only when there are some: the
    count is 0 on a key's first alert and on one whose key stayed quiet, which the body need not say; and a count
    may come from folded events of a key that never alerted, so the body does not speak of a "last alert"."""
    principal = finding.principal
    action = finding.actions[0]
    owner = finding.target_account_id or "unknown"
    who = f"Who: {principal_name(finding)} ({principal.arn or principal.key or principal.type})"
    who += f", account {principal.account_id or 'unknown'}, owning account {owner}"
    what = f"What: {action.action}"
    if action.resources:
        more = len(action.resources) - 1
        what += f" on {action.resources[0]}" + (f" (+{more} more)" if more else "")
    what += f", {action.count} denial{'s' if action.count != 1 else ''}"
    if events_since_last_alert:
        more = events_since_last_alert
        what += f"; {more} earlier denial{'s' if more != 1 else ''} of this key {'was' if more == 1 else 'were'}"
        what += " counted, not alerted"
    lines = [who, what] + ([covers_line(finding, rules, covered)] if covered and covered.actions else [])
    lines.append("Why: " + why_words(action.reasons))
    lines += [f"  rule {rule.name}: {rule.reason}" for rule in rules]
    lines += fix_lines(finding)
    link = console_link(finding)
    lines += [f"Console: {link}"] if link else []
    lines.append(f"Finding: {finding.id}")
    return [printable(mask_secrets(line), keep="") for line in lines]


def covers_line(finding: Finding, rules: Sequence[Rule], covered: Covered) -> str:
    """``Covers: user/svc-legacy was denied 8 actions within 10 minutes: apprunner:ListServices, ... (+5 more); its
    other denials in the next 24 h are counted, not alerted, unless they fire root or org_policy``."""
    from analysis.alerting.dedup import OWN_RULES

    actions = covered.actions
    count = len(actions)
    named = ", ".join(actions[:COVERED_SHOWN]) + (f" (+{count - COVERED_SHOWN} more)" if count > COVERED_SHOWN else "")
    line = f"Covers: {principal_name(finding)} was denied {count} action{'s' if count != 1 else ''}"
    line += f" within {covered.window_minutes} minutes: {named}"
    line += f"; its other denials in the next {covered.period_hours} h are counted, not alerted"
    listed = {rule.name for rule in rules}
    alone = [name for name in OWN_RULES if name not in listed]
    return line + (f", unless they fire {_or(alone)}" if alone else "")


def why_words(reasons: Sequence[str]) -> str:
    """Why the action was refused, in the daily report's words (``advice_words.REASON_WORDS``)."""
    return "; ".join(reason_words(reason) for reason in dict.fromkeys(reasons)) or reason_words("unknown")


def fix_lines(finding: Finding) -> list[str]:
    """The daily report's own advice: the terminal summary's "what to do" (``advice_words.what_to_do``), then the
    remedy's first note as the report's text and email show it (``remedy.notes``)."""
    remedy = finding.remedy
    if remedy is None:
        return ["Fix: no advice was computed: see the daily report"]
    return [f"Fix: {what_to_do(finding)}"] + [f"  {_one_line(note)}" for note in remedy.notes[:1]]


def console_link(finding: Finding) -> str | None:
    """The IAM console page of the user or role denied; none for root, a service, or a name IAM could not give."""
    arn = finding.principal.arn or ""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[2] not in {"iam", "sts"}:
        return None
    kind, _, rest = parts[5].partition("/")
    segments = rest.split("/")
    page = {"user": "users", "role": "roles", "assumed-role": "roles"}.get(kind)
    name = segments[0] if kind == "assumed-role" else segments[-1]
    if page is None or not _IAM_NAME.fullmatch(name):
        return None
    return f"{CONSOLE}{page}/details/{name}"


def principal_name(finding: Finding) -> str:
    """``role/Deploy``, ``user/dev-alice``, ``root``: the ARN's resource without its path; else what the log said."""
    principal = finding.principal
    if not principal.arn:
        return (principal.key or principal.type).removeprefix("service:")
    return short_name(principal.arn)


def message_attributes(finding: Finding, rules: Sequence[Rule]) -> dict[str, dict[str, str]]:
    """severity, rule (the first that fired), account (the owning one), principal (its ARN): empty ones left out."""
    values = {
        "severity": finding.severity,
        "rule": rules[0].name if rules else "",
        "account": finding.target_account_id or "",
        "principal": finding.principal.arn or "",
    }
    attributes = {}
    for name, value in values.items():
        shown = cut_utf16(printable(mask_secrets(value), keep=""), ATTRIBUTE_VALUE_MAX)
        if shown:
            attributes[name] = {"DataType": "String", "StringValue": shown}
    return dict(list(attributes.items())[:ATTRIBUTES_MAX])


def _or(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def chatbot_body(subject: str, lines: Sequence[str], finding: Finding) -> str:
    """AWS Chatbot's custom notification (version 1.0, source custom), plain text (no chat markdown to escape)."""
    link = console_link(finding)
    notification: dict[str, Any] = {
        "version": "1.0",
        "source": "custom",
        "id": finding.id,
        "content": {
            "title": subject,
            "description": cut_utf16("\n".join(lines), CHATBOT_DESCRIPTION_MAX),
            "nextSteps": [f"Open the principal in the IAM console: {link}"] if link else [],
            "keywords": ["AccessDenied", finding.severity, finding.actions[0].action],
        },
        "metadata": {"summary": subject, "eventType": "AccessDeniedAlert", "enableCustomActions": False},
    }
    return json.dumps(notification, ensure_ascii=False)


def cut_utf16(text: str, limit: int) -> str:
    """At most ``limit`` UTF-16 code units, cut between characters (a surrogate pair is never split)."""
    taken = 0
    for index, character in enumerate(text):
        taken += 2 if ord(character) > 0xFFFF else 1
        if taken > limit:
            return text[:index]
    return text


def _reason_tag(reasons: Sequence[str]) -> str:
    """What refused it in the terminal summary's few words (``advice_words.REASON_SHORT``): a deny first, else the
    first reason; nothing when AWS did not say."""
    denies = [reason for reason in DENY_REASONS if reason in reasons]
    known = denies or [reason for reason in reasons if reason != "unknown"]
    return REASON_SHORT.get(known[0], known[0]) if known else ""


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= FIX_LINE_MAX else flat[: FIX_LINE_MAX - 3] + "..."


# --- what SNS delivers to each protocol (Publish with MessageStructure "json") ------------------------------------

# Publish: "Messages must be UTF-8 encoded strings and at most 256 KB in size (262,144 bytes, not 262,144
# characters)"; with MessageStructure json the Message is one JSON object whose keys are protocols (a "default"
# string required) with string values, so every variant counts towards the same 262,144 bytes. The subject and the
# message attributes are counted too, to stay on the safe side.
SNS_MESSAGE_MAX = 262_144
# The protocols that get the JSON document: machines (queues, functions, web hooks, streams) and email-json.
MACHINE_PROTOCOLS = ("sqs", "lambda", "http", "https", "email-json", "firehose")
LIST_CUT = 10  # a finding's lists (resources, event ids, agents, addresses) kept when the whole would not fit
CUT_LISTS = "the finding's lists were cut to their first 10 items to fit SNS's 256 KB"
CUT_FINDING = "the finding was too large for SNS's 256 KB: only its summary is here (the daily report has it whole)"


def alert_document(
    finding: Finding,
    service: str,
    rules: Sequence[Rule] = (),
    events_since_last_alert: int | None = None,
    *,
    key: str | None = None,
    covered: Covered | None = None,
) -> dict[str, Any]:
    """The JSON document machines receive: subject, service, severity, key, (with the state table) the rules that
    fired, the key's events since its last alert (a number, 0 included) and the actions a principal's alert covers
    (``actions_in_window``, empty for the alert of one key), the text body, and the finding whole. Secrets masked."""
    document: dict[str, Any] = {
        "subject": alert_subject(finding, service),
        "service": service,
        "severity": finding.severity,
    }
    if key:
        document["key"] = key
    if events_since_last_alert is not None:  # the state table decided: why it alerts, what it did not alert for
        document["rules"] = [{"name": rule.name, "reason": rule.reason} for rule in rules]
        document["events_since_last_alert"] = events_since_last_alert
        document["actions_in_window"] = list(covered.actions) if covered else []
    document["body"] = "\n".join(body_lines(finding, rules, events_since_last_alert, covered)) + "\n"
    document["finding"] = finding.model_dump(mode="json")
    return map_strings(document, mask_secrets)


def sns_structure(
    message: AlertMessage, document: dict[str, Any], fmt: Format = "text", chatbot: str | None = None
) -> dict[str, str]:
    """Publish's Message for MessageStructure "json": ``default`` and ``email`` the text body (with ``fmt``
    "chatbot": ``default`` and ``https`` AWS Chatbot's custom notification, email still the text), each machine
    protocol the JSON document. The document's finding is cut, deterministically and saying so, when the whole
    would pass SNS's 262,144 bytes (``fitted_document``)."""
    budget = SNS_MESSAGE_MAX - len(message.subject.encode()) - _attributes_size(message.attributes)
    for shown in fitted_documents(document):
        structure = _structure(message.body, shown, fmt, chatbot)
        if len(json.dumps(structure, ensure_ascii=False).encode()) <= budget:
            return structure
    raise ValueError("an alert's text alone passes SNS's 256 KB")  # the body is a few lines: not reached


def fitted_documents(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document whole, then with the finding's lists cut to their first ``LIST_CUT`` items, then with only the
    finding's summary: each says in ``cut`` what was left out."""
    finding = document.get("finding") or {}
    lists = {
        **finding,
        **{name: finding[name][:LIST_CUT] for name in ("regions", "user_agents", "source_ips") if name in finding},
        "actions": [
            {
                **action,
                **{
                    name: action[name][:LIST_CUT]
                    for name in ("resources", "event_ids", "policy_arns", "event_names", "resource_origin")
                    if name in action
                },
                "context": dict(list((action.get("context") or {}).items())[:LIST_CUT]),
            }
            for action in finding.get("actions", [])
        ],
    }
    remedy = finding.get("remedy") or {}
    summary = {
        "id": finding.get("id"),
        "principal": {"arn": (finding.get("principal") or {}).get("arn")},
        "target_account_id": finding.get("target_account_id"),
        "severity": finding.get("severity"),
        "denials": finding.get("denials"),
        "actions": [{"action": action.get("action")} for action in finding.get("actions", [])][:LIST_CUT],
        "remedy": {"kind": remedy.get("kind")} if remedy else None,
    }
    return [
        document,
        {**document, "finding": lists, "cut": CUT_LISTS},
        {**document, "finding": summary, "cut": CUT_FINDING},
    ]


def _structure(body: str, document: dict[str, Any], fmt: Format, chatbot: str | None) -> dict[str, str]:
    data = printable(json.dumps(document, ensure_ascii=False, indent=2))
    structure = {"default": body, "email": body} | {protocol: data for protocol in MACHINE_PROTOCOLS}
    if fmt == "chatbot" and chatbot is not None:
        structure |= {"default": chatbot, "https": chatbot}
    return structure


def _attributes_size(attributes: dict[str, dict[str, str]]) -> int:
    return sum(
        len(name.encode()) + sum(len(value.encode()) for value in attribute.values())
        for name, attribute in attributes.items()
    )
