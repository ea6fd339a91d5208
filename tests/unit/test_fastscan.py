"""The fast path equals the full parse: same records counted, same records handed on, same problems.

Each input is read twice: through ``records.parse_bytes`` as shipped (fast path where the layout
allows) and with the fast path switched off (every record parsed). The two must agree on the count
of records, on every record that is a denial of any service, and on what could not be read.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from analysis import fastscan, records
from analysis.denials import DENIAL_ERROR_CODES, is_denial
from analysis.records import Malformed, Skipped
from analysis.sources import files
from tests import factories as f
from tests.conftest import REAL

AWS_KEY_ORDER = ("eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion")


# --- helpers ------------------------------------------------------------------------------------


def summary(items: Iterator[Any]) -> tuple[int, list[str], list[str]]:
    """(records counted, every denial record as canonical JSON, every problem)."""
    count, denials, problems = 0, [], []
    for item in items:
        if isinstance(item, Skipped):
            count += item.count
        elif isinstance(item, Malformed):
            problems.append(str(item))
        else:
            count += 1
            if is_denial(item):
                denials.append(orjson.dumps(item, option=orjson.OPT_SORT_KEYS).decode())
    return count, sorted(denials), sorted(problems)


def both_ways(data: bytes, monkeypatch: pytest.MonkeyPatch, origin: str = "mem") -> tuple[Any, Any]:
    fast = summary(records.parse_bytes(data, origin))
    with monkeypatch.context() as patched:
        patched.setattr(fastscan, "scan_trail", lambda _data, _service=None: None)
        full = summary(records.parse_bytes(data, origin))
    return fast, full


def aws_layout(record: dict[str, Any]) -> dict[str, Any]:
    """The record with AWS's key order: eventVersion first (keys it lacks stay absent)."""
    ordered = {key: record[key] for key in AWS_KEY_ORDER if key in record}
    ordered.update((key, value) for key, value in record.items() if key not in ordered)
    return ordered


def trail_bytes(items: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"Records": [aws_layout(r) for r in items]})


def real_records() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in sorted(REAL.iterdir()):
        if path.suffix in {".json", ".jsonl"}:
            found.extend(i for i in files.read_file(path) if isinstance(i, dict))
    return found


def mixed_records() -> list[dict[str, Any]]:
    """Denials of several services and forms, other errors, and successes."""
    return [
        f.record(),
        f.record("CreateService", error_code="AccessDenied"),
        f.record("RunInstances", event_source="ec2.amazonaws.com", error_code="Client.UnauthorizedOperation"),
        f.record(
            "ListBuckets", event_source="s3.amazonaws.com", error_code="AccessDenied", error_message="Access Denied"
        ),
        f.record("DescribeService", error_code="ThrottlingException", error_message="Rate exceeded"),
        f.record("ListServices", error_code=None, request={}),
        f.record("GetRole", event_source="iam.amazonaws.com", error_code=None),
    ]


# --- the denial test on bytes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        *sorted(DENIAL_ERROR_CODES),
        "AccessDeniedFoo",
        "Server.UnauthorizedOperation",
        "accessdenied",
        "AccessDenie",
        "UnauthorizedOperations",
        "ThrottlingException",
        "",
        "Access Denied",
    ],
)
def test_the_byte_test_of_an_error_code_is_the_denial_test(code):
    assert fastscan.could_be_denial_code(code.encode()) == is_denial({"errorCode": code})


def test_byte_searches_answer_like_bytes_methods():
    rng = random.Random(7)
    for _ in range(300):
        data = bytes(rng.choice(b'ab"{}\\u') for _ in range(rng.randrange(0, 40)))
        needle = bytes(rng.choice(b'ab"{}\\u') for _ in range(rng.randrange(1, 4)))
        start, end = rng.randrange(0, 45), rng.randrange(0, 45)
        assert fastscan.find(data, needle, start, end) == data.find(needle, start, end)
        assert fastscan.rfind(data, needle, start, end) == data.rfind(needle, start, end)
        assert fastscan.count(data, needle, start, end) == data.count(needle, start, end)


# --- the layout AWS writes ----------------------------------------------------------------------


def test_aws_layout_is_taken_and_only_possible_denials_are_parsed(monkeypatch):
    items = mixed_records() * 3
    data = trail_bytes(items)
    scan = fastscan.scan_trail(data)
    assert scan is not None and scan.records == 21
    assert sorted(r["errorCode"] for r in scan.candidates) == sorted(
        ["AccessDeniedException", "AccessDenied", "Client.UnauthorizedOperation", "AccessDenied"] * 3
    )
    fast, full = both_ways(data, monkeypatch)
    assert fast == full and fast[0] == 21 and len(fast[1]) == 12


def test_every_real_record_in_a_trail_file_reads_the_same(monkeypatch):
    corpus = [r for r in real_records() if "eventVersion" in r]
    assert len(corpus) > 300
    assert any("eventTime" not in r for r in corpus), "the corpus holds a record without eventTime"
    data = trail_bytes(corpus)
    assert fastscan.scan_trail(data) is not None, "the corpus in AWS's layout takes the fast path"
    fast, full = both_ways(data, monkeypatch)
    assert fast == full
    assert fast[0] == len(corpus) and len(fast[1]) == sum(1 for r in corpus if is_denial(r)) > 50


def test_a_real_record_without_event_version_sends_the_file_to_the_full_parse(monkeypatch):
    corpus = real_records()
    lacking = [r for r in corpus if "eventVersion" not in r]
    assert lacking, "the corpus holds a documented record without eventVersion"
    data = trail_bytes(corpus)
    assert fastscan.scan_trail(data) is None
    fast, full = both_ways(data, monkeypatch)
    assert fast == full and fast[0] == len(corpus)


@pytest.mark.parametrize(
    "path", sorted(p for p in REAL.iterdir() if p.suffix in {".json", ".jsonl"}), ids=lambda p: p.name
)
def test_each_real_file_reads_the_same_with_and_without_the_fast_path(path, monkeypatch):
    data = path.read_bytes()
    fast, full = both_ways(data, monkeypatch, origin=str(path))
    assert fast == full
    if path.name.startswith("invictus-ir-aws_dataset__218007301253_CloudTrail"):
        assert fastscan.scan_trail(data) is not None, "a trail file written by AWS takes the fast path"


def test_gzip_trail_files_from_disk_take_the_fast_path(tmp_path, monkeypatch):
    path = tmp_path / "111122223333_CloudTrail_us-east-1_20261128T0005Z_x.json.gz"
    path.write_bytes(gzip.compress(trail_bytes(mixed_records())))
    loaded = files.load_file(path)
    assert loaded.scan is not None and loaded.content is None
    items = list(files.read_file(path))
    assert items[0] == Skipped(3) and len(items) == 5
    fast, full = both_ways(path.read_bytes(), monkeypatch)
    assert fast == full


# --- layouts the fast path must notice and leave to the full parse ------------------------------


def _variants() -> dict[str, bytes]:
    base = [aws_layout(r) for r in mixed_records()]
    compact = trail_bytes(base)
    no_version = dict(base[4])
    no_version.pop("eventVersion")
    nested = aws_layout(f.record("PutEvents", event_source="events.amazonaws.com", error_code=None))
    nested["requestParameters"] = {"entries": [{"a": 1}, {"eventVersion": "1.0", "eventTime": "x"}]}
    return {
        "pretty-printed": json.dumps({"Records": base}, indent=2).encode(),
        "keys sorted": orjson.dumps({"Records": base}, option=orjson.OPT_SORT_KEYS),
        "one record re-ordered": orjson.dumps({"Records": [*base[:3], dict(sorted(base[3].items())), *base[4:]]}),
        "spaces after separators": json.dumps({"Records": base}).encode(),
        "a record without eventVersion": orjson.dumps({"Records": [*base, no_version]}),
        "a record with neither eventVersion nor eventTime, a denial": orjson.dumps(
            {"Records": [*base, {"errorCode": "AccessDenied", "eventName": "X"}]}
        ),
        "a non-object element": orjson.dumps({"Records": [*base[:2], 7, *base[2:]]}),
        "a string element last": orjson.dumps({"Records": [*base, "x"]}),
        "nested eventVersion objects": orjson.dumps({"Records": [nested, *base]}),
        "another key after Records": compact[:-1] + b',"x":[{"eventVersion":"1"}]}',
        "leading whitespace": b"\n " + compact,
        "trailing CRLF": compact + b"\r\n",
        "empty Records": b'{"Records":[]}',
        "truncated": compact[: len(compact) // 2],
        "damaged in a denial": compact.replace(b'"errorCode":"AccessDenied"', b'"errorCode":"AccessDenied",,', 1),
        "damaged in a record that is no denial": compact.replace(b'"eventName":"GetRole"', b'"eventName":"GetRole",,'),
        "a number beyond 64 bits": compact.replace(
            b'"eventName":"GetRole"', b'"eventName":"GetRole","n":1' + b"0" * 30
        ),
        "invalid UTF-8 in a string": compact.replace(b'"eventName":"GetRole"', b'"eventName":"GetRole\xff"'),
        "duplicate errorCode keys": compact.replace(
            b'"errorCode":"ThrottlingException"', b'"errorCode":"ThrottlingException","errorCode":"AccessDenied"'
        ),
        "JSON Lines": b"\n".join(orjson.dumps(r) for r in base) + b"\n",
        "a bare record": orjson.dumps(base[0]),
        "lookup-events output": orjson.dumps({"Events": [{"EventId": "1", "CloudTrailEvent": json.dumps(base[0])}]}),
    }


@pytest.mark.parametrize("name", sorted(_variants()))
def test_other_layouts_read_the_same(name, monkeypatch):
    fast, full = both_ways(_variants()[name], monkeypatch)
    assert fast == full


@pytest.mark.parametrize(
    "name",
    [
        "keys sorted",
        "one record re-ordered",
        "spaces after separators",
        "a record without eventVersion",
        "a non-object element",
        "a string element last",
        "nested eventVersion objects",
        "truncated",
        "damaged in a denial",
    ],
)
def test_layouts_that_break_the_proof_fall_back_to_the_full_parse(name):
    assert fastscan.scan_trail(_variants()[name]) is None


def test_empty_records_and_trailing_whitespace_stay_on_the_fast_path():
    variants = _variants()
    assert fastscan.scan_trail(variants["empty Records"]) == fastscan.TrailScan(0)
    assert fastscan.scan_trail(variants["trailing CRLF"]).records == 7


# --- records whose bytes try to fool the byte test ---------------------------------------------


def _tricky_records() -> list[dict[str, Any]]:
    quoted = f.record(
        "GetObject",
        event_source="s3.amazonaws.com",
        error_code="NoSuchKey",
        error_message='upstream said "errorCode":"AccessDenied" and errorCode AccessDenied',
    )
    in_request = f.record(
        "PutRule",
        event_source="events.amazonaws.com",
        error_code=None,
        request={"eventPattern": '{"detail":{"errorCode":["AccessDenied"]}}', "errorCode": "AccessDenied"},
    )
    nested_key = f.record("BatchGetItem", event_source="dynamodb.amazonaws.com", error_code=None)
    nested_key["responseElements"] = {"unprocessed": [{"errorCode": "AccessDeniedException"}]}
    unicode_message = f.record(error_message="Utilisateur: refusé — 拒否されました ✓")
    not_a_string = f.record("ListServices", error_code=None, request={})
    not_a_string["errorCode"] = None
    numeric = f.record("ListServices", error_code=None, request={})
    numeric["errorCode"] = 403
    value_errorcode = f.record("ListServices", error_code=None, request={"field": "errorCode"})
    return [quoted, in_request, nested_key, unicode_message, not_a_string, numeric, value_errorcode, *mixed_records()]


def test_error_code_in_strings_nested_keys_and_odd_values(monkeypatch):
    data = trail_bytes(_tricky_records())
    scan = fastscan.scan_trail(data)
    assert scan is not None
    parsed = {r["eventName"] for r in scan.candidates}
    assert "GetObject" not in parsed, "a quoted errorCode inside a message is not a key"
    assert "BatchGetItem" in parsed, "a nested errorCode key with a denial value is parsed, and judged"
    fast, full = both_ways(data, monkeypatch)
    assert fast == full and fast[0] == len(_tricky_records())


def test_unicode_escapes_anywhere_make_the_record_parsed(monkeypatch):
    tricky = _tricky_records()
    escaped_everything = json.dumps(
        {"Records": [aws_layout(r) for r in tricky]}, separators=(",", ":"), ensure_ascii=True
    )
    assert "\\u" in escaped_everything
    data = escaped_everything.encode()
    assert fastscan.scan_trail(data) is not None
    fast, full = both_ways(data, monkeypatch)
    assert fast == full


def test_an_escaped_error_code_key_or_value_is_still_found(monkeypatch):
    base = [aws_layout(r) for r in mixed_records()]
    compact = trail_bytes(base)
    for old, new in [
        (b'"errorCode":"AccessDeniedException"', b'"\\u0065rrorCode":"AccessDeniedException"'),
        (b'"errorCode":"AccessDeniedException"', b'"errorCode":"\\u0041ccessDeniedException"'),
        (b'"errorCode":"AccessDeniedException"', b'"errorCode":"Access\\u0044enied"'),
        (b'"errorCode":"Client.UnauthorizedOperation"', b'"errorCode":"Client.Unauthorized\\u004fperation"'),
        (b'"errorCode":"AccessDeniedException"', b'"errorCode" :\t"AccessDeniedException"'),
    ]:
        data = compact.replace(old, new, 1)
        assert data != compact
        fast, full = both_ways(data, monkeypatch)
        assert fast == full and len(fast[1]) == 4, new


# --- a generated busy day, in the bench's layout ------------------------------------------------


def _bench_module() -> Any:
    path = Path(__file__).resolve().parents[2] / "scripts" / "bench_day.py"
    spec = importlib.util.spec_from_file_location("bench_day", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_day", module)
    spec.loader.exec_module(module)
    return module


def test_a_generated_day_reads_the_same_and_parses_only_possible_denials(monkeypatch):
    bench = _bench_module()
    writer = bench.DayWriter(seed=11)
    when = bench.DAY
    body = b",".join(writer.serialise(writer.record("111122223333", "us-east-1", when)) for _ in range(6000))
    data = b'{"Records":[' + body + b"]}"
    scan = fastscan.scan_trail(data)
    assert scan is not None and scan.records == 6000
    assert len(scan.candidates) < 6000 * 0.03, "only records that may be denials are parsed"
    fast, full = both_ways(data, monkeypatch)
    assert fast == full and len(fast[1]) > 40


# --- many files at once -------------------------------------------------------------------------


def test_a_folder_of_trail_files_reads_like_file_by_file(tmp_path):
    for index in range(12):
        path = tmp_path / f"f{index:02}.json.gz"
        path.write_bytes(gzip.compress(trail_bytes(mixed_records()[index % 7 :])))
    (tmp_path / "broken.json.gz").write_bytes(b"\x1f\x8b not gzip")
    one_by_one = [item for path in sorted(tmp_path.iterdir()) for item in files.read_file(path)]
    together = list(files.read_files(files.iter_paths(tmp_path), workers=3))
    assert summary(iter(together)) == summary(iter(one_by_one))
    problems = summary(iter(together))[2]
    assert len(problems) == 1 and problems[0].startswith(f"{tmp_path / 'broken.json.gz'}: cannot decompress gzip (")


# --- the audited service as a hint --------------------------------------------------------------


def audited_summary(items: Iterator[Any], service: str) -> tuple[int, list[str]]:
    """(records counted, the denials the pipeline would keep for ``service``)."""
    from analysis.denials import audits_service

    count, kept = 0, []
    for item in items:
        if isinstance(item, Skipped):
            count += item.count
        elif isinstance(item, dict):
            count += 1
            if is_denial(item) and audits_service(item, service):
                kept.append(orjson.dumps(item, option=orjson.OPT_SORT_KEYS).decode())
    return count, sorted(kept)


def _services_day() -> list[dict[str, Any]]:
    alarms = f.record("DeleteAlarms", event_source="monitoring.amazonaws.com", error_code="AccessDenied")
    lex = f.record("PostText", event_source="runtime.lex.amazonaws.com", error_code="AccessDeniedException")
    return [*_tricky_records(), alarms, lex, *[r for r in real_records() if "eventVersion" in r]]


@pytest.mark.parametrize("service", ["apprunner", "ec2", "s3", "cloudwatch", "monitoring", "lex", "iam", "all", 'od"d'])
def test_the_audited_service_hint_keeps_every_denial_the_pipeline_keeps(service):
    data = trail_bytes(_services_day())
    hinted = fastscan.scan_trail(data, service)
    assert hinted is not None
    hinted_items = [Skipped(hinted.skipped), *hinted.candidates]
    full = audited_summary(iter(orjson.loads(data)["Records"]), service)
    assert audited_summary(iter(hinted_items), service) == full
    if service in {"apprunner", "cloudwatch", "lex"}:
        assert len(hinted.candidates) < len(fastscan.scan_trail(data).candidates)


def test_an_escaped_event_source_is_still_kept_for_its_service():
    record = aws_layout(f.record())
    data = trail_bytes([record]).replace(b'"eventSource":"apprunner.', b'"eventSource":"\\u0061pprunner.', 1)
    assert b"\\u0061pprunner" in data
    hinted = fastscan.scan_trail(data, "apprunner")
    assert hinted is not None and [r["eventSource"] for r in hinted.candidates] == ["apprunner.amazonaws.com"]


def test_a_scan_keeps_its_parsed_candidates_in_the_process_and_sends_only_their_text_to_another():
    import pickle

    denial = f.record("DeleteService")
    other = f.record("ListServices", error_code=None, error_message=None)
    data = json.dumps(f.trail_file([other, denial, other]), separators=(",", ":")).encode()
    scan = fastscan.scan_trail(data, "apprunner")
    assert scan is not None and scan.parsed == [denial] and scan.candidates is scan.parsed
    sent = pickle.loads(pickle.dumps(scan))
    assert sent.parsed is None and sent.spans == scan.spans and sent == scan
    assert sent.candidates == [denial]
    assert len(pickle.dumps(scan)) < len(scan.spans[0]) + 300  # the text and the counts, not the dict as well
