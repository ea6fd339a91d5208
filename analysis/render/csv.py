"""The report as two CSV files, safe to open in a spreadsheet and exact to load in pandas.

``render_csv`` (``report.csv``): one row per finding and action, most urgent first, one value per cell except
the short lists a reader keeps together (resources, reasons and their words, notes, hazards).
``render_csv_details`` (``report.details.csv``): every list of the report one value a row, keyed by
``day``, ``finding_id`` and ``action`` (empty for a list of the finding as a whole): sessions, regions, source
IPs and user agents of each finding; resources, reasons and CloudTrail event IDs of each action.

How cells are written:
- Times are ISO 8601 in UTC (``2026-11-28T09:15:00Z``), days ``YYYY-MM-DD``, booleans ``true``/``false``.
- Strings from the logs are untrusted: a role session name may legally be ``=1+1`` or start with ``+``, ``-``
  or ``@``. Any text cell that a spreadsheet could read as a formula is prefixed with an apostrophe (OWASP's
  advice for CSV injection), access key IDs are masked and control characters replaced.
- Account IDs are prefixed with an apostrophe too (``'012345678901``), so that neither pandas nor a
  spreadsheet reads them as numbers, which would drop a leading zero (``12345678901``) or show ``1.2E+10``.
- So a leading apostrophe is always the marker and never data: a value that itself starts with one is
  written with a second. Drop exactly one leading apostrophe to get every value back exactly::

      frame = pd.read_csv("report.csv", dtype=str, keep_default_na=False)
      frame = frame.apply(lambda column: column.str.removeprefix("'"))

  (``keep_default_na=False`` keeps a session named ``NA`` or ``null`` as text.) Without ``dtype=str`` pandas
  still keeps account IDs as text, with their apostrophe; LibreOffice Calc opens them as text too.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from analysis.contract import DeniedAction, Finding, Report, as_report
from analysis.render import common

CELL_LIMIT = 32_000  # a spreadsheet cell holds 32,767 characters
# Characters that make a spreadsheet read a cell as a formula (with their full-width forms, which some
# applications fold to ASCII), and the whitespace some of them skip before looking.
FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
TEXT_MARKER = "'"  # a spreadsheet's sign for "this cell is text"
SEPARATOR = "; "
ACCOUNT_ID = re.compile(r"\d{12}")

Column = Callable[[Finding, DeniedAction, int | None], Any]


class AccountId(str):
    """A 12-digit AWS account ID: written as text, never as a number."""


def _account(value: str | None) -> AccountId | None:
    return None if value is None else AccountId(value)


COLUMNS: tuple[tuple[str, Column], ...] = (
    ("finding", lambda f, a, i: i),
    ("finding_id", lambda f, a, i: f.id),
    ("severity", lambda f, a, i: f.severity),
    ("principal", lambda f, a, i: f.principal.arn or f.principal.key),
    ("principal_type", lambda f, a, i: f.principal.type),
    ("principal_account_id", lambda f, a, i: _account(f.principal.account_id)),
    ("permission_set", lambda f, a, i: f.principal.permission_set),
    ("target_account_id", lambda f, a, i: _account(f.target_account_id)),
    ("cross_account", lambda f, a, i: f.cross_account),
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
)
HEADER = ["day", *(name for name, _ in COLUMNS)]

# The lists of the details file, by contract field name: of the finding as a whole, then of each action.
FINDING_LISTS: tuple[tuple[str, Callable[[Finding], list[str]]], ...] = (
    ("sessions", lambda f: f.principal.sessions),
    ("regions", lambda f: f.regions),
    ("source_ips", lambda f: f.source_ips),
    ("user_agents", lambda f: f.user_agents),
)
ACTION_LISTS: tuple[tuple[str, Callable[[DeniedAction], list[str]]], ...] = (
    ("resources", lambda a: a.resources),
    ("reasons", lambda a: list(a.reasons)),
    ("event_ids", lambda a: a.event_ids),
)
DETAILS_HEADER = ["day", "finding_id", "action", "field", "value"]


def render_csv(report: Report | Mapping[str, Any]) -> str:
    return _csv(HEADER, rows(report))


def render_csv_details(report: Report | Mapping[str, Any]) -> str:
    """The lists of each finding and action, one value a row (``DETAILS_HEADER``), in the order of ``rows``."""
    return _csv(DETAILS_HEADER, detail_rows(report))


def _csv(header: list[str], body: Iterable[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()


def rows(report: Report | Mapping[str, Any]) -> Iterable[list[Any]]:
    """The cells of each row, most urgent finding first (severity, then denials; numbered as in the HTML report);
    then the late arrivals of a daily report (denials of earlier days), each under its own day and with no number."""
    for day, finding, index in _findings(as_report(report)):
        for action in finding.actions:
            row_day = day or (action.first_seen or "")[:10]
            yield [cell(row_day), *(cell(value(finding, action, index)) for _, value in COLUMNS)]


def detail_rows(report: Report | Mapping[str, Any]) -> Iterable[list[Any]]:
    for day, finding, _ in _findings(as_report(report)):
        finding_day = day or (finding.first_seen or finding.actions[0].first_seen or "")[:10]
        for field, finding_values in FINDING_LISTS:
            for value in finding_values(finding):
                yield [cell(finding_day), cell(finding.id), "", field, cell(value)]
        for action in finding.actions:
            action_day = day or (action.first_seen or "")[:10]
            for field, action_values in ACTION_LISTS:
                for value in action_values(action):
                    yield [cell(action_day), cell(finding.id), cell(action.action), field, cell(value)]


def _findings(report: Report) -> Iterable[tuple[str | None, Finding, int | None]]:
    """Each finding with its day (None in an open window: each row then takes its own first day) and number."""
    windowed = report.daily or report.window.start
    day = common.report_day(report) if windowed else None
    for index, finding in enumerate(common.by_urgency(report.findings), start=1):
        yield day, finding, index
    for section in report.late_arrivals or []:
        for finding in common.by_urgency(section.findings):
            yield section.window.key, finding, None


def cell(value: Any) -> Any:
    """A value ready for the writer: numbers as they are, lists joined, text cleaned and neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, AccountId) and ACCOUNT_ID.fullmatch(value):
        return TEXT_MARKER + value
    if isinstance(value, list | tuple):
        value = SEPARATOR.join(str(item) for item in value)
    return neutralise(common.clean_text(str(value), limit=CELL_LIMIT))


def neutralise(text: str) -> str:
    """Prefix with an apostrophe a cell that a spreadsheet would read as a formula, so it stays text, and one
    that starts with an apostrophe, so that a leading apostrophe is always the marker."""
    if text and (
        text[0] in FORMULA_START or text[0] == TEXT_MARKER or text.lstrip(" \u00a0\u3000")[:1] in FORMULA_START
    ):
        return TEXT_MARKER + text
    return text
