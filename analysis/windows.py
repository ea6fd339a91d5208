"""Daily reporting windows: one calendar day in a time zone (UTC by default), plus a lookback.

A day's window is ``[local midnight, next local midnight)`` converted to UTC, so a day in a zone
with daylight saving lasts 23 or 25 hours. The daily run reads a wider window, reaching back by the
lookback, so denials whose logs arrived after an earlier day's report can still be reported once
(as late arrivals); ``analysis.ledger`` decides which.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analysis.model import Window
from analysis.times import iso

DEFAULT_TIME_ZONE = "UTC"
DEFAULT_LOOKBACK = timedelta(days=2)
# CloudTrail was announced and available on 13 November 2013
# (https://aws.amazon.com/blogs/aws/aws-cloudtrail-capture-aws-api-activity/): no log holds an earlier event.
CLOUDTRAIL_LAUNCH = date(2013, 11, 13)
EARLIEST_ZONE = timedelta(hours=14)  # UTC+14 (Kiribati's Line Islands): where each date begins first


def zone(name: str) -> ZoneInfo:
    """The IANA time zone, or ValueError naming the bad one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone: {name!r}") from error


def local_midnight(day: date, tz: str) -> datetime:
    """The start of ``day`` in ``tz``, as a UTC time."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


@dataclass(frozen=True)
class DailyWindow:
    day: date
    tz: str = DEFAULT_TIME_ZONE
    lookback: timedelta = DEFAULT_LOOKBACK

    @property
    def key(self) -> str:
        """The window's name in the ledger and in reports: the local date, ``YYYY-MM-DD``."""
        return self.day.isoformat()

    @property
    def start(self) -> datetime:
        return local_midnight(self.day, self.tz)

    @property
    def end(self) -> datetime:
        return local_midnight(self.day + timedelta(days=1), self.tz)

    @property
    def window(self) -> Window:
        """What the day's report covers."""
        return Window(self.start, self.end)

    @property
    def read_window(self) -> Window:
        """What the day's run reads: the window widened back by the lookback, for late arrivals."""
        return Window(self.start - self.lookback, self.end)

    def as_dict(self) -> dict[str, str]:
        return {"key": self.key, "time_zone": self.tz, "start": iso(self.start), "end": iso(self.end)}


def daily_window(day: date | str, tz: str = DEFAULT_TIME_ZONE, lookback: timedelta = DEFAULT_LOOKBACK) -> DailyWindow:
    """The window of one day (a date or ``YYYY-MM-DD``) in ``tz``."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if lookback < timedelta(0):
        raise ValueError("the lookback cannot be negative")
    zone(tz)  # fail early on an unknown zone
    return DailyWindow(day=day, tz=tz, lookback=lookback)


def day_of(moment: datetime, tz: str = DEFAULT_TIME_ZONE) -> date:
    """The local date of a moment (naive moments are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(tz)).date()


def check_reportable_day(day: date, now: datetime) -> None:
    """ValueError unless CloudTrail can have logged something on ``day``: from its launch to the date that has
    begun somewhere on Earth at ``now`` (a later day, such as 9999-12-31, can hold nothing, and its window's
    end would not fit in a datetime)."""
    latest = (now.astimezone(UTC) + EARLIEST_ZONE).date()
    if day < CLOUDTRAIL_LAUNCH:
        raise ValueError(f"{day} is before CloudTrail existed ({CLOUDTRAIL_LAUNCH})")
    if day > latest:
        raise ValueError(f"{day} has not begun anywhere yet (the latest day is {latest})")


def check_reportable_time(moment: datetime) -> None:
    """ValueError for a time before CloudTrail existed (no log holds one), or one with no UTC form (9999-12-31
    late in a zone west of UTC: the report writes every time in UTC). A far future end is allowed: it means
    "until now"."""
    start = datetime.combine(CLOUDTRAIL_LAUNCH, time(0), tzinfo=UTC)
    try:
        utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError as error:
        raise ValueError(f"{moment.isoformat()} has no time in UTC (after 9999-12-31T23:59:59Z)") from error
    if utc < start:
        raise ValueError(f"{moment.isoformat()} is before CloudTrail existed ({CLOUDTRAIL_LAUNCH})")


def last_complete_day(now: datetime, tz: str = DEFAULT_TIME_ZONE) -> date:
    """The most recent day that has ended in ``tz`` at ``now``: what a scheduled run reports."""
    return day_of(now, tz) - timedelta(days=1)
