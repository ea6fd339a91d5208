"""An S3 key is written by whoever can write to the trail bucket: a key holding ESC or a bidi override, on an
object that cannot be read, is named in the warnings and the report, shown and never obeyed (issue 15)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

from analysis.model import Options, Window
from analysis.pipeline import analyse
from analysis.render import render
from analysis.service import source_warnings
from analysis.sources.s3trail import S3TrailSource, parse_spec
from tests import factories as f
from tests.unit.test_terminal_safety import unsafe_in

BUCKET = "trail-logs"
DAY = datetime(2026, 11, 28, tzinfo=UTC)
WINDOW = Window(DAY, DAY + timedelta(hours=12))
FOLDER = f"AWSLogs/{f.ACCOUNT}/CloudTrail/us-east-1/2026/11/28/"


def test_a_hostile_key_is_named_safely_in_the_warnings_and_the_report(s3):
    good = {"Records": [f.record("DescribeService", event_time="2026-11-28T09:00:00Z")]}
    s3.put_object(
        Bucket=BUCKET,
        Key=f"{FOLDER}{f.ACCOUNT}_CloudTrail_us-east-1_20261128T1000Z_good.json.gz",
        Body=gzip.compress(json.dumps(good).encode()),
    )
    hostile = f"{FOLDER}{f.ACCOUNT}_CloudTrail_us-east-1_20261128T1100Z_\x1b[2J\x07\u202egnp.json.gz"
    s3.put_object(Bucket=BUCKET, Key=hostile, Body=b"\x1f\x8b\x08 not really gzip")
    spec = f"s3://{BUCKET}"
    source = S3TrailSource(client=s3, spec=parse_spec(spec), window=WINDOW, name=spec, now=DAY + timedelta(days=2))

    report = analyse([source], WINDOW, Options()).report

    assert report.sources[0].problems[0].startswith(f"s3://{BUCKET}/{hostile}")  # the report's JSON: exact
    [warning] = source_warnings(report.sources)
    assert unsafe_in(warning) == [] and "_\\u001b[2J\\u0007\\u202egnp.json.gz: cannot decompress gzip" in warning
    for fmt in ("md", "html", "csv"):
        assert unsafe_in(render(report, fmt)) == [], fmt
