"""Short plain-text words about a report, shared by the subject lines, SNS and the email's fallback."""

from __future__ import annotations

import re

from analysis.contract import Report
from analysis.delivery.s3 import Link
from analysis.render import common

TOP_FINDINGS = 5
_NOT_SUBJECT = re.compile(r"[^\x20-\x7e]")  # SNS subjects: printable ASCII, no line breaks


def title(report: Report) -> str:
    return f"{common.service_name(report.service)} access report {common.report_day(report)}"


def subject(report: Report, limit: int = 99) -> str:
    """A one-line ASCII subject under ``limit`` characters, e.g. 'App Runner access report 2026-11-28: 7 denials'."""
    denials = report.totals.denials
    tail = f": {denials} denial(s), {len(report.findings)} finding(s)"
    text = _NOT_SUBJECT.sub("?", title(report) + (tail if denials else ": no denials"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def numbers_line(report: Report) -> str:
    totals = report.totals
    return (
        f"{totals.denials} denial(s) · {totals.principals} principal(s) · "
        f"{totals.findings} finding(s) · {totals.records_read} record(s) read"
    )


def kinds_line(report: Report) -> str | None:
    counts = common.kind_counts(report)
    if not counts:
        return None
    return "Advice: " + ", ".join(f"{count} × {common.KIND_SHORT[kind]}" for kind, count in counts.items())


def top_findings(report: Report, limit: int = TOP_FINDINGS) -> list[str]:
    """'1. [severity] <principal>: N denial(s): <advice>' for the most severe findings (log strings cleaned, kept
    short)."""
    lines = []
    for index, finding in enumerate(common.by_urgency(report.findings)[:limit], start=1):
        name = common.clean_text(common.principal_name(finding), limit=200)
        advice = common.REMEDY_WORDS.get(common.remedy_kind(finding) or "", "no advice yet")
        lines.append(f"{index}. [{finding.severity}] {name}: {finding.denials} denial(s): {advice}")
    return lines


def text_summary(report: Report, link: Link | None) -> str:
    """A short plain-text summary with the link to the full report."""
    start, end = common.window_words(report)
    lines = [title(report), f"From {start} to {end}", "", numbers_line(report)]
    if not report.findings:
        lines += ["", common.empty_sentence(report)]
    else:
        kinds = kinds_line(report)
        lines += [kinds] if kinds else []
        lines += ["", "Most severe:", *top_findings(report)]
        more = len(report.findings) - TOP_FINDINGS
        if more > 0:
            lines.append(f"... and {more} more in the full report.")
    if link:
        lines += ["", f"Full report: {link.url}", f"(link {link.words})"]
    return "\n".join(lines) + "\n"
