"""``explain``: one CloudTrail record of any service in, one finding out."""

from __future__ import annotations

from typing import Any

import orjson

from analysis.pipeline import Options, analyse
from analysis.records import Malformed, unwrap
from analysis.sources.base import Window


class ExplainError(Exception):
    """The input is not exactly one readable denial record."""


class _OneRecord:
    def __init__(self, record: dict[str, Any], name: str) -> None:
        self.record = record
        self.name = name

    def read(self):
        yield self.record


def explain_text(text: str, origin: str = "<input>", options: Options | None = None) -> dict[str, Any]:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise ExplainError(f"{origin}: not valid JSON ({error})") from error
    items = list(unwrap(document, origin))
    problems = [item for item in items if isinstance(item, Malformed)]
    if problems:
        raise ExplainError(str(problems[0]))
    if len(items) != 1:
        raise ExplainError(f"{origin}: expected one CloudTrail record, found {len(items)}")
    return explain_record(items[0], origin, options)


def explain_record(record: dict[str, Any], origin: str = "<input>", options: Options | None = None) -> dict[str, Any]:
    options = options or Options()
    options = Options(**{**options.__dict__, "service": "all"})
    result = analyse([_OneRecord(record, origin)], Window(), options)
    found = result.report["findings"]
    if not found:
        code = record.get("errorCode")
        raise ExplainError(f"{origin}: not a denial (errorCode {code!r})")
    return found[0]
