"""``make demo``: the whole pipeline, offline, on the bundled sample day."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from analysis.contract import Report
from analysis.model import Options, Window
from analysis.pipeline import analyse
from analysis.render import render
from analysis.render.terminal import summary
from analysis.sources.files import sample_source

SAMPLE_DAY = Window(datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))
DEMO_TRUSTED_ACCOUNTS = frozenset({"123456789012"})
DEMO_ORGANIZATION = frozenset({"111122223333", "444455556666", "777788889999", "210987654321"})
DEMO_ORGANIZATION_ID = "o-a1b2c3d4e5"
# The advice settings the sample day is reported with (scripts/SAMPLE_DAY.md's organization and trusted partner).
DEMO_OPTIONS = Options(
    trusted_accounts=DEMO_TRUSTED_ACCOUNTS,
    organization_accounts=DEMO_ORGANIZATION,
    organization_id=DEMO_ORGANIZATION_ID,
)
FORMATS = (
    ("json", "report.json"),
    ("md", "report.md"),
    ("html", "report.html"),
    ("csv", "report.csv"),
    ("csv_details", "report.details.csv"),
)
SUMMARY_WIDTH = 100  # when standard output is no terminal; on one, its width (up to MAX_WIDTH)
MAX_WIDTH = 140


def run_demo(out: Path, *, stdout: TextIO | None = None, quiet: bool = False) -> Report:
    """Report the sample day: write every format into ``out``, then print the terminal summary (in colour when
    standard output is a terminal and NO_COLOR is not set), which ends with where the full reports are."""
    result = analyse([sample_source()], SAMPLE_DAY, DEMO_OPTIONS)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, name in FORMATS:
        try:
            text = render(result.report, fmt)
        except ImportError:  # a renderer not present in this version
            continue
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    if not quiet:
        stream = stdout or sys.stdout
        terminal = _is_terminal(stream)
        width = min(shutil.get_terminal_size((SUMMARY_WIDTH, 24)).columns, MAX_WIDTH) if terminal else SUMMARY_WIDTH
        stream.write("The bundled sample day (synthetic CloudTrail records), analysed offline:\n\n")
        stream.write(summary(result.report, written, color=terminal and not os.environ.get("NO_COLOR"), width=width))
    return result.report


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
