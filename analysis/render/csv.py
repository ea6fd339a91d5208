"""The report as CSV: one row per principal and action, safe to open in a spreadsheet.

Strings from the logs are untrusted: a role session name may legally be ``=1+1`` or start with ``+``, ``-``
or ``@``. Any text cell that a spreadsheet could read as a formula is prefixed with an apostrophe (OWASP's
advice for CSV injection), access key IDs are masked and control characters replaced.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from analysis.contract import DeniedAction, Finding, Report, as_report
from analysis.render import common

CELL_LIMIT = 32_000  # a spreadsheet cell holds 32,767 characters
# Characters that make a spreadsheet read a cell as a formula (with their full-width forms, which some
# applications fold to ASCII), and the whitespace some of them skip before looking.
FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
SEPARATOR = "; "

COLUMNS: tuple[tuple[str, Callable[[Finding, DeniedAction, int | None], Any]], ...] = (
    ("finding", lambda f, a, i: i),
    ("severity", lambda f, a, i: f.severity),
    ("principal", lambda f, a, i: f.principal.arn or f.principal.key),
    ("principal_type", lambda f, a, i: f.principal.type),
    ("principal_account_id", lambda f, a, i: f.principal.account_id),
    ("sessions", lambda f, a, i: f.principal.sessions),
    ("permission_set", lambda f, a, i: f.principal.permission_set),
    ("target_account_id", lambda f, a, i: f.target_account_id),
    ("cross_account", lambda f, a, i: "yes" if f.cross_account else "no"),
    ("action", lambda f, a, i: a.action),
    ("count", lambda f, a, i: a.count),
    ("first_seen", lambda f, a, i: a.first_seen),
    ("last_seen", lambda f, a, i: a.last_seen),
    ("resources", lambda f, a, i: a.resources),
    ("reasons", lambda f, a, i: a.reasons),
    ("why", lambda f, a, i: [common.reason_words(r) for r in a.reasons]),
    ("details", lambda f, a, i: common.action_notes(a)),
    ("finding_denials", lambda f, a, i: f.denials),
    ("confidence", lambda f, a, i: f.confidence),
    ("remedy_kind", lambda f, a, i: common.remedy_kind(f)),
    ("advice", lambda f, a, i: common.REMEDY_WORDS.get(common.remedy_kind(f) or "", "")),
    ("hazards", lambda f, a, i: [common.hazard_words(h) for h in f.hazards]),
    ("regions", lambda f, a, i: f.regions),
    ("source_ips", lambda f, a, i: f.source_ips),
)
HEADER = ["day", *(name for name, _ in COLUMNS)]


def render_csv(report: Report | Mapping[str, Any]) -> str:
    report = as_report(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows(report))
    return buffer.getvalue()


def rows(report: Report | Mapping[str, Any]) -> Iterable[list[Any]]:
    """The cells of each row, most urgent finding first (severity, then denials; numbered as in the HTML report);
    then the late arrivals of a daily report (denials of earlier days), each under its own day and with no number."""
    report = as_report(report)
    windowed = report.daily or report.window.start
    day = common.report_day(report) if windowed else None  # an open window: each row's own first day
    for index, finding in enumerate(common.by_urgency(report.findings), start=1):
        yield from _finding_rows(day, finding, index)
    for section in report.late_arrivals or []:
        for finding in common.by_urgency(section.findings):
            yield from _finding_rows(section.window.key, finding, None)


def _finding_rows(day: str | None, finding: Finding, index: int | None) -> Iterable[list[Any]]:
    for action in finding.actions:
        row_day = day or (action.first_seen or "")[:10]
        yield [cell(row_day), *(cell(value(finding, action, index)) for _, value in COLUMNS)]


def cell(value: Any) -> Any:
    """A value ready for the writer: numbers as they are, lists joined, text cleaned and neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple):
        value = SEPARATOR.join(str(item) for item in value)
    return neutralise(common.clean_text(str(value), limit=CELL_LIMIT))


def neutralise(text: str) -> str:
    """Prefix a cell that a spreadsheet would read as a formula with an apostrophe, so it stays text."""
    if text and (text[0] in FORMULA_START or text.lstrip(" \u00a0\u3000")[:1] in FORMULA_START):
        return "'" + text
    return text
