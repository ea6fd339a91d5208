"""Sources in, one report out: the path shared by the CLI, the handlers and the notebooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from analysis import grouping
from analysis.aws_errors import describe_error
from analysis.contract import BUILDING, Report, SourceStatus
from analysis.cycle_collector import no_cycle_collection
from analysis.denials import audits_service, denial_row, is_denial
from analysis.model import Options, Window
from analysis.records import Malformed, Skipped
from analysis.report import build_report
from analysis.sources.base import Source, SourceError

if TYPE_CHECKING:  # the frame is the notebooks': built from the rows, and pandas loaded, only when asked for
    import pandas as pd

log = logging.getLogger(__name__)
MAX_WARNINGS_PER_SOURCE = 20
UNREADABLE_ITEMS = "item(s) could not be read"  # a source's error when only its items failed


@dataclass
class Coverage:
    """What a source's records are: CloudTrail records at all, and when they happened (the times of the records
    read in full: a trail file's fast path counts the records that cannot be denials without reading them)."""

    trail_records: int = 0
    counted_unread: int = 0
    timed: int = 0
    in_window: int = 0
    earliest: datetime | None = None
    latest: datetime | None = None

    def add(self, record: dict[str, Any], window: Window) -> None:
        if isinstance(record.get("eventSource"), str) and ("eventName" in record or "eventTime" in record):
            self.trail_records += 1
        moment = _event_time(record.get("eventTime"))
        if moment is None:
            return
        self.timed += 1
        self.earliest = moment if self.earliest is None else min(self.earliest, moment)
        self.latest = moment if self.latest is None else max(self.latest, moment)
        if (window.start is None or moment >= window.start) and (window.end is None or moment < window.end):
            self.in_window += 1

    def add_unread(self, count: int) -> None:
        """Records a trail file's fast path counted: CloudTrail records (the layout was proven), times unknown."""
        self.trail_records += count
        self.counted_unread += count


@dataclass
class SourceTally:
    """A source's counts while it is read (the report holds them as ``contract.SourceStatus``)."""

    name: str
    status: str = "ok"
    records_read: int = 0
    malformed_records: int = 0
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    notices: list[str] = field(default_factory=list)  # the source held nothing to report: said before its problems

    def as_status(self) -> SourceStatus:
        return SourceStatus.model_validate(
            context=BUILDING,
            obj={
                "name": self.name,
                "status": self.status,
                "records_read": self.records_read,
                "malformed_records": self.malformed_records,
                "error": self.error,
                "problems": self.notices + self.problems[:MAX_WARNINGS_PER_SOURCE],
            },
        )


@dataclass
class Analysis:
    """Everything a run produced: the report (the contract), the denial rows behind it and each source's counts."""

    report: Report
    denials: list[grouping.Row]
    sources: list[SourceTally]

    @cached_property
    def frame(self) -> pd.DataFrame:
        """The denial rows as a pandas frame (``analysis.findings.denial_frame``), for notebooks and tables."""
        from analysis.findings import denial_frame

        return denial_frame(self.denials)


def collect(
    sources: Sequence[Source], window: Window | None = None, options: Options | None = None
) -> tuple[list[grouping.Row], list[SourceTally]]:
    """Read every source: the de-duplicated denials of the audited service in the window (``analysis.grouping``'s
    rows: ``time`` is each eventTime read), and each source's status.

    In a bounded window, a denial whose eventTime cannot be read cannot be placed in it: it is counted as
    malformed on its source and named, not dropped in silence (once, however many times it was delivered).
    """
    window = window or Window()
    options = options or Options()
    statuses: list[SourceTally] = []
    read: list[tuple[grouping.Row, SourceTally]] = []  # each denial and the source it came from
    for source in sources:
        status = SourceTally(name=source.name)
        statuses.append(status)
        read.extend((row, status) for row in _denials(source, status, options.service, window))
    kept = grouping.deduplicate(read, key=lambda pair: pair[0])
    for (row, owner), moment in zip(kept, grouping.event_times([row["event_time"] for row, _ in kept]), strict=True):
        row["time"] = moment
        if moment is None and (window.start is not None or window.end is not None):
            _malformed(owner, _unplaced(owner.name, row))
    for source, status in zip(sources, statuses, strict=True):
        _settle(status)
        status.notices = coverage_notices(status, window, getattr(source, "nothing_read", None))
    return grouping.in_window((row for row, _ in kept), window.start, window.end), statuses


def analyse(
    sources: Sequence[Source],
    window: Window | None = None,
    options: Options | None = None,
    now: datetime | None = None,
) -> Analysis:
    window = window or Window()
    options = options or Options()
    with no_cycle_collection():
        denials, statuses = collect(sources, window, options)
        report = build_report(
            denials=denials,
            sources=[s.as_status() for s in statuses],
            window=window,
            generated_at=now or datetime.now(UTC),
            options=options,
        )
    return Analysis(report=report, denials=denials, sources=statuses)


def _denials(source: Source, status: SourceTally, service: str, window: Window) -> Iterator[dict[str, Any]]:
    try:
        for item in source.read():
            if isinstance(item, Malformed):
                _malformed(status, item)
                continue
            if isinstance(item, Skipped):
                status.records_read += item.count
                status.coverage.add_unread(item.count)
                continue
            status.records_read += 1
            status.coverage.add(item, window)
            row = _denial_or_none(item, status, service)
            if row is not None:
                yield row
    except Exception as error:  # a failing source is reported; the other sources go on
        log.warning("source %s failed: %s", source.name, error)
        status.status = "failed" if status.records_read == 0 else "partial"
        status.error = str(error) if isinstance(error, SourceError) else describe_error(error)  # in words


def _denial_or_none(record: dict[str, Any], status: SourceTally, service: str) -> dict[str, Any] | None:
    """The record's denial row, or None; a record the reading fails on (a bug meeting an input no test
    foresaw) is malformed, named by its eventID, and the source goes on."""
    try:
        return denial_row(record) if is_denial(record) and audits_service(record, service) else None
    except Exception as error:
        event_id = record.get("eventID")
        where = f"{status.name} (eventID {_shown(event_id)})" if isinstance(event_id, str) else status.name
        _malformed(status, Malformed(where, f"cannot be read ({type(error).__name__}: {error})"))
        return None


def _settle(status: SourceTally) -> None:
    """A source read to its end with malformed items is partial (failed if it held nothing else)."""
    if status.malformed_records and status.status == "ok":
        status.status = "partial" if status.records_read else "failed"
        status.error = status.error or f"{status.malformed_records} {UNREADABLE_ITEMS}"


def coverage_notices(status: SourceTally, window: Window, nothing_read: Callable[[], str] | None = None) -> list[str]:
    """What makes a source's part of the report look like success when it is not: it read nothing (a source
    that can say why: ``nothing_read``), no CloudTrail record, or nothing in the window."""
    coverage, name = status.coverage, status.name
    if status.status != "ok":
        return []  # a failed or partial source is already said, with its error
    if status.records_read == 0:
        return [f"{name}: {nothing_read()}"] if nothing_read is not None else []
    if coverage.trail_records == 0:
        return [
            f"{name}: none of its {status.records_read} record(s) is a CloudTrail record (an object with eventSource "
            "and eventName or eventTime): is it the trail's data?"
        ]
    if (window.start is None and window.end is None) or coverage.earliest is None or coverage.latest is None:
        return []
    outside = (window.end is not None and coverage.earliest >= window.end) or (
        window.start is not None and coverage.latest < window.start
    )
    if coverage.in_window or (coverage.counted_unread and not outside):
        return []  # the fast path's unread records may fall in the window, unless the window is past every time read
    span, shown = f"{_utc(coverage.earliest)}..{_utc(coverage.latest)}", f"{_utc(window.start)}..{_utc(window.end)}"
    if not coverage.counted_unread:
        return [f"{name}: no record in the window {shown}; the {coverage.timed} record(s) read span {span}"]
    return [
        f"{name}: no denial in the window {shown}; its possible denials span {span} "
        f"({coverage.counted_unread} other record(s) counted, their times not read)"
    ]


def _event_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "…"


def _unplaced(source: str, row: dict[str, Any]) -> Malformed:
    event_id = row.get("event_id")
    origin = f"{source} (eventID {_shown(event_id)})" if event_id else f"{source} (a record without an eventID)"
    time = row.get("event_time")
    found = f"eventTime {_shown(time)} cannot be read" if time else "no eventTime (or not a string)"
    return Malformed(origin, f"{found}: the denial cannot be placed in the window")


def _shown(value: Any, limit: int = 64) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _malformed(status: SourceTally, item: Malformed) -> None:
    """Count every malformed item; name the first MAX_WARNINGS_PER_SOURCE (memory and logs stay bounded)."""
    status.malformed_records += 1
    if status.malformed_records <= MAX_WARNINGS_PER_SOURCE:
        status.problems.append(str(item))
        log.warning("malformed input: %s", item)
    elif status.malformed_records == MAX_WARNINGS_PER_SOURCE + 1:
        log.warning("source %s: more malformed input, counted and not named", status.name)
