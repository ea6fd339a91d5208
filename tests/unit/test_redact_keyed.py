"""--redact's pseudonyms are keyed (review of issue 11): reports redacted with the same key (REDACT_KEY) give a
principal the same pseudonym and finding id, whatever else the reports hold, so redacted daily reports can be
compared day to day; different principals get different ones; without a key each run's pseudonyms are its own; and
no one without the key can recover a principal from its pseudonym.

The reports compared are the sample day, whole and 08:00-20:00 UTC only: the second holds fewer principals, so a
pseudonym numbered in order of appearance (``name-1``, ``name-2`` …) names different people in the two."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from analysis.model import Options, Window
from analysis.redact import redact_report
from analysis.sources.files import FileSource
from tests import factories as f
from tests.analysed import analysed, report_of

SAMPLE = Path(__file__).parents[2] / "analysis" / "data" / "sample"
KEY = "the team's redaction key, 32 characters or more"
OTHER_KEY = "another team's redaction key, 32 characters or more"
FULL_DAY = Window(datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))
DAYTIME = Window(datetime(2026, 11, 28, 8, tzinfo=UTC), datetime(2026, 11, 28, 20, tzinfo=UTC))


def _sample(window: Window) -> dict[str, Any]:
    return analysed([FileSource(SAMPLE)], window, Options())


@pytest.fixture(scope="module")
def day() -> dict[str, Any]:
    return _sample(FULL_DAY)


@pytest.fixture(scope="module")
def daytime() -> dict[str, Any]:
    return _sample(DAYTIME)


def _by_principal(report: dict[str, Any], key: str | None) -> dict[str, tuple[str, str, str | None]]:
    """Each original principal's (redacted key, id, ARN): redaction keeps the findings' order."""
    redacted = redact_report(report, key)
    pairs = zip(report["findings"], redacted["findings"], strict=True)
    return {
        original["principal"]["key"]: (mine["principal"]["key"], mine["id"], mine["principal"]["arn"])
        for original, mine in pairs
    }


def test_the_two_windows_share_principals_and_number_them_differently(day, daytime):
    """The premise: the shorter window holds some principals of the day, not all, and not in the same places."""
    whole = [f["principal"]["key"] for f in day["findings"]]
    part = [f["principal"]["key"] for f in daytime["findings"]]
    assert set(part) < set(whole) and len(part) >= 5
    assert any(whole.index(key) != position for position, key in enumerate(part))


def test_with_the_same_key_a_principal_has_the_same_pseudonym_and_id_in_both_reports(day, daytime):
    whole, part = _by_principal(day, KEY), _by_principal(daytime, KEY)
    assert {original: whole[original] for original in part} == part


def test_different_principals_have_different_pseudonyms_and_ids(day, daytime):
    whole, part = _by_principal(day, KEY), _by_principal(daytime, KEY)
    redacted = {**whole, **part}
    assert len({key for key, _, _ in redacted.values()}) == len(redacted)
    assert len({finding_id for _, finding_id, _ in redacted.values()}) == len(redacted)
    arns = [arn for _, _, arn in redacted.values() if arn is not None]
    assert len(set(arns)) == len(arns)


def test_without_a_key_two_runs_share_no_pseudonym(day):
    first, second = _by_principal(day, None), _by_principal(day, None)
    assert all(first[p][0] != second[p][0] and first[p][1] != second[p][1] for p in _named(first))


def test_another_key_gives_other_pseudonyms(day):
    ours, theirs = _by_principal(day, KEY), _by_principal(day, OTHER_KEY)
    assert all(ours[p][0] != theirs[p][0] and ours[p][1] != theirs[p][1] for p in _named(ours))


def _named(principals: dict[str, Any]) -> list[str]:
    """The principals that name someone (an AWS service, ``service:apprunner.amazonaws.com``, is kept as it is)."""
    named = [p for p in principals if p.startswith("arn:")]
    assert len(named) >= len(principals) - 1
    return named


def test_pseudonyms_have_the_shape_of_what_they_replace(day):
    redacted = redact_report(day, KEY)
    for finding in redacted["findings"]:
        principal = finding["principal"]
        assert principal["account_id"] is None or re.fullmatch(r"\d{12}", principal["account_id"])
        for session in principal["sessions"]:
            assert re.fullmatch(r"session-[0-9a-f]{8}", session), session
        if principal["arn"] and ":user/" in principal["arn"]:
            assert re.fullmatch(r"arn:aws:iam::\d{12}:user/name-[0-9a-f]{8}", principal["arn"]), principal["arn"]
        for address in finding["source_ips"]:
            assert re.fullmatch(r"ip-[0-9a-f]{8}|[a-z.-]+\.amazonaws\.com", address), address


def _documented(key: str, kind: str, value: str) -> str:
    """The first 8 hex digits of HMAC-SHA256(key, kind NUL value), as docs/CONTRACT.md describes a pseudonym."""
    return hmac.new(key.encode(), f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()[:8]


def test_a_session_named_as_another_sessions_pseudonym_does_not_read_as_it():
    """A session named as jane's pseudonym would read as jane: neither of the two is given that name."""
    janes = f"session-{_documented(KEY, 'session', 'jane')}"
    records = [f.record(identity=f.assumed_role("Deploy", s), event_id=s) for s in ("jane", janes, "bob")]
    report = report_of(records)
    redacted = redact_report(report, KEY)
    sessions = redacted["findings"][0]["principal"]["sessions"]
    assert len(set(sessions)) == 3 and janes not in sessions
    assert not {"jane", "bob", janes} & set(re.findall(r"[\w-]+", json.dumps(redacted)))


# Two session names whose pseudonyms under KEY collide (found by trying run-0, run-1 … with _documented).
COLLIDING = ("run-55378", "run-138677")


def test_two_sessions_whose_pseudonyms_collide_get_two_and_the_first_in_sorted_order_keeps_its_own():
    first, second = sorted(COLLIDING)
    assert _documented(KEY, "session", first) == _documented(KEY, "session", second), "the premise"
    documented = f"session-{_documented(KEY, 'session', first)}"

    def pseudonyms(names: tuple[str, ...]) -> dict[str, str]:
        report = report_of([f.record(identity=f.assumed_role("Deploy", s), event_id=s) for s in names])
        original = report["findings"][0]["principal"]["sessions"]
        return dict(zip(original, redact_report(report, KEY)["findings"][0]["principal"]["sessions"], strict=True))

    both = pseudonyms(COLLIDING)
    assert (
        both[first] == documented and both[second] != documented and re.fullmatch(r"session-[0-9a-f]{8}", both[second])
    )
    assert pseudonyms(tuple(reversed(COLLIDING))) == both, "whatever order the records come in"
    assert pseudonyms((first,)) == {first: documented}


# --- REDACT_KEY through the service: the daily function's stored reports, day after day, and its alerts -------------


def _daily_findings(tmp_path: Path, env: dict[str, str]) -> dict[str, list[tuple[str, str | None]]]:
    """(id, principal ARN) of each finding of the 28th's and the 29th's daily reports, as the ledger stores them."""
    from analysis.ledger_stores import FileLedger
    from analysis.service import DailyRequest, run_daily
    from analysis.settings import load_settings

    bucket = tmp_path / "bucket"
    bucket.mkdir()
    deploy, other = f.assumed_role("Deploy", "jane"), f.iam_user("dev-carol")
    records = [
        f.record(identity=deploy, event_time="2026-11-28T09:00:00Z", event_id="a"),
        f.record(identity=other, event_time="2026-11-28T10:00:00Z", event_id="b"),
        f.record(identity=deploy, event_time="2026-11-29T09:00:00Z", event_id="c"),
    ]
    (bucket / "1.json").write_text(json.dumps(f.trail_file(records)))
    settings = load_settings({"REDACT": "true", **env})
    stored = {}
    for day in ("2026-11-28", "2026-11-29"):
        request = DailyRequest(date.fromisoformat(day), (str(bucket),))
        run_daily(request, settings, FileLedger(tmp_path / "ledger"), now=datetime(2026, 11, 30, 1, tzinfo=UTC))
        report = json.loads((tmp_path / "ledger" / f"{day}.json").read_text())["report"]
        stored[day] = [(x["id"], x["principal"]["arn"]) for x in report["findings"]]
    return stored


def test_the_daily_reports_of_two_days_name_a_principal_alike_with_redact_key(tmp_path):
    stored = _daily_findings(tmp_path, {"REDACT_KEY": KEY})
    [deploy_then, carol], [deploy_now] = stored["2026-11-28"], stored["2026-11-29"]
    assert deploy_then == deploy_now and carol != deploy_now
    assert "Deploy" not in json.dumps(stored) and "dev-carol" not in json.dumps(stored)


def test_without_redact_key_each_days_report_has_its_own_pseudonyms(tmp_path):
    stored = _daily_findings(tmp_path, {})
    assert stored["2026-11-28"][0] != stored["2026-11-29"][0]


def test_an_alert_names_its_principal_as_the_daily_report_does(tmp_path):
    from analysis.alert_service import alert_on_event
    from analysis.settings import load_settings

    [(deploy_id, deploy_arn), _] = _daily_findings(tmp_path, {"REDACT_KEY": KEY})["2026-11-28"]
    record = f.record(identity=f.assumed_role("Deploy", "jane"), event_time="2026-11-28T09:00:00Z", event_id="a")
    run = alert_on_event(f.eventbridge_envelope(record), load_settings({"REDACT": "true", "REDACT_KEY": KEY}))
    [finding] = run.findings
    assert (finding.id, finding.principal.arn) == (deploy_id, deploy_arn)
