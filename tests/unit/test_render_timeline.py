"""The counts behind the report's chart: every bucket of the window, zero included."""

from __future__ import annotations

from datetime import UTC, datetime

from analysis.grouping import event_times
from analysis.model import Window
from analysis.timeline import denial_timeline

DAY = Window(datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))


def frame(*times: str):
    """The denials' times as the report reads them."""
    return event_times(times)


def test_a_day_is_24_hours_with_quiet_hours_at_zero():
    timeline = denial_timeline(frame("2026-11-28T09:15:00Z", "2026-11-28T09:59:59Z", "2026-11-28T23:00:00Z"), DAY)
    assert timeline["unit"] == "hour" and len(timeline["buckets"]) == 24
    counts = {b["start"][11:13]: b["denials"] for b in timeline["buckets"]}
    assert counts["09"] == 2 and counts["23"] == 1 and sum(counts.values()) == 3
    assert timeline["buckets"][0]["start"] == "2026-11-28T00:00:00Z"


def test_a_month_is_counted_per_day_and_a_year_per_week():
    month = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    timeline = denial_timeline(frame("2026-11-28T09:15:00Z", "2026-11-28T20:00:00Z"), month)
    assert timeline["unit"] == "day" and len(timeline["buckets"]) == 30
    assert {b["start"]: b["denials"] for b in timeline["buckets"]}["2026-11-28T00:00:00Z"] == 2
    year = Window(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    weekly = denial_timeline(frame("2026-11-28T09:15:00Z"), year)
    assert weekly["unit"] == "week" and sum(b["denials"] for b in weekly["buckets"]) == 1
    assert weekly["buckets"][0]["start"] == "2025-12-29T00:00:00Z"  # the Monday of the window's first week


def test_an_open_window_of_one_days_events_is_that_whole_day_and_no_events_is_empty():
    """Issue 11: without a window the sample day's chart started at its first event's hour (01:00)."""
    timeline = denial_timeline(frame("2026-11-28T09:15:00Z", "2026-11-28T11:00:00Z"))
    assert [b["start"] for b in timeline["buckets"]] == [f"2026-11-28T{hour:02d}:00:00Z" for hour in range(24)]
    assert [b["denials"] for b in timeline["buckets"]] == [0] * 9 + [1, 0, 1] + [0] * 12
    assert denial_timeline(frame()) == {"unit": "hour", "buckets": []}
    assert len(denial_timeline(frame(), DAY)["buckets"]) == 24


def test_an_open_window_over_two_days_spans_the_events_hours():
    # 22:30 on the 28th to 01:10 on the 29th: the hours 22, 23, 00 and 01 (not two whole days)
    timeline = denial_timeline(frame("2026-11-28T22:30:00Z", "2026-11-29T01:10:00Z"))
    assert [b["start"][11:13] for b in timeline["buckets"]] == ["22", "23", "00", "01"]
    assert [b["denials"] for b in timeline["buckets"]] == [1, 0, 0, 1]


def test_an_event_at_midnight_is_in_the_first_hour_of_its_day():
    timeline = denial_timeline(frame("2026-11-28T00:00:00Z"))
    assert len(timeline["buckets"]) == 24 and timeline["buckets"][0] == {"start": "2026-11-28T00:00:00Z", "denials": 1}
