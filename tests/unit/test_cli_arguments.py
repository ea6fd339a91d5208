"""Arguments the command line refuses before doing anything: one line on standard error, exit 2, no traceback
(issue 15): a --ledger that is a file or holds files no run wrote, a --day or --since/--until outside the
days CloudTrail can have logged, an unbounded --lookback-hours, an --out that is a folder or a symbolic link."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from analysis import cli
from analysis.windows import CLOUDTRAIL_LAUNCH, check_reportable_day

SAMPLE_DAY = "2026-11-28"


def _refused(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    """Run ``report`` with ``arguments``; it must exit 2 with exactly one line on standard error: that line."""
    code = cli.main(["report", "--source", "sample", *arguments])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == cli.EXIT_USAGE, captured.err
    assert len(lines) == 1 and lines[0].startswith("apprunner-audit: error: "), lines
    assert captured.out == "", "nothing is reported"
    return lines[0]


# --- --ledger ------------------------------------------------------------------------------------


def test_a_ledger_that_is_a_file_is_refused(tmp_path, capsys):
    ledger = tmp_path / "ledger"
    ledger.write_text("not a folder")
    line = _refused(capsys, "--day", SAMPLE_DAY, "--ledger", str(ledger))
    assert str(ledger) in line and "not a folder" in line
    assert ledger.read_text() == "not a folder"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", "mine"),  # not a ledger file
        ("notes.json", json.dumps({"a": 1})),  # JSON, but no run wrote it
        ("2026-11-27.json", "{broken"),  # a run's name, not JSON
        ("2026-11-27.json", json.dumps({"window": "2026-11-27", "events": [[1, 2]], "report": None})),
        ("2026-11-27.json", json.dumps({"window": "2026-11-26", "events": [], "report": None})),  # another run's
        ("2026-11-27.json", json.dumps([])),
    ],
)
def test_a_ledger_folder_holding_a_file_no_run_wrote_is_refused_naming_it(tmp_path, capsys, name, content):
    (tmp_path / name).write_text(content)
    line = _refused(capsys, "--day", SAMPLE_DAY, "--ledger", str(tmp_path))
    assert str(tmp_path / name) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [name], "nothing was claimed"


def test_a_ledger_folder_holding_a_folder_is_refused(tmp_path, capsys):
    (tmp_path / "old").mkdir()
    line = _refused(capsys, "--day", SAMPLE_DAY, "--ledger", str(tmp_path))
    assert str(tmp_path / "old") in line


def test_a_ledger_a_run_wrote_is_read_again_and_a_killed_write_s_temporary_file_is_ignored(tmp_path, capsys):
    previous = {"window": "2026-11-27", "events": [["e-1", "111122223333", "2026-11-27"]], "report": None}
    (tmp_path / "2026-11-27.json").write_text(json.dumps(previous))
    (tmp_path / ".2026-11-27.k3j2.tmp").write_text('{"win')  # a run killed while writing (FileLedger._write)
    code = cli.main(["report", "--source", "sample", "--day", SAMPLE_DAY, "--ledger", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["daily"]["key"] == SAMPLE_DAY
    assert (tmp_path / "2026-11-28.json").is_file()


# --- days and times ------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2013-11-12", "2100-01-01"])
def test_a_day_cloudtrail_cannot_have_logged_is_refused(capsys, day):
    line = _refused(capsys, "--day", day)
    assert "--day" in line and day in line


@pytest.mark.parametrize("option", ["--since", "--until"])
@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "2013-11-12T23:59:59Z"])
def test_a_time_before_cloudtrail_is_refused(capsys, option, moment):
    line = _refused(capsys, option, moment)
    assert option in line and moment in line


def test_the_reportable_days_run_from_cloudtrail_s_launch_to_the_date_already_begun_in_utc_plus_14():
    # CloudTrail was announced and available on 2013-11-13:
    # https://aws.amazon.com/blogs/aws/aws-cloudtrail-capture-aws-api-activity/
    assert date(2013, 11, 13) == CLOUDTRAIL_LAUNCH
    now = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)  # 2026-11-30 00:00 in UTC+14 (Kiribati's Line Islands)
    check_reportable_day(CLOUDTRAIL_LAUNCH, now)
    check_reportable_day(date(2026, 11, 30), now)
    with pytest.raises(ValueError, match="2026-12-01"):
        check_reportable_day(date(2026, 12, 1), now)
    with pytest.raises(ValueError, match="2013-11-12"):
        check_reportable_day(date(2013, 11, 12), now)
    with pytest.raises(ValueError):  # 09:59 UTC is 23:59 of the 29th in UTC+14: the 30th has not begun
        check_reportable_day(date(2026, 11, 30), now - timedelta(minutes=1))


def test_a_lookback_past_cloudtrail_s_90_days_of_event_history_is_refused(tmp_path, capsys):
    line = _refused(capsys, "--day", SAMPLE_DAY, "--ledger", str(tmp_path), "--lookback-hours", "99999999999")
    assert "--lookback-hours" in line and "2136" in line  # 89 days: within LookupEvents' 90 days
    assert list(tmp_path.iterdir()) == []


# --- --out ---------------------------------------------------------------------------------------


def test_out_on_a_folder_is_refused(tmp_path, capsys):
    line = _refused(capsys, "--out", str(tmp_path))
    assert str(tmp_path) in line and "folder" in line


@pytest.mark.parametrize("target_exists", [True, False])
def test_out_through_a_symbolic_link_is_refused_and_its_target_untouched(tmp_path, capsys, target_exists):
    target = tmp_path / "elsewhere" / "authorized_keys"
    target.parent.mkdir()
    if target_exists:
        target.write_text("ssh-ed25519 AAAA...")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    line = _refused(capsys, "--out", str(link))
    assert str(link) in line and "symbolic link" in line
    assert (target.read_text() == "ssh-ed25519 AAAA...") if target_exists else not target.exists()


def test_out_in_a_folder_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    line = _refused(capsys, "--out", str(tmp_path / "file" / "report.json"))
    assert str(tmp_path / "file") in line


def test_out_on_a_new_or_an_existing_regular_file_is_written(tmp_path, capsys):
    out = tmp_path / "new" / "report.md"
    assert cli.main(["report", "--source", "sample", "--day", SAMPLE_DAY, "--format", "md", "--out", str(out)]) == 0
    assert out.read_text().startswith("#")
    out.write_text("old, longer than nothing" * 10_000)
    assert cli.main(["report", "--source", "sample", "--day", SAMPLE_DAY, "--out", str(out)]) == 0  # .md: Markdown
    assert "old, longer" not in out.read_text(), "the old content is replaced, not overwritten in place"
    assert out.read_text().startswith("#")
    assert capsys.readouterr().err == ""


def test_a_symbolic_link_placed_while_the_report_was_built_is_not_followed(tmp_path, monkeypatch, capsys):
    out, target = tmp_path / "report.json", tmp_path / "target"
    target.write_text("keep")
    build = cli._render

    def render_then_swap(*args: object) -> str:  # the attacker's link appears after the checks
        text = build(*args)  # type: ignore[arg-type]
        out.symlink_to(target)
        return text

    monkeypatch.setattr(cli, "_render", render_then_swap)
    code = cli.main(["report", "--source", "sample", "--day", SAMPLE_DAY, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and "symbolic link" in err and "Traceback" not in err
    assert target.read_text() == "keep"


# --- --deliver -----------------------------------------------------------------------------------


def test_deliver_without_an_aws_region_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    for variable in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("REPORT_EMAIL_FROM", "reports@example.com")
    monkeypatch.setenv("REPORT_EMAIL_TO", "platform@example.com")
    line = _refused(capsys, "--day", SAMPLE_DAY, "--deliver")
    assert "--deliver" in line and "region" in line


def test_deliver_with_a_bad_setting_is_refused_naming_its_variable(monkeypatch, capsys):
    monkeypatch.setenv("REPORT_EMAIL_FROM", "not an address")
    monkeypatch.setenv("REPORT_EMAIL_TO", "platform@example.com")
    line = _refused(capsys, "--day", SAMPLE_DAY, "--deliver")
    assert "REPORT_EMAIL_FROM" in line


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "9999-12-31T20:00:00-10:00"])
def test_a_time_with_no_utc_form_is_refused(capsys, moment):
    """West of UTC, the last hours of 9999-12-31 fall in year 10000 in UTC: the report, in UTC, cannot write
    them (the whole run went through, then a traceback)."""
    line = _refused(capsys, "--until", moment)
    assert "UTC" in line


def test_a_far_future_until_that_has_a_utc_form_still_means_until_now(tmp_path, capsys):
    out = tmp_path / "report.json"
    code = cli.main(["report", "--source", "sample", "--until", "9999-12-31T23:59:59Z", "--out", str(out)])
    assert code == cli.EXIT_OK, capsys.readouterr().err
    assert json.loads(out.read_text())["window"]["end"] == "9999-12-31T23:59:59Z"


def test_out_on_a_fifo_is_refused_not_left_waiting_for_a_reader(tmp_path, capsys):
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    line = _refused(capsys, "--out", str(fifo))
    assert str(fifo) in line and "not a regular file" in line


def test_a_fifo_placed_after_the_check_is_refused_by_the_open(tmp_path):
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    with pytest.raises(cli.UsageError, match=r"report\.json"):  # O_NONBLOCK: no reader, ENXIO at once
        cli._write("{}", fifo)


def test_out_where_no_folder_can_be_made_is_refused_before_the_run(tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == locked else real_access(path, mode))
    line = _refused(capsys, "--out", str(locked / "sub" / "report.json"))
    assert "cannot write in" in line and str(locked) in line


# --- explain's input -----------------------------------------------------------------------------


def _explain_refused(capsys: pytest.CaptureFixture[str], name: str) -> str:
    code = cli.main(["explain", name])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == cli.EXIT_USAGE and len(lines) == 1 and captured.out == "", captured
    return lines[0]


def test_explain_on_a_fifo_says_what_it_is(tmp_path, capsys):
    fifo = tmp_path / "record.json"
    os.mkfifo(fifo)
    assert "not a regular file" in _explain_refused(capsys, str(fifo))  # was "no such file"


def test_explain_reads_no_more_than_the_cap_on_one_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("APPRUNNER_AUDIT_MAX_DECOMPRESSED_BYTES", "1000")
    big = tmp_path / "record.json"
    big.write_text(json.dumps({"eventName": "DescribeService", "padding": " " * 5000}))
    assert "exceeds 1,000 bytes" in _explain_refused(capsys, str(big))
