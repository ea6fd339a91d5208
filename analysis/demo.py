"""``make demo``: the whole pipeline, offline, on the bundled sample day."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from analysis.contract import Report
from analysis.model import Options, Window
from analysis.pipeline import analyse
from analysis.render import render
from analysis.sources.files import sample_source

SAMPLE_DAY = Window(datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))
DEMO_TRUSTED_ACCOUNTS = frozenset({"123456789012"})
DEMO_ORGANIZATION = frozenset({"111122223333", "444455556666", "777788889999", "210987654321"})


def run_demo(out: Path) -> Report:
    """Report the sample day; print the Markdown and write every format into ``out``."""
    options = Options(
        trusted_accounts=DEMO_TRUSTED_ACCOUNTS,
        organization_accounts=DEMO_ORGANIZATION,
        organization_id="o-a1b2c3d4e5",
    )
    result = analyse([sample_source()], SAMPLE_DAY, options)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, name in (("json", "report.json"), ("md", "report.md"), ("html", "report.html"), ("csv", "report.csv")):
        try:
            text = render(result.report, fmt)
        except ImportError:  # a renderer not present in this version
            continue
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    sys.stdout.write(render(result.report, "md"))
    print("\nThe sample day's report was written to:", file=sys.stdout)
    for path in written:
        print(f"  {path.resolve()}", file=sys.stdout)
    return result.report
