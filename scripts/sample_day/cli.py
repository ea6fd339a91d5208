"""Build the day, write and check its trail files, render SAMPLE_DAY.md, print a summary."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from .document import render
from .engine import Day
from .machines import ci_runs, duplicate_one_success, machines
from .people import people
from .plan import Scenario
from .play import play
from .scenarios import SCENARIOS
from .trail import Totals, read_back, trail_files, write
from .world import DAY, ORG_ID, SEED

SCRIPTS = Path(__file__).resolve().parent.parent


def build(date: datetime = DAY, seed: int = SEED, scenarios: Sequence[Scenario] = SCENARIOS) -> Day:
    """The whole day in memory: background traffic first, then the scenarios, in a fixed order.

    The defaults make the bundled day; another ``date``, ``seed`` or choice of ``scenarios`` makes another.
    """
    day = Day(seed, date)
    machines(day)
    people(day)
    ci_runs(day)
    for scenario in scenarios:
        play(day, scenario)
    duplicate_one_success(day)
    return day


def write_day(out: Path, day: Day) -> Totals:
    """Write the day's trail files under ``out`` (its ``AWSLogs/`` replaced), read them back and count them."""
    size = write(out, trail_files(day))
    records, by_folder = read_back(out)
    return Totals.of(records, by_folder, size, day.start)


def check_scenarios(day: Day, totals: Totals, scenarios: Sequence[Scenario] = SCENARIOS) -> None:
    """Each scenario's refusals must all be in the files, once each."""
    for scenario in scenarios:
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
        f"{len(totals.records) - len(totals.unique)} duplicate deliveries, {totals.before_day} from "
        f"{totals.start - timedelta(days=1):%Y-%m-%d}",
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
    totals = write_day(args.out, day)
    check_scenarios(day, totals)
    args.doc.write_text(render(SCENARIOS, totals), encoding="utf-8")
    if not args.quiet:
        print(summary(totals, args.out, time.perf_counter() - started))
    return 0
