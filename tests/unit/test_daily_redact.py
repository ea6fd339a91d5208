"""REDACT and the daily ledger (issue 11): the report kept beside the claims is the one sent, redacted; the claims
keep the (eventID, recipientAccountId) pairs they need to count an event once across runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from analysis.daily import daily_report
from analysis.ledger_stores import FileLedger
from analysis.sources.files import FileSource
from tests import factories as f

NOW = datetime(2026, 11, 29, 1, tzinfo=UTC)
NAMES = ("111122223333", "Deploy", "jane", "dev-alice", "198.51.100.7")


def _day(tmp_path, redact: bool) -> tuple[dict, dict]:
    bucket, ledger = tmp_path / "bucket", FileLedger(tmp_path / "ledger")
    bucket.mkdir()
    records = [f.record(event_time="2026-11-28T09:00:00Z"), f.record(identity=f.assumed_role("Deploy", "jane"))]
    (bucket / "1.json").write_text(json.dumps(f.trail_file(records)))
    report = daily_report([FileSource(bucket)], "2026-11-28", ledger, now=NOW, redact=redact).document()
    stored = json.loads((tmp_path / "ledger" / "2026-11-28.json").read_text())
    return report, stored


def test_with_redact_the_ledger_keeps_the_redacted_report_it_returns(tmp_path):
    report, stored = _day(tmp_path, redact=True)
    assert report["redacted"] is True
    assert stored["report"] == report
    kept = json.dumps(stored["report"])
    assert [name for name in NAMES if name in kept] == []
    assert report["totals"]["denials"] == 2 and report["ledger"]["counted"] == 2
    # the claims: each event's ID and recipient account, to count it once in later runs
    assert sorted(account for _, account, _ in stored["events"]) == ["111122223333", "111122223333"]


def test_without_redact_the_ledger_keeps_the_report_as_it_is(tmp_path):
    report, stored = _day(tmp_path, redact=False)
    assert "redacted" not in report or report["redacted"] is None
    assert stored["report"] == report
    assert all(name in json.dumps(report) for name in NAMES)
