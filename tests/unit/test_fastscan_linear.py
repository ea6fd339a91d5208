"""The fast path finds the records to parse in time linear in the document: each record's bounds are searched
for once, however many ``\\u`` escapes, ``"errorCode"`` keys or container keys it holds (issue 14's review,
finding 1: one search per position made a 1.2 MB record of escapes take seconds).

No wall-clock figure is asserted: the bytes the byte searches walk over are counted instead, and the spans
found are compared with a second method, the bounds of every position searched one at a time.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import fastscan

pytestmark = pytest.mark.unit

SOURCE = {"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": "GetObject"}


def trail(items: list[dict[str, Any]], compact: bool) -> bytes:
    if compact:
        return json.dumps({"Records": items}, separators=(",", ":")).encode()
    return json.dumps({"Records": items}, indent=2).encode()


def escapes(count: int) -> dict[str, Any]:
    """A record whose bytes hold ``count`` ``\\u`` escapes (json.dumps escapes every non-ASCII character)."""
    return {**SOURCE, "x": "\u00e9" * count}


class SearchTally:
    """Sums the bytes fastscan's find and rfind walk over: up to the match, or the whole range without one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.walked = 0
        find, rfind = fastscan.find, fastscan.rfind

        def counted_find(data: bytes, needle: bytes, start: int = 0, end: int | None = None) -> int:
            found = find(data, needle, start, end)
            self.walked += (found + len(needle) if found >= 0 else len(data) if end is None else end) - start
            return found

        def counted_rfind(data: bytes, needle: bytes, start: int, end: int) -> int:
            found = rfind(data, needle, start, end)
            self.walked += end - (found if found >= 0 else start)
            return found

        monkeypatch.setattr(fastscan, "find", counted_find)
        monkeypatch.setattr(fastscan, "rfind", counted_rfind)


@pytest.mark.parametrize("compact", [True, False], ids=["compact", "indented"])
@pytest.mark.parametrize("count", [2_000, 20_000])
def test_the_bytes_searched_stay_a_few_times_the_document_however_many_escapes_a_record_holds(
    compact: bool, count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = trail([escapes(count), SOURCE, escapes(count)], compact)
    tally = SearchTally(monkeypatch)
    scan = fastscan.scan_trail(data)
    assert scan is not None and scan.records == 3
    assert [record["x"] for record in scan.candidates] == ["\u00e9" * count] * 2
    # Linear: a pass per needle (indented: 2 + 4 container keys) and the records' bounds, about 7.5x in all.
    # One search per position walked about count x record length: 2 x 20_000 x 120 kB here, 20_000x the size.
    assert tally.walked <= 10 * len(data)


@pytest.mark.parametrize(
    ("compact", "searches"),
    # compact: one per record with escapes (3); indented: also one for the first record, which is always parsed.
    [(True, 3), (False, 4)],
    ids=["compact", "indented"],
)
def test_each_record_is_bounded_once_not_once_per_escape(
    compact: bool, searches: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = trail([escapes(500), SOURCE, escapes(300), {**escapes(200), "errorCode": "AccessDenied"}], compact)
    calls = {"count": 0}
    helper = "_record_span" if compact else "_indented_record_span"
    original = getattr(fastscan, helper)

    def counted(*args: Any, **kwargs: Any) -> tuple[int, int]:
        calls["count"] += 1
        result: tuple[int, int] = original(*args, **kwargs)
        return result

    monkeypatch.setattr(fastscan, helper, counted)
    scan = fastscan.scan_trail(data)
    assert scan is not None and (scan.records, len(scan.candidates)) == (4, 3)
    assert calls["count"] == searches


def spans_one_position_at_a_time(data: bytes, service: str | None) -> list[tuple[int, int]]:
    """The second method: every position's record bounds searched on their own (the quadratic way)."""
    layout = fastscan._layout(data)
    assert layout is not None
    end = layout.records_end

    def at(needle: bytes, start: int = 0) -> list[int]:
        return [m.start() for m in re.finditer(re.escape(needle), data[:end]) if m.start() >= start]

    positions = [p for p in at(fastscan.ERROR_KEY) if fastscan._denial_like_key(data, p)] + at(b"\\u")
    if layout.compact:
        spans = {fastscan._record_span(data, p, end) for p in positions}
    else:
        spans = {fastscan._indented_record_span(data, p, end, layout) for p in positions}
    needles = fastscan.service_needles(service)
    if needles is not None:
        spans = {span for span in spans if fastscan._may_be_of_service(data, span, needles)}
    if not layout.compact:
        keys = [p for key in fastscan.CONTAINER_KEYS for p in at(key, layout.first)]
        spans |= {fastscan._indented_record_span(data, p, end, layout) for p in keys}
    return sorted(spans)


NESTED = st.fixed_dictionaries({"eventVersion": st.sampled_from(["1.0", "\u00e9"])})
VALUES = st.one_of(
    st.sampled_from(["plain", "\u00e9t\u00e9", "AccessDenied", "Throttling", "Records"]),
    NESTED,
    st.fixed_dictionaries({"errorCode": st.sampled_from(["AccessDenied", "X", "\u00c9"])}),
    st.lists(NESTED, max_size=3),
)
KEYS = st.sampled_from(["a", "errorCode", "Records", "detail-type", "requestParameters", "\u00e9"])
RECORDS = st.lists(st.dictionaries(KEYS, VALUES, max_size=5).map(lambda extra: {**SOURCE, **extra}), max_size=6)


@given(
    items=RECORDS,
    compact=st.booleans(),
    service=st.sampled_from([None, "s3", "apprunner"]),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_spans_are_those_found_one_position_at_a_time(
    items: list[dict[str, Any]], compact: bool, service: str | None
) -> None:
    # Nested {"eventVersion":…} objects move the compact layout's record start for the positions after them,
    # which the one-search-per-record walk must follow.
    data = trail([SOURCE, *items], compact)
    layout = fastscan._layout(data)
    assert layout is not None
    assert fastscan._candidate_spans(data, layout, service) == spans_one_position_at_a_time(data, service)
