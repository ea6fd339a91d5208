"""CloudTrail records in every container shape users hand us, detected by content.

Shapes: trail files ``{"Records": [...]}``, JSON arrays, JSON Lines, saved ``lookup-events`` output
(``{"Events": [{"CloudTrailEvent": "<json string>"}]}``), EventBridge envelopes (the record under
``detail``) and bare records; gzip is detected by its magic bytes, not by the file name.

Readers yield either a record (a dict) or a :class:`Malformed` naming what could not be read, so the
caller counts and reports it and goes on. Trail files in the layout AWS writes, or indented, take the fast
path of :mod:`analysis.fastscan`: records that cannot be denials are counted (:class:`Skipped`), not parsed.
Everything here works on bytes and streams; reading local files and folders is :mod:`analysis.sources.files`.

A file's content (after gunzip) is read up to a cap, ``APPRUNNER_AUDIT_MAX_DECOMPRESSED_BYTES`` (default
256 MiB, :func:`max_content_bytes`): a file over it is :class:`Malformed` ("decompressed size exceeds N bytes"),
so 1 MB of gzip never becomes 1 GB in memory (each gzip member is inflated in one call that stops one byte past
the cap); a streamed JSON Lines file keeps the records before the cap.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import IO, Any, cast

import orjson

from analysis import fastscan

try:  # python-isal decompresses gzip several times faster than zlib
    from isal import igzip as gzip
    from isal import isal_zlib as zlib
    from isal.isal_zlib import error as IsalError
except ImportError:  # pragma: no cover - isal is a declared dependency
    import gzip  # type: ignore[no-redef]
    import zlib  # type: ignore[no-redef]

    IsalError = OSError  # type: ignore[assignment]

GZIP_MAGIC = b"\x1f\x8b"
GZIP_OR_ZLIB_HEADER = 47  # wbits: a gzip or zlib header, told apart by its first bytes
MAX_CONTENT_VARIABLE = "APPRUNNER_AUDIT_MAX_DECOMPRESSED_BYTES"
DEFAULT_MAX_CONTENT_BYTES = 256 * 1024**2  # per file, after gunzip: CloudTrail writes files of a few MB
READ_CHUNK = 1024 * 1024
log = logging.getLogger(__name__)
# What reading or gunzipping a stream raises (isal's stub declares its error an instance: it is a class).
READ_ERRORS = cast(tuple[type[Exception], ...], (OSError, EOFError, ValueError, IsalError))


@dataclass(frozen=True)
class Malformed:
    """Something that could not be read as a record: a file, a line or an array element."""

    origin: str
    error: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.error}"


@dataclass(frozen=True)
class Skipped:
    """Records a fast path read and counted but did not parse, since they cannot be denials."""

    count: int


RecordOrProblem = dict[str, Any] | Malformed | Skipped
CONTAINER_KEYS = ("Records", "Events", "CloudTrailEvent")
_UNREADABLE = object()
_TRAIL_START = re.compile(rb'\A\s*+\{\s*+"Records"\s*+:\s*+\[')
_ARRAY_START = re.compile(rb"\A\s*+\[")
_TRAIL_END = re.compile(rb"[\s,]*+\]\s*+\}\s*+\Z")  # what may follow a trail file's last record
_ARRAY_END = re.compile(rb"[\s,]*+\]\s*+\Z")
_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*+"|[\[\]{}]', re.DOTALL)
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"', re.DOTALL)
_SCALAR = re.compile(rb"[^,\]\s]++")
_BETWEEN_ELEMENTS = re.compile(rb"[\s,]*+")
_QUOTE = ord('"')
_CLOSING_BRACKET = ord("]")
_OPENING = b"[{"


def max_content_bytes() -> int:
    """The most content one file may hold after gunzip: ``APPRUNNER_AUDIT_MAX_DECOMPRESSED_BYTES`` (a positive
    number of bytes); unset or invalid, the default (256 MiB).

    The default is some 400 times an average trail file (0.6 MB of JSON) and bounds what a file can cost:
    its content, and the records parsed from it, several times that, in each of the readers working ahead.
    """
    configured = os.environ.get(MAX_CONTENT_VARIABLE, "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    if configured:
        log.warning(
            "%s=%r is not a positive number of bytes: the cap is %d",
            MAX_CONTENT_VARIABLE,
            configured[:40],
            DEFAULT_MAX_CONTENT_BYTES,
        )
    return DEFAULT_MAX_CONTENT_BYTES


class ContentTooLarge(Exception):
    """A file's content is over the cap: it is read no further."""

    def __init__(self, limit: int, compressed: bool) -> None:
        size = "decompressed size" if compressed else "size"
        super().__init__(f"{size} exceeds {limit:,} bytes ({MAX_CONTENT_VARIABLE}): read no further")


def read_capped(stream: Any, limit: int, compressed: bool = False) -> bytes:
    """The rest of ``stream`` (anything with ``read(n)``), a chunk at a time; ContentTooLarge past ``limit``."""
    chunks, total = [], 0
    while chunk := stream.read(min(READ_CHUNK, limit - total + 1)):
        total += len(chunk)
        if total > limit:
            raise ContentTooLarge(limit, compressed)
        chunks.append(chunk)
    return b"".join(chunks)


class _CappedStream:
    """Lines and the rest of a (decompressed) stream, counted against the cap as they are read."""

    def __init__(self, stream: IO[bytes], limit: int, compressed: bool) -> None:
        self._stream, self._limit, self._left, self._compressed = stream, limit, limit, compressed

    def readline(self) -> bytes:
        return self._counted(self._stream.readline(self._left + 1))

    def read(self) -> bytes:
        try:
            return self._counted(read_capped(self._stream, self._left, self._compressed))
        except ContentTooLarge:
            raise ContentTooLarge(self._limit, self._compressed) from None

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def _counted(self, data: bytes) -> bytes:
        self._left -= len(data)
        if self._left < 0:
            raise ContentTooLarge(self._limit, self._compressed)
        return data


def unwrap(document: Any, origin: str) -> Iterator[RecordOrProblem]:
    """Yield the CloudTrail records held by one parsed JSON value, whatever its container.

    A container is unwrapped once: a container inside one (``{"Records": [{"Records": …}]}``) is malformed,
    never unwrapped, since CloudTrail writes none, and how deep an input nests must not decide how deep the
    reader recurses. The wrappers CloudTrail does write are each read once: a JSON array or JSON Lines of
    containers, a lookup event's ``CloudTrailEvent`` (a record), an EventBridge envelope's ``detail``.
    """
    if isinstance(document, list):
        for index, element in enumerate(document):
            yield from _unwrap_element(element, f"{origin}[{index}]")
        return
    yield from _unwrap_element(document, origin)


def _unwrap_element(element: Any, origin: str) -> Iterator[RecordOrProblem]:
    if not isinstance(element, dict):
        yield _not_an_object(element, origin)
        return
    if isinstance(element.get("Records"), list):
        yield from _contained(element["Records"], f"{origin}.Records")
    elif "Records" in element:  # a trail file's container whose Records is no list: no record is in it
        yield Malformed(origin, f"'Records' is {type(element['Records']).__name__}, not a list of records")
    elif isinstance(element.get("Events"), list) and _looks_like_lookup(element["Events"]):
        yield from _contained(element["Events"], f"{origin}.Events", lookup=True)
    elif "CloudTrailEvent" in element:
        yield from _lookup_event(element, origin)
    elif "detail" in element and "detail-type" in element:
        detail = element["detail"]
        if isinstance(detail, dict):
            yield _one_record(detail, origin, "the EventBridge detail")
        else:
            yield Malformed(origin, "EventBridge envelope whose detail is not an object")
    else:
        yield element


def _contained(elements: list[Any], origin: str, lookup: bool = False) -> Iterator[RecordOrProblem]:
    """The elements of a trail file's Records (records) or of a lookup output's Events (``lookup``: lookup
    events, each read once)."""
    for index, element in enumerate(elements):
        yield from _in_container(element, f"{origin}[{index}]", lookup)


def _in_container(element: Any, origin: str, lookup: bool = False) -> Iterator[RecordOrProblem]:
    """One element of a container: a record, or a lookup event; a container is malformed and not read."""
    if not isinstance(element, dict):
        yield _not_an_object(element, origin)
    elif lookup and "CloudTrailEvent" in element:
        yield from _lookup_event(element, origin)
    elif key := _container_key(element):
        yield Malformed(origin, f"a container inside a container ('{key}'): CloudTrail nests none, not read")
    else:
        yield element


def _not_an_object(value: Any, origin: str) -> Malformed:
    return Malformed(origin, f"expected a JSON object, found {type(value).__name__}")


def _looks_like_lookup(events: list[Any]) -> bool:
    return not events or (isinstance(events[0], dict) and "CloudTrailEvent" in events[0])


def _lookup_event(element: dict[str, Any], origin: str) -> Iterator[RecordOrProblem]:
    payload = element["CloudTrailEvent"]
    if isinstance(payload, dict):
        yield _one_record(payload, origin, "CloudTrailEvent")
        return
    try:
        record = orjson.loads(payload)
    except (orjson.JSONDecodeError, TypeError) as error:
        yield Malformed(origin, f"CloudTrailEvent is not a JSON object string ({error})")
        return
    if isinstance(record, dict):
        yield _one_record(record, origin, "CloudTrailEvent")
    else:
        yield Malformed(origin, "CloudTrailEvent does not hold a JSON object")


def _one_record(value: dict[str, Any], origin: str, holder: str) -> RecordOrProblem:
    """What a lookup event or an EventBridge envelope holds: one record, never a container of records."""
    key = _container_key(value)
    return value if key is None else Malformed(origin, f"{holder} holds a container ('{key}'), not a record")


def _container_key(value: dict[str, Any]) -> str | None:
    """The key that makes ``value`` a container of records (None for a record)."""
    key = next((k for k in CONTAINER_KEYS if k in value), None)
    if key is None and "detail" in value and "detail-type" in value:
        key = "detail"
    return key


def parse_bytes(data: bytes, origin: str) -> Iterator[RecordOrProblem]:
    """Records in one file's content: a single JSON document, or JSON Lines."""
    yield from parse_loaded(load_bytes(data, origin))


def parse_content(data: bytes, origin: str) -> Iterator[RecordOrProblem]:
    """Records in decompressed content: a trail file through the fast path when its layout allows."""
    scan = fastscan.scan_trail(data)
    if scan is not None:
        yield from _scanned(scan, origin)
    else:
        yield from _parse_plain(data, origin)


def _parse_plain(data: bytes, origin: str) -> Iterator[RecordOrProblem]:
    """Content the fast path did not take: JSON Lines line by line, else one JSON document."""
    if not data or data.isspace():
        yield Malformed(origin, "empty file")
    elif _starts_json_lines(data):
        yield from _json_lines(_lines(data), origin)
    else:
        yield from _document(data, origin)


def _scanned(scan: fastscan.TrailScan, origin: str) -> Iterator[RecordOrProblem]:
    if scan.skipped:
        yield Skipped(scan.skipped)
    for number, record in enumerate(scan.candidates):
        where = f"{origin}.Records[{scan.indices[number]}]" if scan.indices else f"{origin}.Records"
        yield from _in_container(record, where)


def _document(data: bytes, origin: str) -> Iterator[RecordOrProblem]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        yield from _refused_document(data, origin, error)
        return
    yield from unwrap(document, origin)


def _refused_document(data: bytes, origin: str, error: Exception) -> Iterator[RecordOrProblem]:
    """A document orjson refuses: valid JSON it does not take (a number beyond a double, a lone surrogate);
    else JSON Lines whose first line is broken; else a trail file read record by record (one bad or cut
    record hides no other); else one damaged document."""
    document = _lenient_loads(data)
    if document is not _UNREADABLE:
        yield from unwrap(document, origin)
        return
    lines = list(_json_lines(data.splitlines(), origin))
    if any(not isinstance(item, Malformed) for item in lines):
        yield from lines
    elif _TRAIL_START.match(data):
        yield from _record_by_record(data, origin)
    elif _ARRAY_START.match(data):
        yield from _array_element_by_element(data, origin)
    else:
        yield Malformed(origin, f"not valid JSON or JSON Lines ({error})")


def _array_element_by_element(data: bytes, origin: str) -> Iterator[RecordOrProblem]:
    """A JSON array (of records or trail files) read one element at a time, each as a document of its own:
    one element too deep or broken hides no other."""
    yield from _one_by_one(data, (_ARRAY_START, _ARRAY_END), origin, "element(s)", _array_element)


def _array_element(text: bytes, origin: str) -> Iterator[RecordOrProblem]:
    value, error = _parsed(text)
    if value is not _UNREADABLE:
        yield from _unwrap_element(value, origin)
    elif _TRAIL_START.match(text):  # a trail file among others: record by record
        yield from _record_by_record(text, origin)
    else:
        yield Malformed(origin, f"not readable JSON ({error})")


def _lenient_loads(data: bytes) -> Any:
    """JSON read by the standard library, as orjson would give it, or _UNREADABLE.

    Bytes that are not UTF-8 and lone surrogates become replacement characters; numbers beyond a double
    or 64 bits (and NaN, Infinity) become null. Nesting deeper than the interpreter's stack is unreadable.
    """
    try:
        value = json.loads(
            data.decode("utf-8", "replace"), parse_float=_finite, parse_int=_int64, parse_constant=lambda _: None
        )
        return orjson.loads(json.dumps(value, ensure_ascii=False).encode("utf-8", "replace"))
    except (ValueError, RecursionError, orjson.JSONDecodeError):
        return _UNREADABLE


def _finite(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


def _int64(text: str) -> int | None:
    number = int(text) if len(text) <= 20 else None
    return number if number is not None and -(2**63) <= number < 2**64 else None


def _record_by_record(data: bytes, origin: str) -> Iterator[RecordOrProblem]:
    """The elements of ``{"Records":[…]}``, each parsed alone; one that cannot be read, or is cut, is named."""
    yield from _one_by_one(data, (_TRAIL_START, _TRAIL_END), f"{origin}.Records", "record(s)", _element)


def _one_by_one(
    data: bytes,
    array: tuple[re.Pattern[bytes], re.Pattern[bytes]],
    where: str,
    things: str,
    read: Callable[[bytes, str], Iterator[RecordOrProblem]],
) -> Iterator[RecordOrProblem]:
    """Each element of the array ``array`` opens (its opening and ending patterns), read alone by ``read``; a
    cut is named where it falls, and so is content after the array's end (a second document), which is not
    read."""
    opening, ending = array
    start = opening.match(data)
    position = start.end() if start else 0
    for index, (begin, end) in enumerate(_element_spans(data, position)):
        if end is None:
            yield Malformed(f"{where}[{index}]", f"the file is cut here: {index} {things} before it read")
            return
        yield from read(data[begin:end], f"{where}[{index}]")
        position = end
    if not ending.match(data, position):
        yield Malformed(where, "content after the end of the array, not read")


def _element(text: bytes, origin: str) -> Iterator[RecordOrProblem]:
    value, error = _parsed(text)
    if value is _UNREADABLE:
        yield Malformed(origin, f"not readable JSON ({error})")
    else:
        yield from _in_container(value, origin)


def _parsed(text: bytes) -> tuple[Any, Exception | None]:
    """One JSON value by orjson, else the lenient parser (_UNREADABLE when neither reads it), and orjson's
    error, if any."""
    try:
        return orjson.loads(text), None
    except orjson.JSONDecodeError as error:
        return _lenient_loads(text), error


def _element_spans(data: bytes, start: int) -> Iterator[tuple[int, int | None]]:
    """(start, end) of each element from ``start`` until the array holding them closes; a last (start, None)
    when the data ends first, inside an element or between two."""
    position = start
    while True:
        position = _BETWEEN_ELEMENTS.match(data, position).end()  # type: ignore[union-attr]  # it matches ''
        if position >= len(data):
            yield position, None
            return
        if data[position] == _CLOSING_BRACKET:
            return
        end = _closing(data, position) if data[position] in _OPENING else _scalar_end(data, position)
        yield position, end
        if end is None:
            return
        position = end


def _closing(data: bytes, start: int) -> int | None:
    """Where the object or array opening at ``start`` closes (None: the data ends first). Strings are skipped
    whole: a possessive match, so the scan is linear."""
    depth = 0
    for match in _STRUCTURE.finditer(data, start):
        char = data[match.start()]
        if char == _QUOTE:
            continue
        depth += 1 if char in _OPENING else -1
        if depth == 0:
            return match.end()
    return None


def _scalar_end(data: bytes, start: int) -> int | None:
    """Where a string, number or literal starting at ``start`` ends (None: a string the data cuts)."""
    pattern = _STRING if data[start] == _QUOTE else _SCALAR
    match = pattern.match(data, start)
    return match.end() if match else None


def _starts_json_lines(data: bytes) -> bool:
    """A complete JSON value on the first line and more lines after it."""
    newline = data.find(b"\n")
    return 0 <= newline < len(data) - 1 and _is_complete_json(data[: newline + 1])


def _lines(data: bytes) -> Iterator[bytes]:
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        yield data[start:end]
        start = end + 1


def _json_lines(lines: Iterable[bytes], origin: str) -> Iterator[RecordOrProblem]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            yield Malformed(f"{origin}:{number}", f"not valid JSON ({error})")
            continue
        yield from unwrap(document, f"{origin}:{number}")


@dataclass(frozen=True)
class Loaded:
    """One file fetched, decompressed and scanned, ready to yield its records (picklable).

    ``scan`` when the fast path took it; else ``content`` to parse in full; ``problem`` when it could
    not be read.
    """

    origin: str
    scan: fastscan.TrailScan | None = None
    content: bytes | None = None
    problem: Malformed | None = None


def load_bytes(data: bytes, origin: str, service: str | None = None, limit: int | None = None) -> Loaded:
    """Gunzip one file's bytes (at most ``limit``, default :func:`max_content_bytes`) and run the fast path
    (``service``: the audited one) over them.

    This is the work reader threads or processes do ahead of the caller; isal releases the GIL.
    """
    try:
        data = _content(data, limit or max_content_bytes())
    except ContentTooLarge as error:
        return Loaded(origin, problem=Malformed(origin, str(error)))
    except READ_ERRORS as error:
        return Loaded(origin, problem=Malformed(origin, f"cannot decompress gzip ({error})"))
    except Exception as error:  # one file must not end its source from a reader thread (MemoryError, a bug)
        return Loaded(origin, problem=Malformed(origin, f"cannot be read ({_described(error)})"))
    scan = _scan(data, origin, service)
    return Loaded(origin, scan=scan) if scan is not None else Loaded(origin, content=data)


def _scan(data: bytes, origin: str, service: str | None) -> fastscan.TrailScan | None:
    """The fast path's scan; None (a full parse) when it does not take the file, or fails on it."""
    try:
        return fastscan.scan_trail(data, service)
    except Exception as error:  # the fast path only saves time: the full parse reads the file
        log.warning("%s: the fast path failed (%s), the file is parsed in full", origin, _described(error))
        return None


def _content(data: bytes, limit: int) -> bytes:
    """A file's content: gunzipped when it starts with the gzip magic; at most ``limit``."""
    if data[:2] != GZIP_MAGIC:
        if len(data) > limit:
            raise ContentTooLarge(limit, compressed=False)
        return data
    content = _gunzipped_members(data, limit)
    return content if content is not None else _gunzipped_by_stream(data, limit)


def _gunzipped_members(data: bytes, limit: int) -> bytes | None:
    """The members of a well-formed gzip file, decompressed and concatenated (``cat a.gz b.gz`` holds both
    contents, one after the other), NUL padding after the last ignored: what ``GzipFile`` reads, in one
    call per member. ContentTooLarge past ``limit``; None when the data is not that (cut, corrupt, followed
    by something other than a member or NULs): :func:`_gunzipped_by_stream` then says what is wrong, as
    it always has."""
    members: list[bytes] = []
    left, rest = limit, data
    while rest[:2] == GZIP_MAGIC:
        inflater = zlib.decompressobj(GZIP_OR_ZLIB_HEADER)
        try:
            member = inflater.decompress(rest, left + 1)  # one byte over the cap says the cap is passed
        except READ_ERRORS:
            return None
        left -= len(member)
        if left < 0:
            raise ContentTooLarge(limit, compressed=True)
        if not inflater.eof:
            return None
        members.append(member)
        rest = inflater.unused_data.lstrip(b"\0")
    if rest:
        return None
    return members[0] if len(members) == 1 else b"".join(members)


def _gunzipped_by_stream(data: bytes, limit: int) -> bytes:
    """``GzipFile``'s reading, a chunk at a time: the errors of a cut or corrupt file as users have seen them."""
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        return read_capped(stream, limit, compressed=True)


def parse_loaded(loaded: Loaded) -> Iterator[RecordOrProblem]:
    """The records of a loaded file: those the fast path kept, or a full parse of its content. An error
    while reading it ends this file only (:func:`one_file`)."""
    yield from one_file(_parse_loaded(loaded), loaded.origin)


def one_file(items: Iterator[RecordOrProblem], origin: str) -> Iterator[RecordOrProblem]:
    """A file's items; an unexpected error while reading them (a RecursionError, a bug) ends this file, not
    its source: the items before it are kept and the file is malformed, named with the error."""
    kept = 0
    try:
        for item in items:
            yield item
            kept += 1
    except Exception as error:  # whatever it is, the next files of the source are read
        log.debug("reading %s failed", origin, exc_info=True)
        yield Malformed(
            origin, f"reading stopped at an unexpected error ({_described(error)}); {kept} item(s) before it kept"
        )


def _described(error: Exception, limit: int = 200) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= limit else text[:limit] + "…"


def _parse_loaded(loaded: Loaded) -> Iterator[RecordOrProblem]:
    if loaded.problem is not None:
        yield loaded.problem
    elif loaded.scan is not None:
        yield from _scanned(loaded.scan, loaded.origin)
    elif loaded.content is not None:
        yield from _parse_plain(loaded.content, loaded.origin)


def parse_stream(raw: IO[bytes], origin: str, limit: int | None = None) -> Iterator[RecordOrProblem]:
    """Records in a stream too large to hold (gzip detected by its magic bytes): JSON Lines line by line,
    a JSON document read whole; its content at most ``limit`` (default :func:`max_content_bytes`). An error
    while reading it ends this stream only (:func:`one_file`)."""
    yield from one_file(_parse_stream(raw, origin, limit), origin)


def _parse_stream(raw: IO[bytes], origin: str, limit: int | None) -> Iterator[RecordOrProblem]:
    try:
        magic = raw.read(2)
        raw.seek(0)
        compressed = magic == GZIP_MAGIC
        with gzip.open(raw, "rb") if compressed else nullcontext(raw) as opened:
            stream = _CappedStream(opened, limit or max_content_bytes(), compressed)
            first = stream.readline()
            rest_start = stream.readline()
            if rest_start and _is_complete_json(first):
                yield from _json_lines(_chain([first, rest_start], stream), origin)
                return
            data = first + rest_start + stream.read()
    except ContentTooLarge as error:
        yield Malformed(origin, str(error))
        return
    except READ_ERRORS as error:
        yield Malformed(origin, f"cannot read file ({error})")
        return
    yield from parse_content(data, origin)


def _is_complete_json(line: bytes) -> bool:
    stripped = line.strip()
    if not stripped or stripped[:1] not in (b"{", b"["):
        return False
    try:
        orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return False
    return True


def _chain(first: list[bytes], rest: Iterable[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest
