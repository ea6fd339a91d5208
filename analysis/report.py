"""Building the report (the contract in ``analysis.contract``) from a run's denials: findings, then
their remedies, then the report around them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from analysis import grouping, remedies
from analysis.contract import BUILDING, SCHEMA_VERSION, Report, SourceStatus
from analysis.model import Options, Window
from analysis.redact import without_secrets
from analysis.severity import with_severity
from analysis.timeline import denial_timeline
from analysis.times import iso

__all__ = ["SCHEMA_VERSION", "build_report", "dumps", "schema", "validate"]


def findings_with_remedies(denials: Sequence[grouping.Row], options: Options) -> list[dict[str, Any]]:
    """One finding per principal and owning account, each with its remedy, then its hazards and severity
    (validated once, in the report)."""
    groups = grouping.rows_by_finding(denials)  # once, for the findings and their remedies
    found = grouping.findings_of(groups)
    advice = remedies.advise(found, denials, options, groups)
    with_remedies = [{**finding, "remedy": remedy} for finding, remedy in zip(found, advice, strict=True)]
    return [with_severity(finding, options) for finding in with_remedies]


def build_report(
    *,
    denials: Sequence[grouping.Row],
    sources: Sequence[SourceStatus],
    window: Window,
    generated_at: datetime,
    options: Options,
) -> Report:
    found = findings_with_remedies(denials, options)
    report = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": iso(generated_at),
        "window": {"start": iso(window.start), "end": iso(window.end)},
        "service": options.service,
        "sources": [s.model_dump() for s in sources],
        "totals": {
            "records_read": sum(s.records_read for s in sources),
            "denials": len(denials),
            "principals": len({f["principal"]["key"] for f in found}),
            "malformed_records": sum(s.malformed_records for s in sources),
            "findings": len(found),
        },
        "findings": found,
        "timeline": denial_timeline((row["time"] for row in denials), window),
    }
    return Report.model_validate(without_secrets(report), context=BUILDING)


@cache
def schema() -> dict[str, Any]:
    """The committed JSON Schema (generated from ``analysis.contract``; a test keeps them equal)."""
    text = resources.files("analysis.schema").joinpath("report-v1.schema.json").read_text()
    document: dict[str, Any] = json.loads(text)
    return document


def validate(report: dict[str, Any] | Report) -> None:
    """Raise ``jsonschema.ValidationError`` when a report breaks the contract, formats checked (a time that only
    looks like one, ``2026-02-30T10:00:00Z``, is refused); needs the dev extra."""
    import jsonschema

    document = report.document() if isinstance(report, Report) else report
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    jsonschema.validate(document, schema(), cls=jsonschema.Draft202012Validator, format_checker=checker)


def dumps(report: Report) -> str:
    return report.dumps()
