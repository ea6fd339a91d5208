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

import pandas as pd

from analysis.contract import BUILDING, Daily, DayWindow, LateArrivals, LedgerCounts, Report
from analysis.ledger import EventKey, Ledger, claims, event_key, split
from analysis.model import Options
from analysis.pipeline import collect
from analysis.redact import redact_report
from analysis.report import build_report
from analysis.sources.base import Source
from analysis.times import iso
from analysis.windows import DEFAULT_LOOKBACK, DEFAULT_TIME_ZONE, DailyWindow, daily_window


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
    frame, statuses = collect(sources, window.read_window, options)
    homes = home_windows(frame, tz)
    keys = ledger_keys(frame)
    candidates = {key: home for key, home in zip(keys, homes, strict=True) if key is not None}
    decided = split(candidates, window.key, ledger.reported(list(candidates)))
    owned = ledger.claim(window.key, claims(decided, window.key))
    this_day, late = select_rows(keys, homes, window.key, owned)

    report = build_report(
        frame=frame.loc[this_day],
        sources=[status.as_status() for status in statuses],
        window=window.window,
        generated_at=now,
        options=options,
    )
    late_frame = frame.loc[late]
    report.daily = _daily_section(window)
    report.late_arrivals = late_sections(late_frame, homes.loc[late], window, now, options)
    report.totals.late_denials = len(late_frame)
    report.ledger = LedgerCounts(
        window=window.key,
        counted=int((this_day & keys.notna()).sum()),
        untracked_without_event_id=int((this_day & keys.isna()).sum()),
        late_arrivals=len(late_frame),
        already_reported=len(decided.already),
    )
    if redact:
        report = Report.model_validate(redact_report(report.document(), redact_key), context=BUILDING)
    ledger.save_report(window.key, report.document())
    return report


def ledger_keys(frame: pd.DataFrame) -> pd.Series:
    """Each row's ledger key, (eventID, recipientAccountId), or None when it has no eventID."""
    pairs = zip(frame["event_id"], frame["recipient_account_id"], strict=True)
    return pd.Series([event_key(event_id, account) for event_id, account in pairs], index=frame.index, dtype=object)


def home_windows(frame: pd.DataFrame, tz: str) -> pd.Series:
    """The daily-window key (local date, ``YYYY-MM-DD``) of each row's eventTime."""
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    days: pd.Series = frame["event_time"].dt.tz_convert(tz).dt.strftime("%Y-%m-%d").astype(object)
    return days


def select_rows(
    keys: pd.Series, homes: pd.Series, window: str, owned: frozenset[EventKey]
) -> tuple[pd.Series, pd.Series]:
    """(rows this day's report counts, rows it lists as late arrivals), as boolean masks.

    This day's rows: those of this window that the run owns in the ledger, and those without an
    eventID. Late rows: those of earlier windows that the run owns.
    """
    is_owned = keys.map(lambda key: key is not None and key in owned).astype(bool)
    in_window = homes == window
    this_day = in_window & (is_owned | keys.isna())
    late = (homes < window) & is_owned
    return this_day, late


def late_sections(
    late: pd.DataFrame, homes: pd.Series, window: DailyWindow, now: datetime, options: Options
) -> list[LateArrivals]:
    """One section per original day, oldest first: that day's window and its late findings."""
    sections = []
    for home, rows in late.groupby(homes, sort=True):
        original = daily_window(str(home), window.tz, window.lookback)
        built = build_report(frame=rows, sources=[], window=original.window, generated_at=now, options=options)
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
