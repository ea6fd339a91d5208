"""analysis.explore.history reading the reports bucket (moto): the hand-built week of the unit tests, uploaded
under ``reports/YYYY/MM/DD/report.json``, loads as its local copy does; a key that cannot be read is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.explore import history as h
from tests.unit.test_explore_history import day_report, week, write

pytestmark = pytest.mark.integration

BUCKET = "access-reports"


def upload(s3: Any, files: dict[str, Any], **extra: Any) -> None:
    for key, content in files.items():
        body = content if isinstance(content, str) else json.dumps(content)
        s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode("utf-8"), **extra)


def test_the_bucket_loads_as_its_local_copy(s3, tmp_path: Path):
    upload(s3, week())
    s3.put_object(Bucket=BUCKET, Key="reports/2026/11/28/report.html", Body=b"<html></html>")  # not read
    from_bucket, from_folder = h.load_history_s3(s3, BUCKET), h.load_history(write(tmp_path, week()))
    assert from_bucket.problems == from_folder.problems == []
    assert [(s.day, s.report) for s in from_bucket.reports] == [(s.day, s.report) for s in from_folder.reports]
    assert [s.location for s in from_bucket.reports] == [
        f"s3://{BUCKET}/reports/2026/11/{day}/report.json" for day in (24, 25, 27, 28)
    ]
    pd.testing.assert_frame_equal(h.history_frame(from_bucket), h.history_frame(from_folder))


def test_load_reads_an_s3_uri_with_the_client_given(s3):
    upload(s3, week())
    upload(s3, {"elsewhere/2026/11/23/report.json": day_report(23, [])})
    history = h.load(f"s3://{BUCKET}/reports/", s3=s3)
    assert [d.isoformat() for d in history.days] == ["2026-11-24", "2026-11-25", "2026-11-27", "2026-11-28"]


def test_reports_beyond_the_first_page_of_the_listing_are_read(s3):
    for n in range(1000):  # a page of list_objects_v2 holds 1000 keys: these come first, the reports after
        s3.put_object(Bucket=BUCKET, Key=f"reports/0-other/{n:04d}.txt", Body=b"x")
    upload(s3, week())
    history = h.load_history_s3(s3, BUCKET)
    assert history.problems == []
    assert [d.day for d in history.days] == [24, 25, 27, 28]


def test_an_unreadable_key_and_a_malformed_one_are_named_and_the_rest_loads(s3):
    upload(s3, week())
    upload(s3, {"reports/2026/11/26/report.json": day_report(26, [])}, StorageClass="GLACIER")  # archived
    upload(s3, {"reports/2026/11/23/report.json": "not json"})
    history = h.load_history_s3(s3, BUCKET)
    assert len(history.problems) == 2
    assert history.problems[0].startswith(f"s3://{BUCKET}/reports/2026/11/23/report.json: not a report (not valid")
    assert history.problems[1].startswith(f"s3://{BUCKET}/reports/2026/11/26/report.json: cannot be read (")
    assert "InvalidObjectState" in history.problems[1]
    assert [d.day for d in history.days] == [24, 25, 27, 28]


def test_an_empty_prefix_says_nothing_was_found(s3):
    history = h.load_history_s3(s3, BUCKET, "reports/")
    assert history.reports == []
    assert history.problems == [f"no report found under s3://{BUCKET}/reports/ (expected …/YYYY/MM/DD/report.json)"]
