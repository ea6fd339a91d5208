"""`make bench` runs end to end on small days of every shape: every line of the table is there, nothing failed, and
the counts agree with the generated files, counted here a second way (stdlib gzip + json, by hand rules).

Only the table's shape and counts are checked: times are measured by `make bench`, never asserted in tests.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RECORDS = 20_000
SHAPES = ("concentrated", "spread", "storm", "pretty", "large", "3x")
# BENCH_RECORDS=20000 by the shapes' definitions (benchmarks/README.md): records per shape, by hand
RECORDS_BY_SHAPE = {"concentrated": 20_000, "storm": 6_000, "pretty": 4_000, "large": 4_000 + 400, "3x": 60_000}
DENIAL_CODES = {"AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("bench")
    command = [sys.executable, "scripts/bench_day.py", "--records", str(RECORDS), "--root", str(root)]
    command += ["--repeat", "1", "--import-repeat", "1"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return root, done.stdout.strip().splitlines()


@pytest.fixture(scope="module")
def table(run: tuple[Path, list[str]]) -> dict[str, dict[str, str]]:
    """Each shape's key=value figures (and the imports', the summary's, under their own names)."""
    figures: dict[str, dict[str, str]] = {}
    for line in run[1]:
        if line.startswith("=="):
            continue
        pairs = dict(re.findall(r"(\w+)=(\S+)", line))
        section = pairs.get("shape") or pairs.get("import") or "summary"
        figures.setdefault(section, {}).update(pairs)
    return figures


def read_day(folder: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(folder.rglob("*.json.gz")):
        with gzip.open(path) as stream:
            records.extend(json.load(stream)["Records"])
    return records


def app_runner_denials(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["eventSource"] == "apprunner.amazonaws.com" and r.get("errorCode") in DENIAL_CODES]


def caller(identity: dict[str, Any]) -> str:
    """docs/CONTRACT.md's principal: an assumed role's issuer, a user's ARN, a service by name."""
    if identity["type"] == "AWSService":
        return f"service:{identity['invokedBy']}"
    return str(identity.get("sessionContext", {}).get("sessionIssuer", {}).get("arn") or identity["arn"])


def findings_of(denials: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(caller(r["userIdentity"]), r["recipientAccountId"]) for r in denials}


def test_the_last_line_is_the_worst_shapes_ratio(run, table):
    lines = run[1]
    assert re.fullmatch(r"ratio_to_limit=\d+\.\d\d", lines[-1]), lines[-1]
    assert lines[-2].startswith("worst_shape=") and table["summary"]["worst_shape"] in SHAPES
    ratios = {shape: float(table[shape]["ratio"]) for shape in SHAPES}
    assert lines[-1] == f"ratio_to_limit={max(ratios.values()):.2f}"
    assert max(ratios, key=ratios.__getitem__) == table["summary"]["worst_shape"]


def test_every_shape_has_every_figure_and_nothing_failed(run, table):
    assert "FAILED" not in "\n".join(run[1]) and table["summary"]["mismatches"] == "0"
    for shape in SHAPES:
        figures = table[shape]
        for key in ("files", "json_mb", "floor_s", "limit_s", "whole_s", "ratio", "single_s", "single_ratio"):
            assert re.fullmatch(r"\d+(\.\d\d)?", figures[key]), (shape, key, figures.get(key))
        assert figures["check"] == "ok", shape
        assert int(figures["max_rss_mb"]) > 0 and int(figures["tree_peak_mb"]) > 0, shape
        cpu, floor = float(figures["whole_cpu_s"]), float(figures["floor_s"])
        rounding = 0.005 / floor + 0.005 / cpu + 0.005  # each figure is printed to 2 decimals
        assert float(figures["cpu_ratio"]) == pytest.approx(cpu / floor, rel=rounding), shape
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        assert float(figures["cpu_bound_ratio"]) == pytest.approx(cpu / cores / floor, rel=rounding), shape
    for shape in set(SHAPES) - {"3x"}:  # the 3x day is for memory: no peers
        for key in ("peer_duckdb_s", "peer_orjson_s", "peer_json_load_s", "project_vs_duckdb"):
            assert re.fullmatch(r"\d+\.\d\d", table[shape][key]), (shape, key)
    assert "peer_duckdb_s" not in table["3x"]
    assert re.fullmatch(r"\d+\.\d\d", table["storm"]["post_scan_s"])
    assert re.fullmatch(r"\d+\.\d\d", table["storm"]["grouping_remedies_s"])


def test_cold_imports_are_reported(table):
    for name in ("help", "explain", "daily_report", "denial_alert"):
        figures = table[name]
        assert int(figures["import_ms"]) > 0 and int(figures["wall_ms"]) > 0, name
        assert {figures[m] for m in ("pandas", "numpy", "jinja2", "boto3")} <= {"yes", "no"}, name


@pytest.mark.parametrize("shape", SHAPES)
def test_the_counts_are_those_of_the_files(run, table, shape):
    records = read_day(run[0] / shape)
    denials = app_runner_denials(records)
    figures = table[shape]
    assert int(figures["records"]) == len(records) == RECORDS_BY_SHAPE.get(shape, len(records))
    assert int(figures["denials"]) == len(denials) > 0
    assert int(figures["findings"]) == len(findings_of(denials))
    peers = [line for line in run[1] if line.startswith(f"shape={shape} peer_")]
    assert len(peers) == (0 if shape == "3x" else 3)
    for line in peers:  # every peer read every record
        assert f" records_read={len(records)}" in line, line


def test_spread_denials_are_in_every_kind_of_caller(run):
    denials = app_runner_denials(read_day(run[0] / "spread"))
    callers = {caller(r["userIdentity"]) for r in denials}
    assert any(":user/" in c for c in callers)
    assert any("AWSReservedSSO_" in c for c in callers)
    assert any(r["userIdentity"]["accountId"] != r["recipientAccountId"] for r in denials)  # cross-account
    assert len({r["eventName"] for r in denials}) > 5  # App Runner's actions, not five


def test_storm_callers_are_denied_about_ten_times_each(run):
    denials = app_runner_denials(read_day(run[0] / "storm"))
    per_finding = Counter((caller(r["userIdentity"]), r["recipientAccountId"]) for r in denials)
    assert 8 <= len(denials) / len(per_finding) <= 12  # 2,000 denials of 200 callers


def test_pretty_files_are_indented_and_reordered(run):
    path = next((run[0] / "pretty").rglob("*.json.gz"))
    text = gzip.decompress(path.read_bytes()).decode()
    assert text.startswith('{\n  "Records": [\n    {\n')
    assert not re.match(r'\s*"eventVersion"', text.split("{", 2)[2])  # eventVersion not the first key


def test_the_large_day_holds_one_large_file(run):
    sizes = sorted(
        len(json.loads(gzip.decompress(p.read_bytes()))["Records"]) for p in (run[0] / "large").rglob("*.json.gz")
    )
    assert sizes[-1] == RECORDS // 50 and sizes[-2] < RECORDS // 50 // 4


def test_the_launcher_reports_the_commands_memory_not_the_benchs_own():
    """wait4 on a child started straight from a process that once held 400 MB reports at least 400 MB, whatever the
    child used (vfork, then exec, records the parent's high-water mark); through the bench's launcher, a child that
    uses a few MB reports a few MB."""
    import importlib.util
    import os

    spec = importlib.util.spec_from_file_location("bench_day_launcher", ROOT / "scripts" / "bench_day.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_day_launcher", bench)  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    held = bytearray(400 * 1024 * 1024)
    held[::4096] = b"\1" * len(range(0, len(held), 4096))  # every page touched: this process's mark is >= 400 MB
    del held
    tiny = [sys.executable, "-c", "pass"]
    direct = subprocess.Popen(tiny)
    _, _, usage = os.wait4(direct.pid, 0)
    assert usage.ru_maxrss / 1024 >= 400  # the pitfall the launcher avoids is real here
    launched = subprocess.run([sys.executable, "-c", bench.LAUNCHER, *tiny], capture_output=True, check=True)
    measured = json.loads(launched.stdout)
    assert measured["status"] == 0
    assert 1 <= measured["max_rss_kb"] / 1024 < 100
