"""``apprunner-audit alerts``: which alerts a window would have raised, and why (analysis.alert_replay_run).

Expected values: the sample day's own account (scripts/SAMPLE_DAY.md, from its generator, which imports nothing from
analysis/): 82 App Runner denials, 3 of them delivered twice, svc-legacy's 19 denials (scenario 10: 2+1+1+1+2+1+2+2+
2+1+1+1+1+1), the root user of 444455556666, the outside caller 999988887777. And a second method: the alerts the
real handler raised for the same day against moto (docs/alerts-replay.md, scripts/replay_alerts.py) are the same
alerts, at the same events, with the same rules.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analysis.cli import main

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DAY = ["--source", "sample", "--day", "2026-11-28"]
ORGANIZATION = [  # the sample day's organization (SAMPLE_DAY.md, "Accounts"), as docs/alerts-replay.md was made
    "--org-id",
    "o-a1b2c3d4e5",
    "--org-accounts",
    "111122223333,444455556666,777788889999,210987654321",
    "--trusted-accounts",
    "123456789012",
]
SVC_LEGACY = "arn:aws:iam::777788889999:user/svc-legacy"
HEAVY = ("pandas", "numpy", "boto3", "botocore", "pydantic", "analysis.contract", "analysis.settings")


@pytest.fixture(autouse=True)
def _no_alert_environment(monkeypatch):
    for name in ("TRAIL_SOURCE", "ALERT_RULES", "ALERT_PERIOD_HOURS", "RECON_ACTIONS", "ORG_ID", "TRUSTED_ACCOUNTS"):
        monkeypatch.delenv(name, raising=False)


def _json(capsys, *arguments: str) -> dict:
    assert main(["alerts", *DAY, *ORGANIZATION, "--format", "json", *arguments]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def sample_day() -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "alerts", *DAY, *ORGANIZATION, "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return json.loads(done.stdout)


def test_help_answers_at_once_with_examples_and_loads_nothing_heavy():
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['apprunner-audit', 'alerts', '--help']\n"
        "try:\n    runpy.run_module('analysis', run_name='__main__')\n"
        "except SystemExit as done:\n    code = done.code\n"
        f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stderr.strip() == "0 []", done.stderr
    assert "usage: apprunner-audit alerts" in done.stdout
    assert "examples:" in done.stdout and "--suppressions suppressions.json" in done.stdout


def test_the_sample_days_counts_add_up(sample_day):
    counts = sample_day["counts"]
    assert counts["denials"] == 82 and counts["redelivered"] == 3
    assert counts["records_read"] == 4739  # SAMPLE_DAY.md: 4,739 records written
    decided = ("alert", "counted", "folded", "no_rule", "suppressed")
    assert sum(counts[fate] for fate in decided) == 82
    assert counts["alert"] == len(sample_day["alerts"]) and counts["suppressed"] == 0
    assert len(sample_day["not_alerted"]) == 85 - counts["alert"]
    assert sample_day["window"] == {"start": "2026-11-28T00:00:00Z", "end": "2026-11-29T00:00:00Z"}


def test_a_principals_sweep_gives_one_alert_per_new_rule(sample_day):
    """By hand from the sample day's events (tests/integration/test_alert_replay_agreement.py works it through):
    svc-legacy alerts at 02:14:07 (first_seen), at 02:15:36 (burst) and at 02:16:31 (reconnaissance, which the burst
    alert did not list, with first_seen and burst), its 14 other new actions folded; ExternalAuditor once
    (first_seen, unknown_account), 3 folded; 25 alerts in all, 17 folded."""
    counts = sample_day["counts"]
    assert (counts["alert"], counts["folded"]) == (25, 17)
    assert counts["no_rule"] == 1  # svc-legacy's ListVpcConnectors again at 02:15:08: its key never alerted
    legacy = [
        (a["time"], [r["name"] for r in a["rules"]]) for a in sample_day["alerts"] if a["principal"] == SVC_LEGACY
    ]
    assert legacy == [
        ("2026-11-28T02:14:07Z", ["first_seen"]),
        ("2026-11-28T02:15:36Z", ["burst"]),
        ("2026-11-28T02:16:31Z", ["first_seen", "burst", "reconnaissance"]),
    ]
    assert [a["principal_name"] for a in sample_day["alerts"]].count("role/ExternalAuditor") == 1


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory) -> dict:
    """The daily report of the same day and organization (``apprunner-audit report``, JSON)."""
    out = tmp_path_factory.mktemp("report") / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "report", *DAY, *ORGANIZATION, "--format", "json", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def test_every_principal_the_report_says_to_investigate_gets_an_alert_that_says_so(sample_day, sample_report):
    """The issue: an alert gives the advice the daily report would give. The report says "do not grant: investigate"
    (reconnaissance) for svc-legacy on the sample day (README); at least one of its alerts says the same, with the
    report's severity (review2 finding 1: before, its two alerts said low, grant)."""
    investigate = {
        finding["principal"]["arn"]: finding["severity"]
        for finding in sample_report["findings"]
        if finding["remedy"]["kind"] == "investigate"
    }
    assert investigate == {SVC_LEGACY: "critical"}
    for arn, severity in investigate.items():
        advised = [a for a in sample_day["alerts"] if a["principal"] == arn and a["fix"] == "investigate"]
        assert advised, arn
        assert {a["severity"] for a in advised} == {severity}
        assert all("reconnaissance" in {rule["name"] for rule in a["rules"]} for a in advised)


def test_each_alert_says_why_and_no_key_alerts_twice(sample_day):
    alerts = sample_day["alerts"]
    assert all(alert["rules"] and all(rule["reason"] for rule in alert["rules"]) for alert in alerts)
    keys = [(alert["principal"], alert["account"], alert["action"].lower()) for alert in alerts]
    assert len(set(keys)) == len(keys)
    [root] = [alert for alert in alerts if alert["principal_name"] == "root"]
    assert root["account"] == "444455556666" and "root" in [rule["name"] for rule in root["rules"]]
    outsiders = [alert for alert in alerts if alert["caller_account"] == "999988887777"]
    assert outsiders and all("unknown_account" in [r["name"] for r in a["rules"]] for a in outsiders)


def _handler_rows() -> list[tuple[str, str, str, list[str]]]:
    """(time, principal, action, rule names) of each alert docs/alerts-replay.md lists (the handler's, in moto)."""
    text = (ROOT / "docs" / "alerts-replay.md").read_text(encoding="utf-8")
    rows = []
    for line in text.split("## Totals", 1)[0].splitlines():
        if re.match(r"\| \d+ \|", line):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rules = re.findall(r"\*\*(\w+)\*\*:", cells[5])
            rows.append((cells[1], cells[2].strip("`"), cells[4].strip("`"), rules))
    return rows


def test_the_same_alerts_as_the_handler_raised_for_the_same_day(sample_day):
    """Two methods: the pure replay here, the real handler against moto DynamoDB there (make alerts-replay)."""
    ours = [
        (
            alert["time"].replace("T", " ").removesuffix("Z"),
            alert["principal_name"],
            alert["action"],
            [rule["name"] for rule in alert["rules"]],
        )
        for alert in sample_day["alerts"]
    ]
    assert ours == _handler_rows()


def test_a_suppression_silences_its_principal_only_and_an_expired_one_is_warned_about(tmp_path, capsys, sample_day):
    ahead = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    document = {
        "suppressions": [
            {"principal": SVC_LEGACY, "reason": "legacy key being retired (OPS-1)", "expires": ahead},
            {"action": "apprunner:DeleteService", "reason": "migration window (OPS-2)", "expires": "2026-11-01"},
        ]
    }
    path = tmp_path / "suppressions.json"
    path.write_text(json.dumps(document))
    run = _json(capsys, "--suppressions", str(path))
    suppressed = [item for item in run["not_alerted"] if item["fate"] == "suppressed"]
    assert len(suppressed) == 19 and {item["principal"] for item in suppressed} == {SVC_LEGACY}
    assert all("legacy key being retired" in item["why"] for item in suppressed)
    assert run["counts"]["suppressed"] == 19 and run["counts"]["denials"] == 82
    # the other principals' alerts are as without the document; the expired entry no longer applies
    others = [alert for alert in sample_day["alerts"] if alert["principal"] != SVC_LEGACY]
    assert run["alerts"] == others
    assert any(alert["action"] == "apprunner:DeleteService" for alert in run["alerts"])
    assert run["expired_suppressions"] and "migration window (OPS-2)" in run["expired_suppressions"][0]


def test_the_expired_suppression_is_one_warning_line_on_standard_error(tmp_path, capsys):
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps({"suppressions": [{"principal": SVC_LEGACY, "reason": "gone", "expires": "2026-01-01"}]})
    )
    assert main(["alerts", *DAY, "--suppressions", str(path), "-q"]) == 0
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith("apprunner-audit: warning: expired suppression, no longer applies: suppression")
    assert (
        "svc-legacy" in line and "expires 2026-01-02T00:00:00Z (through 2026-01-01)" in line
    )  # a bare date: the end of that day
    assert "user/svc-legacy in 777788889999 denied" in captured.out  # not suppressed: it has expired


def test_text_names_each_alert_and_what_was_not_alerted(capsys):
    assert main(["alerts", *DAY, *ORGANIZATION]) == 0
    out = capsys.readouterr().out
    assert out.startswith("window 2026-11-28T00:00:00Z .. 2026-11-29T00:00:00Z; sources: sample\n")
    assert "4739 records read, 82 denials:" in out
    assert re.search(r"^  1\. 2026-11-28T01:00:04Z  role/BatchReporter in 444455556666 denied", out, re.MULTILINE)
    assert "       root: the root user of account 444455556666 was refused" in out
    assert "not alerted (counted, folded into an alert, or suppressed):" in out


def test_out_writes_the_file_and_says_so_unless_quiet(tmp_path, capsys):
    out = tmp_path / "alerts.json"
    assert main(["alerts", *DAY, "--format", "json", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(out.read_text())["counts"]["denials"] == 82
    assert re.search(r"alerts\.json: \d+ alert\(s\) for 82 denial\(s\)", captured.err)
    assert main(["alerts", *DAY, "--format", "json", "--out", str(out), "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_without_a_source_the_sample_day_is_named_on_standard_error(capsys):
    assert main(["alerts", "--day", "2026-11-28", "-q"]) == 0
    assert "no --source given" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--suppressions", "/no/such/file.json"], "--suppressions /no/such/file.json: no such file"),
        (["--since", "2026-11-28T00:00:00Z"], "--day cannot be combined with --since or --until"),
        (["--format", "html"], "argument --format: invalid choice"),
        (["--service", "apprunnr"], "--service"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys, arguments, message):
    assert main(["alerts", *DAY, *arguments]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("apprunner-audit: error: ") and message in line


def test_a_source_that_does_not_exist_is_a_usage_error(capsys, tmp_path):
    assert main(["alerts", "--source", str(tmp_path / "none")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"apprunner-audit: error: {tmp_path / 'none'}: no such file or folder"


def test_an_alert_in_which_reconnaissance_fired_gives_the_reports_advice(capsys):
    """With the report's threshold lowered to 5 distinct actions in 10 minutes, svc-legacy's sweep (SAMPLE_DAY.md:
    14 read actions within minutes) fires reconnaissance: that alert advises what the daily report advises for
    svc-legacy, "investigate" (do not grant), though the event alone would say grant."""
    document = _json(capsys, "--recon-actions", "5", "--recon-minutes", "10")
    alerts = document["alerts"]
    probing = [a for a in alerts if "reconnaissance" in {rule["name"] for rule in a["rules"]}]
    assert probing and {a["principal"] for a in probing} == {SVC_LEGACY}
    assert {a["fix"] for a in probing} == {"investigate"}
    first = next(a for a in alerts if a["principal"] == SVC_LEGACY)
    assert first["fix"] == "grant"  # its first new read, before the sweep: one event's advice
