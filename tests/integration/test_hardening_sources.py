"""Issue 15, decompression: a trail object over the content cap is named; the run's other objects are read (moto)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis.model import Window
from analysis.pipeline import analyse
from analysis.records import Malformed
from analysis.sources.s3trail import S3TrailSource, parse_spec
from tests import factories as f

BUCKET = "trail-with-a-bomb"
ACCOUNT = "111122223333"
REGION = "us-east-1"
DAY = datetime(2026, 11, 28, tzinfo=UTC)
WINDOW = Window(DAY, DAY + timedelta(days=1))
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
CAP = 1024 * 1024
CAP_VARIABLE = "APPRUNNER_AUDIT_MAX_DECOMPRESSED_BYTES"


def _put(client: Any, delivered: datetime, body: bytes, unique: str) -> str:
    folder = f"AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{delivered:%Y/%m/%d}/"
    key = f"{folder}{ACCOUNT}_CloudTrail_{REGION}_{delivered:%Y%m%dT%H%MZ}_{unique}.json.gz"
    client.put_object(Bucket=BUCKET, Key=key, Body=body)
    return key


def _trail(records: list[dict[str, Any]]) -> bytes:
    return gzip.compress(json.dumps(f.trail_file(records)).encode())


def _bomb() -> bytes:
    """A valid trail file of one denial padded with 10 MB of spaces: about 10 KB of gzip."""
    return gzip.compress(b'{"Records": [' + json.dumps(f.record()).encode() + b"]" + b" " * (10 * CAP) + b"}")


def _source(client: Any, **fields: Any) -> S3TrailSource:
    spec = f"s3://{BUCKET}"
    return S3TrailSource(client=client, spec=parse_spec(spec), window=WINDOW, name=spec, now=NOW, **fields)


def _bucket_with_a_bomb(s3: Any) -> str:
    _put(s3, DAY + timedelta(hours=9), _trail([f.record(event_time="2026-11-28T08:58:00Z")]), "first")
    bomb = _put(s3, DAY + timedelta(hours=10), _bomb(), "bomb")
    _put(s3, DAY + timedelta(hours=11), _trail([f.record(event_time="2026-11-28T10:58:00Z") for _ in range(2)]), "last")
    return bomb


def test_an_object_over_the_cap_is_named_and_the_other_objects_are_read(s3, monkeypatch):
    monkeypatch.setenv(CAP_VARIABLE, str(CAP))
    bomb = _bucket_with_a_bomb(s3)
    analysis = analyse([_source(s3)], WINDOW, now=NOW)
    [status] = analysis.report.sources
    assert analysis.report.totals.denials == 3  # the first file's and the last file's (two) records
    assert status.status == "partial" and status.malformed_records == 1
    [problem] = status.problems
    assert problem == f"s3://{BUCKET}/{bomb}: decompressed size exceeds {CAP:,} bytes ({CAP_VARIABLE}): read no further"


def test_the_cap_given_to_the_source_wins_and_without_a_cap_the_padded_file_is_read(s3):
    _bucket_with_a_bomb(s3)
    capped = [i for i in _source(s3, max_bytes=CAP).read() if isinstance(i, Malformed)]
    assert len(capped) == 1 and "exceeds 1,048,576 bytes" in capped[0].error
    uncapped = list(_source(s3).read())  # the default cap, 256 MiB, is far above 10 MB
    assert not [i for i in uncapped if isinstance(i, Malformed)]
    assert len([i for i in uncapped if isinstance(i, dict)]) == 4


def test_an_object_whose_stored_size_is_over_the_cap_is_not_read_whole(s3):
    key = _put(s3, DAY + timedelta(hours=9), b"\x00" * (2 * CAP), "big")
    [problem] = [i for i in _source(s3, max_bytes=CAP).read() if isinstance(i, Malformed)]
    assert problem.origin == f"s3://{BUCKET}/{key}" and problem.error.startswith(f"size exceeds {CAP:,} bytes")


def test_an_object_nested_500_deep_is_one_malformed_object_and_the_later_objects_are_read(s3):
    """A 6 KB object of trail containers nested 500 deep overflowed the stack and ended the source."""
    deep = ('{"Records":[' * 500 + json.dumps(f.record(event_id="deep")) + "]}" * 500).encode()
    _put(s3, DAY + timedelta(hours=9), _trail([f.record(event_id="first", event_time="2026-11-28T08:58:00Z")]), "a")
    nested = _put(s3, DAY + timedelta(hours=10), gzip.compress(deep), "nested")
    _put(s3, DAY + timedelta(hours=11), _trail([f.record(event_id="after", event_time="2026-11-28T10:58:00Z")]), "b")
    analysis = analyse([_source(s3)], WINDOW, now=NOW)
    [status] = analysis.report.sources
    assert set(analysis.frame["event_id"]) == {"first", "after"}
    assert status.malformed_records == 1 and status.error == "1 item(s) could not be read"
    [problem] = status.problems
    assert problem.startswith(f"s3://{BUCKET}/{nested}.Records[0]: a container inside a container")
