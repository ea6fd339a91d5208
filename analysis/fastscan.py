"""The fast path over trail files: count every record, parse only those that may be denials.

AWS writes a trail file as compact JSON, ``{"Records":[{"eventVersion":"…",…},{"eventVersion":"…",…}]}``,
with ``eventVersion`` the first key of every record. Most records are not denials, and a full JSON
parse of each costs several times the gzip decompression. This module proves, from the bytes alone,
which records cannot be denials, counts them, and parses only the others.

What the bytes must show before anything is skipped (otherwise :func:`scan_trail` returns None and
the caller parses the whole document):

- the document is valid JSON, ``{"Records":[…]}`` and nothing else, and its number of records is
  known exactly: simdjson validates it and counts the array (in C++, a fraction of a full parse);
- the layout: it starts ``{"Records":[{"eventVersion":"`` and every later record starts
  ``},{"eventVersion":"`` (as many as there are records, less one: no record without
  ``eventVersion`` first, none pretty-printed), so record boundaries are found by byte search;
- per record, the denial test of :func:`analysis.denials.is_denial` (``errorCode`` starting with
  ``AccessDenied`` or ending with ``UnauthorizedOperation``) can only pass if the bytes hold the key
  ``"errorCode"`` as written, or a ``\\u`` escape (the only way JSON spells a letter otherwise). So a
  record is parsed when one of its ``"errorCode"`` keys has a value that could pass the test (or
  one the bytes cannot settle: an escape, an odd shape), or when it holds ``\\u``. Everything else is
  counted, not parsed: it is no denial of any service;
- given the audited service (``service``, as ``--service`` takes it), a possible denial is also left
  unparsed when its bytes hold none of the service's event sources as a JSON string (``"apprunner.``,
  ``"apprunner"``, or a source the catalog maps to the service) and no ``\\u``: the pipeline would
  not keep it (``denials.audits_service``).

Each parsed record is cut from the document between record boundaries; a cut that is not exactly
one JSON object means the layout did not hold, and the whole document is parsed instead.

Indented documents (``json.dumps(indent=N)``, ``jq``: keys in any order, eventVersion anywhere) take the same
path with another separator: the whitespace before the first record, ``indent`` (it must hold a line break),
gives ``indent + "}," + indent + "{"``. Every occurrence is outside strings (a raw line break is never in a
JSON string), but may separate objects nested in a record, written at the records' indent by hand. So the
document is counted a piece at a time (as a large one is, see below), cut at the separators around each
record to be parsed: every piece valid proves every cut falls between two records, and each parsed record a
piece of exactly one element of the array, never an object nested in one. The head and tail around the
pieces are matched whole; there as elsewhere, anything unproven sends the document to the full parse.
Two more records are parsed than in the compact layout, as the full parse would read them: any record whose
bytes name a container's key (``"Records"``…: the reader names it malformed), and the first record, which must
be a CloudTrail record (:func:`is_trail_record`: nothing else proves an indented document is the trail's).

Byte searches use StringZilla (SIMD, several times faster than ``bytes.find``) when installed; without
pysimdjson there is no proof of the record count, and every document is parsed in full.

The count, decided (issue 14): simdjson's DOM, which validates the whole document. It costs 0.52-0.69x
the single-thread gunzip of the same files (500 bench files, 447 MB of JSON, same run; the icelake
kernel here, NEON on arm64). The options measured or weighed against it:

- cysimdjson's parser: the same simdjson DOM, 0.54-0.64x: no gain;
- msgspec ``list[msgspec.Raw]``: 0.94x (the lead's figure); python-rapidjson's schema validator: 7x; orjson's
  full parse: 7.1x;
- simdjson On-Demand, or a structural-only pass, counts the array's elements without validating what it
  skips (0.42x in the issue's prototype), but none of the packages checked offers it to Python (pysimdjson 7
  and cysimdjson expose the DOM only; yyjson has no binding on the package lists), and it would count a
  record holding an invalid token (``tru``, ``01``, ``\\q``) instead of naming the file malformed.

So the DOM stays: a record is never miscounted, and invalid JSON anywhere in a document (a skipped record
included) sends it to the full parse, which names what is wrong. ``tests/unit/test_scan_count.py`` proves
the count equal to ``len(json.loads(doc)["Records"])`` on the real corpus, the bench's shapes and generated
documents, and that a damaged document is never counted.

Memory: a simdjson parser keeps the memory of the largest document it parsed (about 3x its size), and each
thread keeps one. A document over ``LARGE_DOCUMENT`` bytes is therefore counted a piece at a time: cut at a
record separator every ``PIECE`` bytes or so, each piece validated and counted as a trail document of its own
(exact, see :func:`_count_in_pieces`); a single piece over ``LARGE_DOCUMENT`` gets a parser freed after it.
A 33 MB file's count took the parser from 98 MB to about 17 MB.
"""

from __future__ import annotations

import heapq
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from analysis import catalog

try:
    import stringzilla as _sz
except ImportError:  # pragma: no cover - a declared dependency; bytes methods give the same answers
    _sz = None
try:
    import simdjson as _simdjson
except ImportError:  # pragma: no cover - a declared dependency; without it the fast path is off
    _simdjson = None  # type: ignore[assignment]

TRAIL_HEAD = b'{"Records":['
FIRST_RECORD = b'{"Records":[{"eventVersion":"'
RECORD_START = b'{"eventVersion":"'
RECORD_SEPARATOR = b'},{"eventVersion":"'
ERROR_KEY = b'"errorCode"'
UNICODE_ESCAPE = b"\\u"
CONTAINER_KEYS = (b'"Records"', b'"Events"', b'"CloudTrailEvent"', b'"detail-type"')  # records.CONTAINER_KEYS
JSON_WHITESPACE = b" \t\r\n"
DENIAL_PREFIX = b"AccessDenied"  # the CIS filter: errorCode "AccessDenied*" ...
DENIAL_SUFFIX = b"UnauthorizedOperation"  # ... or "*UnauthorizedOperation"
_TAIL_PROBE = 64
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_WHITESPACE = re.compile(rb"[ \t\r\n]*+")
_INDENTED_HEAD = re.compile(rb'[ \t\r\n]*+\{[ \t\r\n]*+"Records"[ \t\r\n]*+:[ \t\r\n]*+\[(?P<indent>[ \t\r\n]*+)\{')
_INDENTED_TAIL = re.compile(rb"\][ \t\r\n]*+\}[ \t\r\n]*+\Z")
_parsers = threading.local()  # a simdjson parser is reused, one per thread
LARGE_DOCUMENT = 4 * 1024**2  # larger documents are counted a piece at a time
PIECE = 2 * 1024**2  # about how much of a large document one piece holds


@dataclass
class TrailScan:
    """One trail document read by the fast path: how many records, and those that may be denials.

    Each possible denial is kept as its JSON text (``spans``), proven one JSON object when it was cut, and parsed
    where it is read: a worker process sends bytes, not dicts. On a storm of 100,000 denials, pickling the parsed
    records took the workers 2.0 s and unpickling them the main process 3.0 s; parsing the text again, 1.25 s.
    """

    records: int
    spans: list[bytes] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)  # each candidate's index in Records, when known
    # The spans as parsed when they were cut: kept for a reader in the same process (threads: S3, Lambda), dropped
    # when the scan is pickled to another (see __getstate__).
    parsed: list[dict[str, Any]] | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "parsed": None}

    @property
    def candidates(self) -> list[dict[str, Any]]:
        """The possible denials, parsed (each span was proven one JSON object when it was cut)."""
        return self.parsed if self.parsed is not None else [orjson.loads(span) for span in self.spans]

    @property
    def skipped(self) -> int:
        return self.records - len(self.spans)


def find(data: bytes, needle: bytes, start: int = 0, end: int | None = None) -> int:
    end = len(data) if end is None else end
    return _sz.find(data, needle, start, end) if _sz else data.find(needle, start, end)


def rfind(data: bytes, needle: bytes, start: int, end: int) -> int:
    return _sz.rfind(data, needle, start, end) if _sz else data.rfind(needle, start, end)


def count(data: bytes, needle: bytes, start: int = 0, end: int | None = None) -> int:
    end = len(data) if end is None else end
    return _sz.count(data, needle, start, end) if _sz else data.count(needle, start, end)


def could_be_denial_code(value: bytes) -> bool:
    """The denial test of ``denials.is_denial`` on the raw bytes of an errorCode string (no escapes)."""
    return value.startswith(DENIAL_PREFIX) or value.endswith(DENIAL_SUFFIX)


def service_needles(service: str | None) -> tuple[bytes, ...] | None:
    """Bytes one of which a record of ``service`` must hold (None: any service may be audited)."""
    if not service or service == "all" or not _PLAIN_NAME.match(service):
        return None
    return (
        f'"{service}.'.encode(),
        f'"{service}"'.encode(),
        *(f'"{s}"'.encode() for s in catalog.mapped_event_sources(service)),
    )


def scan_trail(data: bytes, service: str | None = None) -> TrailScan | None:
    """The fast reading of one (decompressed) trail document, or None when its layout is not proven.

    With ``service``, possible denials whose bytes show they belong to no event source of that service
    are counted, not parsed (see the module's notes).
    """
    layout = _layout(data)
    if layout is None:
        return None
    return _compact_scan(data, layout, service) if layout.compact else _indented_scan(data, layout, service)


def _compact_scan(data: bytes, layout: Layout, service: str | None) -> TrailScan | None:
    records = record_count(data, layout)
    if records is None:
        return None
    if records == 0:
        return TrailScan(0)
    if not layout.proven(data, records):
        return None
    return _with_candidates(data, records, _candidate_spans(data, layout, service))


def _indented_scan(data: bytes, layout: Layout, service: str | None) -> TrailScan | None:
    """An indented document: counted in pieces cut around each record to parse, which proves each a record of
    the array (a piece of one element) and gives its index.

    Its first record is parsed too, and must be a CloudTrail record (:func:`is_trail_record`): no layout proves
    the others are (AWS's compact one starts each with eventVersion), and the pipeline counts those skipped as
    CloudTrail records; so a source of other JSON is still said to hold none."""
    first = _indented_record_span(data, layout.first, layout.records_end, layout)
    spans = sorted({first, *_candidate_spans(data, layout, service)})
    wanted, indices, records = set(spans), {}, 0
    for start, end, counted in _pieces(data, layout, spans):
        if not counted or ((start, end) in wanted and counted != 1):
            return None
        indices[start, end] = records
        records += counted
    if not layout.proven(data, records):
        return None
    scan = _with_candidates(data, records, spans)
    if scan is None or not is_trail_record(scan.candidates[0]):
        return None
    scan.indices = [indices[span] for span in spans]
    return scan


def is_trail_record(record: dict[str, Any]) -> bool:
    """What the pipeline counts as a CloudTrail record (``pipeline.Coverage.add``), and the reader hands on as
    a record, not a container (``records._in_container``)."""
    container = any(key in record for key in ("Records", "Events", "CloudTrailEvent"))
    envelope = "detail" in record and "detail-type" in record
    trail = isinstance(record.get("eventSource"), str) and ("eventName" in record or "eventTime" in record)
    return trail and not container and not envelope


def _with_candidates(data: bytes, records: int, spans: list[tuple[int, int]]) -> TrailScan | None:
    cut = _cut_spans(data, spans)
    return None if cut is None else TrailScan(records, cut[0], parsed=cut[1])


@dataclass(frozen=True)
class Layout:
    """Where a trail document's records are: the first one's start, the ``]`` closing them, and the bytes
    between two records (one ends ``cut`` bytes into the separator, the next starts ``resume`` bytes into it)."""

    first: int
    records_end: int
    separator: bytes
    cut: int
    resume: int
    compact: bool

    def proven(self, data: bytes, records: int) -> bool:
        """Whether every record but the first starts after a separator (as many as records, less one)."""
        if self.compact and not data.startswith(FIRST_RECORD):
            return False
        return count(data, self.separator, self.first, self.records_end) == records - 1

    def separators_around(self, spans: Iterable[tuple[int, int]]) -> set[int]:
        """The separators before and after records' spans (none before the first, none after the last)."""
        before = {start - self.resume for start, _ in spans if start > self.first}
        return before | {end - self.cut for _, end in spans if end < self.records_end}

    def next_start(self, separator: int) -> int:
        """Where the record after the separator at ``separator`` starts: its ``{``."""
        return separator + self.resume


def _layout(data: bytes) -> Layout | None:
    """The layout of ``{"Records":[…]}``: compact as AWS writes it, or indented (see the module's notes)."""
    if data.startswith(TRAIL_HEAD):
        records_end = _records_end(data)
        return None if records_end is None else Layout(len(TRAIL_HEAD), records_end, RECORD_SEPARATOR, 1, 2, True)
    head = _INDENTED_HEAD.match(data)
    tail = _INDENTED_TAIL.search(data, max(0, len(data) - _TAIL_PROBE))
    if head is None or tail is None or b"\n" not in head["indent"] or tail.start() < head.end():
        return None
    indent = head["indent"]
    separator = indent + b"}," + indent + b"{"
    return Layout(head.end() - 1, tail.start(), separator, len(indent) + 1, len(separator) - 1, False)


def _records_end(data: bytes) -> int | None:
    """Where the ``Records`` array closes, when the document is ``{"Records":[…]}`` (compact)."""
    if not data.startswith(TRAIL_HEAD):
        return None
    tail = data[-_TAIL_PROBE:].rstrip(JSON_WHITESPACE)
    end = len(data) - (min(len(data), _TAIL_PROBE) - len(tail))
    if not tail.endswith(b"]}") or end < len(TRAIL_HEAD) + 2:
        return None
    return end - 2


def record_count(data: bytes, layout: Layout | None = None) -> int | None:
    """How many elements ``{"Records":[…]}`` holds, or None unless it is valid JSON of that shape.

    A document over ``LARGE_DOCUMENT`` bytes is validated and counted a piece at a time (see the module's
    notes): a simdjson parser keeps memory for the largest document it has parsed, some three times its size.
    """
    if _simdjson is None:
        return None
    if len(data) > LARGE_DOCUMENT:
        layout = layout or _layout(data)
        return None if layout is None else _count_in_pieces(data, layout)
    return _whole_count(data)


def _whole_count(data: bytes) -> int | None:
    parser = _parser_for(len(data))
    document = None
    try:
        document = parser.parse(data)
        if not isinstance(document, _simdjson.Object) or list(document.keys()) != ["Records"]:
            return None
        records = document["Records"]
        return len(records) if isinstance(records, _simdjson.Array) else None
    except Exception:  # invalid JSON, invalid UTF-8, a number simdjson does not take: parse in full
        return None
    finally:
        records = document = None  # the parser is reused only once its proxies are gone


def _count_in_pieces(data: bytes, layout: Layout) -> int | None:
    """The count of a large trail document: the sum of its pieces' (:func:`_pieces`), if every one is valid."""
    total = 0
    for _, _, counted in _pieces(data, layout):
        if not counted:
            return None
        total += counted
    return total


def _pieces(data: bytes, layout: Layout, spans: Iterable[tuple[int, int]] = ()) -> Iterator[tuple[int, int, int]]:
    """(start, end, records) of each piece of a trail document, cut at a record separator every ``PIECE`` bytes
    or so and around each of ``spans`` (records' spans, bounded by separators or the array's ends), each piece
    validated and counted as a trail document of its own (0: not valid; the caller stops there).

    Exact: each piece holds at least one record and ends with ``}`` before the next one's ``,{``, so the
    document is valid (and holds the sum of the counts) when every piece is (an indented document's head
    and tail, outside the pieces, are matched whole by :func:`_layout`); a separator inside a record makes
    the pieces around it invalid, and the document is parsed in full. So a span that is a piece of one record
    is a record of the array, never an object nested in one.
    """
    records_end, start, forced = layout.records_end, layout.first, 0
    around = sorted(layout.separators_around(spans))
    while start < records_end:
        separator = find(data, layout.separator, min(start + PIECE, records_end), records_end)
        while forced < len(around) and around[forced] < start:
            forced += 1
        if forced < len(around) and (separator < 0 or around[forced] < separator):
            separator = around[forced]
        end = records_end if separator < 0 else separator + layout.cut
        yield start, end, _whole_count(TRAIL_HEAD + data[start:end] + b"]}") or 0
        start = records_end if separator < 0 else layout.next_start(separator)


def _parser_for(size: int) -> Any:
    """This thread's parser for a document of ``size`` bytes; a parser of its own, freed after, for a larger
    one than ``LARGE_DOCUMENT``, so the parser kept keeps at most that much memory."""
    if size > LARGE_DOCUMENT:
        return _simdjson.Parser()
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        parser = _parsers.parser = _simdjson.Parser()
    return parser


def _candidate_spans(data: bytes, layout: Layout, service: str | None) -> list[tuple[int, int]]:
    """(start, end) of every record that may be a denial (of ``service``), in document order, each once; in an
    indented document, also of every record that may be a container (see :func:`_container_spans`)."""
    records_end = layout.records_end
    errors = (p for p in _occurrences(data, ERROR_KEY, records_end) if _denial_like_key(data, p))
    positions = heapq.merge(errors, _occurrences(data, UNICODE_ESCAPE, records_end))
    compact = layout.compact
    spans = _compact_spans(data, positions, records_end) if compact else _indented_spans(data, positions, layout)
    needles = service_needles(service)
    if needles is not None:
        spans = {span for span in spans if _may_be_of_service(data, span, needles)}
    return sorted(spans if layout.compact else spans | _container_spans(data, layout))


def _container_spans(data: bytes, layout: Layout) -> set[tuple[int, int]]:
    """Records of an indented document whose bytes name a container's key: the reader names such a record
    malformed (``records._in_container``), so it is parsed whatever its service, as the full parse would."""
    positions = heapq.merge(
        *(_occurrences(data, key, layout.records_end, start=layout.first) for key in CONTAINER_KEYS)
    )
    return _indented_spans(data, positions, layout)


def _compact_spans(data: bytes, positions: Iterable[int], records_end: int) -> set[tuple[int, int]]:
    """:func:`_record_span` of each of ``positions`` (ascending), each record's bytes searched once (linear).

    The positions up to the record's closing separator share its end. They share its start too unless a
    ``{"eventVersion":"`` nested in the record lies between them: that one starts the span of the positions
    after it, as :func:`_record_span`'s backward search would find it, so the nested ones are walked forward.
    """
    spans: set[tuple[int, int]] = set()
    start = nested = end = -1
    for position in positions:
        if position >= end:
            start, end = _record_span(data, position, records_end)
            nested = find(data, RECORD_START, start + 1, end)
        while 0 <= nested <= position + 1 - len(RECORD_START):
            start, nested = nested, find(data, RECORD_START, nested + 1, end)
        spans.add((start, end))
    return spans


def _indented_spans(data: bytes, positions: Iterable[int], layout: Layout) -> set[tuple[int, int]]:
    """:func:`_indented_record_span` of each of ``positions`` (ascending), one search per record (linear): the
    span is bounded by separators, none of which can hold a position, so every later position before its end
    has the same span."""
    spans: set[tuple[int, int]] = set()
    end = -1
    for position in positions:
        if position >= end:
            span = _indented_record_span(data, position, layout.records_end, layout)
            spans.add(span)
            end = span[1]
    return spans


def _occurrences(data: bytes, needle: bytes, end: int, start: int = 0) -> Iterator[int]:
    position = find(data, needle, start, end)
    while position >= 0:
        yield position
        position = find(data, needle, position + len(needle), end)


def _denial_like_key(data: bytes, position: int) -> bool:
    """Whether the ``"errorCode"`` at ``position`` is a key whose value could make a denial.

    False only when the bytes settle it: the quoted word is a string value (not followed by ``:``),
    or the key's value is not a string, or is a string without escapes that fails the denial test.
    """
    after = _skip_whitespace(data, position + len(ERROR_KEY))
    if data[after : after + 1] != b":":
        return after >= len(data)  # a string value "errorCode", not a key
    value = _skip_whitespace(data, after + 1)
    if data[value : value + 1] != b'"':
        return value >= len(data)  # null, a number, an object: is_denial needs a string
    closing = data.find(b'"', value + 1)
    if closing < 0:
        return True
    text = data[value + 1 : closing]
    return b"\\" in text or could_be_denial_code(text)


def _skip_whitespace(data: bytes, position: int) -> int:
    run = _WHITESPACE.match(data, position)  # a regular expression: C speed over a long run
    return run.end() if run else position


def _record_span(data: bytes, position: int, records_end: int) -> tuple[int, int]:
    start = rfind(data, RECORD_START, 0, position + 1)
    separator = find(data, RECORD_SEPARATOR, position, records_end)
    return max(start, 0), records_end if separator < 0 else separator + 1


def _indented_record_span(data: bytes, position: int, records_end: int, layout: Layout) -> tuple[int, int]:
    before = rfind(data, layout.separator, layout.first, position)
    after = find(data, layout.separator, position, records_end)
    start = layout.first if before < 0 else layout.next_start(before)
    return start, records_end if after < 0 else after + layout.cut


def _may_be_of_service(data: bytes, span: tuple[int, int], needles: tuple[bytes, ...]) -> bool:
    start, end = span
    return any(data.find(needle, start, end) >= 0 for needle in (UNICODE_ESCAPE, *needles))


def _cut_spans(data: bytes, spans: list[tuple[int, int]]) -> tuple[list[bytes], list[dict[str, Any]]] | None:
    """Each span's bytes and its object, if every one is exactly one JSON object (parsed to prove it); else None."""
    cut, parsed = [], []
    for start, end in spans:
        text = data[start:end]
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(record, dict):
            return None
        cut.append(text)
        parsed.append(record)
    return cut, parsed
