"""The report JSON of records run through the pipeline: what users see, whatever type the pipeline returns."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from analysis import report as report_module
from analysis.model import Options, Window
from analysis.pipeline import analyse
from analysis.sources.base import RecordsSource, Source


def report_json(report: Any) -> dict[str, Any]:
    """The report as the CLI writes it (``analysis.report.dumps``), read back."""
    return json.loads(report_module.dumps(report))


def analysed(sources: Sequence[Source], window: Window | None = None, options: Options | None = None) -> dict:
    """The report JSON of a run over ``sources``."""
    return report_json(analyse(sources, window, options).report)


def report_of(records: list[dict[str, Any]], options: Options | None = None) -> dict[str, Any]:
    """The report JSON of a run over records held in memory."""
    return analysed([RecordsSource(records)], options=options)


def findings_of(records: list[dict[str, Any]], options: Options | None = None) -> list[dict[str, Any]]:
    return report_of(records, options)["findings"]
