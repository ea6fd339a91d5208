"""The bundled sample day (scripts/SAMPLE_DAY.md): every scenario gets the advice its table states."""

import filecmp
import json
import subprocess
import sys
from pathlib import Path

import pytest
from parliament import analyze_policy_string

from analysis.demo import DEMO_ORGANIZATION, DEMO_TRUSTED_ACCOUNTS
from analysis.pipeline import Options, analyse
from analysis.policies import catalog_problems
from analysis.report import validate
from analysis.sources.files import bundled_sample_path, sample_source

ROOT = Path(__file__).resolve().parents[2]

# (canonical principal ARN, owning account) -> remedy kind, as SAMPLE_DAY.md concludes for each scenario
EXPECTED = {
    ("arn:aws:iam::111122223333:user/dev-alice", "111122223333"): "grant",
    ("arn:aws:iam::111122223333:role/GitHubActionsDeploy", "111122223333"): "grant",
    (
        "arn:aws:iam::444455556666:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_Access_0a1b2c3d4e5f6789",
        "444455556666",
    ): "permission_set",
    ("arn:aws:iam::123456789012:role/PartnerReadOnly", "111122223333"): "cross_account_role",
    ("arn:aws:iam::999988887777:role/ExternalAuditor", "111122223333"): "cross_account_role",
    ("arn:aws:iam::111122223333:user/contractor-bob", "111122223333"): "review_deny",
    ("arn:aws:iam::444455556666:role/DataScience", "444455556666"): "org_policy",
    ("arn:aws:iam::111122223333:role/ServiceOperator", "111122223333"): "review_deny",
    ("arn:aws:iam::111122223333:role/SupportAccess", "111122223333"): "review_deny",
    ("arn:aws:iam::444455556666:role/BatchReporter", "444455556666"): "review_deny",
    ("arn:aws:iam::444455556666:root", "444455556666"): "org_policy",
    (None, "111122223333"): "review_deny",  # the AWSService caller
    ("arn:aws:iam::777788889999:user/svc-legacy", "777788889999"): "investigate",
    ("arn:aws:iam::444455556666:user/ops-intern", "444455556666"): "grant",
    ("arn:aws:iam::111122223333:role/LegacyJenkins", "111122223333"): "grant",
    ("arn:aws:iam::444455556666:user/dev-carol", "444455556666"): "grant",
    (
        "arn:aws:iam::111122223333:role/PlatformTerraformApplyRole-AppRunnerProvisioning-prod-use1",
        "111122223333",
    ): "review_deny",
    ("arn:aws:iam::111122223333:user/bob", "111122223333"): "review_deny",
    ("arn:aws:iam::444455556666:role/ADFS-ReadOnly", "444455556666"): "grant",
    ("arn:aws:iam::777788889999:role/GitHubDocsPreview", "777788889999"): "grant",
}


@pytest.fixture(scope="module")
def report():
    options = Options(
        trusted_accounts=DEMO_TRUSTED_ACCOUNTS, organization_accounts=DEMO_ORGANIZATION, organization_id="o-a1b2c3d4e5"
    )
    return analyse([sample_source()], options=options).report


def _by_principal(report):
    return {(f["principal"]["arn"], f["target_account_id"]): f for f in report["findings"]}


def test_totals_as_the_sample_day_states(report):
    validate(report)
    assert report["totals"]["records_read"] == 4739
    assert report["totals"]["malformed_records"] == 0
    assert report["totals"]["denials"] == 82, "82 App Runner denials after removing the 4 duplicate deliveries"
    assert report["totals"]["principals"] == 20


def test_each_scenario_gets_its_remedy_kind(report):
    kinds = {key: f["remedy"]["kind"] for key, f in _by_principal(report).items()}
    assert kinds == EXPECTED


def test_every_remedy_kind_appears_and_every_policy_passes_the_catalog(report):
    assert {f["remedy"]["kind"] for f in report["findings"]} == {
        "grant",
        "cross_account_role",
        "permission_set",
        "review_deny",
        "org_policy",
        "investigate",
    }
    for finding in report["findings"]:
        remedy = finding["remedy"]
        for policy in (remedy["policy"], remedy["caller_policy"], *remedy["more_policies"]):
            if policy:
                assert catalog_problems(policy) == [], finding["principal"]["arn"]
                parliament = [(x.issue, x.detail) for x in analyze_policy_string(json.dumps(policy)).findings]
                assert parliament == [], (finding["principal"]["arn"], parliament)


def test_outside_account_needs_external_id_trusted_partner_does_not(report):
    found = _by_principal(report)
    outside = found[("arn:aws:iam::999988887777:role/ExternalAuditor", "111122223333")]["remedy"]
    partner = found[("arn:aws:iam::123456789012:role/PartnerReadOnly", "111122223333")]["remedy"]
    assert "sts:ExternalId" in json.dumps(outside["trust_policy"])
    assert "Condition" not in partner["trust_policy"]["Statement"][0]


def test_ci_role_gets_pass_role_to_app_runner_only(report):
    policy = _by_principal(report)[("arn:aws:iam::111122223333:role/GitHubActionsDeploy", "111122223333")]["remedy"]
    statements = {s["Action"]: s for s in policy["policy"]["Statement"]}
    assert statements["iam:PassRole"]["Resource"] == "arn:aws:iam::111122223333:role/AppRunnerInstanceRole"
    assert statements["iam:PassRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "apprunner.amazonaws.com"}
    }


def test_truncated_message_is_flagged(report):
    key = ("arn:aws:iam::111122223333:role/PlatformTerraformApplyRole-AppRunnerProvisioning-prod-use1", "111122223333")
    assert any("cut at about 1,024" in n for n in _by_principal(report)[key]["remedy"]["notes"])


def test_the_generator_reproduces_the_bundled_data_byte_for_byte(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_sample_day.py"), "--out", str(tmp_path), "--quiet"],
        check=True,
        timeout=120,
    )
    bundled = bundled_sample_path()
    comparison = filecmp.dircmp(tmp_path / "AWSLogs", bundled / "AWSLogs")
    _assert_same_tree(comparison)


def _assert_same_tree(comparison):
    assert not comparison.left_only and not comparison.right_only and not comparison.diff_files, comparison.report()
    _, mismatch, errors = filecmp.cmpfiles(comparison.left, comparison.right, comparison.common_files, shallow=False)
    assert not mismatch and not errors
    for sub in comparison.subdirs.values():
        _assert_same_tree(sub)
