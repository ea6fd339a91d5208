"""The mutation score per module from mutmut's results (mutants/), less the equivalent mutants listed in
tests/MUTATION.md; exits 1 when a module kills fewer than the target share of its non-equivalent mutants."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path()  # run from the repository root, where mutmut writes mutants/
TARGET = 0.85
# mutmut's exit codes: a test failed, pytest errored, the type checker refused it, or the tests never ended (a
# timeout: the mutant made them loop, which is a detection too).
KILLED = {1, 3, 37, 36, 24, -24, 152, 255}
SURVIVED = {0}
EQUIVALENT = re.compile(r"^- `(?P<name>analysis\.[\w.]+__mutmut_\d+)`", re.MULTILINE)


def equivalent_mutants(notes: Path) -> set[str]:
    return set(EQUIVALENT.findall(notes.read_text())) if notes.exists() else set()


def module_counts(meta: Path, equivalent: set[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
        if name in equivalent:
            counts["equivalent"] += 1
        elif code in KILLED:
            counts["killed"] += 1
        elif code in SURVIVED:
            counts["survived"] += 1
        else:  # not run, no tests, suspicious: none of them is a kill
            counts["other"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("modules", nargs="+", help="module names under analysis/, e.g. messages")
    parser.add_argument("--notes", type=Path, default=ROOT / "tests" / "MUTATION.md")
    args = parser.parse_args(argv)
    equivalent = equivalent_mutants(args.notes)
    print("| module | mutants | killed | survived | not run / no tests | equivalent | score |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    failing = []
    for module in args.modules:
        meta = ROOT / "mutants" / "analysis" / f"{module.replace('.', '/')}.py.meta"
        if not meta.exists():
            print(f"| {module} | not run | | | | | |")
            failing.append(module)
            continue
        counts = module_counts(meta, equivalent)
        judged = counts["killed"] + counts["survived"] + counts["other"]
        score = counts["killed"] / judged if judged else 1.0
        total = judged + counts["equivalent"]
        print(
            f"| {module} | {total} | {counts['killed']} | {counts['survived']} | {counts['other']} | "
            f"{counts['equivalent']} | {score:.1%} |"
        )
        if score < TARGET:
            failing.append(module)
    if failing:
        print(
            f"\nbelow {TARGET:.0%} of non-equivalent mutants killed (or not run): {', '.join(failing)}", file=sys.stderr
        )
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
