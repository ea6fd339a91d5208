"""Daily windows: local midnight to local midnight in UTC, daylight saving included, plus the lookback."""

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from itertools import pairwise

import pytest

from analysis.model import Window
from analysis.windows import (
    DEFAULT_LOOKBACK,
    daily_window,
    day_of,
    last_complete_day,
    local_midnight,
)


def test_a_utc_day_and_the_window_its_run_reads():
    window = daily_window("2026-11-28")
    assert window.key == "2026-11-28"
    assert window.window == Window(datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))
    assert window.read_window == Window(datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))
    assert window.lookback == DEFAULT_LOOKBACK
    assert window.as_dict() == {
        "key": "2026-11-28",
        "time_zone": "UTC",
        "start": "2026-11-28T00:00:00Z",
        "end": "2026-11-29T00:00:00Z",
    }


@pytest.mark.parametrize(
    ("day", "hours", "start"),
    [
        (date(2026, 11, 1), 25, datetime(2026, 11, 1, 4, tzinfo=UTC)),  # clocks go back
        (date(2026, 3, 8), 23, datetime(2026, 3, 8, 5, tzinfo=UTC)),  # clocks go forward
        (date(2026, 11, 28), 24, datetime(2026, 11, 28, 5, tzinfo=UTC)),
    ],
)
def test_a_local_day_lasts_as_long_as_the_clock_says(day, hours, start):
    window = daily_window(day, "America/New_York", timedelta(hours=6))
    assert window.start == start
    assert window.end - window.start == timedelta(hours=hours)
    assert window.read_window.start == start - timedelta(hours=6)


def test_consecutive_windows_tile_time_without_gaps_or_overlaps():
    days = [daily_window(date(2026, 10, 25) + timedelta(days=i), "Europe/Berlin") for i in range(14)]
    for earlier, later in pairwise(days):
        assert earlier.end == later.start


def test_half_hour_zones():
    assert local_midnight(date(2026, 11, 28), "Asia/Kolkata") == datetime(2026, 11, 27, 18, 30, tzinfo=UTC)


def test_the_day_of_a_moment_depends_on_the_zone():
    moment = datetime(2026, 11, 28, 3, 30, tzinfo=UTC)
    assert day_of(moment) == date(2026, 11, 28)
    assert day_of(moment, "America/Los_Angeles") == date(2026, 11, 27)
    assert day_of(moment, "Asia/Tokyo") == date(2026, 11, 28)
    assert day_of(datetime(2026, 11, 28, 3, 30)) == date(2026, 11, 28)  # naive means UTC
    assert day_of(datetime(2026, 11, 28, 3, 30, tzinfo=timezone(timedelta(hours=5)))) == date(2026, 11, 27)


def test_a_scheduled_run_reports_the_last_day_that_has_ended():
    assert last_complete_day(datetime(2026, 11, 29, 6, tzinfo=UTC)) == date(2026, 11, 28)
    assert last_complete_day(datetime(2026, 11, 29, 6, tzinfo=UTC), "America/New_York") == date(2026, 11, 28)
    assert last_complete_day(datetime(2026, 11, 29, 3, tzinfo=UTC), "America/New_York") == date(2026, 11, 27)


def test_bad_zones_days_and_lookbacks_are_refused():
    with pytest.raises(ValueError, match="unknown time zone"):
        daily_window("2026-11-28", "Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        daily_window("2026-13-01")
    with pytest.raises(ValueError, match="lookback"):
        daily_window("2026-11-28", lookback=timedelta(hours=-1))


def test_a_lookback_of_zero_reads_the_day_alone():
    window = daily_window("2026-11-28", lookback=timedelta(0))
    assert window.read_window == window.window
    with pytest.raises(ValueError, match=r"^the lookback cannot be negative$"):
        daily_window("2026-11-28", lookback=-timedelta(microseconds=1))


@pytest.fixture
def machine_in_los_angeles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's own zone must never leak in: set it far from UTC for the test."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_naive_moments_are_utc_whatever_the_machines_zone(machine_in_los_angeles):
    assert day_of(datetime(2026, 11, 28, 23, 30)) == date(2026, 11, 28)  # 15:30 in Los Angeles, still the 28th


def test_windows_are_in_utc_whatever_the_machines_zone(machine_in_los_angeles):
    start = local_midnight(date(2026, 11, 28), "Europe/Paris")
    assert (start, start.utcoffset()) == (datetime(2026, 11, 27, 23, tzinfo=UTC), timedelta(0))
    assert daily_window("2026-11-28", "Europe/Paris").as_dict()["start"] == "2026-11-27T23:00:00Z"


def test_the_day_of_an_evening_moment_is_the_next_day_further_east():
    evening = datetime(2026, 11, 28, 20, tzinfo=UTC)  # 05:00 on the 29th in Tokyo (UTC+9)
    assert (day_of(evening), day_of(evening, "Asia/Tokyo")) == (date(2026, 11, 28), date(2026, 11, 29))
