"""The report contract (CONTRACT.md, schema version 1): building it, and checking it against its schema."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis import findings as findings_module
from analysis import remedies
from analysis.model import Window
from analysis.redact import map_strings, mask_secrets
from analysis.timeline import denial_timeline
from analysis.times import iso

if TYPE_CHECKING:
    from analysis.model import Options

SCHEMA_VERSION = "1"


def build_report(
    *,
    frame: pd.DataFrame,
    sources: list[dict[str, Any]],
    window: Window,
    generated_at: datetime,
    options: Options,
) -> dict[str, Any]:
    found = findings_module.findings(frame)
    remedies.advise(found, frame, options)
    report = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": iso(generated_at),
        "window": {"start": iso(window.start), "end": iso(window.end)},
        "service": options.service,
        "sources": sources,
        "totals": {
            "records_read": sum(s["records_read"] for s in sources),
            "denials": len(frame),
            "principals": len({f["principal"]["key"] for f in found}),
            "malformed_records": sum(s["malformed_records"] for s in sources),
            "findings": len(found),
        },
        "findings": found,
        "timeline": denial_timeline(frame, window),
    }
    return map_strings(report, mask_secrets)


@cache
def schema() -> dict[str, Any]:
    text = resources.files("analysis.schema").joinpath("report-v1.schema.json").read_text()
    return json.loads(text)


def validate(report: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when a report breaks the contract (needs the dev extra)."""
    import jsonschema

    jsonschema.validate(report, schema())


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
