"""Presenting a report: JSON (the contract), Markdown, HTML, CSV and the CSV of its lists (``csv_details``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.contract import Report, as_report


def render(report: Report | Mapping[str, Any], fmt: str) -> str:
    report = as_report(report)
    if fmt == "json":
        return report.dumps()
    if fmt == "md":
        from analysis.render.markdown import render_markdown

        return render_markdown(report)
    if fmt == "html":
        from analysis.render.html import render_html

        return render_html(report)
    if fmt == "csv":
        from analysis.render.csv import render_csv

        return render_csv(report)
    if fmt == "csv_details":
        from analysis.render.csv import render_csv_details

        return render_csv_details(report)
    raise ValueError(f"unknown format {fmt!r}")
