#!/usr/bin/env python3
"""Generate a week (2026-11-22 .. 2026-11-28) of the sample organization's CloudTrail and its daily reports.

    python scripts/generate_sample_week.py [--out out/sample-week] [--doc scripts/SAMPLE_WEEK.md] [--quiet]

For each day, ``OUT/trail/YYYY-MM-DD/AWSLogs/...`` holds its trail files (the sample-day generator, with the day's
date, seed and the scenarios ``sample_day/week.py`` schedules for it; day 7 is the bundled day) and
``OUT/reports/YYYY/MM/DD/report.json`` its report as the daily function stores it in the reports bucket.

This script is the week's "daily job", so it imports ``analysis``: each report is made by
``analysis.service.run_daily`` (the application layer the scheduled function calls) over that day's trail folder,
with the options the sample day is reported with (``analysis.demo``'s trusted and organization accounts, org id
o-a1b2c3d4e5) and one file ledger for the week, kept in a temporary folder. A stored daily report therefore has
everything a real one has: the ``daily``, ``late_arrivals`` and ``ledger`` sections as well as the findings.
``generated_at`` is fixed (the day after, 01:00Z), so the output is the same bytes on every run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent
sys.path[:0] = [str(SCRIPTS), str(SCRIPTS.parent)]  # sample_day, and the analysis package

from sample_day.week import WEEK_DOC, StoredDay, render_week, write_week  # noqa: E402


def summary(days: list[StoredDay], out: Path, elapsed: float) -> str:
    per_day = "; ".join(f"{d.week_day.date:%m-%d}: {d.denials} denials, {d.findings} findings" for d in days)
    return (
        f"wrote {len(days)} days under {out}: trail files in {out}/trail/YYYY-MM-DD/ and daily reports in "
        f"{out}/reports/YYYY/MM/DD/report.json. App Runner denials and findings per day: {per_day}. "
        f"Done in {elapsed:.1f}s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a week of the sample organization and its daily reports.")
    parser.add_argument("--out", type=Path, default=Path("out/sample-week"), help="default: out/sample-week")
    parser.add_argument("--doc", type=Path, default=WEEK_DOC, help="default: scripts/SAMPLE_WEEK.md")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    days = write_week(args.out)
    args.doc.write_text(render_week(), encoding="utf-8")
    if not args.quiet:
        print(summary(days, args.out, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
