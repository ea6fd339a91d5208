"""`make bench` runs end to end: on a small generated day every phase reports its figure and they agree on what
was read (the report phase once failed on a renamed field behind a KeyError, and the table stopped halfway).

Only the table's shape and counts are checked: times are measured by `make bench`, never asserted in tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RECORDS = 20_000


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    day = tmp_path_factory.mktemp("bench")
    command = [sys.executable, "scripts/bench_day.py", "--records", str(RECORDS), "--root", str(day), "--repeat", "1"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    lines = done.stdout.strip().splitlines()
    assert lines[-1].startswith("ratio_to_limit="), "the last line is the ratio to the limit"
    return {line.split("=", 1)[0]: line for line in lines}


def test_every_phase_reports_its_figure(table):
    for phase in ("decompress_s", "decompress_parallel_s", "scan_s", "scan_threads_s", "report_s", "peer_orjson_s"):
        assert re.match(rf"{phase}=\d+\.\d\d ", table[phase]), table.get(phase)
    assert "failed" not in "\n".join(table.values())


def test_the_scan_and_the_peers_read_every_record(table):
    for phase in ("scan_s", "peer_orjson_s", "peer_duckdb_s"):
        assert f"records_read={RECORDS}" in table[phase], table[phase]
    assert table["files"].startswith("files=2830 ")  # 2,830 trail files whatever the day's size (benchmarks/README.md)
