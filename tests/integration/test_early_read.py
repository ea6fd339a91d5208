"""A folder's files start loading in worker processes before the report's imports (sources.files.start_reading):
the source that reads the folder takes them, and what it reads is what a read started late gives; what no source
takes is stopped, workers and all.

Worker processes start for any folder with APPRUNNER_AUDIT_READ_PROCESSES=1 (else only for many large files).
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from analysis import cli, identifiers, settings
from analysis.cli import main
from analysis.records import Malformed, Skipped
from analysis.sources import files
from analysis.sources.files import FileSource, start_reading, stop_early_reads
from tests import factories as f

pytestmark = pytest.mark.integration


def _write_folder(root: Path, count: int = 40) -> Path:
    """``count`` trail files of 30 records (every tenth file with an App Runner denial), one file that is not
    JSON, and a JSON Lines file: the fast path, the full parse and a malformed file."""
    folder = root / "trail"
    for number in range(count):
        records = [f.record("ListServices", error_code=None, error_message=None) for _ in range(29)]
        denied = f.record("DeleteService") if number % 10 == 0 else f.record("ListServices", error_code=None)
        records.append(denied | {"eventID": f"event-{number}"})
        path = folder / f"{number:03d}" / f"file-{number:03d}.json.gz"
        path.parent.mkdir(parents=True)
        path.write_bytes(gzip.compress(json.dumps(f.trail_file(records), separators=(",", ":")).encode()))
    (folder / "broken.json").write_text("{not json")
    lines = [json.dumps(f.record("UpdateService") | {"eventID": "from-lines"})]
    (folder / "lines.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _items(items: Any) -> list[Any]:
    return [item if isinstance(item, (Malformed, Skipped)) else item["eventID"] for item in items]


@pytest.fixture
def processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPRUNNER_AUDIT_READ_PROCESSES", "1")


@pytest.fixture(autouse=True)
def _no_early_read_left() -> Any:
    yield
    stop_early_reads()
    assert not files._early_reads


def _workers_end() -> list[Any]:
    children = multiprocessing.active_children()
    for child in children:
        child.join(timeout=10)
    return [child for child in children if child.is_alive()]


class _Told:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int, int]] = []

    def files(self, done: int, total: int, bytes_done: int, bytes_total: int) -> None:
        self.calls.append((done, total, bytes_done, bytes_total))


def test_a_folder_read_early_gives_what_a_late_read_gives(tmp_path, processes, monkeypatch):
    folder = _write_folder(tmp_path)
    late = _items(FileSource(folder, service="apprunner").read())
    start_reading(folder, "apprunner")
    assert (folder, "apprunner", None) in files._early_reads

    def not_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the files were read again, not taken from the early read")

    monkeypatch.setattr(files, "read_files", not_again)
    told = _Told()
    early = _items(FileSource(folder, service="apprunner", progress=told).read())
    assert early == late
    assert not files._early_reads, "the source took the early read"
    assert [c[0] for c in told.calls] == list(range(1, 43)) and told.calls[-1][1] == 42
    assert told.calls[-1][2] == told.calls[-1][3] == sum(p.stat().st_size for p in folder.rglob("*.*"))
    assert sum(isinstance(i, Malformed) for i in early) == 1 and "from-lines" in early
    assert [i for i in early if isinstance(i, str) and i.startswith("event-")] == [
        f"event-{n}" for n in range(0, 40, 10)
    ]


def test_an_early_read_for_another_service_is_not_taken_and_its_workers_end(tmp_path, processes):
    folder = _write_folder(tmp_path)
    start_reading(folder, "s3")
    assert multiprocessing.active_children(), "its workers are loading"
    late = FileSource(folder, service="apprunner").read()
    assert next(late) and not files._early_reads, "a source that cannot take it stops it as it starts"
    assert "event-0" in _items(late)
    assert not _workers_end()


def test_a_folder_not_worth_processes_is_not_read_early(tmp_path, monkeypatch):
    monkeypatch.setenv("APPRUNNER_AUDIT_READ_PROCESSES", "0")
    start_reading(_write_folder(tmp_path), "apprunner")
    assert not files._early_reads


def _report(folder: Path, out: Path, *extra: str) -> int:
    return main(["report", "--source", str(folder), "--format", "json", "--out", str(out), "-q", *extra])


def _document(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text())
    document.pop("generated_at")
    return document


def test_the_report_of_a_folder_read_early_is_the_report_of_one_read_in_threads(tmp_path, monkeypatch):
    folder = _write_folder(tmp_path)
    monkeypatch.setenv("APPRUNNER_AUDIT_READ_PROCESSES", "0")
    assert _report(folder, tmp_path / "threads.json") == 0
    monkeypatch.setenv("APPRUNNER_AUDIT_READ_PROCESSES", "1")
    calls: list[tuple[Path, str | None]] = []
    monkeypatch.setattr(files, "start_reading", lambda path, service: calls.append((path, service)) or None)
    assert _report(folder, tmp_path / "unused.json") == 0
    assert calls == [(folder, "apprunner")], "the report starts its first folder early, for the audited service"
    monkeypatch.undo()
    monkeypatch.setenv("APPRUNNER_AUDIT_READ_PROCESSES", "1")

    def not_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the report read the folder again instead of taking the early read")

    monkeypatch.setattr(files, "read_files", not_again)
    assert _report(folder, tmp_path / "early.json", "--service", "APPRUNNER") == 0
    early, threads = _document(tmp_path / "early.json"), _document(tmp_path / "threads.json")
    assert early == threads and early["totals"]["denials"] == 5


def test_the_audited_service_of_the_environment_is_the_one_read_early(tmp_path, monkeypatch, processes):
    folder = _write_folder(tmp_path)
    calls: list[tuple[Path, str | None]] = []
    monkeypatch.setattr(files, "start_reading", lambda path, service: calls.append((path, service)) or None)
    monkeypatch.setenv(settings.ENVIRONMENT["service"], " S3 ")
    assert _report(folder, tmp_path / "r.json") == 0
    monkeypatch.setenv(settings.ENVIRONMENT["service"], "  ")
    assert _report(folder, tmp_path / "r.json", "--day", "2026-11-28") == 0
    assert calls == [(folder, "s3"), (folder, "apprunner")]


def test_a_report_that_fails_its_checks_stops_the_early_read(tmp_path, processes):
    folder = _write_folder(tmp_path)
    assert _report(folder, tmp_path / "r.json", "--tz", "Nowhere/Atlantis") == 2
    assert not files._early_reads and not _workers_end()


def test_the_early_reads_names_for_sources_and_service_are_those_of_the_modules_it_does_not_import():
    assert cli.AWS_SOURCE_PREFIXES == identifiers.AWS_PREFIXES
    assert settings.ENVIRONMENT["service"] == cli.SERVICE_VARIABLE


def test_an_early_read_that_cannot_start_leaves_the_run_to_read_the_folder(tmp_path, monkeypatch, processes):
    def no_fork(*args: Any, **kwargs: Any) -> None:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(files, "start_reading", no_fork)
    folder = _write_folder(tmp_path)
    assert _report(folder, tmp_path / "r.json") == 0
    assert _document(tmp_path / "r.json")["totals"]["denials"] == 5
