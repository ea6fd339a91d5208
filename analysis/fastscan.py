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

Byte searches use StringZilla (SIMD, several times faster than ``bytes.find``) when installed; without
pysimdjson there is no proof of the record count, and every document is parsed in full.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
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
JSON_WHITESPACE = b" \t\r\n"
DENIAL_PREFIX = b"AccessDenied"  # the CIS filter: errorCode "AccessDenied*" ...
DENIAL_SUFFIX = b"UnauthorizedOperation"  # ... or "*UnauthorizedOperation"
_TAIL_PROBE = 64
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_WHITESPACE = re.compile(rb"[ \t\r\n]*+")
_parsers = threading.local()  # a simdjson parser is reused, one per thread


@dataclass
class TrailScan:
    """One trail document read by the fast path: how many records, and those that may be denials."""

    records: int
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return self.records - len(self.candidates)


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
    records_end = _records_end(data)
    records = None if records_end is None else record_count(data)
    if records is None or records_end is None:
        return None
    if records == 0:
        return TrailScan(0)
    if not data.startswith(FIRST_RECORD) or count(data, RECORD_SEPARATOR, 0, records_end) != records - 1:
        return None
    spans = _candidate_spans(data, records_end)
    needles = service_needles(service)
    if needles is not None:
        spans = [span for span in spans if _may_be_of_service(data, span, needles)]
    candidates = _parse_spans(data, spans)
    return None if candidates is None else TrailScan(records, candidates)


def _records_end(data: bytes) -> int | None:
    """Where the ``Records`` array closes, when the document is ``{"Records":[…]}`` (compact)."""
    if not data.startswith(TRAIL_HEAD):
        return None
    tail = data[-_TAIL_PROBE:].rstrip(JSON_WHITESPACE)
    end = len(data) - (min(len(data), _TAIL_PROBE) - len(tail))
    if not tail.endswith(b"]}") or end < len(TRAIL_HEAD) + 2:
        return None
    return end - 2


def record_count(data: bytes) -> int | None:
    """How many elements ``{"Records":[…]}`` holds, or None unless it is valid JSON of that shape."""
    if _simdjson is None:
        return None
    parser = getattr(_parsers, "parser", None) or _new_parser()
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


def _new_parser() -> Any:
    _parsers.parser = _simdjson.Parser()
    return _parsers.parser


def _candidate_spans(data: bytes, records_end: int) -> list[tuple[int, int]]:
    """(start, end) of every record that may be a denial, in document order, each once."""
    positions = [p for p in _occurrences(data, ERROR_KEY, records_end) if _denial_like_key(data, p)]
    positions.extend(_occurrences(data, UNICODE_ESCAPE, records_end))
    return sorted({_record_span(data, position, records_end) for position in positions})


def _occurrences(data: bytes, needle: bytes, end: int) -> Iterator[int]:
    position = find(data, needle, 0, end)
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


def _may_be_of_service(data: bytes, span: tuple[int, int], needles: tuple[bytes, ...]) -> bool:
    start, end = span
    return any(data.find(needle, start, end) >= 0 for needle in (UNICODE_ESCAPE, *needles))


def _parse_spans(data: bytes, spans: list[tuple[int, int]]) -> list[dict[str, Any]] | None:
    view = memoryview(data)
    parsed = []
    for start, end in spans:
        try:
            record = orjson.loads(view[start:end])
        except orjson.JSONDecodeError:
            return None
        if not isinstance(record, dict):
            return None
        parsed.append(record)
    return parsed
