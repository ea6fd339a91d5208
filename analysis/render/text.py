"""A finding as plain text, for ``explain --format text`` and terminals; the whole report as plain text, for the
email's text part (``report_text``).

Each line is made safe on its own (``redact.printable`` with nothing kept): a log's escape sequences, bidi controls
or line feeds are shown as escapes, never obeyed, and no value can start a line that looks like ours."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from typing import Any

from analysis.contract import Finding, Report, as_finding, as_report
from analysis.redact import mask_secrets, printable
from analysis.render import common
from analysis.render.common import REMEDY_WORDS, hazard_words, reason_words


def finding_text(finding: Finding | Mapping[str, Any]) -> str:
    finding = as_finding(finding)
    principal = finding.principal
    lines = [
        f"Principal: {principal.arn or principal.key} ({principal.type})",
        f"Severity: {finding.severity}",
        f"Owning account: {finding.target_account_id or 'unknown'}"
        + (f" (cross-account from {principal.account_id})" if finding.cross_account else ""),
    ]
    if principal.sessions:
        lines.append(f"Sessions: {', '.join(principal.sessions)}")
    for action in finding.actions:
        resources = ", ".join(action.resources) or "not stated"
        reasons = "; ".join(reason_words(r) for r in action.reasons)
        lines.append(f"Refused: {action.action} on {resources} ({action.count}x): {reasons}")
    lines.extend(f"Dangerous to grant: {hazard_words(hazard)} ({hazard.source})" for hazard in finding.hazards)
    remedy = finding.remedy
    if remedy:
        lines.append(f"Fix ({remedy.kind}): {REMEDY_WORDS.get(remedy.kind, remedy.kind)}")
        lines.extend(f"  - {note}" for note in remedy.notes)
        for label, key in (("Policy", "policy"), ("Trust policy", "trust_policy"), ("Caller policy", "caller_policy")):
            document = getattr(remedy, key)
            if document:
                lines.append(f"{label}:")
                lines.extend(json.dumps(document.model_dump(mode="json"), indent=2).splitlines())
    return "".join(_line(line) for line in lines)


def _line(text: str) -> str:
    return printable(mask_secrets(text), keep="") + "\n"


# --- the whole report as plain text (the email's text/plain part) -------------------------------------------

WIDTH = 78  # columns a plain-text mail reader shows without wrapping it again
RULE = "-" * WIDTH


def report_text(report: Report | Mapping[str, Any]) -> str:
    """The report for a reader of plain text: the numbers, the findings most urgent first in a short table,
    then one block per finding (severity, principal, denials, what was refused, the fix, its policies and
    commands). Prose is wrapped at ``WIDTH`` columns; names, policies and commands are never cut or wrapped, so
    they can be copied. Every value is one printable line (a log's line feeds and escapes shown as ``\\uXXXX``)."""
    report = as_report(report)
    findings = common.by_urgency(report.findings)
    start, end = common.window_words(report)
    lines = [
        f"{common.service_name(report.service)} access report {common.report_day(report)}",
        *_wrapped(f"From {start} to {end}, generated {report.generated_at}"),
    ]
    if report.redacted:
        lines.append("Redacted: account IDs, ARNs, sessions and IP addresses are pseudonyms.")
    lines += ["", *_wrapped(_numbers(report))]
    severities = common.severity_counts(report)
    if severities:
        lines += _wrapped("Severity: " + ", ".join(f"{count} {severity}" for severity, count in severities.items()))
    kinds = common.kind_counts(report)
    if kinds:
        lines += _wrapped(
            "Advice: " + ", ".join(f"{n} {common.KIND_SHORT[kind]}" for kind, n in kinds.items()), "", "  "
        )
    if not findings:
        lines += ["", *_wrapped(common.empty_sentence(report))]
    else:
        lines += ["", "FINDINGS, MOST URGENT FIRST", "", *_summary(findings)]
        for index, finding in enumerate(findings, start=1):
            lines += ["", RULE, *_finding_block(index, finding)]
    late = common.late_rows(report)
    if late:
        lines += ["", RULE, "LATE ARRIVALS FROM EARLIER DAYS", ""]
        lines += [f"{row['day']}  {row['denials']:>5}  {_one_line(row['principal'])}: {row['advice']}" for row in late]
    problems = [source for source in report.sources if source.status != "ok"]
    if problems:
        lines += ["", "Sources that were not read completely:"]
        lines += [
            f"  - {_one_line(s.name)}: {s.status}" + (f" ({_one_line(s.error)})" if s.error else "") for s in problems
        ]
    return "\n".join(lines) + "\n"


def _numbers(report: Report) -> str:
    totals = report.totals
    parts = [
        f"{totals.denials} denial(s)",
        f"{totals.principals} principal(s)",
        f"{totals.findings} finding(s)",
        f"{totals.records_read} record(s) read",
        f"{totals.malformed_records} malformed",
    ]
    if totals.late_denials:
        parts.append(f"{totals.late_denials} late from earlier days")
    return ", ".join(parts)


def _summary(findings: list[Finding]) -> list[str]:
    """' #  severity  denials  principal', the fix on the line below."""
    lines = [" #  severity  denials  principal, fix"]
    for index, finding in enumerate(findings, start=1):
        kind = common.KIND_SHORT.get(common.remedy_kind(finding) or "", "no advice yet")
        lines.append(
            f"{index:>2}  {finding.severity:<8}  {finding.denials:>7}  {_one_line(common.principal_name(finding))}"
        )
        lines.append(f"{'':>21}  {kind}")
    return lines


def _finding_block(index: int, finding: Finding) -> list[str]:
    principal = finding.principal
    kind = common.remedy_kind(finding)
    lines = [f"{index}. {finding.severity.upper()}: {_one_line(common.principal_name(finding))} ({principal.type})"]
    lines += _wrapped(REMEDY_WORDS.get(kind or "", "No advice yet") + ".")
    warning = common.KIND_WARNINGS.get(kind or "")
    lines += _wrapped(f"Note: {warning}") if warning else []
    for hazard in finding.hazards:
        lines += _wrapped(f"Dangerous to grant: {_one_line(hazard_words(hazard))} ({_one_line(hazard.source)})")
    lines.append("")
    owner = f"owning account {finding.target_account_id or 'unknown'}" + (
        " (cross-account)" if finding.cross_account else ""
    )
    lines += _wrapped(f"Account {principal.account_id or 'unknown'}, {owner}", "", "  ")
    if principal.sessions:
        lines += _wrapped("Sessions: " + _one_line(", ".join(principal.sessions)), "", "  ")
    if principal.permission_set:
        lines.append(f"Permission set: {_one_line(principal.permission_set)} (IAM Identity Center)")
    if finding.regions:
        lines.append("Regions: " + _one_line(", ".join(finding.regions)))
    if finding.source_ips:
        lines += _wrapped("Source IPs: " + _one_line(", ".join(finding.source_ips)), "", "  ")
    seen = f", {finding.first_seen} to {finding.last_seen}" if finding.first_seen else ""
    low = " (low confidence: one or two events are not a pattern)" if finding.confidence == "low" else ""
    lines += _wrapped(f"Denials: {finding.denials}{seen}{low}", "", "  ")
    lines += ["", "Refused:"]
    for action in finding.actions:
        resources = ", ".join(action.resources) or "a resource the log does not name"
        lines += _wrapped(f"{action.action} x{action.count} on {resources}", "  - ", "    ")
        lines += _wrapped("; ".join(reason_words(r) for r in action.reasons), "    ", "    ")
        for note in common.action_notes(action):
            lines += _wrapped(note, "    ", "    ")
    lines += _fix(finding)
    return lines


def _fix(finding: Finding) -> list[str]:
    remedy = finding.remedy
    if not remedy:
        return ["", "No advice was computed for this finding."]
    no_fix = remedy.kind in common.NO_FIX_KINDS
    lines = ["", "What to do (nothing to grant):" if no_fix else "Fix:"]
    for note in remedy.notes:
        lines += _wrapped(_one_line(note, limit=common.LONG_TEXT), "  - ", "    ")
    for block in common.policy_blocks(remedy):
        lines += ["", *_wrapped(f"{block['title']} (save as {block['file']}):")]
        lines += _code(common.pretty_json(block["document"]).splitlines())
    commands = common.remedy_commands(remedy)
    if commands:
        lines += ["", "Commands to look into it:" if no_fix else "Commands (AWS CLI):", *_code(commands)]
    docs = common.remedy_docs(remedy)
    if docs:
        lines += ["", "AWS documentation:"]
        for doc in docs:
            lines += _wrapped(f"{_one_line(doc['title'])}: {doc['url']}", "  - ", "    ")
    return lines


def _code(lines: list[str]) -> list[str]:
    """A policy or commands, indented, each line whole (a reader copies them)."""
    return ["    " + _one_line(line, limit=common.LONG_TEXT) for line in lines]


def _one_line(value: Any, limit: int = common.MAX_TEXT) -> str:
    """A value as one printable line: secrets masked, controls and line feeds shown as escapes, cut past limit."""
    text = printable(mask_secrets(str(value)), keep="")
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def _wrapped(text: str, first: str = "", rest: str = "") -> list[str]:
    """Prose wrapped at WIDTH columns; a word longer than the line (an ARN) is kept whole, never cut."""
    return textwrap.wrap(
        _one_line(text, limit=common.LONG_TEXT),
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]
