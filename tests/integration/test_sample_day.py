"""The bundled sample day: the report gives every scenario the finding its data expects (scripts/sample_day/)."""

from __future__ import annotations

import filecmp
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from parliament import analyze_policy_string

from analysis.demo import DEMO_ORGANIZATION, DEMO_TRUSTED_ACCOUNTS
from analysis.pipeline import Options, analyse
from analysis.policies import catalog_problems
from analysis.report import validate
from analysis.sources.files import bundled_sample_path, sample_source
from scripts.sample_day.plan import Scenario
from scripts.sample_day.scenarios import S4A, S4B, S11D, SCENARIOS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    options = Options(
        trusted_accounts=DEMO_TRUSTED_ACCOUNTS, organization_accounts=DEMO_ORGANIZATION, organization_id="o-a1b2c3d4e5"
    )
    return analyse([sample_source()], options=options).report.document()


@pytest.fixture(scope="module")
def findings(report: dict[str, Any]) -> dict[tuple[str | None, str], dict[str, Any]]:
    return {(f["principal"]["arn"], f["target_account_id"]): f for f in report["findings"]}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh run of the generator, trail files and SAMPLE_DAY.md."""
    out = tmp_path_factory.mktemp("sample")
    command = [sys.executable, str(ROOT / "scripts" / "generate_sample_day.py"), "--quiet"]
    subprocess.run([*command, "--out", str(out), "--doc", str(out / "SAMPLE_DAY.md")], check=True, timeout=120)
    return out


def _finding(findings: dict[tuple[str | None, str], dict[str, Any]], scenario: Scenario) -> dict[str, Any]:
    return findings[(scenario.expect.principal, scenario.expect.account)]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: f"S{s.key}")
def test_scenario_gets_its_expected_finding(findings: dict, scenario: Scenario) -> None:
    finding = _finding(findings, scenario)
    assert finding["remedy"]["kind"] == scenario.expect.remedy
    assert finding["denials"] == scenario.count
    actions = {a["action"]: (a["count"], sorted(a["reasons"])) for a in finding["actions"]}
    assert actions == scenario.expected_actions()
    for phrase in scenario.expect.notes:
        assert any(phrase in note for note in finding["remedy"]["notes"]), (phrase, finding["remedy"]["notes"])


def test_every_finding_is_a_scenario_and_the_totals_add_up(report: dict[str, Any]) -> None:
    validate(report)
    written = sum(
        len(json.loads(gzip.decompress(path.read_bytes()))["Records"])
        for path in (bundled_sample_path() / "AWSLogs").rglob("*.json.gz")
    )
    found = {(f["principal"]["arn"], f["target_account_id"]) for f in report["findings"]}
    assert found == {(s.expect.principal, s.expect.account) for s in SCENARIOS}
    assert report["totals"]["records_read"] == written
    assert report["totals"]["malformed_records"] == 0
    assert report["totals"]["denials"] == sum(s.count for s in SCENARIOS), "duplicate deliveries are counted once"
    assert report["totals"]["principals"] == len(SCENARIOS)


def test_every_policy_passes_the_catalog_and_parliament(report: dict[str, Any]) -> None:
    for finding in report["findings"]:
        remedy = finding["remedy"]
        for policy in (remedy["policy"], remedy["caller_policy"], *remedy["more_policies"]):
            if policy:
                assert catalog_problems(policy) == [], finding["principal"]["arn"]
                parliament = [(x.issue, x.detail) for x in analyze_policy_string(json.dumps(policy)).findings]
                assert parliament == [], (finding["principal"]["arn"], parliament)


def test_outside_account_needs_external_id_trusted_partner_does_not(findings: dict) -> None:
    outside = _finding(findings, S4B)["remedy"]
    partner = _finding(findings, S4A)["remedy"]
    assert "sts:ExternalId" in json.dumps(outside["trust_policy"])
    assert "Condition" not in partner["trust_policy"]["Statement"][0]


def test_ci_role_gets_pass_role_to_app_runner_only(findings: dict) -> None:
    policy = findings[("arn:aws:iam::111122223333:role/GitHubActionsDeploy", "111122223333")]["remedy"]["policy"]
    statements = {s["Action"]: s for s in policy["Statement"]}
    assert statements["iam:PassRole"]["Resource"] == "arn:aws:iam::111122223333:role/AppRunnerInstanceRole"
    assert statements["iam:PassRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "apprunner.amazonaws.com"}
    }


def test_truncated_message_is_counted(findings: dict) -> None:
    (action,) = _finding(findings, S11D)["actions"]
    assert action["truncated_messages"] == 1


def test_the_generator_reproduces_the_bundled_data_byte_for_byte(generated: Path) -> None:
    _assert_same_tree(filecmp.dircmp(generated / "AWSLogs", bundled_sample_path() / "AWSLogs"))


def test_sample_day_md_is_rendered_from_the_scenarios(generated: Path) -> None:
    committed = (ROOT / "scripts" / "SAMPLE_DAY.md").read_text(encoding="utf-8")
    assert committed == (generated / "SAMPLE_DAY.md").read_text(encoding="utf-8"), "run `make sample`"


def _assert_same_tree(comparison: filecmp.dircmp[str]) -> None:
    differences = (comparison.left_only, comparison.right_only, comparison.diff_files)
    assert differences == ([], [], []), (comparison.left, differences)
    _, mismatch, errors = filecmp.cmpfiles(comparison.left, comparison.right, comparison.common_files, shallow=False)
    assert not mismatch and not errors
    for sub in comparison.subdirs.values():
        _assert_same_tree(sub)
