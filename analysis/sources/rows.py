"""Result rows of the denial queries (Athena's, CloudTrail Lake's) turned back into CloudTrail records.

A row is ``{column: text or None}`` with the columns of :mod:`analysis.sql.columns`; the record rebuilt
from it is read by ``analysis.denials`` and ``analysis.findings`` exactly like one read from a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from analysis.denials import mended
from analysis.sql.columns import RECORD_COLUMNS, REQUEST_PARAMETERS, RESOURCE_ARNS

Row = Mapping[str, str | None]
_SQL_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]00:?00| UTC)?$")


def record_from_row(row: Row) -> dict[str, Any]:
    """A CloudTrail record rebuilt from one result row; columns without a value are left out.

    botocore reads the engines' answers with Python's json: a lone surrogate it gives is mended (``denials.mended``).
    """
    return dict(mended(_record(row)))


def _record(row: Row) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for column, path in RECORD_COLUMNS.items():
        value = row.get(column)
        if value is not None:
            _put(record, path.split("."), value)
    if "eventTime" in record:
        record["eventTime"] = normalise_event_time(record["eventTime"])
    request = _request_parameters(row.get(REQUEST_PARAMETERS))
    if request is not None:
        record["requestParameters"] = request
    arns = _json_value(row.get(RESOURCE_ARNS))
    if isinstance(arns, list) and arns:
        record["resources"] = [{"ARN": arn} for arn in arns if isinstance(arn, str)]
    return record


def _put(record: dict[str, Any], path: list[str], value: str) -> None:
    for key in path[:-1]:
        record = record.setdefault(key, {})
    record[path[-1]] = value


def normalise_event_time(value: str | None) -> str | None:
    """'2026-11-28 09:15:00.000' (Lake) or '2026-11-28T09:15:00Z' -> '2026-11-28T09:15:00Z' (fractions kept)."""
    if not value:
        return value
    match = _SQL_TIME.match(value.strip())
    if not match:
        return value
    day, clock, fraction, _ = match.groups()
    fraction = (fraction or "").rstrip("0").rstrip(".")
    return f"{day}T{clock}{fraction}Z"


def _request_parameters(text: str | None) -> Any:
    """Athena gives the request as JSON text; Lake gives a flat map whose nested values are JSON text."""
    value = _json_value(text)
    if isinstance(value, dict):
        return {key: _nested(item) for key, item in value.items()}
    return value


def _nested(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        parsed = _json_value(value)
        return parsed if parsed is not None else value
    return value


def _json_value(text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None
