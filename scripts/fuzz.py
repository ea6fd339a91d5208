#!/usr/bin/env python3
"""``make fuzz``: generated CloudTrail inputs through the readers, the message parser, the report path, every
renderer, ``explain`` and the denial alert, checked against an oracle (tests/fuzz/oracle.py); prints a summary.

    .venv/bin/python scripts/fuzz.py [--inputs 100000] [--seed 0] [--out out/fuzz] [--timeout 10] [--tracemalloc]

An input is one generated record (a good denial or call, or a bad record: a good one mutated, or a value where
a record should be). Inputs are grouped in cases of one to four files (see tests/fuzz/generator.py): every input
of a case goes through the readers (the folder, or each file as a source; read whole, streamed, or loaded by
worker processes) and the report path (``service.run_window``, or the daily run with a ledger), and the case's
report through every renderer (JSON, Markdown, HTML, CSV, and each finding's text); every input's
``errorMessage`` through the message parser; bad ones also through the query sources' row reader and the
denial alert, and up to three bad records and one good record of each case through ``explain`` (and its text).

A case that takes more than ``--timeout`` seconds is a hang (stricter than 10 s per input: a case holds about
fourteen). Memory: the process's peak resident size (``ru_maxrss``), and with ``--tracemalloc`` the peak of
Python's allocations. Cases with a crash, a hang, a silent loss, an overcount or a raw escape are saved under
``--out`` (the files, and the Hypothesis plan, which ``tests.fuzz.generator.build_case`` rebuilds).

Exit status: 0 when there is no crash, hang or silent loss; 1 otherwise.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.fuzz.check import Hang, Outcome, check_case
from tests.fuzz.generator import Case, cases

FAILING = ("crash", "hang", "loss")
CASES_PER_ROUND = 100


@dataclass
class Tally:
    inputs: int = 0
    cases: int = 0
    explained: int = 0
    messages: int = 0
    rows: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    kinds: dict[str, Counter[str]] = field(default_factory=dict)
    slowest: float = 0.0
    saved: int = 0

    def add(self, outcome: Outcome) -> None:
        self.cases += 1
        self.inputs += outcome.inputs
        self.explained += outcome.explained
        self.messages += outcome.messages
        self.rows += outcome.rows
        self.slowest = max(self.slowest, outcome.seconds)
        for kind, details in outcome.problems.items():
            self.problems[kind] += len(details)
            self.kinds.setdefault(kind, Counter()).update(_shape(d) for d in details)


def _shape(detail: str) -> str:
    """A problem's class: its text without the numbers and ids that differ between cases."""
    import re

    return re.sub(r"\d+", "N", detail)[:160]


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang()


def run(args: argparse.Namespace) -> Tally:
    tally = Tally()
    workdir = Path(tempfile.mkdtemp(prefix="apprunner-audit-fuzz-"))
    signal.signal(signal.SIGALRM, _on_alarm)
    round_number = 0
    try:
        while tally.inputs < args.inputs:
            _round(args, tally, workdir, args.seed + round_number)
            round_number += 1
            _progress(tally, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return tally


def _round(args: argparse.Namespace, tally: Tally, workdir: Path, round_seed: int) -> None:
    @seed(round_seed)
    @settings(
        max_examples=CASES_PER_ROUND,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(cases())
    def one(case: Case) -> None:
        if tally.inputs >= args.inputs:
            return
        tally.add(_checked(case, workdir, args))

    one()


def _checked(case: Case, workdir: Path, args: argparse.Namespace) -> Outcome:
    signal.setitimer(signal.ITIMER_REAL, args.timeout)
    try:
        outcome = check_case(case, workdir)
    except Hang:
        outcome = Outcome(inputs=case.inputs)
        outcome.add("hang", f"a case took more than {args.timeout:g} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    if any(outcome.count(kind) for kind in (*FAILING, "overcount", "escape")):
        _save(case, outcome, workdir, args)
    return outcome


def _save(case: Case, outcome: Outcome, workdir: Path, args: argparse.Namespace) -> None:
    target = Path(args.out) / f"case-{args.seed}-{time.monotonic_ns()}"
    target.mkdir(parents=True, exist_ok=True)
    for case_file in case.files:
        (target / case_file.name).write_bytes(case_file.data)
    (target / "plan.txt").write_text(f"{case.plan!r}\n\n{outcome.problems!r}\n", encoding="utf-8")


def _progress(tally: Tally, args: argparse.Namespace) -> None:
    if not args.quiet:
        failing = sum(tally.problems[k] for k in FAILING)
        print(f"  {tally.inputs:>7} inputs, {tally.cases} cases, {failing} failing", file=sys.stderr, flush=True)


def summary(tally: Tally, seconds: float, peak_traced: int | None) -> str:
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        f"inputs={tally.inputs} cases={tally.cases} explained={tally.explained} messages={tally.messages} "
        f"rows={tally.rows}",
        f"crashes={tally.problems['crash']} hangs={tally.problems['hang']} silent_losses={tally.problems['loss']} "
        f"hidden_but_counted={tally.problems['hidden']} overcounts={tally.problems['overcount']} "
        f"raw_escapes={tally.problems['escape']} known_elsewhere={tally.problems['known']}",
        f"seconds={seconds:.0f} slowest_case_seconds={tally.slowest:.2f} peak_rss_mib={rss_mib:.0f}"
        + (f" peak_traced_mib={peak_traced / 2**20:.0f}" if peak_traced is not None else ""),
    ]
    for kind, shapes in sorted(tally.kinds.items()):
        for shape, number in shapes.most_common(12):
            lines.append(f"  {kind:9} {number:>6}  {shape}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/fuzz", help="where failing cases are saved")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a case may take")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.disable(logging.WARNING)  # the readers warn of every malformed item: the tally counts them
    if args.tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    tally = run(args)
    peak: Any = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    print(summary(tally, time.perf_counter() - started, peak))
    return 1 if any(tally.problems[k] for k in FAILING) else 0


if __name__ == "__main__":
    sys.exit(main())
