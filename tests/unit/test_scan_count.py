"""The fast path's count is exact: for every trail document, the records it reads plus those it skips are
``len(json.loads(doc)["Records"])``, and a document that is not valid JSON is never counted, only named.

Each document is counted three ways: whole (one simdjson parse), and a piece at a time as large documents
are (pieces of one record, pieces of about 500 bytes). Expected counts come from the standard library's
``json.loads``, a parser the fast path never uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import fastscan, records
from analysis.records import Malformed, Skipped
from analysis.sources import files
from tests.conftest import REAL

SEPARATOR = '},{"eventVersion":"'
COUNTING = {"whole": None, "pieces of one record": 1, "pieces of about 500 bytes": 500}


@pytest.fixture(params=sorted(COUNTING))
def counting(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    piece = COUNTING[request.param]
    if piece is not None:  # every document counted as a large one is
        monkeypatch.setattr(fastscan, "LARGE_DOCUMENT", 0)
        monkeypatch.setattr(fastscan, "PIECE", piece)
    return str(request.param)


def expected_count(document: bytes) -> int | None:
    """The number of records by json.loads; None when the document is not valid JSON ``{"Records": [...]}``."""
    try:
        value = json.loads(document)
    except ValueError:
        return None
    if isinstance(value, dict) and list(value) == ["Records"] and isinstance(value["Records"], list):
        return len(value["Records"])
    return None


def read_count(document: bytes) -> tuple[int, int, bool]:
    """(records read, records skipped, whether anything was named malformed) as the reader hands them on."""
    read = skipped = 0
    malformed = False
    for item in records.parse_loaded(records.load_bytes(document, "doc.json", service="apprunner")):
        if isinstance(item, Skipped):
            skipped += item.count
        elif isinstance(item, Malformed):
            malformed = True
        else:
            read += 1
    return read, skipped, malformed


def assert_counted_exactly(document: bytes) -> None:
    expected = expected_count(document)
    assert expected is not None, "a valid trail document was expected"
    counted, scan = fastscan.record_count(document), fastscan.scan_trail(document)
    if len(document) <= fastscan.LARGE_DOCUMENT:
        assert counted == expected
    else:  # counted in pieces only when the layout is compact; otherwise the full parse counts
        assert counted == expected or (counted is None and scan is None)
    assert scan is None or scan.records == expected
    read, skipped, malformed = read_count(document)
    assert (read + skipped, malformed) == (expected, False)


def assert_never_counted(document: bytes) -> tuple[int, bool]:
    """The fast path neither counts nor skips a record of an invalid document; (records the full parse
    read, whether it named something malformed) are returned."""
    assert expected_count(document) is None, "an invalid document was expected"
    assert fastscan.record_count(document) is None
    assert fastscan.scan_trail(document) is None
    read, skipped, malformed = read_count(document)
    assert skipped == 0
    return read, malformed


def aws_ordered(record: dict[str, Any]) -> dict[str, Any]:
    return {"eventVersion": record.get("eventVersion", "1.08"), **record}


def compact(items: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"Records": [aws_ordered(r) for r in items]})


# --- (a) the real corpus ----------------------------------------------------------------------------------


def _real_files() -> list[Path]:
    return sorted(p for p in REAL.iterdir() if p.suffix in {".json", ".jsonl"})


def _records_of(path: Path) -> list[dict[str, Any]]:
    return [item for item in files.read_file(path) if isinstance(item, dict)]


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: p.name[:60])
def test_every_real_file_is_counted_exactly_as_written_and_as_aws_writes_it(path, counting):
    raw = path.read_bytes()
    if expected_count(raw) is not None:  # a trail file, counted as it is written
        assert_counted_exactly(raw)
    found = _records_of(path)
    assert found
    assert_counted_exactly(compact(found))


# --- (b) the shapes of the bench days --------------------------------------------------------------------


def _bench_records() -> list[dict[str, Any]]:
    found = [r for p in _real_files() for r in _records_of(p)]
    nested = aws_ordered({"eventName": "PutEvents", "eventSource": "events.amazonaws.com"})
    nested["requestParameters"] = {"entries": [{"eventVersion": "1.0", "x": [{"eventVersion": "2"}]}, {"a": 1}]}
    escaped = aws_ordered({"eventName": "GetObject", "userAgent": SEPARATOR * 3, "errorCode": "AccessDenied"})
    return [*found, nested, escaped, aws_ordered({"eventName": "Ünïcode", "errorCode": "AccessDenied"})]


def _bench_shapes() -> dict[str, bytes]:
    items = [aws_ordered(r) for r in _bench_records()]
    return {
        "compact": compact(items),
        "pretty-printed": json.dumps({"Records": items}, indent=2).encode(),
        "keys re-ordered": orjson.dumps({"Records": items}, option=orjson.OPT_SORT_KEYS),
        "keys re-ordered in one record": orjson.dumps({"Records": [*items[:-1], dict(sorted(items[-1].items()))]}),
        "escaped non-ASCII": json.dumps({"Records": items}, separators=(",", ":")).encode(),
        "nested records first": compact(items[-3:] + items[:-3]),
        "one record": compact(items[-2:-1]),
        "no record": b'{"Records":[]}',
        "whitespace after": compact(items) + b"\n\r\n ",
    }


@pytest.mark.parametrize("shape", sorted(_bench_shapes()))
def test_every_bench_shape_is_counted_exactly(shape, counting):
    assert_counted_exactly(_bench_shapes()[shape])


def test_the_bench_shapes_cover_the_fast_path_and_the_fallback():
    taken = {name for name, data in _bench_shapes().items() if fastscan.scan_trail(data) is not None}
    assert {"compact", "pretty-printed", "nested records first", "one record", "whitespace after"} <= taken
    assert "keys re-ordered" not in taken


BROKEN = {
    "truncated in a record": lambda doc: doc[: len(doc) // 2],
    "truncated before the closing": lambda doc: doc[:-2],
    "tru in a skipped record": lambda doc: doc.replace(b'"readOnly":true', b'"readOnly":tru', 1),
    "01 in a skipped record": lambda doc: doc.replace(b'"n":1', b'"n":01', 1),
    "backslash-q in a skipped record": lambda doc: doc.replace(b'"text":"', b'"text":"\\q', 1),
    "an extra closing brace": lambda doc: doc.replace(b'"readOnly":true}', b'"readOnly":true}}', 1),
    "an extra opening bracket": lambda doc: doc.replace(b'"n":1', b'"n":[1', 1),
    "a closing bracket too many": lambda doc: doc.replace(b'"n":1', b'"n":1]', 1),
    "a raw separator inside a string": lambda doc: doc.replace(b'"text":"', b'"text":"' + SEPARATOR.encode(), 1),
    "two commas": lambda doc: doc.replace(b"},{", b"},,{", 1),
    "a trailing comma": lambda doc: doc.replace(b"}]}", b"},]}", 1),
    "invalid UTF-8": lambda doc: doc.replace(b'"text":"', b'"text":"\xff', 1),
}


# The full parse's recovery reads these records one by one (commas between them are skipped) or with
# replacement characters (records.py's lenient reading): every record is read, none is named malformed.
RECOVERED = {"two commas", "a trailing comma", "invalid UTF-8"}


def _plain_records(count: int) -> list[dict[str, Any]]:
    return [
        aws_ordered({"eventName": f"Get{i}", "n": 1, "text": "plain words", "readOnly": True}) for i in range(count)
    ]


@pytest.mark.parametrize("damage", sorted(BROKEN))
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_broken_document_is_never_counted(damage, where, counting):
    items = _plain_records(6)
    index = {"first": 0, "middle": 3, "last": 5}[where]
    for number, item in enumerate(items):  # only the record damaged holds the bytes the damage looks for
        if number != index:
            item.update(n=2, text="other", readOnly=False)
    document = compact(items)
    broken = BROKEN[damage](document)
    assert broken != document
    read, malformed = assert_never_counted(broken)
    if damage in RECOVERED:  # the full parse reads each record alone, and each one is whole
        assert (read, malformed) == (6, False)
    else:
        assert malformed


# --- (c) generated documents, valid and broken ------------------------------------------------------------

KEYS = st.sampled_from(["eventName", "userAgent", "n", "text", "readOnly", "errorCode", "eventVersion", "k", "ü"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from([SEPARATOR, "AccessDenied", "\\u0041", '"errorCode":"AccessDenied"', "},{", "]}"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=12,
)
RECORDS = st.dictionaries(KEYS, VALUES, max_size=6).map(aws_ordered)


@st.composite
def trail_documents(draw: st.DrawFn) -> bytes:
    items = draw(st.lists(RECORDS, max_size=8))
    layout = draw(st.sampled_from(["compact", "compact", "compact", "pretty", "sorted"]))
    if layout == "pretty":
        return json.dumps({"Records": items}, indent=1).encode()
    return orjson.dumps({"Records": items}, option=orjson.OPT_SORT_KEYS if layout == "sorted" else 0)


DAMAGE = [b"tru", b"01", b'"\\q"', b"[", b"]", b"{", b"}", b",", b'"', b":", b"\xff", SEPARATOR.encode()]


@st.composite
def damaged_documents(draw: st.DrawFn) -> bytes:
    document = draw(trail_documents())
    position = draw(st.integers(1, len(document) - 1))
    how = draw(st.sampled_from(["insert", "replace", "truncate"]))
    if how == "truncate":
        return document[:position]
    damage = draw(st.sampled_from(DAMAGE))
    return document[:position] + damage + document[position + (len(damage) if how == "replace" else 0) :]


GENERATED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@GENERATED
@given(document=trail_documents())
def test_any_generated_trail_document_is_counted_exactly(document, counting):
    assert_counted_exactly(document)


@GENERATED
@given(document=damaged_documents())
def test_a_generated_document_damaged_anywhere_is_counted_exactly_or_not_at_all(document, counting):
    """Damage can leave valid JSON (a comma in a string): then the count is exact; otherwise there is none."""
    counted, expected = fastscan.record_count(document), expected_count(document)
    if expected is None:
        assert counted is None and fastscan.scan_trail(document) is None
    elif counted is None:  # simdjson refuses what json.loads takes (a lone surrogate): the full parse counts
        assert fastscan.scan_trail(document) is None
        read, skipped, _ = read_count(document)
        assert (read, skipped) == (expected, 0)
    else:
        assert counted == expected


# --- large documents: a piece at a time -------------------------------------------------------------------


def test_a_document_over_the_large_size_is_counted_in_pieces_exactly(monkeypatch):
    pieces: list[int] = []
    whole = fastscan._whole_count

    def counted(data: bytes) -> int | None:
        pieces.append(len(data))
        return whole(data)

    monkeypatch.setattr(fastscan, "_whole_count", counted)
    monkeypatch.setattr(fastscan, "LARGE_DOCUMENT", 10_000)
    monkeypatch.setattr(fastscan, "PIECE", 2_000)
    document = compact(_plain_records(400))
    assert len(document) > 10_000
    assert fastscan.record_count(document) == 400
    assert len(pieces) > 5 and max(pieces) < 2_000 + 200


def test_a_separator_inside_a_record_sends_a_large_document_to_the_full_parse(monkeypatch):
    monkeypatch.setattr(fastscan, "LARGE_DOCUMENT", 0)
    monkeypatch.setattr(fastscan, "PIECE", 1)
    nested = aws_ordered({"requestParameters": {"entries": [{"a": 1}, {"eventVersion": "1.0"}]}})
    document = compact([*_plain_records(3), nested])
    assert fastscan.record_count(document) is None
    assert read_count(document) == (4, 0, False)


def test_the_parser_kept_by_a_thread_never_parsed_more_than_the_large_size(monkeypatch):
    monkeypatch.setattr(fastscan, "LARGE_DOCUMENT", 10_000)
    monkeypatch.setattr(fastscan, "PIECE", 2_000)
    kept = fastscan._parser_for(100)
    assert fastscan._parser_for(5_000) is kept
    assert fastscan._parser_for(10_001) is not kept
    one_large_record = compact([aws_ordered({"text": "x" * 30_000})])
    assert fastscan.record_count(one_large_record) == 1
    assert fastscan._parser_for(100) is kept
