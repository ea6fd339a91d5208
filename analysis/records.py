"""CloudTrail records in every container shape users hand us, detected by content.

Shapes: trail files ``{"Records": [...]}``, JSON arrays, JSON Lines, saved ``lookup-events`` output
(``{"Events": [{"CloudTrailEvent": "<json string>"}]}``), EventBridge envelopes (the record under
``detail``) and bare records; gzip is detected by its magic bytes, not by the file name.

Readers yield either a record (a dict) or a :class:`Malformed` naming what could not be read, so the
caller counts and reports it and goes on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

try:  # python-isal decompresses gzip several times faster than zlib
    from isal import igzip as gzip
except ImportError:  # pragma: no cover - isal is a declared dependency
    import gzip  # type: ignore[no-redef]

READABLE_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz")
GZIP_MAGIC = b"\x1f\x8b"
EVENTBRIDGE_DETAIL_TYPE = "AWS API Call via CloudTrail"


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


def unwrap(document: Any, origin: str) -> Iterator[RecordOrProblem]:
    """Yield the CloudTrail records held by one parsed JSON value, whatever its container."""
    if isinstance(document, list):
        for index, element in enumerate(document):
            yield from _unwrap_element(element, f"{origin}[{index}]")
        return
    yield from _unwrap_element(document, origin)


def _unwrap_element(element: Any, origin: str) -> Iterator[RecordOrProblem]:
    if not isinstance(element, dict):
        yield Malformed(origin, f"expected a JSON object, found {type(element).__name__}")
        return
    if isinstance(element.get("Records"), list):
        yield from unwrap(element["Records"], f"{origin}.Records")
    elif isinstance(element.get("Events"), list) and _looks_like_lookup(element["Events"]):
        yield from unwrap(element["Events"], f"{origin}.Events")
    elif "CloudTrailEvent" in element:
        yield from _lookup_event(element, origin)
    elif "detail" in element and "detail-type" in element:
        detail = element["detail"]
        if isinstance(detail, dict):
            yield detail
        else:
            yield Malformed(origin, "EventBridge envelope whose detail is not an object")
    else:
        yield element


def _looks_like_lookup(events: list) -> bool:
    return not events or (isinstance(events[0], dict) and "CloudTrailEvent" in events[0])


def _lookup_event(element: dict, origin: str) -> Iterator[RecordOrProblem]:
    payload = element["CloudTrailEvent"]
    if isinstance(payload, dict):
        yield payload
        return
    try:
        record = orjson.loads(payload)
    except (orjson.JSONDecodeError, TypeError) as error:
        yield Malformed(origin, f"CloudTrailEvent is not a JSON object string ({error})")
        return
    if isinstance(record, dict):
        yield record
    else:
        yield Malformed(origin, "CloudTrailEvent does not hold a JSON object")


def parse_bytes(data: bytes, origin: str) -> Iterator[RecordOrProblem]:
    """Records in one file's content: a single JSON document, or JSON Lines."""
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, ValueError) as error:
            yield Malformed(origin, f"cannot decompress gzip ({error})")
            return
    if not data.strip():
        yield Malformed(origin, "empty file")
        return
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        yield from _damaged_document(data, origin, error)
        return
    yield from unwrap(document, origin)


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


def read_file(path: Path) -> Iterator[RecordOrProblem]:
    """One file's records. JSON Lines files stream line by line; a JSON document is read whole."""
    origin = str(path)
    try:
        with _open(path) as stream:
            first = stream.readline()
            rest_start = stream.readline()
            if rest_start and _is_complete_json(first):
                yield from _json_lines(_chain([first, rest_start], stream), origin)
                return
            data = first + rest_start + stream.read()
    except (OSError, EOFError, ValueError) as error:
        yield Malformed(origin, f"cannot read file ({error})")
        return
    if not data.strip():
        yield Malformed(origin, "empty file")
        return
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        yield from _damaged_document(data, origin, error)
        return
    yield from unwrap(document, origin)


def _damaged_document(data: bytes, origin: str, error: Exception) -> Iterator[RecordOrProblem]:
    """JSON Lines whose first line is broken, or one damaged document: keep what can be read."""
    items = list(_json_lines(data.splitlines(), origin))
    if any(not isinstance(item, Malformed) for item in items):
        yield from items
    else:
        yield Malformed(origin, f"not valid JSON or JSON Lines ({error})")


def _open(path: Path) -> IO[bytes]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == GZIP_MAGIC else open(path, "rb")


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


def iter_paths(root: Path) -> Iterator[Path]:
    """A file as given, or every readable file under a folder, recursively, in a stable order."""
    if root.is_file():
        yield root
        return
    for directory, folders, files in os.walk(root):
        folders.sort()
        for name in sorted(files):
            if name.endswith(READABLE_SUFFIXES):
                yield Path(directory) / name
