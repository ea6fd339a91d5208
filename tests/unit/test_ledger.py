"""The ledger's decisions (pure), the local-file ledger, and the daily report built on them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from analysis.daily import daily_report
from analysis.ledger import Split, claims, event_key, split
from analysis.ledger_stores import FileLedger
from analysis.pipeline import Options
from analysis.report import validate
from analysis.sources.files import FileSource
from tests import factories as f

A, B, C, D, E = (("id-" + x, f.ACCOUNT) for x in "abcde")


# --- deciding ----------------------------------------------------------------------------------


def test_split_sends_each_denial_to_this_window_late_or_skip():
    candidates = {A: "2026-11-28", B: "2026-11-27", C: "2026-11-27", D: "2026-11-28", E: "2026-11-29"}
    reported = {C: "2026-11-27", D: "2026-11-29"}
    decided = split(candidates, "2026-11-28", reported)
    assert decided == Split(
        current=frozenset({A}),
        late={B: "2026-11-27"},
        already={C: "2026-11-27", D: "2026-11-29"},
        later=frozenset({E}),
    )
    assert claims(decided, "2026-11-28") == {A: "2026-11-28", B: "2026-11-27"}


def test_a_runs_own_claims_do_not_hide_its_denials_from_it():
    candidates = {A: "2026-11-28", B: "2026-11-27"}
    decided = split(candidates, "2026-11-28", {A: "2026-11-28", B: "2026-11-28"})
    assert decided.current == {A} and decided.late == {B: "2026-11-27"} and not decided.already


def test_event_keys():
    assert event_key("e-1", "111122223333") == ("e-1", "111122223333")
    assert event_key("e-1", None) == ("e-1", "")
    assert event_key(None, "111122223333") is None
    assert event_key("", "111122223333") is None
    assert event_key(float("nan"), "111122223333") is None


# --- the local-file ledger -----------------------------------------------------------------------


def test_file_ledger_claims_each_event_for_one_run_only(tmp_path):
    ledger = FileLedger(tmp_path)
    assert ledger.claim("2026-11-27", {A: "2026-11-27", B: "2026-11-27"}) == {A, B}
    assert ledger.claim("2026-11-28", {B: "2026-11-27", C: "2026-11-28"}) == {C}
    assert ledger.claim("2026-11-27", {A: "2026-11-27"}) == {A}  # a repeated run keeps its own claims
    assert ledger.reported([A, B, C, D]) == {A: "2026-11-27", B: "2026-11-27", C: "2026-11-28"}
    assert ledger.counted("2026-11-28") == {C: "2026-11-28"}
    assert ledger.counted("2026-11-30") == {}


def test_file_ledger_keeps_the_report_beside_its_claims(tmp_path):
    ledger = FileLedger(tmp_path)
    ledger.claim("2026-11-28", {A: "2026-11-28"})
    ledger.save_report("2026-11-28", {"totals": {"denials": 1}})
    assert ledger.load_report("2026-11-28") == {"totals": {"denials": 1}}
    stored = json.loads((tmp_path / "2026-11-28.json").read_text())
    assert stored["events"] == [["id-a", f.ACCOUNT, "2026-11-28"]]
    assert ledger.load_report("2026-11-29") is None
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, then renamed


def test_file_ledger_refuses_window_names_that_are_not_file_names(tmp_path):
    with pytest.raises(ValueError):
        FileLedger(tmp_path).claim("../elsewhere", {A: "x"})


# --- the daily report ----------------------------------------------------------------------------


def _write(folder, name, records):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(f.trail_file(records)))


def _at(day: int, hour: int) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:00:00Z"


def test_a_late_denial_is_listed_once_in_the_next_report_under_its_own_day(tmp_path):
    bucket, ledger = tmp_path / "bucket", FileLedger(tmp_path / "ledger")
    on_time = f.record(event_time=_at(27, 10))
    late = f.record("ListServices", identity=f.assumed_role(), request={}, event_time=_at(27, 23))
    _write(bucket, "1.json", [on_time])
    first = daily_report(
        [FileSource(bucket)], "2026-11-27", ledger, now=datetime(2026, 11, 28, 1, tzinfo=UTC)
    ).document()
    assert (first["totals"]["denials"], first["late_arrivals"]) == (1, [])

    _write(bucket, "2.json", [late, on_time, f.record(event_time=_at(28, 9))])  # the late log, a repeat, today's
    second = daily_report(
        [FileSource(bucket)], "2026-11-28", ledger, now=datetime(2026, 11, 29, 1, tzinfo=UTC)
    ).document()
    assert second["totals"]["denials"] == 1
    assert second["totals"]["late_denials"] == 1
    [section] = second["late_arrivals"]
    assert section["window"] == {"key": "2026-11-27", "time_zone": "UTC", "start": _at(27, 0), "end": _at(28, 0)}
    assert section["denials"] == 1
    [finding] = section["findings"]
    assert finding["principal"]["arn"] == "arn:aws:iam::111122223333:role/Deploy"
    assert finding["actions"][0]["action"] == "apprunner:ListServices"
    assert second["ledger"] == {
        "window": "2026-11-28",
        "counted": 1,
        "untracked_without_event_id": 0,
        "late_arrivals": 1,
        "already_reported": 1,
    }
    counted = ledger.counted("2026-11-28")
    assert counted[(late["eventID"], f.ACCOUNT)] == "2026-11-27"
    assert sorted(counted.values()) == ["2026-11-27", "2026-11-28"]
    validate(second)
    assert ledger.load_report("2026-11-28") == second

    third = daily_report(
        [FileSource(bucket)], "2026-11-29", ledger, now=datetime(2026, 11, 30, 1, tzinfo=UTC)
    ).document()
    assert (third["totals"]["denials"], third["totals"]["late_denials"]) == (0, 0)


def test_denials_without_an_event_id_count_only_in_their_own_days_report(tmp_path):
    bucket, ledger = tmp_path / "bucket", FileLedger(tmp_path / "ledger")
    _write(
        bucket,
        "1.json",
        [f.record(event_id=None, event_time=_at(27, 23)), f.record(event_id=None, event_time=_at(28, 2))],
    )
    day27 = daily_report([FileSource(bucket)], "2026-11-27", ledger).document()
    day28 = daily_report([FileSource(bucket)], "2026-11-28", ledger).document()
    assert (day27["totals"]["denials"], day27["ledger"]["untracked_without_event_id"]) == (1, 1)
    assert (day28["totals"]["denials"], day28["totals"]["late_denials"]) == (1, 0)  # never "late": untrackable
    assert ledger.counted("2026-11-27") == {} and ledger.counted("2026-11-28") == {}


def test_a_denial_older_than_the_lookback_is_not_read(tmp_path):
    bucket, ledger = tmp_path / "bucket", FileLedger(tmp_path / "ledger")
    _write(bucket, "1.json", [f.record(event_time=_at(25, 23)), f.record(event_time=_at(26, 1))])
    report = daily_report([FileSource(bucket)], "2026-11-28", ledger, lookback=timedelta(days=2)).document()
    assert report["totals"]["late_denials"] == 1
    assert report["daily"]["read_window"] == {"start": _at(26, 0), "end": _at(29, 0)}
    assert report["daily"]["lookback_hours"] == 48


def test_daily_windows_follow_the_time_zone(tmp_path):
    bucket, ledger = tmp_path / "bucket", FileLedger(tmp_path / "ledger")
    _write(bucket, "1.json", [f.record(event_time=_at(28, 3)), f.record(event_time=_at(28, 6))])
    report = daily_report([FileSource(bucket)], "2026-11-27", ledger, Options(), tz="America/New_York").document()
    assert report["window"] == {"start": "2026-11-27T05:00:00Z", "end": "2026-11-28T05:00:00Z"}
    assert report["totals"]["denials"] == 1  # 03:00Z is 22:00 on the 27th in New York; 06:00Z is the 28th
    validate(report)
