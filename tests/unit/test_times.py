"""``analysis.times``: the one way a moment is written (``iso``) and a CloudTrail time is read (``moment``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.times import iso, moment

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-28T09:15:02Z", datetime(2026, 11, 28, 9, 15, 2, tzinfo=UTC)),  # CloudTrail's form
        ("2026-11-28T10:15:02+01:00", datetime(2026, 11, 28, 9, 15, 2, tzinfo=UTC)),  # an offset, to UTC
        ("2026-11-28T09:15:02", datetime(2026, 11, 28, 9, 15, 2, tzinfo=UTC)),  # naive: taken as UTC
        ("2026-11-28T09:15:02.250Z", datetime(2026, 11, 28, 9, 15, 2, 250000, tzinfo=UTC)),
    ],
)
def test_a_cloudtrail_time_is_read_aware_in_utc(value, expected):
    assert moment(value) == expected
    assert moment(value).tzinfo == UTC


@pytest.mark.parametrize(
    "value",
    [None, 5, "", "yesterday", "2026-13-01T00:00:00Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"],
)
def test_what_is_no_time_or_has_no_utc_form_is_none(value):
    # the last two are in years 0 and 10000 once in UTC, which a datetime cannot hold
    assert moment(value) is None


def test_iso_writes_seconds_with_a_z_and_four_digit_years():
    assert iso(datetime(2026, 11, 28, 9, 15, 2, 250000, tzinfo=UTC)) == "2026-11-28T09:15:02Z"
    assert iso(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02T00:00:00Z"
    assert iso(None) is None


@given(st.datetimes(timezones=st.none() | st.just(UTC) | st.timezones()), st.booleans())
def test_iso_is_the_utc_fields_written_out(value, as_pandas):
    """Against the fields themselves (a second method): every year, zone, fraction, and pandas' Timestamp."""
    try:
        utc = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        return  # no UTC form (year 0 or 10000)
    expected = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    if as_pandas:
        if not (pd.Timestamp.min.year < value.year < pd.Timestamp.max.year):
            return
        value = pd.Timestamp(value)
    assert iso(value) == expected


def test_iso_of_pandas_not_a_time_is_none():
    assert iso(pd.NaT) is None
