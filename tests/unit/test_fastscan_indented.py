"""Indented trail files (``json.dumps(indent=N)``, keys in any order) on the fast path: the same records counted,
the same denials handed on and the same problems named as the full parse, and every record parsed proven a
record of the array, never an object nested in one.

Expected counts are counted by hand from the records each test writes; ``both_ways`` reads each input with
and without the fast path.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import cli, fastscan, records
from analysis.denials import audits_service, is_denial
from analysis.records import Malformed, Skipped
from tests import factories as f
from tests.unit.test_fastscan import both_ways, mixed_records, real_records

pytestmark = pytest.mark.unit

INDENT = "\n    "  # the indent json.dumps(indent=2) writes before each record


def indented(items: list[dict[str, Any]], **options: Any) -> bytes:
    return json.dumps({"Records": items}, **{"indent": 2, **options}).encode()


LAYOUTS = {
    "indent=2": lambda items: indented(items),
    "indent=2, keys sorted": lambda items: indented(items, sort_keys=True),
    "indent=1": lambda items: indented(items, indent=1),
    "indent=4, keys sorted": lambda items: indented(items, indent=4, sort_keys=True),
    "tabs": lambda items: indented(items, indent="\t"),
    "CRLF line ends": lambda items: indented(items, sort_keys=True).replace(b"\n", b"\r\n"),
    "trailing newline": lambda items: indented(items) + b"\n",
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_indented_layouts_take_the_fast_path_and_read_the_same(layout, monkeypatch):
    data = LAYOUTS[layout](mixed_records() * 3)
    scan = fastscan.scan_trail(data)
    assert scan is not None and scan.records == 21
    # 7 records written 3 times: 4 of each 7 hold a denial's error code (ThrottlingException does not)
    assert sorted(r["errorCode"] for r in scan.candidates) == sorted(
        ["AccessDeniedException", "AccessDenied", "Client.UnauthorizedOperation", "AccessDenied"] * 3
    )
    fast, full = both_ways(data, monkeypatch)
    assert fast == full and fast[0] == 21 and len(fast[1]) == 12


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_audited_service_leaves_other_services_denials_unparsed(layout):
    scan = fastscan.scan_trail(LAYOUTS[layout](mixed_records() * 3), "apprunner")
    assert scan is not None and scan.records == 21
    # of each 7: DescribeService (AccessDeniedException) and CreateService (AccessDenied) are App Runner's
    assert sorted(r["eventName"] for r in scan.candidates) == ["CreateService"] * 3 + ["DescribeService"] * 3


def test_the_real_corpus_indented_with_keys_sorted_reads_the_same(monkeypatch):
    corpus = real_records()
    data = indented(corpus, sort_keys=True)
    assert fastscan.scan_trail(data) is not None, "records without eventVersion first are no obstacle here"
    fast, full = both_ways(data, monkeypatch)
    assert fast == full and fast[0] == len(corpus) and len(fast[1]) > 50


@pytest.mark.parametrize("piece", [1, 500, 100_000])
def test_a_large_indented_document_is_counted_in_pieces_exactly(piece, monkeypatch):
    data = indented(mixed_records() * 20, sort_keys=True)
    monkeypatch.setattr(fastscan, "LARGE_DOCUMENT", 0)
    monkeypatch.setattr(fastscan, "PIECE", piece)
    assert fastscan.record_count(data) == 140
    scan = fastscan.scan_trail(data)
    assert scan is not None and scan.records == 140 and len(scan.candidates) == 80


def test_strings_holding_the_separator_text_do_not_cut_records(monkeypatch):
    items = mixed_records()
    for item in items:  # json.dumps writes the newlines escaped: the bytes hold no separator
        item["userAgent"] = INDENT + "}," + INDENT + "{"
    data = indented(items)
    scan = fastscan.scan_trail(data)
    assert scan is not None and scan.records == 7 and len(scan.candidates) == 4
    fast, full = both_ways(data, monkeypatch)
    assert fast == full


def _nested_siblings_at_the_record_indent() -> bytes:
    """Three records; the first holds an array of three objects written at the records' indent (its middle one
    a denial of App Runner), the records themselves are separated compactly. The separators then number
    records less one, as if each separated two records."""
    nested = [
        '{"x": 1',
        '{"errorCode": "AccessDenied", "eventSource": "apprunner.amazonaws.com", "eventName": "Nested"',
        '{"y": 2',
    ]
    array = "[" + INDENT + ("" + INDENT + "}," + INDENT).join(nested) + INDENT + "}]"
    first = '{"eventName": "A", "eventSource": "s3.amazonaws.com", "a": ' + array + "}"
    others = '{"eventName": "B", "eventSource": "s3.amazonaws.com"},{"eventName": "C"}'
    return ('{\n  "Records": [' + INDENT + first + "," + others + "\n  ]\n}").encode()


def test_objects_nested_at_the_record_indent_are_never_taken_for_records(monkeypatch):
    data = _nested_siblings_at_the_record_indent()
    assert len(json.loads(data)["Records"]) == 3
    assert data.count((INDENT + "}," + INDENT + "{").encode()) == 2  # the count alone would pass
    assert fastscan.scan_trail(data) is None
    fast, full = both_ways(data, monkeypatch)
    assert fast == full and fast[0] == 3 and fast[1] == []  # the nested denial is no record


@pytest.mark.parametrize(
    "damage",
    [
        (b'"readOnly": true', b'"readOnly": tru'),
        (b'"eventName": "GetRole"', b'"eventName": "GetRole",,'),
    ],
    ids=["tru in a skipped record", "a double comma in a skipped record"],
)
def test_a_damaged_indented_document_is_never_counted_and_the_damage_is_named(damage):
    items = mixed_records()
    for item in items:
        item["readOnly"] = True
    data = indented(items).replace(*damage)
    assert fastscan.record_count(data) is None and fastscan.scan_trail(data) is None
    read = list(records.parse_bytes(data, "doc.json"))
    assert not any(isinstance(item, Skipped) for item in read)
    assert any(isinstance(item, Malformed) for item in read)


@pytest.mark.parametrize(
    "first",
    [
        {"eventName": "GetRole"},
        {"eventSource": "iam.amazonaws.com"},
        {"eventSource": 7, "eventName": "GetRole"},
        {"eventSource": "iam.amazonaws.com", "eventName": "GetRole", "Records": []},
        {"eventSource": "iam.amazonaws.com", "eventTime": "x", "detail": {}, "detail-type": "y"},
    ],
    ids=["no eventSource", "neither eventName nor eventTime", "eventSource no string", "a container", "an envelope"],
)
def test_a_document_whose_first_record_is_no_cloudtrail_record_is_left_to_the_full_parse(first, monkeypatch):
    """The pipeline counts skipped records as CloudTrail records: other JSON must still be said to hold none."""
    data = indented([first, *mixed_records()])
    assert fastscan.scan_trail(data) is None
    fast, full = both_ways(data, monkeypatch)
    named_malformed = "Records" in first or "detail" in first  # a container is no record: the others are 7
    assert fast == full and fast[0] == (7 if named_malformed else 8)


def test_the_first_record_is_parsed_and_handed_on_when_it_is_a_cloudtrail_record():
    items = mixed_records()
    data = indented([items[-1], *items[:-1]])  # GetRole, a success of IAM, first
    scan = fastscan.scan_trail(data, "apprunner")
    assert scan is not None and scan.records == 7
    assert [r["eventName"] for r in scan.candidates] == ["GetRole", "DescribeService", "CreateService"]
    assert scan.indices == [0, 1, 2]


def test_a_document_without_line_breaks_between_records_is_left_to_the_full_parse(monkeypatch):
    data = json.dumps({"Records": mixed_records()}).encode()  # ", " and ": " separators, no indent
    assert fastscan.scan_trail(data) is None
    fast, full = both_ways(data, monkeypatch)
    assert fast == full and fast[0] == 7


def test_a_gzipped_indented_trail_file_is_loaded_by_the_fast_path():
    loaded = records.load_bytes(gzip.compress(indented(mixed_records(), sort_keys=True)), "f.json.gz", "apprunner")
    assert loaded.scan is not None and loaded.content is None
    items = list(records.parse_loaded(loaded))
    # 7 records: 5 counted unread, App Runner's 2 denials parsed
    assert items[0] == Skipped(5) and len(items) == 3


def test_invalid_utf8_in_an_indented_document_is_left_to_the_full_parse_which_reads_every_record():
    data = indented(mixed_records()).replace(b'"eventName": "GetRole"', b'"eventName": "GetRole\xff"')
    assert fastscan.record_count(data) is None and fastscan.scan_trail(data) is None
    read = list(records.parse_bytes(data, "doc.json"))
    assert len(read) == 7 and all(isinstance(item, dict) for item in read)  # replacement character, as before


# --- generated documents: any whitespace between tokens, nested containers at any indent -------------

WHITESPACE = st.sampled_from(["", " ", "\n", "\n  ", INDENT, "\n      ", "\t"])
KEYS = st.sampled_from(["eventName", "eventSource", "errorCode", "eventVersion", "a", "Records", "x"])
STRINGS = st.sampled_from(
    ["AccessDenied", "Client.UnauthorizedOperation", "ThrottlingException", "apprunner.amazonaws.com", "},{", "\n"]
)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | STRINGS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=10,
)
RECORD = st.dictionaries(KEYS, VALUES, max_size=5)


@st.composite
def written(draw: st.DrawFn, value: Any) -> str:
    """``value`` as JSON with whitespace drawn before every element and key: containers nested at any indent."""
    if isinstance(value, dict):
        members = [draw(WHITESPACE) + json.dumps(k) + ": " + draw(written(v)) for k, v in value.items()]
        return "{" + ",".join(members) + draw(WHITESPACE) + "}"
    if isinstance(value, list):
        return "[" + ",".join(draw(WHITESPACE) + draw(written(v)) for v in value) + draw(WHITESPACE) + "]"
    return json.dumps(value)


@st.composite
def indented_documents(draw: st.DrawFn) -> bytes:
    """Records at the indent json.dumps(indent=2) writes, each record's boundary written so or drawn."""
    items = draw(st.lists(RECORD, min_size=1, max_size=6))
    parts = []
    for item in items:
        text = draw(written(item))
        closing = draw(st.sampled_from([INDENT, INDENT, ""]))  # mostly the separator, at times not
        parts.append(text[:-1].rstrip(" \n\t") + closing + "}")
    return ('{\n  "Records": [' + INDENT + ("," + INDENT).join(parts) + "\n  ]\n}").encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=indented_documents(), service=st.sampled_from([None, "apprunner"]))
def test_any_generated_indented_document_reads_as_the_full_parse_does(document, service, monkeypatch):
    expected = json.loads(document)["Records"]
    scan = fastscan.scan_trail(document, service)
    if scan is not None:
        assert scan.records == len(expected) and fastscan.is_trail_record(expected[0])
        assert all(any(c == r for r in expected) for c in scan.candidates), "every record parsed is a record"
        wanted = [r for r in expected if is_denial(r) and (service is None or audits_service(r, service))]
        assert [c for c in scan.candidates if c in wanted] == wanted
    fast, full = both_ways(document, monkeypatch)
    assert fast == full


def test_an_indented_file_wholly_outside_the_window_is_still_a_warning(capsys, tmp_path):
    """Its records skipped, its first record and possible denials read: their span is said, as for compact files."""
    trail = tmp_path / "trail.json"
    records_written = [
        f.record(event_time="2026-11-28T09:15:00Z"),
        f.record("ListServices", error_code=None, event_time="2026-11-28T23:59:51Z"),
        f.record("ListServices", error_code=None, event_time="2026-11-28T00:00:03Z"),
    ]
    trail.write_bytes(indented(records_written))
    assert cli.main(["report", "-q", "--source", str(trail), "--day", "2025-11-28", "--out", str(tmp_path / "r")]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"apprunner-audit: warning: {trail}: no denial in the window 2025-11-28T00:00:00Z..2025-11-29T00:00:00Z; "
        "its possible denials span 2026-11-28T09:15:00Z..2026-11-28T09:15:00Z (2 other record(s) counted, their "
        "times not read)"
    ]
