"""Build the day, write and check its trail files, render SAMPLE_DAY.md, print a summary."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .document import render
from .engine import Day
from .machines import ci_runs, duplicate_one_success, machines
from .people import people
from .play import play
from .scenarios import SCENARIOS
from .trail import Totals, read_back, trail_files, write
from .world import ORG_ID

SCRIPTS = Path(__file__).resolve().parent.parent


def build() -> Day:
    """The whole day in memory: background traffic first, then the scenarios, in a fixed order."""
    day = Day()
    machines(day)
    people(day)
    ci_runs(day)
    for scenario in SCENARIOS:
        play(day, scenario)
    duplicate_one_success(day)
    return day


def check_scenarios(day: Day, totals: Totals) -> None:
    """Each scenario's refusals must all be in the files, once each."""
    for scenario in SCENARIOS:
        found = totals.found(day.scenario_ids[scenario.key])
        if found != scenario.count:
            raise SystemExit(f"scenario {scenario.key}: {found} records written, {scenario.count} planned")


def summary(totals: Totals, out: Path, elapsed: float) -> str:
    def listed(counts: dict[str, int]) -> str:
        return ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))

    lines = [
        f"wrote {totals.files} trail files ({totals.size / 1024:.0f} KiB gzip) under {out}/AWSLogs/{ORG_ID}/",
        f"  folders by delivery date: {totals.by_folder}",
        f"  records: {len(totals.records)} written, {len(totals.unique)} unique (eventID, recipientAccountId), "
        f"{len(totals.records) - len(totals.unique)} duplicate deliveries, {totals.before_day} from 2026-11-27",
        f"  errors: {len(totals.errors)} (denials {len(totals.denials)}, App Runner denials "
        f"{len(totals.apprunner_denials)}), {len(totals.count('eventSource'))} event sources",
        "  userIdentity types: " + listed(totals.identity_types()),
        "  App Runner denials by eventName: " + listed(totals.count("eventName", totals.apprunner_denials)),
        "  scenarios (App Runner denial records, unique):",
        *(f"    S{s.key:<4} {s.count:>3}  {s.expect.remedy:<18} {s.title}" for s in SCENARIOS),
        f"done in {elapsed:.1f}s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate one deterministic day of an organization's CloudTrail.")
    parser.add_argument(
        "--out",
        type=Path,
        default=SCRIPTS.parent / "analysis" / "data" / "sample",
        help="folder to write AWSLogs/ into (default: the project's analysis/data/sample); its AWSLogs/ is replaced",
    )
    parser.add_argument(
        "--doc",
        type=Path,
        default=SCRIPTS / "SAMPLE_DAY.md",
        help="where to render the description of the day (default: scripts/SAMPLE_DAY.md)",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    day = build()
    size = write(args.out, trail_files(day))
    records, by_folder = read_back(args.out)
    totals = Totals.of(records, by_folder, size)
    check_scenarios(day, totals)
    args.doc.write_text(render(SCENARIOS, totals), encoding="utf-8")
    if not args.quiet:
        print(summary(totals, args.out, time.perf_counter() - started))
    return 0
