"""scripts/replay_alerts.py: the sample day through the real alert handler (moto in-process), in time order.

Expected values come from the sample day's own account (scripts/SAMPLE_DAY.md, written by its generator, which
imports nothing from analysis/): 82 App Runner denials, 4 records delivered twice (3 of them App Runner denials: the
replay counts the redeliveries), the root user of 444455556666 refused DeleteService, the outside account
999988887777 (neither trusted nor in the organization) refused, DataScience refused CreateService by the SCP
p-regionlock1. The issue's closing test: each key alerts at most once, the alerts are fewer than the denials.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "replay_alerts.py"
COMMITTED = ROOT / "docs" / "alerts-replay.md"


def _replay(out: Path, *extra: str, seed: str = "0") -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    for name in ("STATE_TABLE", "ALERT_TOPIC_ARN", "ALERT_RULES", "ALERT_SUPPRESSIONS", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("replay")
    return _replay(folder / "a.md", "--redeliver", seed="1"), _replay(folder / "b.md", "--redeliver", seed="2")


def _rows(text: str) -> list[list[str]]:
    section = text.split("## The alerts", 1)[1].split("## Totals", 1)[0]
    lines = [line for line in section.splitlines() if re.match(r"\| \d+ \|", line)]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def _total(text: str, label: str) -> str:
    match = re.search(rf"^\| {re.escape(label)} \| (.+) \|$", text, re.MULTILINE)
    assert match, label
    return match.group(1)


def test_the_replay_is_deterministic_and_the_committed_document_is_current(replayed):
    first, second = replayed
    assert first == second  # two fresh interpreters, two hash seeds: the same bytes
    assert COMMITTED.read_text(encoding="utf-8") == first, "docs/alerts-replay.md is stale: run make alerts-replay"


def test_every_denial_is_handed_over_in_time_order_and_none_alerts_twice(replayed):
    text, _ = replayed
    rows = _rows(text)
    assert _total(text, "denials").startswith("82 (by eventID; 85 handed to the handler)")
    assert _total(text, "redelivered (an eventID seen before, counted once)") == "3"
    assert _total(text, "problems") == "0"
    assert "**none twice**" in _total(text, "keys (principal x owning account x action) alerted")
    assert [int(row[0]) for row in rows] == list(range(1, len(rows) + 1))
    assert [row[1] for row in rows] == sorted(row[1] for row in rows)  # in eventTime order
    assert 0 < len(rows) < 82 / 2  # a small set: fewer than half the denials
    keys = {(row[2], row[3], row[4]) for row in rows}
    assert len(keys) == len(rows)
    assert f"**{len(rows)} alerts for 82 denials**" in text


def test_the_sample_days_scenarios_alert_with_their_rules(replayed):
    text, _ = replayed
    by_principal = {}
    for row in _rows(text):
        by_principal.setdefault(row[2], []).append(row)
    [root] = by_principal["`root`"]
    assert root[3] == "444455556666" and root[4] == "`apprunner:DeleteService`"
    assert "**root**" in root[5] and root[6] == "critical"
    outsider = by_principal["`role/ExternalAuditor`"]
    assert len(outsider) == 1  # its second key a minute later fired the same rules: folded (nothing new)
    # svc-legacy's sweep: one alert for its first read, one when burst fires (dedup's rule 2, then rule 1), one when
    # reconnaissance first fires (rule 1: the burst alert did not list it), critical and "investigate" as the report
    legacy = by_principal["`user/svc-legacy`"]
    assert [(row[1], row[4]) for row in legacy] == [
        ("2026-11-28 02:14:07", "`apprunner:ListServices`"),
        ("2026-11-28 02:15:36", "`apprunner:DescribeService`"),
        ("2026-11-28 02:16:31", "`apprunner:DescribeCustomDomains`"),
    ]
    assert "**burst**" in legacy[1][5] and "**first_seen**" not in legacy[1][5]
    assert "**reconnaissance**: 10 distinct actions" in legacy[2][5] and "**burst**: 15 denials" in legacy[2][5]
    assert (legacy[2][6], legacy[2][7]) == ("critical", "investigate")
    assert all("(caller 999988887777)" in row[3] and "**unknown_account**" in row[5] for row in outsider)
    [science] = by_principal["`role/DataScience`"]
    assert science[4] == "`apprunner:CreateService`" and "**org_policy**" in science[5]
    assert "service control policy" in science[5]


def test_each_event_delivered_twice_gives_the_same_alerts(replayed):
    text, _ = replayed
    twice = text.split("## Each event delivered twice", 1)[1]
    assert "**the same alerts**" in twice
    # every App Runner denial delivered (85) is delivered once more: 85 more redeliveries, plus the trail's own 3
    assert "; 88 deliveries of a denial's eventID already seen" in twice


def _report(out: Path) -> dict:
    """The daily report of the sample day with the organization the replay uses (``apprunner-audit report``)."""
    organization = ["--org-id", "o-a1b2c3d4e5", "--org-accounts", "111122223333,444455556666,777788889999,210987654321",
                    "--trusted-accounts", "123456789012"]  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--source", "sample", "--day", "2026-11-28", *organization,
         "--format", "json", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def _name(arn: str) -> str:
    """The document's principal cell: `user/svc-legacy` for arn:aws:iam::777788889999:user/svc-legacy (a role's path
    left out, as the alerts name it)."""
    resource = arn.split(":", 5)[5]
    kind, _, rest = resource.partition("/")
    return f"`{kind}/{rest.rsplit('/', 1)[-1]}`" if rest else f"`{kind}`"


def test_every_principal_the_report_says_to_investigate_gets_an_alert_that_says_so(replayed, tmp_path):
    """The handler's alerts (the fix kind column) give the report's advice: each principal the daily report says to
    investigate on the sample day (svc-legacy, reconnaissance) has at least one alert of fix kind investigate, with
    the report's severity (review2 finding 1)."""
    text, _ = replayed
    findings = _report(tmp_path / "report.json")["findings"]
    investigate = {
        _name(finding["principal"]["arn"]): finding["severity"]
        for finding in findings
        if finding["remedy"]["kind"] == "investigate"
    }
    assert investigate == {"`user/svc-legacy`": "critical"}
    rows = _rows(text)
    for name, severity in investigate.items():
        advised = [row for row in rows if row[2] == name and row[7] == "investigate"]
        assert advised and {row[6] for row in advised} == {severity}, name
