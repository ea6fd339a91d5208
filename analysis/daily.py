"""The daily report: one day's denials, plus late arrivals from earlier days, each counted once.

``daily_report`` reads the day's window widened back by the lookback, then asks the ledger which
denials are this day's and new, which arrived late for an earlier day no report has counted yet,
and which some other report already counted. It claims the first two groups in the ledger *before*
building the report (a retried run owns its claims and rebuilds the same report), builds the day's
report with ``analysis.report.build_report`` on this day's rows, adds a ``late_arrivals`` section
(findings per original day, built the same way) and stores the report beside its claims.

The sources must read at least ``daily_window(day, tz, lookback).read_window`` (build AWS sources
with that window); a denial whose log arrives later than the lookback allows is not seen again.

Denials without an ``eventID`` cannot be tracked: they count in the report of the day holding their
``eventTime`` only (see ``analysis.ledger``).

With ``redact`` (the service's REDACT), the report is redacted before it is stored beside the claims, so the ledger
keeps no more than what is sent. The claims themselves keep each event's ``(eventID, recipientAccountId)``: they must
match the same event in a later run, which a pseudonym (made per report) cannot, and they stay in the auditor's own
state table, which a redacted report is made to leave.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from analysis.contract import BUILDING, Daily, DayWindow, LateArrivals, LedgerCounts, Report
from analysis.cycle_collector import no_cycle_collection
from analysis.grouping import Row
from analysis.ledger import EventKey, Ledger, claims, event_key, split
from analysis.model import Options
from analysis.pipeline import collect
from analysis.redact import redact_report
from analysis.report import build_report
from analysis.sources.base import Source
from analysis.times import iso
from analysis.windows import DEFAULT_LOOKBACK, DEFAULT_TIME_ZONE, DailyWindow, daily_window


@no_cycle_collection()
def daily_report(
    sources: Sequence[Source],
    day: date | str,
    ledger: Ledger,
    options: Options | None = None,
    tz: str = DEFAULT_TIME_ZONE,
    lookback: timedelta = DEFAULT_LOOKBACK,
    now: datetime | None = None,
    *,
    redact: bool = False,
    redact_key: str | None = None,
) -> Report:
    """The report of ``day`` in ``tz``, with its ``daily``, ``late_arrivals`` and ``ledger`` sections; redacted
    (``analysis.redact.redact_report``, with ``redact_key``: the same pseudonyms as other days' reports) before it
    is stored and returned when ``redact``."""
    options = options or Options()
    now = now or datetime.now(UTC)
    window = daily_window(day, tz, lookback)
    denials, statuses = collect(sources, window.read_window, options)
    homes = home_windows(denials, tz)
    keys = ledger_keys(denials)
    candidates = {key: home for key, home in zip(keys, homes, strict=True) if key is not None and home is not None}
    decided = split(candidates, window.key, ledger.reported(list(candidates)))
    owned = ledger.claim(window.key, claims(decided, window.key))
    this_day, late = select_rows(keys, homes, window.key, owned)

    report = build_report(
        denials=[row for row, chosen in zip(denials, this_day, strict=True) if chosen],
        sources=[status.as_status() for status in statuses],
        window=window.window,
        generated_at=now,
        options=options,
    )
    late_rows = [(home, row) for row, home, chosen in zip(denials, homes, late, strict=True) if chosen and home]
    report.daily = _daily_section(window)
    report.late_arrivals = late_sections(late_rows, window, now, options)
    report.totals.late_denials = len(late_rows)
    report.ledger = LedgerCounts(
        window=window.key,
        counted=sum(1 for key, chosen in zip(keys, this_day, strict=True) if chosen and key is not None),
        untracked_without_event_id=sum(1 for key, chosen in zip(keys, this_day, strict=True) if chosen and key is None),
        late_arrivals=len(late_rows),
        already_reported=len(decided.already),
    )
    if redact:
        report = Report.model_validate(redact_report(report.document(), redact_key), context=BUILDING)
    ledger.save_report(window.key, report.document())
    return report


def ledger_keys(denials: Sequence[Row]) -> list[EventKey | None]:
    """Each row's ledger key, (eventID, recipientAccountId), or None when it has no eventID."""
    return [event_key(row["event_id"], row["recipient_account_id"]) for row in denials]


def home_windows(denials: Sequence[Row], tz: str) -> list[str | None]:
    """The daily-window key (local date, ``YYYY-MM-DD``) of each row's eventTime (None for a row without one: the
    read window is bounded, so ``collect`` gives none)."""
    zone = ZoneInfo(tz)
    return [None if row["time"] is None else row["time"].astimezone(zone).strftime("%Y-%m-%d") for row in denials]


def select_rows(
    keys: Sequence[EventKey | None], homes: Sequence[str | None], window: str, owned: frozenset[EventKey]
) -> tuple[list[bool], list[bool]]:
    """(rows this day's report counts, rows it lists as late arrivals), one flag per row.

    This day's rows: those of this window that the run owns in the ledger, and those without an
    eventID. Late rows: those of earlier windows that the run owns.
    """
    this_day = [home == window and (key is None or key in owned) for key, home in zip(keys, homes, strict=True)]
    late = [
        home is not None and home < window and key is not None and key in owned
        for key, home in zip(keys, homes, strict=True)
    ]
    return this_day, late


def late_sections(
    late: Sequence[tuple[str, Row]], window: DailyWindow, now: datetime, options: Options
) -> list[LateArrivals]:
    """One section per original day, oldest first: that day's window and its late findings (``late``: each late row
    with its day)."""
    sections = []
    for home, pairs in groupby(sorted(late, key=lambda pair: pair[0]), key=lambda pair: pair[0]):
        rows = [row for _, row in pairs]
        original = daily_window(home, window.tz, window.lookback)
        built = build_report(denials=rows, sources=[], window=original.window, generated_at=now, options=options)
        sections.append(
            LateArrivals(
                window=DayWindow.model_validate(original.as_dict(), context=BUILDING),
                denials=len(rows),
                principals=built.totals.principals,
                findings=built.findings,
            )
        )
    return sections


def _daily_section(window: DailyWindow) -> Daily:
    read = window.read_window
    return Daily.model_validate(
        context=BUILDING,
        obj={
            **window.as_dict(),
            "lookback_hours": window.lookback.total_seconds() / 3600,
            "read_window": {"start": iso(read.start), "end": iso(read.end)},
        },
    )
