"""The one way the project writes a moment: ISO 8601 in UTC, to the second, with a ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@overload
def iso(value: datetime) -> str: ...


@overload
def iso(value: datetime | None) -> str | None: ...


def iso(value: datetime | None) -> str | None:
    """``2026-11-28T09:15:00Z``; None for None or pandas' NaT; a naive time is taken as UTC."""
    if value is None or value != value:  # NaT is not equal to itself
        return None
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    return utc.isoformat()[:19] + "Z"  # YYYY-MM-DDTHH:MM:SS, the year in 4 digits (strftime's %Y writes 999 as '999')


def moment(value: object) -> datetime | None:
    """A CloudTrail time (``2026-11-28T09:15:02Z``, or any ISO 8601 form) as an aware datetime in UTC; None when it
    is not one: not a string, unreadable, or outside the years a datetime holds once in UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
