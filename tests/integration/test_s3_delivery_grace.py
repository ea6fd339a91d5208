"""The S3 source's delivery grace, through the public ``s3://`` source on moto S3.

CloudTrail names each file by its delivery time to the minute (``…_YYYYMMDDTHHmmZ_…``, AWS CloudTrail User
Guide, "CloudTrail log file examples") and delivers files about every 5 minutes, some later. So the source
reads a file whose name's minute is the window's start minute (it may hold events from later in that minute),
and files delivered up to ``margin_hours`` (default 6) after the window's end (late deliveries).
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import orjson

from analysis.model import Options, Window
from analysis.sources import source_from_spec
from analysis.sources.base import ReadOptions
from tests import factories as f
from tests.analysed import analysed

BUCKET = "trail-logs"
DAY = datetime(2026, 11, 28, tzinfo=UTC)


def deliver(client: Any, delivered: datetime, *events: datetime) -> None:
    """A trail file named and filed by its delivery time, holding one App Runner denial per event time."""
    folder = f"AWSLogs/{f.ACCOUNT}/CloudTrail/us-east-1/{delivered:%Y/%m/%d}/"
    key = f"{folder}{f.ACCOUNT}_CloudTrail_us-east-1_{delivered:%Y%m%dT%H%MZ}_{delivered:%H%M%S}x.json.gz"
    records = [f.record(event_time=when.strftime("%Y-%m-%dT%H:%M:%SZ")) for when in events]
    client.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(orjson.dumps({"Records": records})))


def report(window: Window, spec: str = f"s3://{BUCKET}") -> dict[str, Any]:
    source = source_from_spec(spec, window, ReadOptions(session=boto3.Session(region_name="us-east-1")))
    return analysed([source], window, Options())


def test_a_file_named_by_the_window_start_minute_is_read(s3):
    start = DAY + timedelta(hours=9, seconds=30)  # 09:00:30
    deliver(s3, DAY + timedelta(hours=9), start + timedelta(seconds=10))  # ..._T0900Z_: written 09:00:00-09:00:59
    deliver(s3, DAY + timedelta(hours=8, minutes=59), start - timedelta(seconds=35))  # T0859Z: all before 09:00:00

    result = report(Window(start, start + timedelta(hours=1)))

    assert result["totals"]["records_read"] == 1, "the 08:59 file cannot hold a 09:00:30 event: not read"
    assert result["totals"]["denials"] == 1


def test_files_delivered_within_the_margin_after_the_end_are_read_and_later_ones_not(s3):
    end = DAY + timedelta(days=1)
    last_minute = end - timedelta(seconds=20)
    deliver(s3, end + timedelta(hours=2), last_minute)  # late by 2 hours
    deliver(s3, end + timedelta(hours=6), last_minute)  # late by exactly the margin: [start, end + 6 h] holds it
    deliver(s3, end + timedelta(hours=6, minutes=1), last_minute)  # past the margin

    result = report(Window(DAY, end))

    assert (result["totals"]["records_read"], result["totals"]["denials"]) == (2, 2)
    assert result["sources"][0]["status"] == "ok"


def test_the_margin_is_an_option(s3):
    end = DAY + timedelta(days=1)
    deliver(s3, end + timedelta(hours=7), end - timedelta(minutes=1))
    window = Window(DAY, end)
    assert report(window)["totals"]["denials"] == 0
    assert report(window, f"s3://{BUCKET}?margin_hours=8")["totals"]["denials"] == 1
    assert report(window, f"s3://{BUCKET}?margin_hours=0")["totals"]["records_read"] == 0
