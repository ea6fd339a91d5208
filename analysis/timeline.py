"""Denials over time: the counts behind the report's chart (per hour for a day, per day for longer).

``denial_timeline(frame, window)`` gives ``{"unit": "hour" | "day" | "week", "buckets": [{"start", "denials"}]}``,
every bucket of the window present (zero included) so a chart shows the quiet hours too; with no window, events
of one UTC day are counted over that whole day. The report carries it as ``Report.timeline``
(``analysis.contract.Timeline``).

Buckets are bounded: a span of more than ``MAX_BUCKETS`` weeks (a window of centuries, or one record dated
9999 in an open window) lists only the weeks that hold denials, the latest ``MAX_BUCKETS`` of them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.model import Window
from analysis.times import iso

# The finest unit that keeps a chart short: (unit, longest span it is used for), and each unit's step.
UNITS = (("hour", pd.Timedelta(hours=48)), ("day", pd.Timedelta(days=92)), ("week", None))
STEPS = {"hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1), "week": pd.Timedelta(weeks=1)}
MAX_BUCKETS = 1_000  # about 19 years of weeks


def denial_timeline(frame: pd.DataFrame, window: Window | None = None) -> dict[str, Any]:
    """Denials per hour, day or week over the window (or over the events when the window is open)."""
    times = frame["event_time"].dropna() if "event_time" in frame else pd.Series(dtype="datetime64[ns, UTC]")
    window = window or Window()
    start, end = _span(times, window)
    if start is None or end is None:
        return {"unit": "hour", "buckets": []}
    unit = _unit(end - start)
    if unit == "hour" and window.start is None and window.end is None:
        start, end = _whole_day(start, end)
    first = _floor(start, unit)
    counts = times.groupby(_floor_series(times, unit)).size() if len(times) else pd.Series(dtype=int)
    return {
        "unit": unit,
        "buckets": [
            {"start": iso(edge), "denials": int(counts.get(edge, 0))} for edge in _edges(first, end, unit, counts)
        ],
    }


def _edges(first: pd.Timestamp, end: pd.Timestamp, unit: str, counts: pd.Series) -> list[pd.Timestamp]:
    """Every bucket's start from ``first`` to ``end``; past MAX_BUCKETS, those with denials, the latest ones."""
    if -(-(end - first) // STEPS[unit]) <= MAX_BUCKETS:  # buckets in the span (a ceiling division)
        return list(pd.date_range(first, end, freq=STEPS[unit], inclusive="left"))
    return sorted(edge for edge in counts.index if first <= edge < end)[-MAX_BUCKETS:]


def _span(times: pd.Series, window: Window) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    start = pd.Timestamp(window.start) if window.start is not None else (times.min() if len(times) else None)
    end = pd.Timestamp(window.end) if window.end is not None else (times.max() if len(times) else None)
    if start is None or end is None:
        return None, None
    start, end = _utc(start), _utc(end)
    if window.end is None:  # an open end covers the last event
        end = end + pd.Timedelta(microseconds=1)
    return start, max(end, start + pd.Timedelta(microseconds=1))


def _whole_day(start: pd.Timestamp, end: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Events of one UTC day, with no window given, are charted over that whole day (00:00 to 24:00), as a
    day's report is: the chart then starts at 00:00, not at the first event's hour."""
    day = start.floor("D")
    return (day, day + pd.Timedelta(days=1)) if end <= day + pd.Timedelta(days=1) else (start, end)


def _unit(span: pd.Timedelta) -> str:
    return next(unit for unit, longest in UNITS if longest is None or span <= longest)


def _floor(value: pd.Timestamp, unit: str) -> pd.Timestamp:
    if unit == "week":
        day = value.floor("D")
        return day - pd.Timedelta(days=day.day_of_week)
    return value.floor("h" if unit == "hour" else "D")


def _floor_series(times: pd.Series, unit: str) -> pd.Series:
    if unit == "week":
        days: pd.Series = times.dt.floor("D")
        weeks: pd.Series = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
        return weeks
    floored: pd.Series = times.dt.floor("h" if unit == "hour" else "D")
    return floored


def _utc(value: pd.Timestamp) -> pd.Timestamp:
    return value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
