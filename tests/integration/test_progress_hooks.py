"""What the sources tell a Progress as they read: the counts equal what was actually read.

Files: the sample folder (its files and bytes counted here by a walk of our own); S3: objects put in moto;
LookupEvents: three pages through botocore's Stubber; Athena and CloudTrail Lake: the polled states of the
Stubber tests' queries. And ``service.run_window`` passes the CLI's reporter down to the sources.
"""

from __future__ import annotations

import gzip
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from botocore.stub import Stubber

from analysis.model import Window
from analysis.pipeline import Options, analyse
from analysis.service import WindowRequest, run_window
from analysis.settings import load_settings
from analysis.sources.athena import AthenaSource
from analysis.sources.athena import parse_spec as athena_spec
from analysis.sources.files import FileSource, bundled_sample_path
from analysis.sources.lake import LakeSource
from analysis.sources.lake import parse_spec as lake_spec
from analysis.sources.query import Backoff
from analysis.sources.s3trail import S3TrailSource
from analysis.sources.s3trail import parse_spec as s3_spec
from tests import factories as f
from tests.integration.test_athena_source import _execution, _page, _row
from tests.integration.test_lookup_source import WINDOW, FakeTime, cloudtrail, day_of_events, source_for, stub_pages

BUCKET = "trail-progress"  # the s3 fixture's bucket
SAMPLE_DAY = date(2026, 11, 28)


class Recorded:
    """A Progress that keeps every call (from any thread)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.closed = 0
        self._lock = threading.Lock()

    def files(self, done: int, total: int, bytes_done: int, bytes_total: int) -> None:
        self._add("files", done, total, bytes_done, bytes_total)

    def pages(self, source: str, region: str, pages: int, events: int) -> None:
        self._add("pages", source, region, pages, events)

    def query(self, source: str, state: str) -> None:
        self._add("query", source, state)

    def close(self) -> None:
        self.closed += 1

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        return [arguments for name, arguments in self.calls if name == kind]

    def _add(self, kind: str, *arguments: Any) -> None:
        with self._lock:
            self.calls.append((kind, arguments))


def _readable_files(folder: Path) -> list[Path]:
    """The files a folder source reads, found by a walk of our own (docs/CONTRACT.md: .json, .json.gz, .jsonl[.gz])."""
    return [
        p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".json", ".jsonl", ".json.gz", ".jsonl.gz"))
    ]


# --- files -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("processes", ["0", "1"])
def test_a_folder_tells_each_file_and_its_bytes_as_it_is_read(monkeypatch, processes):
    monkeypatch.setenv("APPRUNNER_AUDIT_READ_PROCESSES", processes)
    folder = bundled_sample_path()
    files = _readable_files(folder)
    size = sum(p.stat().st_size for p in files)
    progress = Recorded()

    records = list(FileSource(folder, progress=progress).read())

    told = progress.of("files")
    assert len(files) > 100 and records
    assert [call[0] for call in told] == list(range(1, len(files) + 1)), "one call per file, in order"
    assert {call[1] for call in told} == {len(files)} and {call[3] for call in told} == {size}
    bytes_done = [call[2] for call in told]
    assert bytes_done == sorted(bytes_done) and bytes_done[-1] == size


def test_run_window_passes_the_progress_down_to_the_sources():
    progress = Recorded()
    run = run_window(WindowRequest(("sample",), day=SAMPLE_DAY), load_settings({}), progress=progress)

    files = _readable_files(bundled_sample_path())
    assert run.report.totals.denials == 82
    assert progress.of("files")[-1] == (len(files), len(files), *[sum(p.stat().st_size for p in files)] * 2)


# --- S3 ----------------------------------------------------------------------------------------------------


def test_s3_tells_each_object_and_its_bytes_and_the_totals_once_listed(s3):
    keys = []
    for minute in range(0, 50, 5):
        delivered = datetime(2026, 11, 28, 10, minute, tzinfo=UTC)
        key = (
            f"AWSLogs/{f.ACCOUNT}/CloudTrail/{f.REGION}/2026/11/28/"
            f"{f.ACCOUNT}_CloudTrail_{f.REGION}_{delivered:%Y%m%dT%H%MZ}_x{minute}.json.gz"
        )
        body = gzip.compress(orjson.dumps({"Records": [f.record("DescribeService")] * (minute + 1)}))
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        keys.append(key)
    sizes = [s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] for key in keys]
    progress = Recorded()
    window = Window(datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))
    source = S3TrailSource(
        client=s3, spec=s3_spec(f"s3://{BUCKET}"), window=window, now=datetime(2026, 11, 30, tzinfo=UTC)
    )
    source.progress = progress

    records = list(source.read())

    told = progress.of("files")
    assert len(records) == sum(minute + 1 for minute in range(0, 50, 5))
    assert [call[0] for call in told] == list(range(1, len(keys) + 1))
    assert told[-1] == (len(keys), len(keys), sum(sizes), sum(sizes))
    for _, total, bytes_done, bytes_total in told:
        assert (total, bytes_total) in {(0, 0), (len(keys), sum(sizes))}, "a total is the listing's, once it ended"
        assert bytes_done <= sum(sizes)


# --- LookupEvents ------------------------------------------------------------------------------------------


def test_lookup_events_tells_pages_and_events_per_region():
    client, stubber = cloudtrail()
    events = day_of_events(120)  # 50 + 50 + 20: three pages
    stub_pages(stubber, events)
    progress = Recorded()
    source = source_for({f.REGION: client}, FakeTime(), name="lookup:us-east-1")
    source.progress = progress

    with stubber:
        records = list(source.read())
        stubber.assert_no_pending_responses()

    assert len(records) == 120
    assert progress.of("pages") == [
        ("lookup:us-east-1", f.REGION, 1, 50),
        ("lookup:us-east-1", f.REGION, 2, 100),
        ("lookup:us-east-1", f.REGION, 3, 120),
    ]


# --- Athena and CloudTrail Lake ----------------------------------------------------------------------------


def test_athena_tells_each_polled_state():
    client = boto3.client("athena", region_name="us-east-1")
    progress = Recorded()
    source = AthenaSource(
        client=client,
        spec=athena_spec("athena:audit.trail"),
        window=WINDOW,
        service="apprunner",
        backoff=Backoff(first=0.5, ceiling=2.0, timeout=60, sleep=lambda seconds: None),
        progress=progress,
    )
    with Stubber(client) as stubber:
        stubber.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
        for state in ("QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"):
            stubber.add_response("get_query_execution", _execution(state), {"QueryExecutionId": "q-1"})
        stubber.add_response("get_query_results", _page([_row(0)], header=True))
        records = list(source.read())
        stubber.assert_no_pending_responses()

    assert len(records) == 1
    assert progress.of("query") == [
        ("athena:audit.trail", "QUEUED"),
        ("athena:audit.trail", "RUNNING"),
        ("athena:audit.trail", "RUNNING"),
        ("athena:audit.trail", "SUCCEEDED"),
    ]


def test_lake_tells_each_polled_state_up_to_a_failure():
    client = boto3.client("cloudtrail", region_name="us-east-2")
    progress = Recorded()
    spec = lake_spec(f"lake:arn:aws:cloudtrail:us-east-2:{f.ACCOUNT}:eventdatastore/EXAMPLE-store")
    source = LakeSource(
        client=client,
        spec=spec,
        window=WINDOW,
        backoff=Backoff(first=1.0, ceiling=4.0, timeout=60, sleep=lambda seconds: None),
        progress=progress,
    )
    query_id = "0d7e3b2a-5c1f-4e8b-9a6d-1f2e3d4c5b6a"
    with Stubber(client) as stubber:
        stubber.add_response("start_query", {"QueryId": query_id})
        stubber.add_response("describe_query", {"QueryId": query_id, "QueryStatus": "QUEUED"})
        stubber.add_response(
            "describe_query", {"QueryId": query_id, "QueryStatus": "FAILED", "ErrorMessage": "no such column"}
        )
        result = analyse([source], WINDOW, Options())

    assert result.report.sources[0].status == "failed"
    assert progress.of("query") == [("lake:EXAMPLE-store", "QUEUED"), ("lake:EXAMPLE-store", "FAILED")]
