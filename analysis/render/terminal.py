"""The report as a short summary for a terminal: the window, the totals, one line per finding, where the files are.

What ``report`` prints on a terminal and what ``make demo`` ends with. It is built with Rich, but no text of the
report is ever read as Rich markup: every value goes in as a ``rich.text.Text`` after ``redact.printable`` (and
secrets masked), so a principal named ``[bold red]x[/]`` or holding an escape sequence prints as written.
Importing this module loads neither pandas nor the other renderers.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from analysis.advice_words import what_to_do
from analysis.contract import Finding, Report
from analysis.principals import short_name
from analysis.redact import mask_secrets, printable
from analysis.render.common import by_urgency, service_name

MAX_FINDINGS = 50  # lines of findings shown; the rest are counted and left to the full reports
SEVERITY_WIDTH = len("critical")
ACCOUNT_WIDTH = 12  # an AWS account ID
COLUMN_GAP = 1
MIN_TEXT_WIDTH = 10  # the principal's and the advice's columns, however narrow the terminal
NEAR_CELLS = 5  # names cut at their end that differ only in their last this many cells are hard to tell apart
SEVERITY_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def summary(
    report: Report,
    written: Sequence[Path],
    *,
    color: bool,
    width: int = 100,
    max_findings: int = MAX_FINDINGS,
) -> str:
    """The summary as text, ``width`` columns at most per line; ANSI colours only when ``color``."""
    console = Console(
        file=io.StringIO(),
        force_terminal=color,
        color_system="standard" if color else None,
        width=width,
        markup=False,
        emoji=False,
        highlight=False,
        force_jupyter=False,
        legacy_windows=False,
        soft_wrap=False,
    )
    _print_line(console, _header(report), "bold")
    for line in _joined(_totals(report), width):
        _print_line(console, line)
    for warning in _source_warnings(report):
        _print_line(console, warning, "yellow")
    console.print()
    if report.findings:
        console.print(_findings_table(by_urgency(report.findings)[:max_findings], width))
        hidden = len(report.findings) - max_findings
        if hidden > 0:
            _print_line(console, f"… and {hidden} more finding(s): see the full reports.")
    else:
        _print_line(console, f"No {service_name(report.service)} denials in this window.", "green")
    if written:
        console.print()
        _print_line(console, "Full reports:", "bold")
        for path in written:
            console.print(Text("  " + _safe(str(path))), overflow="fold")
    output = console.file
    assert isinstance(output, io.StringIO)
    return "".join(line.rstrip(" ") + "\n" for line in output.getvalue().splitlines())


# --- the lines above the findings ---------------------------------------------------------------------


def _header(report: Report) -> str:
    title = f"{service_name(report.service)} access report"
    if report.daily is not None:
        when = f"{report.daily.key} ({report.daily.time_zone})"
    else:
        when = f"{report.window.start or 'the first record'} → {report.window.end or 'the last record'}"
    return f"{title} · {when}" + (" · redacted" if report.redacted else "")


def _totals(report: Report) -> list[str]:
    totals = report.totals
    parts = [
        _counted(totals.records_read, "record read", "records read"),
        _counted(totals.denials, "denial"),
        _counted(totals.principals, "principal"),
        _counted(len(report.findings), "finding"),
        f"{totals.malformed_records:,} malformed",
    ]
    if totals.late_denials:
        parts.append(_counted(totals.late_denials, "late denial"))
    cut = sum(action.truncated_messages for finding in report.findings for action in finding.actions)
    if cut:  # CloudTrail cuts an errorMessage at about 1,024 characters: what it cut may hold the reason
        parts.append(
            f"{cut:,} error message cut short by AWS: its reason may be missing"
            if cut == 1
            else f"{cut:,} error messages cut short by AWS: their reasons may be missing"
        )
    return parts


def _joined(parts: list[str], width: int, separator: str = " · ") -> list[str]:
    """The parts on as few lines as fit ``width``, never broken inside a part."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(separator) + len(part) <= width:
            lines[-1] += separator + part
        else:
            lines.append(part)
    return lines


def _counted(count: int, one: str, many: str = "") -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def _source_warnings(report: Report) -> list[str]:
    """One line per source that was not read whole (the details are on standard error and in the reports)."""
    return [
        f"! {source.name}: {source.status}" + (f" ({source.error})" if source.error else "")
        for source in report.sources
        if source.status != "ok"
    ]


# --- one line per finding -----------------------------------------------------------------------------


def _findings_table(findings: list[Finding], width: int) -> Table:
    """One row per finding, each cell one line: what does not fit ends in an ellipsis."""
    names = [_safe(short_principal(finding)) for finding in findings]
    advice = [_safe(what_to_do(finding)) for finding in findings]
    denials_width = max(len("denials"), *(len(f"{finding.denials:,}") for finding in findings))
    fixed = SEVERITY_WIDTH + ACCOUNT_WIDTH + denials_width + 4 * COLUMN_GAP
    principal_width, advice_width = _shared(width - fixed, max(map(cell_len, names)), max(map(len, advice)))
    rows = [
        (
            Text(finding.severity, style=SEVERITY_STYLES.get(finding.severity, "")),
            Text(name),
            Text(_safe(finding.principal.account_id or finding.target_account_id or "")),
            Text(f"{finding.denials:,}"),
            Text(what),
        )
        for finding, name, what in zip(findings, fitted_names(names, principal_width), advice, strict=True)
    ]
    table = Table(box=None, padding=(0, COLUMN_GAP, 0, 0), pad_edge=False, expand=False, header_style="bold")
    table.add_column("severity", no_wrap=True, width=SEVERITY_WIDTH)
    table.add_column("principal", no_wrap=True, overflow="ellipsis", width=principal_width)
    table.add_column("account", no_wrap=True, overflow="ellipsis", width=ACCOUNT_WIDTH)
    table.add_column("denials", no_wrap=True, justify="right", width=denials_width)
    table.add_column("what to do", no_wrap=True, overflow="ellipsis", width=advice_width)
    for row in rows:
        table.add_row(*row)
    return table


def _shared(available: int, principal: int, advice: int) -> tuple[int, int]:
    """The principal's and the advice's widths: each as wide as its longest value when both fit, else the advice
    keeps most of the room (what to do matters more than the end of a long role name)."""
    available = max(available, 2 * MIN_TEXT_WIDTH)
    if principal + advice <= available:
        return principal, advice
    principal_width = min(principal, max(available - advice, available * 2 // 5))
    return principal_width, available - principal_width


def fitted_names(names: Sequence[str], width: int) -> list[str]:
    """Each name in ``width`` cells: a longer one keeps its start and ends in '…', unless another name shown
    starts the same way up to its last few cells (``role/stratus-red-team-ec2-…`` beside
    ``role/stratus-red-team-ec2l…``): such names keep their start and their end around the '…' (the end often
    tells roles apart), placed nearest the middle where they all print differently (if any place does)."""
    if width < 3:
        return [name[:width] for name in names]
    fitted = {name: _elided(name, width, width - 1) for name in names}
    alike: dict[str, set[str]] = {}
    for name in fitted:
        if cell_len(name) > width:
            alike.setdefault(_within(name, max(width - 1 - NEAR_CELLS, 1)), set()).add(name)
    balanced = (width - 1) // 2
    heads = sorted(range(1, width - 1), key=lambda head: (abs(head - balanced), head))
    for group in (sorted(group) for group in alike.values() if len(group) > 1):
        head = next((h for h in heads if len({_elided(n, width, h) for n in group}) == len(group)), balanced)
        fitted.update({name: _elided(name, width, head) for name in group})
    return [fitted[name] for name in names]


def _elided(name: str, width: int, head: int) -> str:
    """``name`` itself when it fits, else its first ``head`` cells, '…' and its last ones (a wide character
    takes two cells)."""
    if cell_len(name) <= width:
        return name
    start = _within(name, head)
    end = _within(name[::-1], width - 1 - head)[::-1]
    return start + "…" + end


def _within(text: str, cells: int) -> str:
    """The longest start of ``text`` at most ``cells`` wide."""
    taken = 0
    for index, character in enumerate(text):
        taken += cell_len(character)
        if taken > cells:
            return text[:index]
    return text


def short_principal(finding: Finding) -> str:
    """``user/dev-alice``, ``role/Deploy``, ``assumed-role/Deploy``, ``root``: the ARN's resource without its
    path (the account is shown beside it); what the log said instead when there is no ARN. A name IAM could not
    have given (a ``/`` inside odd characters) is shown whole: no part of what the log says is hidden."""
    principal = finding.principal
    if not principal.arn:
        return (principal.key or "unknown").removeprefix("service:")  # an AWS service: apprunner.amazonaws.com
    return short_name(principal.arn)


# --- safety ---------------------------------------------------------------------------------------------


def _safe(text: str) -> str:
    """A report value fit for one terminal line: secrets masked, controls shown as escapes, never obeyed."""
    return printable(mask_secrets(text), keep="")


def _print_line(console: Console, text: str, style: str = "") -> None:
    """One line of the report's text, cut with an ellipsis rather than wrapped."""
    console.print(Text(_safe(text), style=style), no_wrap=True, overflow="ellipsis")
