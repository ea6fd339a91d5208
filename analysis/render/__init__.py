"""Presenting a report: JSON (the contract), Markdown, HTML and CSV."""

from __future__ import annotations

from typing import Any


def render(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        from analysis.report import dumps

        return dumps(report)
    if fmt == "md":
        from analysis.render.markdown import render_markdown

        return render_markdown(report)
    if fmt == "html":
        from analysis.render.html import render_html

        return render_html(report)
    if fmt == "csv":
        from analysis.render.csv import render_csv

        return render_csv(report)
    raise ValueError(f"unknown format {fmt!r}")
