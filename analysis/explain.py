"""``explain``: one CloudTrail record of any service in, one finding out."""

from __future__ import annotations

from typing import Any

from analysis.contract import Finding
from analysis.model import Options, Window
from analysis.pipeline import analyse
from analysis.records import Malformed, Skipped, parse_bytes
from analysis.sources.base import RecordsSource


class ExplainError(Exception):
    """The input is not exactly one readable denial record."""


def explain_bytes(data: bytes, origin: str = "<input>", options: Options | None = None) -> Finding:
    """The finding for the one record a file holds (gzip, bare, ``{"Records": [...]}`` or an envelope)."""
    items = list(parse_bytes(data, origin))
    problems = [item for item in items if isinstance(item, Malformed)]
    if problems:
        raise ExplainError(str(problems[0]))
    records = [item for item in items if isinstance(item, dict)]
    skipped = sum(item.count for item in items if isinstance(item, Skipped))
    if len(records) + skipped != 1:
        raise ExplainError(f"{origin}: expected one CloudTrail record, found {len(records) + skipped}")
    if skipped:  # the fast path read it and saw it cannot be a denial
        raise ExplainError(f"{origin}: not a denial")
    return explain_record(records[0], origin, options)


def explain_record(record: dict[str, Any], origin: str = "<input>", options: Options | None = None) -> Finding:
    options = options or Options()
    options = Options(**{**options.__dict__, "service": "all"})
    result = analyse([RecordsSource([record], origin)], Window(), options)
    found = result.report.findings
    if not found:
        code = record.get("errorCode")
        raise ExplainError(f"{origin}: not a denial (errorCode {code!r})")
    return found[0]
