"""Denials over time: the counts behind the report's chart (per hour for a day, per day for longer).

``denial_timeline(times, window)`` (the denials' times, None where unread) gives
``{"unit": "hour" | "day" | "week", "buckets": [{"start", "denials"}]}``,
every bucket of the window present (zero included) so a chart shows the quiet hours too; with no window, events
of one UTC day are counted over that whole day. The report carries it as ``Report.timeline``
(``analysis.contract.Timeline``).

Buckets are bounded: a span of more than ``MAX_BUCKETS`` weeks (a window of centuries, or one record dated
9999 in an open window) lists only the weeks that hold denials, the latest ``MAX_BUCKETS`` of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis.model import Window
from analysis.times import iso

# The finest unit that keeps a chart short: (unit, longest span it is used for), and each unit's step.
UNITS = (("hour", timedelta(hours=48)), ("day", timedelta(days=92)), ("week", None))
STEPS = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
MAX_BUCKETS = 1_000  # about 19 years of weeks
_ONE_MICROSECOND = timedelta(microseconds=1)


def denial_timeline(times: Iterable[datetime | None], window: Window | None = None) -> dict[str, Any]:
    """Denials per hour, day or week over the window (or over the events when the window is open)."""
    known = [_utc(moment) for moment in times if moment is not None]
    window = window or Window()
    start, end = _span(known, window)
    if start is None or end is None:
        return {"unit": "hour", "buckets": []}
    unit = _unit(end - start)
    if unit == "hour" and window.start is None and window.end is None:
        start, end = _whole_day(start, end)
    first = _floor(start, unit)
    counts = Counter(_floor(moment, unit) for moment in known)
    return {
        "unit": unit,
        "buckets": [{"start": iso(edge), "denials": counts.get(edge, 0)} for edge in _edges(first, end, unit, counts)],
    }


def _edges(first: datetime, end: datetime, unit: str, counts: Counter[datetime]) -> list[datetime]:
    """Every bucket's start from ``first`` to ``end``; past MAX_BUCKETS, those with denials, the latest ones."""
    step = STEPS[unit]
    buckets = -(-(end - first) // step)  # buckets in the span (a ceiling division)
    if buckets <= MAX_BUCKETS:
        return [first + index * step for index in range(buckets)]
    return sorted(edge for edge in counts if first <= edge < end)[-MAX_BUCKETS:]


def _span(times: list[datetime], window: Window) -> tuple[datetime | None, datetime | None]:
    start = _utc(window.start) if window.start is not None else (min(times) if times else None)
    end = _utc(window.end) if window.end is not None else (max(times) if times else None)
    if start is None or end is None:
        return None, None
    if window.end is None:  # an open end covers the last event
        end = end + _ONE_MICROSECOND if end < datetime.max.replace(tzinfo=UTC) else end
    return start, max(end, start + _ONE_MICROSECOND)


def _whole_day(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Events of one UTC day, with no window given, are charted over that whole day (00:00 to 24:00), as a
    day's report is: the chart then starts at 00:00, not at the first event's hour."""
    day = _floor(start, "day")
    return (day, day + timedelta(days=1)) if end <= day + timedelta(days=1) else (start, end)


def _unit(span: timedelta) -> str:
    return next(unit for unit, longest in UNITS if longest is None or span <= longest)


def _floor(value: datetime, unit: str) -> datetime:
    if unit == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if unit == "week" else day


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
