"""An empty source must not look like success (issue 11): a folder with no trail file, records that are no CloudTrail
records, or records none of which falls in the window are a warning on standard error (with -q too) and in the
run's warnings (what the Lambda function logs), and the run still exits 0 (docs/CONTRACT.md: 0 on success).
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from analysis import cli, service
from analysis.settings import load_settings
from analysis.sources.files import bundled_sample_path
from tests import factories as f

pytestmark = pytest.mark.unit

PREFIX = "apprunner-audit: warning: "


def _report(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[dict[str, Any], list[str]]:
    code = cli.main(["report", *arguments])
    captured = capsys.readouterr()
    assert code == cli.EXIT_OK, captured.err
    return json.loads(captured.out), captured.err.splitlines()


def _trail(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text(json.dumps(f.trail_file(list(records))))  # ", " between tokens: read in full, not fast-pathed
    return path


def test_a_folder_without_a_trail_file_is_a_warning(capsys, tmp_path):
    (tmp_path / "README.md").write_text("# notes\n")
    (tmp_path / "notes.txt").write_text("{}")
    report, lines = _report(capsys, "--source", str(tmp_path))
    expected = f"{tmp_path}: no trail file in the folder (none named *.json, *.json.gz, *.jsonl, *.jsonl.gz)"
    assert lines == [PREFIX + expected]
    assert report["sources"][0]["status"] == "ok" and report["sources"][0]["problems"] == [expected]


def test_a_report_given_as_a_source_is_no_cloudtrail_record(capsys, tmp_path):
    previous = tmp_path / "previous-report.json"
    previous.write_text(json.dumps({"schema_version": "1", "findings": [], "totals": {"records_read": 4739}}))
    report, lines = _report(capsys, "--source", str(previous))
    assert report["totals"]["records_read"] == 1  # one JSON object: one record, as before
    assert lines == [
        f"{PREFIX}{previous}: none of its 1 record(s) is a CloudTrail record (an object with eventSource and "
        "eventName or eventTime): is it the trail's data?"
    ]


def test_records_none_of_which_falls_in_the_window_are_a_warning_naming_their_span(capsys, tmp_path):
    trail = _trail(
        tmp_path / "trail.json",
        f.record(event_time="2026-11-28T09:15:00Z"),
        f.record("ListServices", error_code=None, event_time="2026-11-28T23:59:51Z"),
        f.record("ListServices", error_code=None, event_time="2026-11-28T00:00:03Z"),
    )
    report, lines = _report(capsys, "--source", str(trail), "--day", "2025-11-28")
    assert report["totals"]["denials"] == 0
    assert lines == [
        f"{PREFIX}{trail}: no record in the window 2025-11-28T00:00:00Z..2025-11-29T00:00:00Z; the 3 record(s) "
        "read span 2026-11-28T00:00:03Z..2026-11-28T23:59:51Z"
    ]


def test_the_sample_in_the_wrong_year_is_a_warning_even_with_quiet(capsys, tmp_path):
    """The sample's trail files take the fast path: only its possible denials are read, which is what is said."""
    times = sorted(
        record["eventTime"]
        for path in bundled_sample_path().rglob("*.json.gz")
        for record in json.loads(gzip.decompress(path.read_bytes()))["Records"]
        if record.get("eventSource") == "apprunner.amazonaws.com" and record.get("errorCode", "").startswith("Access")
    )
    code = cli.main(["report", "-q", "--source", "sample", "--day", "2025-11-28", "--out", str(tmp_path / "r.json")])
    lines = capsys.readouterr().err.splitlines()
    assert code == cli.EXIT_OK
    assert len(lines) == 1 and lines[0].startswith(
        f"{PREFIX}sample: no denial in the window 2025-11-28T00:00:00Z..2025-11-29T00:00:00Z; its possible denials "
        f"span {times[0]}..{times[-1]} ("
    ), lines


@pytest.mark.parametrize(
    "window",
    [
        ["--day", "2026-11-28"],
        [],  # no window: nothing to miss
        ["--since", "2026-11-28T09:00:00Z", "--until", "2026-11-28T09:10:00Z"],  # a quiet hour inside the day
    ],
)
def test_records_in_or_around_the_window_say_nothing(capsys, window):
    _, lines = _report(capsys, "--source", "sample", *window)
    assert lines == []


def test_a_quiet_window_among_records_read_in_full_says_nothing(capsys, tmp_path):
    trail = _trail(
        tmp_path / "trail.json",
        f.record(event_time="2026-11-28T09:15:00Z"),
        f.record("ListServices", error_code=None, event_time="2026-11-28T12:00:00Z"),
    )
    report, lines = _report(capsys, "--source", str(trail), "--since", "2026-11-28T11:00:00Z")
    assert report["totals"]["denials"] == 0 and lines == []


def test_the_run_s_warnings_carry_it_for_the_lambda_function(tmp_path):
    run = service.run_window(
        service.WindowRequest(sources=(str(tmp_path),)), load_settings(), now=datetime(2026, 11, 29, tzinfo=UTC)
    )
    assert run.warnings() == [
        f"{tmp_path}: no trail file in the folder (none named *.json, *.json.gz, *.jsonl, *.jsonl.gz)"
    ]
