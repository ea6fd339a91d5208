#!/usr/bin/env python3
"""Benchmark: the whole ``apprunner-audit report`` process on every shape of day, against gzip decompression.

``make bench`` runs this script. It generates (once, deterministically: ``scripts/bench_shapes.py``) each
shape of an organization trail's day under ``ROOT/SHAPE/`` and measures, each in a fresh process, with
every file in the page cache:

- ``floor_s``: single-thread ``isal_zlib.decompress(data, 47)`` of every file read from disk, one after the
  other; ``limit_s``: the same in as many threads as the app reads with (``scanpool.read_workers()``);
- ``whole_s``: the whole process as users run it, ``apprunner-audit report --source ROOT/SHAPE --day
  2026-11-28 --format json --out FILE -q`` (every shape is one day), timed from outside, default workers,
  the best of ``BENCH_REPEAT``; ``ratio`` is ``whole_s / floor_s``. Its memory: ``max_rss_mb``, the
  largest process's RSS (``wait4``, through a small launcher: see :data:`LAUNCHER`), and ``tree_peak_mb``,
  the process and its workers sampled as PSS; its CPU, ``whole_cpu_s`` (the process's and its workers'), as
  ``cpu_ratio`` to the floor and ``cpu_bound_ratio`` over the cores: the ratio the run cannot go under;
- ``single_s``: the same command in one process, one reader (``APPRUNNER_AUDIT_READ_PROCESSES=0``,
  ``APPRUNNER_AUDIT_READ_WORKERS=1``);
- the report's totals against what the generator wrote (``check=ok``, else ``check=MISMATCH``);
- ``grouping_remedies_s`` and ``post_scan_s`` (storm only): ``findings_with_remedies`` (the target's part) and the
  whole ``analysis.report.build_report`` from ``analysis.pipeline.collect``'s denials;
- peers: DuckDB (threads = cores), orjson's full parse, stdlib ``gzip`` + ``json.load``, each with its ratio
  to the floor, and ``project_vs_duckdb`` (DuckDB's time over the project's);
- cold imports (``python -X importtime``) of ``--help``, ``explain`` and both Lambda handlers.

Lines are ``key=value``; the last is ``ratio_to_limit=X.XX``, the worst shape's ``whole_s / floor_s``.

    python scripts/bench_day.py [--records N] [--root DIR] [--repeat N] [--shapes a,b]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from isal import isal_zlib

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_shapes beside this file, however it is loaded
import bench_shapes
from bench_shapes import DAY, REPO, Shape, Tally, trail_files
from bench_shapes import DayWriter as DayWriter  # (tests/unit/test_fastscan.py writes records with it)

TARGET_RATIO = 1.25
TARGET_SINGLE = 1.9
TARGET_VS_DUCKDB = 3.0
TARGET_POST_SCAN_S = 2.0
TARGET_RSS_MB = 200
GZIP_WBITS = 47  # zlib: gzip or zlib header, detected
HEAVY_MODULES = ("pandas", "numpy", "jinja2", "boto3")


# --------------------------------------------------------------------------- phases (each in a fresh process)


def measure_floor(folder: Path) -> dict[str, Any]:
    """The floor: read and decompress every file, one thread, one after the other, nothing else."""
    size = 0
    for path in trail_files(folder):
        size += len(isal_zlib.decompress(path.read_bytes(), GZIP_WBITS))
    return {"bytes": size}


def _decompressed_size(path: Path) -> int:
    return len(isal_zlib.decompress(path.read_bytes(), GZIP_WBITS))


def measure_limit(folder: Path) -> dict[str, Any]:
    """The same in as many threads as the app reads with (isal releases the GIL)."""
    from analysis import scanpool

    workers = scanpool.read_workers()
    sizes = scanpool.ordered_map(_decompressed_size, trail_files(folder), workers)
    return {"bytes": sum(sizes), "workers": workers}


def measure_post_scan(folder: Path) -> dict[str, Any]:
    """From the collected denials to the Report object, timed alone, as ``pipeline.analyse`` runs it (the cycle
    collector paused): grouping and remedies (``findings_with_remedies``), then the whole ``build_report`` (they
    again, the timeline, masking and the contract's validation)."""
    from analysis.cycle_collector import no_cycle_collection
    from analysis.model import Options, Window
    from analysis.pipeline import collect
    from analysis.report import build_report, findings_with_remedies
    from analysis.sources import ReadOptions, sources_from_spec

    window, options = Window(DAY, DAY + timedelta(days=1)), Options()
    with no_cycle_collection():
        denials, statuses = collect(sources_from_spec(str(folder), window, ReadOptions(service="apprunner")), window)
        started = time.perf_counter()
        findings_with_remedies(denials, options)
        grouped = time.perf_counter()
        report = build_report(
            denials=denials,
            sources=[s.as_status() for s in statuses],
            window=window,
            generated_at=DAY + timedelta(days=1),
            options=options,
        )
        built = time.perf_counter()
    return {
        "seconds": built - grouped,
        "grouping_remedies_s": grouped - started,
        "denials": len(denials),
        "findings": report.totals.findings,
    }


def measure_orjson(folder: Path) -> dict[str, Any]:
    records = 0
    for path in trail_files(folder):
        records += len(orjson.loads(isal_zlib.decompress(path.read_bytes(), GZIP_WBITS))["Records"])
    return {"records_read": records}


def measure_json_load(folder: Path) -> dict[str, Any]:
    """What a plain Python script does: the standard library's gzip and json."""
    records = 0
    for path in trail_files(folder):
        with gzip.open(path) as stream:
            records += len(json.load(stream)["Records"])
    return {"records_read": records}


def measure_duckdb(folder: Path) -> dict[str, Any]:
    """DuckDB at its best measured here: threads = cores, ``read_json`` with the one column it needs (typed).
    ``read_json_objects`` + ``from_json`` counts the same records and was no faster (10.7 s against 10.4 s on
    the concentrated day, 1.2x slower on a 60,000-record one)."""
    import duckdb

    pattern = str(folder / "AWSLogs" / "**" / "*.json.gz")
    columns = "{'Records': 'STRUCT(errorCode VARCHAR, eventSource VARCHAR)[]'}"
    denial = "(r.errorCode LIKE 'AccessDenied%' OR r.errorCode LIKE '%UnauthorizedOperation')"
    query = (
        f"SELECT count(*), count(*) FILTER (WHERE {denial} AND r.eventSource = 'apprunner.amazonaws.com') "
        f"FROM (SELECT unnest(Records) AS r FROM read_json('{pattern}', columns={columns}, format='auto', "
        f"records='true', maximum_object_size=268435456))"
    )
    connection = duckdb.connect()
    connection.execute(f"SET threads = {os.cpu_count() or 1}")
    records, denials = connection.execute(query).fetchone() or (0, 0)
    return {"records_read": records, "denials": denials}


PHASES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "floor": measure_floor,
    "limit": measure_limit,
    "post-scan": measure_post_scan,
    "orjson": measure_orjson,
    "json-load": measure_json_load,
    "duckdb": measure_duckdb,
}
PEERS = ("duckdb", "orjson", "json-load")


def run_phase(phase: str, folder: Path) -> None:
    """In a fresh process: time one phase, print its figures as JSON (a phase may time a part itself)."""
    started = time.perf_counter()
    figures = PHASES[phase](folder)
    figures.setdefault("seconds", time.perf_counter() - started)
    print(json.dumps(figures))


def timed_phase(phase: str, folder: Path, repeat: int = 1) -> dict[str, Any]:
    """The best of ``repeat`` fresh processes running ``phase`` (``{"error": ...}`` if every one failed)."""
    runs = []
    for _ in range(repeat):
        command = [sys.executable, __file__, "--phase", phase, "--root", str(folder)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
        if done.returncode:
            lines = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
            runs.append({"error": lines[-1]})
        else:
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    good = [r for r in runs if "error" not in r]
    return min(good, key=lambda r: r["seconds"]) if good else runs[0]


# --------------------------------------------------------------------------- the whole process


@dataclass
class Run:
    seconds: float
    max_rss_mb: float
    tree_peak_mb: float | None
    totals: dict[str, int] | None
    error: str | None = None
    cpu_s: float = 0.0  # CPU time of the process and its workers


def usable_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def apprunner_audit() -> list[str]:
    script = Path(sys.executable).parent / "apprunner-audit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "analysis"]


# wait4's ru_maxrss of a process started straight from this one is wrong: subprocess starts it by vfork, and the
# exec that follows records this process's own high-water mark as the child's (a `python -c pass` started after
# this process held 300 MB reports 313 MB). So a small launcher starts the command, times it and reports its
# wait4 (the launcher's mark, some 10 MB, is the floor of what it reports).
LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
seconds = time.perf_counter() - started
cpu = usage.ru_utime + usage.ru_stime  # the process's and its workers' (waited for, so counted)
print(json.dumps({"seconds": seconds, "status": status, "max_rss_kb": usage.ru_maxrss, "cpu_s": cpu}))
"""


def run_whole(folder: Path, env: dict[str, str], sample: bool = False) -> Run:
    """``apprunner-audit report`` on ``folder`` as users run it, timed from outside (by :data:`LAUNCHER`); with
    ``sample`` its tree's memory is sampled every 50 ms (which costs time: sampled runs are not the timed ones)."""
    with tempfile.TemporaryDirectory() as scratch:
        out, errors = Path(scratch) / "report.json", Path(scratch) / "stderr"
        command = [*apprunner_audit(), "report", "--source", str(folder), "--day", DAY.strftime("%Y-%m-%d")]
        command += ["--format", "json", "--out", str(out), "-q"]
        with errors.open("w") as stderr:
            launcher = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, *command],
                stdout=subprocess.PIPE,
                stderr=stderr,
                env={**os.environ, **env},
            )
            peak = _sampled_peak(launcher) if sample else None
            measured = json.loads(launcher.communicate()[0])
        code = os.waitstatus_to_exitcode(measured["status"])
        seconds, rss, cpu = measured["seconds"], measured["max_rss_kb"] / 1024, measured["cpu_s"]
        if code:
            message = (errors.read_text().strip().splitlines() or [f"exit {code}"])[-1]
            return Run(seconds, rss, peak, None, message, cpu)
        totals = json.loads(out.read_text())["totals"]
    return Run(seconds, rss, peak, totals, cpu_s=cpu)


def _sampled_peak(launcher: subprocess.Popen[bytes]) -> float:
    """The largest PSS of the command's process tree (the launcher's own left out), sampled until it ends."""
    peak = 0.0
    while launcher.poll() is None:
        peak = max(peak, sum(_pss_kb(p) for p in _tree(launcher.pid)[1:]) / 1024)
        time.sleep(0.05)
    return peak


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.parent.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree.extend(frontier)
    return tree


def _pss_kb(pid: int) -> int:
    """Proportional set size (shared pages split between the processes sharing them), else RSS."""
    for name, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            for line in Path(name).read_text().splitlines():
                if line.startswith(key):
                    return int(line.split()[1])
        except OSError:
            continue
    return 0


def best_whole(folder: Path, repeat: int, env: dict[str, str] | None = None) -> Run:
    runs = [run_whole(folder, env or {}) for _ in range(repeat)]
    good = [r for r in runs if r.error is None]
    return min(good, key=lambda r: r.seconds) if good else runs[0]


# --------------------------------------------------------------------------- one shape's block


@dataclass
class ShapeResult:
    name: str
    ratio: float | None
    mismatches: int


def bench_shape(root: Path, shape: Shape, repeat: int) -> Iterator[str | ShapeResult]:
    folder = root / shape.name
    written = bench_shapes.generate(root, shape)
    files = trail_files(folder)
    for path in files:  # the page cache holds every file for every phase alike
        path.read_bytes()
    tag = f"shape={shape.name}"
    yield f"== {tag} ({shape.what})"
    floor = timed_phase("floor", folder, repeat)
    limit = timed_phase("limit", folder, repeat)
    if "error" in floor or "error" in limit:
        yield f"{tag} floor=FAILED ({floor.get('error') or limit.get('error')})"
        yield ShapeResult(shape.name, None, 1)
        return
    yield (
        f"{tag} files={len(files)} json_mb={floor['bytes'] / 1e6:.0f} records={written.records} "
        f"denials={written.denials} findings={len(written.findings)} (as the generator wrote them)"
    )
    yield f"{tag} floor_s={floor['seconds']:.2f} limit_s={limit['seconds']:.2f} limit_workers={limit['workers']}"
    whole = best_whole(folder, repeat)
    mismatches = 0
    if whole.error:
        yield f"{tag} whole=FAILED ({whole.error})"
        mismatches += 1
    else:
        ratio = whole.seconds / floor["seconds"]
        yield f"{tag} whole_s={whole.seconds:.2f} ratio={ratio:.2f} (target {TARGET_RATIO}) best of {repeat}"
        cores = usable_cores()
        yield (
            f"{tag} whole_cpu_s={whole.cpu_s:.2f} cpu_ratio={whole.cpu_s / floor['seconds']:.2f} "
            f"cpu_bound_ratio={whole.cpu_s / cores / floor['seconds']:.2f} (the CPU of the process and its workers, "
            f"and over the {cores} cores: the lowest ratio that CPU allows)"
        )
        check = list(check_totals(whole.totals or {}, written))
        mismatches += len(check)
        yield f"{tag} check=ok" if not check else f"{tag} check=MISMATCH !!! " + " ".join(check)
    yield from memory_lines(tag, folder)
    single = best_whole(folder, 1, {"APPRUNNER_AUDIT_READ_PROCESSES": "0", "APPRUNNER_AUDIT_READ_WORKERS": "1"})
    yield (
        f"{tag} single_s={single.seconds:.2f} single_ratio={single.seconds / floor['seconds']:.2f} "
        f"(target {TARGET_SINGLE}; one process, one reader)"
        if single.error is None
        else f"{tag} single=FAILED ({single.error})"
    )
    if shape.denials == "storm":
        yield post_scan_line(tag, folder)
    if shape.peers:
        yield from peer_lines(tag, folder, floor["seconds"], None if whole.error else whole.seconds)
    yield ShapeResult(shape.name, None if whole.error else whole.seconds / floor["seconds"], mismatches)


def check_totals(totals: dict[str, int], written: Tally) -> Iterator[str]:
    expected = {"records_read": written.records, "denials": written.denials, "findings": len(written.findings)}
    for key, value in expected.items():
        if totals.get(key) != value:
            yield f"{key}={totals.get(key)} written={value}"


def memory_lines(tag: str, folder: Path) -> Iterator[str]:
    sampled = run_whole(folder, {}, sample=True)
    yield (
        f"{tag} max_rss_mb={sampled.max_rss_mb:.0f} tree_peak_mb={sampled.tree_peak_mb or 0:.0f} "
        f"(target {TARGET_RSS_MB}; largest process's RSS, the process tree's PSS sampled)"
    )


def post_scan_line(tag: str, folder: Path) -> str:
    figures = timed_phase("post-scan", folder)
    if "error" in figures:
        return f"{tag} post_scan=FAILED ({figures['error']})"
    return (
        f"{tag} grouping_remedies_s={figures['grouping_remedies_s']:.2f} (target {TARGET_POST_SCAN_S}) "
        f"post_scan_s={figures['seconds']:.2f} (build_report: grouping, remedies, masking, validation; from "
        f"collect's {figures['denials']} denials to {figures['findings']} findings)"
    )


def peer_lines(tag: str, folder: Path, floor: float, whole: float | None) -> Iterator[str]:
    for name in PEERS:
        figures = timed_phase(name, folder)
        key = "peer_" + name.replace("-", "_")
        if "error" in figures:
            yield f"{tag} {key}=FAILED ({figures['error']})"
            continue
        yield (
            f"{tag} {key}_s={figures['seconds']:.2f} {key}_ratio={figures['seconds'] / floor:.2f} "
            f"records_read={figures['records_read']}"
        )
        if name == "duckdb" and whole:
            speedup = figures["seconds"] / whole
            yield f"{tag} project_vs_duckdb={speedup:.2f} (target {TARGET_VS_DUCKDB}; DuckDB's time over whole_s)"


# --------------------------------------------------------------------------- cold imports


EXPLAIN_RECORD = {
    "eventVersion": "1.09",
    "userIdentity": {
        "type": "AssumedRole",
        "principalId": "AROA111122223333DEPLOY:GitHubActions",
        "arn": "arn:aws:sts::111122223333:assumed-role/Deploy/GitHubActions",
        "accountId": "111122223333",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/Deploy", "userName": "Deploy"}
        },
    },
    "eventTime": "2026-11-28T10:00:00Z",
    "eventSource": "apprunner.amazonaws.com",
    "eventName": "UpdateService",
    "awsRegion": "eu-west-1",
    "errorCode": "AccessDeniedException",
    "errorMessage": "User: arn:aws:sts::111122223333:assumed-role/Deploy/GitHubActions is not authorized to perform: "
    "apprunner:UpdateService on resource: arn:aws:apprunner:eu-west-1:111122223333:service/web/8fe1e10304f84fd2 "
    "because no identity-based policy allows the apprunner:UpdateService action",
    "eventID": "5b1f0e0c-1d2e-4f3a-9b8c-7d6e5f4a3b2c",
    "recipientAccountId": "111122223333",
}


def cli_code(*arguments: str) -> str:
    return (
        f"import sys; from analysis.cli import main; sys.argv = ['apprunner-audit']; sys.exit(main({list(arguments)}))"
    )


def import_targets(record: Path) -> dict[str, tuple[str, Path]]:
    """Each cold start measured: the Python code run and the folder it runs in."""
    return {
        "help": (cli_code("--help"), REPO),
        "explain": (cli_code("explain", str(record), "--format", "json"), REPO),
        "daily_report": ("import app", REPO / "functions" / "daily_report"),
        "denial_alert": ("import app", REPO / "functions" / "denial_alert"),
    }


def cold_import(code: str, folder: Path) -> tuple[float, float, set[str]]:
    """(import ms as importtime sums its top-level imports, the process's wall ms, heavy modules imported)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    env["POWERTOOLS_TRACE_DISABLED"] = "true"
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=folder, env=env, capture_output=True, text=True
    )
    wall = (time.perf_counter() - started) * 1000
    if done.returncode:
        raise RuntimeError(f"{code!r} in {folder} failed: {done.stderr.strip().splitlines()[-1:]}")
    top_level = [int(m.group(1)) for m in re.finditer(r"\|\s*(\d+)\s*\| (\S+)$", done.stderr, re.M)]
    heavy = {name for name in HEAVY_MODULES if re.search(rf"\|\s+{name}$", done.stderr, re.M)}
    return sum(top_level) / 1000, wall, heavy


def import_lines(root: Path, repeat: int) -> Iterator[str]:
    record = root / "explain-record.json"
    record.write_text(json.dumps(EXPLAIN_RECORD))
    for name, (code, folder) in import_targets(record).items():
        runs = [cold_import(code, folder) for _ in range(repeat)]
        heavy = " ".join(f"{module}={'yes' if module in runs[0][2] else 'no'}" for module in HEAVY_MODULES)
        yield (
            f"import={name} import_ms={statistics.median(r[0] for r in runs):.0f} "
            f"wall_ms={statistics.median(r[1] for r in runs):.0f} (median of {repeat}) {heavy}"
        )


# --------------------------------------------------------------------------- the table


def bench(root: Path, chosen: list[Shape], repeat: int, import_repeat: int) -> Iterator[str]:
    results: list[ShapeResult] = []
    for shape in chosen:
        for item in bench_shape(root, shape, repeat):
            if isinstance(item, ShapeResult):
                results.append(item)
            else:
                yield item
    yield "== cold imports (python -X importtime)"
    yield from import_lines(root, import_repeat)
    mismatches = sum(r.mismatches for r in results)
    yield f"mismatches={mismatches}" + (" !!! the report's totals differ from what was written" if mismatches else "")
    measured = [r for r in results if r.ratio is not None]
    worst = max(measured, key=lambda r: r.ratio or 0.0) if measured else None
    if worst is None:
        yield "worst_shape=none (every whole run failed)"
        yield "ratio_to_limit=nan"
        return
    yield f"worst_shape={worst.name} (whole_s / floor_s; target {TARGET_RATIO})"
    yield f"ratio_to_limit={worst.ratio:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=int(os.environ.get("BENCH_RECORDS", "1000000")))
    parser.add_argument("--root", type=Path, default=Path(os.environ.get("BENCH_ROOT", REPO / "out" / "bench")))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", "2")))
    parser.add_argument("--import-repeat", type=int, default=int(os.environ.get("BENCH_IMPORT_REPEAT", "5")))
    parser.add_argument("--shapes", default=os.environ.get("BENCH_SHAPES", ""), help="a,b (default: every shape)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args(argv)
    if args.phase:
        run_phase(args.phase, args.root)
        return 0
    every = bench_shapes.shapes(args.records)
    names = [n.strip() for n in args.shapes.split(",") if n.strip()] or list(every)
    unknown = sorted(set(names) - set(every))
    if unknown:
        parser.error(f"unknown shape(s) {', '.join(unknown)}: choose from {', '.join(every)}")
    args.root.mkdir(parents=True, exist_ok=True)
    if args.generate_only:
        for name in names:
            bench_shapes.generate(args.root, every[name])
        return 0
    failed = False
    for line in bench(args.root, [every[n] for n in names], args.repeat, args.import_repeat):
        print(line, flush=True)
        failed = failed or (line.startswith("mismatches=") and line != "mismatches=0")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
