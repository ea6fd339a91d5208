"""What a run over a generated case must report, worked out from the case itself, not from the readers.

The rules (what "bad" means):

- a value where a record should be that is not a JSON object, or a container (``{"Records": 5}``, also as a
  lookup event's CloudTrailEvent or an EventBridge detail), is malformed: counted once, named, reading goes on;
- a document read whole takes what orjson refuses through the lenient fallback (a number beyond a double, a
  lone surrogate, NaN, bytes not UTF-8); a JSON Lines line is parsed alone and strictly: such a line is
  malformed; nesting deeper than any parser goes is unreadable anywhere;
- a trail file that cannot be parsed whole (cut, or too deep somewhere) is read record by record: every
  whole record before the cut is read, the unreadable or cut one counted; a JSON array file too deep
  somewhere is read element by element, the too-deep element counted; a truncated JSON Lines file loses
  its last line, counted;
- a JSON object is a record: counted as read. It is a denial when its ``errorCode`` passes the CIS filter
  (``AccessDenied*`` or ``*UnauthorizedOperation``), whatever else it holds: a field of the wrong type
  reads as absent, it never hides the denial nor the records after it;
- a denial is reported when it is of the audited service and, with ``--day``, inside the day; a denial whose
  ``eventTime`` cannot be read under ``--day`` is malformed (counted and named);
- repeats of an (eventID, recipientAccountId) pair are one denial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis import catalog
from tests.fuzz.generator import (
    DAY,
    REFUSED_TOKENS,
    Case,
    CaseFile,
    Item,
    breaks_document,
    raw_tokens,
    too_deep,
)

DAY_START = datetime.fromisoformat(f"{DAY}T00:00:00+00:00")
DAY_END = DAY_START + timedelta(days=1)
CUT = object()  # the truncated line of a JSON Lines file


@dataclass
class Expected:
    records_read: int = 0
    malformed: int = 0
    denial_records: list[dict[str, Any]] = field(default_factory=list)  # before de-duplication and the window
    good_read: list[dict[str, Any]] = field(default_factory=list)
    hidden: dict[str, int] = field(default_factory=dict)  # good records in files refused whole, by cause

    @property
    def good_hidden(self) -> int:
        return sum(self.hidden.values())

    def hide(self, cause: str, good: int) -> None:
        if good:
            self.hidden[cause] = self.hidden.get(cause, 0) + good

    unreadable_times: int = 0
    scalars_record_by_record: int = 0  # values that are no record in a trail file read record by record
    wrapped_containers: int = 0  # {"Records": …} as a lookup event's CloudTrailEvent or an EventBridge detail

    def denials(self, day: bool) -> int:
        return len(self.reported(day))

    def reported(self, day: bool) -> list[dict[str, Any]]:
        kept = _deduplicated(self.denial_records)
        return [r for r in kept if not day or _in_day(r.get("eventTime")) is True]


def expected(case: Case) -> Expected:
    result = Expected()
    for case_file in case.files:
        _expect_file(case_file, case.plan.service, case.plan.day, result)
    return result


def is_cis_denial(record: Any) -> bool:
    code = record.get("errorCode") if isinstance(record, dict) else None
    return isinstance(code, str) and (code.startswith("AccessDenied") or code.endswith("UnauthorizedOperation"))


def audited(record: dict[str, Any], service: str) -> bool:
    source = record.get("eventSource")
    if service == "all":
        return True
    if not isinstance(source, str):
        return False
    return source.split(".", 1)[0] == service or catalog.iam_prefix_for_event_source(source) == service


def is_record(value: Any) -> bool:
    """A JSON object that is no container: what every reader counts as a record."""
    return isinstance(value, dict) and "Records" not in value


def explains(value: Any, how: str = "bare") -> bool:
    """Whether ``explain`` over this value alone (``how``: as the fuzzer wraps it) must give a finding."""
    if not (is_record(value) and is_cis_denial(value)) or too_deep(value):
        return False
    # a lookup event's CloudTrailEvent is parsed strictly; bytes not UTF-8 are mended in the outer document
    strict = set(REFUSED_TOKENS) - {'"\udcff\udcfe"'}
    return how != "lookup" or not strict & set(raw_tokens(value))


def _expect_file(case_file: CaseFile, service: str, day: bool, result: Expected) -> None:
    layout = case_file.plan.layout
    items = case_file.items
    if layout in ("jsonl", "envelopes"):
        _expect_lines(case_file, service, day, result)
    elif layout == "trail" and (case_file.plan.truncated or any(too_deep(i.value) for i in items)):
        _expect_record_by_record(case_file, service, day, result)
    elif layout == "array" and any(too_deep(i.value) for i in items):
        for item in items:  # read element by element: the too-deep one named, the others read
            if too_deep(item.value):
                result.malformed += 1
            else:
                _expect_element(item, service, day, result)
    else:  # read whole (orjson, else the lenient fallback)
        for item in items:
            _expect_element(item, service, day, result)


def _expect_record_by_record(case_file: CaseFile, service: str, day: bool, result: Expected) -> None:
    """A trail file that cannot be parsed whole is read record by record: the cut or unreadable one named."""
    truncated = case_file.plan.truncated
    whole = case_file.items[: case_file.complete] if truncated else case_file.items
    for item in whole:
        if too_deep(item.value):
            result.malformed += 1
        else:
            result.scalars_record_by_record += int(not isinstance(item.value, dict | list))
            _expect_element(item, service, day, result)
    if truncated:
        result.malformed += 1
        result.hide("truncated file", sum(1 for i in case_file.items[len(whole) :] if i.good))


def _expect_lines(case_file: CaseFile, service: str, day: bool, result: Expected) -> None:
    """JSON Lines: each line on its own, strictly, except when the first line is no complete JSON value and no line
    holds a record (then the file is one malformed document); a file of one line is a document read whole."""
    items: list[Item | object] = list(case_file.items)
    if case_file.plan.truncated and items:
        result.hide("truncated file", int(getattr(items[-1], "good", False)))
        items[-1] = CUT
    if not items:
        result.malformed += 1  # an empty file
        return
    if len(items) == 1 and isinstance(items[0], Item) and not too_deep(items[0].value):
        _expect_element(items[0], service, day, result, wrapped=case_file.plan.layout == "envelopes")
        return
    readable = [item for item in items if isinstance(item, Item) and not _breaks(item)]
    first_complete = isinstance(items[0], Item) and not _breaks(items[0]) and isinstance(items[0].value, dict)
    if not first_complete and not any(is_record(i.value) for i in readable):
        result.malformed += 1
        result.hide("JSON Lines without one readable record", sum(1 for i in readable if i.good))
        return
    for item in items:
        if isinstance(item, Item) and not _breaks(item):
            _expect_element(item, service, day, result, wrapped=case_file.plan.layout == "envelopes")
        else:
            result.malformed += 1
            result.hide("a line refused whole", int(isinstance(item, Item) and item.good))


def _breaks(item: Item) -> bool:
    return breaks_document(item.value)


def _expect_element(item: Item, service: str, day: bool, result: Expected, wrapped: bool = False) -> None:
    if not is_record(item.value):
        result.malformed += 1
        result.wrapped_containers += int(wrapped and isinstance(item.value, dict))
        return
    record = item.value
    result.records_read += 1
    if item.good:
        result.good_read.append(record)
    if is_cis_denial(record) and audited(record, service):
        if day and _in_day(record.get("eventTime")) is None:
            result.malformed += 1
            result.unreadable_times += 1
        else:
            result.denial_records.append(record)


def _in_day(value: Any) -> bool | None:
    """Whether an eventTime is inside the day; None when it cannot be read as a time."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return DAY_START <= moment < DAY_END


def _deduplicated(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str | None]] = set()
    kept = []
    for record in records:
        event_id = record.get("eventID")
        if isinstance(event_id, str):
            recipient = record.get("recipientAccountId")
            key = (event_id, recipient if isinstance(recipient, str) else None)
            if key in seen:
                continue
            seen.add(key)
        kept.append(record)
    return kept
