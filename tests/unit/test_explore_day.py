"""analysis.explore.day: one run's tables, on the bundled sample day (expected figures by hand from
scripts/SAMPLE_DAY.md's scenario table and docs/CONTRACT.md's rules) and on hand-written reports.

The sample day is local files (as tests/unit/test_render_sample_day.py reads it): unit tests, no AWS.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

import analysis.explore.day
import analysis.sources
from analysis.config import ConfigError
from analysis.contract import Report, as_finding, as_report
from analysis.explore.day import (
    SOURCE_PROBLEM_COLUMNS,
    Exploration,
    day_in_numbers,
    denials_over_time,
    explore,
    finding_labels,
    load_report,
    principal_action_matrix,
    principal_key,
    principal_label,
    severity_and_remedies,
    severity_grid,
    source_problems,
    top_actions,
    top_principals,
    top_reasons,
)
from analysis.model import Options, Window
from analysis.pipeline import analyse
from analysis.settings import ENVIRONMENT
from analysis.sources.base import RecordsSource
from analysis.sources.files import FileSource, bundled_sample_path
from tests import factories
from tests import reports as hand

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not bundled_sample_path().exists(), reason="the sample day is not generated yet"),
]

ALICE = "user/dev-alice @111122223333"
LEGACY = "user/svc-legacy @777788889999"
# The 20 principals of SAMPLE_DAY.md's scenario table, labelled by hand (cross-account ones: 4a, 4b).
SAMPLE_LABELS = {
    ALICE,
    "role/GitHubActionsDeploy @111122223333",
    "permission-set/Developer_Access @444455556666",
    "role/PartnerReadOnly @123456789012 → 111122223333",
    "role/ExternalAuditor @999988887777 → 111122223333",
    "user/contractor-bob @111122223333",
    "role/DataScience @444455556666",
    "role/ServiceOperator @111122223333",
    "role/SupportAccess @111122223333",
    "role/BatchReporter @444455556666",
    "root @444455556666",
    "service:apprunner.amazonaws.com",
    LEGACY,
    "user/ops-intern @444455556666",
    "role/LegacyJenkins @111122223333",
    "user/dev-carol @444455556666",
    "role/PlatformTerraformApplyRole-AppRunnerProvisioning-prod-use1 @111122223333",
    "user/bob @111122223333",
    "role/ADFS-ReadOnly @444455556666",
    "role/GitHubDocsPreview @777788889999",
}


@pytest.fixture(scope="module")
def sample() -> Exploration:
    return explore("sample")


@pytest.fixture(scope="module")
def stored(sample: Exploration, tmp_path_factory: pytest.TempPathFactory) -> Exploration:
    """The sample day's report as the CLI's ``--format json`` writes it, read back."""
    path = tmp_path_factory.mktemp("stored") / "report.json"
    path.write_text(sample.report.dumps(), encoding="utf-8")
    return explore(str(path))


@pytest.fixture(autouse=True)
def no_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of other sources take the environment's settings: none here, unless a test sets them."""
    for variable in ENVIRONMENT.values():
        monkeypatch.delenv(variable, raising=False)


def report(value: dict) -> Report:
    return as_report(value)


def figures_of(run: Exploration) -> dict:
    return dict(day_in_numbers(run.report).itertuples(index=False))


def write_json(path: Path, value: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def two_principals_three_denials() -> list[dict]:
    """dev-alice refused DescribeService twice, contractor-bob DeleteService once (111122223333, the 28th)."""
    bob = factories.iam_user("contractor-bob")
    return [
        factories.record(event_time="2026-11-28T10:00:00Z"),
        factories.record(event_time="2026-11-28T10:05:00Z"),
        factories.record("DeleteService", identity=bob, event_time="2026-11-28T11:00:00Z"),
    ]


# --- explore --------------------------------------------------------------------------------------


def test_sample_is_the_bundled_day_with_the_demo_window_and_organization(sample):
    assert sample.report.window.start == "2026-11-28T00:00:00Z"
    assert sample.report.window.end == "2026-11-29T00:00:00Z"
    assert sample.frame is not None and len(sample.frame) == 82
    assert sample.source == "the bundled sample day"
    external = [f for f in sample.report.findings if f.principal.account_id == "999988887777"]
    assert external[0].severity == "critical"  # 4b: neither trusted nor in the organization (demo options)
    partner = [f for f in sample.report.findings if f.principal.account_id == "123456789012"]
    assert partner[0].severity == "medium"  # 4a: trusted


def test_a_stored_report_may_be_given_as_a_path(stored, tmp_path):
    path = tmp_path / "report.json"
    path.write_text(stored.report.dumps(), encoding="utf-8")
    assert explore(path).report == stored.report


def test_a_stored_report_is_loaded_without_rows(stored, sample):
    assert stored.frame is None
    assert stored.source.startswith("stored report ") and stored.source.endswith("report.json")
    assert stored.report.totals == sample.report.totals


@pytest.mark.parametrize(
    "table",
    [
        day_in_numbers,
        denials_over_time,
        principal_action_matrix,
        top_principals,
        top_actions,
        top_reasons,
        severity_and_remedies,
    ],
)
def test_a_stored_report_gives_the_same_tables_as_the_run(table, sample, stored):
    expected, got = table(sample.report), table(stored.report)
    if isinstance(expected, pd.Series):
        pd.testing.assert_series_equal(got, expected)
    else:
        pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize(
    "value",
    [
        {"schema_version": "1", "findings": []},  # no window, sources, totals …
        {**hand.report([]), "findings": [{"id": "f-0"}]},
    ],
)
def test_a_stored_report_that_is_not_valid_is_named(tmp_path, value):
    path = write_json(tmp_path / "report.json", value)
    with pytest.raises(ValueError, match="not a report") as raised:
        explore(str(path))
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    ("text", "status", "records_read", "malformed", "problem"),
    [
        ("{not json", "failed", 0, 1, "not valid JSON"),
        ("[1, 2]", "failed", 0, 2, "[1]: expected a JSON object"),
        ('{"schema_version": "1"}', "ok", 1, 0, "none of its 1 record(s) is a CloudTrail record"),  # no findings
    ],
)
def test_a_json_file_that_is_no_report_is_read_by_the_sources_which_name_it(
    tmp_path, text, status, records_read, malformed, problem
):
    path = tmp_path / "notes.json"
    path.write_text(text, encoding="utf-8")
    run = explore(str(path))
    [read] = run.report.sources
    assert (read.status, read.records_read, read.malformed_records) == (status, records_read, malformed)
    assert any(str(path) in line and problem in line for line in read.problems)
    assert figures_of(run)["sources with problems"] == 1


@pytest.mark.parametrize(
    "container",
    [
        lambda records: {"Events": [factories.lookup_event(record) for record in records]},  # lookup-events output
        lambda records: records,  # a JSON array of records
    ],
    ids=["lookup-events", "array"],
)
def test_a_json_file_of_records_is_read_as_the_cli_reads_it(tmp_path, container):
    records = two_principals_three_denials()
    path = write_json(tmp_path / "saved.json", container(records))
    run = explore(path)
    assert run.frame is not None and len(run.frame) == 3
    assert (run.report.totals.records_read, run.report.totals.denials, run.report.totals.principals) == (3, 3, 2)
    assert {(f.principal.arn, f.denials) for f in run.report.findings} == {
        ("arn:aws:iam::111122223333:user/dev-alice", 2),
        ("arn:aws:iam::111122223333:user/contractor-bob", 1),
    }
    cli = analyse([FileSource(path)], Window(None, None), Options()).report  # what `report --source FILE` runs
    assert run.report.findings == cli.findings and run.report.totals == cli.totals


def test_a_json_trail_file_is_read_as_cloudtrail(tmp_path):
    denial = factories.record(event_time="2026-11-28T10:00:00Z")
    path = tmp_path / "trail.json"
    path.write_text(json.dumps(factories.trail_file([denial])), encoding="utf-8")
    run = explore(str(path))
    assert run.frame is not None
    assert run.report.totals.records_read == 1
    assert run.report.totals.denials == 1


def test_other_sources_take_the_environment_s_settings(tmp_path, monkeypatch):
    caller = factories.assumed_role("DataScience", "s", account=factories.OTHER_ACCOUNT)
    refused = [factories.record(identity=caller, event_time=f"2026-11-28T10:0{n}:00Z") for n in range(3)]
    other_service = factories.record(
        "GetBucketPolicy", event_source="s3.amazonaws.com", request={}, event_time="2026-11-28T10:10:00Z"
    )
    path = write_json(tmp_path / "trail.json", factories.trail_file([*refused, other_service]))

    def trust_condition() -> dict:
        [finding] = [f for f in explore(path).report.findings if f.cross_account]
        assert finding.remedy is not None and finding.remedy.trust_policy is not None
        return finding.remedy.trust_policy.model_dump()["Statement"][0].get("Condition") or {}

    assert "sts:ExternalId" in trust_condition().get("StringEquals", {})  # none set: an account from outside
    monkeypatch.setenv("TRUSTED_ACCOUNTS", factories.OTHER_ACCOUNT)
    assert "sts:ExternalId" not in trust_condition().get("StringEquals", {})
    monkeypatch.delenv("TRUSTED_ACCOUNTS")
    monkeypatch.setenv("ORG_ACCOUNTS", f"{factories.ACCOUNT},{factories.OTHER_ACCOUNT}")
    monkeypatch.setenv("ORG_ID", "o-a1b2c3d4e5")
    assert trust_condition() == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    assert explore(path).report.totals.denials == 3  # App Runner only, the default
    monkeypatch.setenv("AUDITED_SERVICE", "all")
    assert explore(path).report.totals.denials == 4  # and s3:GetBucketPolicy


def test_a_malformed_setting_in_the_environment_is_named(tmp_path, monkeypatch):
    path = write_json(tmp_path / "trail.json", factories.trail_file([factories.record()]))
    monkeypatch.setenv("TRUSTED_ACCOUNTS", "not-an-account")
    with pytest.raises(ConfigError, match="TRUSTED_ACCOUNTS"):
        explore(path)


def test_a_failing_source_still_gives_its_report(tmp_path):
    run = explore(str(tmp_path / "missing"))
    [status] = run.report.sources
    assert status.status == "failed" and status.error
    assert run.report.totals.denials == 0
    assert day_in_numbers(run.report).set_index("figure").loc["sources failed", "value"] == 1


def test_a_source_that_cannot_be_opened_is_reported_failed(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise RuntimeError("no credentials")

    monkeypatch.setattr(analysis.sources, "sources_from_spec", refuse)
    run = explore("s3://bucket/prefix", now=datetime(2026, 11, 29, tzinfo=UTC))
    [status] = run.report.sources
    assert status.status == "failed"
    assert "no credentials" in (status.error or "")


def test_an_aws_source_without_a_window_reads_the_last_24_hours(monkeypatch):
    seen: list[Window] = []

    def records(spec, window, options):
        seen.append(window)
        return [RecordsSource([], name=spec)]

    monkeypatch.setattr(analysis.sources, "sources_from_spec", records)
    now = datetime(2026, 11, 29, 6, 30, 15, 123456, tzinfo=UTC)
    explore("lookup:us-east-1", now=now)
    end = datetime(2026, 11, 29, 6, 30, 15, tzinfo=UTC)
    assert seen == [Window(end - timedelta(hours=24), end)]


def test_a_wrong_source_form_is_refused():
    with pytest.raises(analysis.sources.SourceError, match="not a source"):
        explore("gs://bucket")


# --- labels ---------------------------------------------------------------------------------------


def test_sample_labels_by_hand(sample):
    assert set(finding_labels(sample.report)) == SAMPLE_LABELS
    assert [principal_label(f) for f in sample.report.findings] == finding_labels(sample.report)


def test_an_sso_role_without_a_permission_set_is_shown_by_its_role_name():
    arn = "arn:aws:iam::444455556666:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Dev_0123456789abcdef"
    finding = as_finding(hand.finding(arn, type_="AssumedRole", account="444455556666", target="444455556666"))
    assert principal_label(finding) == "role/AWSReservedSSO_Dev_0123456789abcdef @444455556666"


def test_a_principal_without_arn_is_shown_by_its_key():
    finding = as_finding(hand.finding(None, account="999988887777", target=hand.ACCOUNT))
    assert principal_label(finding) == "account:999988887777 → 111122223333"


def test_one_principal_in_two_accounts_gets_two_labels():
    own = hand.finding(f"arn:aws:iam::{hand.ACCOUNT}:role/Deploy", type_="AssumedRole")
    other = hand.finding(f"arn:aws:iam::{hand.ACCOUNT}:role/Deploy", type_="AssumedRole", target=hand.PARTNER)
    assert finding_labels(report(hand.report([own, other]))) == [
        "role/Deploy @111122223333",
        "role/Deploy @111122223333 → 444455556666",
    ]


def test_a_service_refused_in_two_accounts_gets_two_labels():
    def service(target: str) -> dict:
        value = hand.finding(None, type_="AWSService", account=None, target=target)
        value["principal"]["key"] = "service:apprunner.amazonaws.com"
        return value

    labels = finding_labels(report(hand.report([service(hand.ACCOUNT), service(hand.PARTNER)])))
    assert labels == [
        "service:apprunner.amazonaws.com → 111122223333",
        "service:apprunner.amazonaws.com → 444455556666",
    ]


# --- the day in numbers ---------------------------------------------------------------------------


def test_day_in_numbers_of_the_sample_day(sample):
    figures = dict(day_in_numbers(sample.report).itertuples(index=False))
    assert figures == {
        "records read": 4739,
        "denials": 82,
        "principals": 20,
        "findings": 20,
        "distinct actions": 21,  # the scenario table's App Runner actions, with iam:PassRole for 2 and 11d
        "malformed records": 0,
        "sources": 1,
        "sources ok": 1,
        "sources partial": 0,
        "sources failed": 0,
        "sources with problems": 0,
        "window start": "2026-11-28T00:00:00Z",
        "window end": "2026-11-29T00:00:00Z",
    }


def test_day_in_numbers_counts_malformed_records(tmp_path):
    good = json.dumps(factories.record(event_time="2026-11-28T10:00:00Z"))
    (tmp_path / "day.jsonl").write_text(f"{good}\n{{bad\n", encoding="utf-8")
    assert figures_of(explore(tmp_path)) == {
        "records read": 1,
        "denials": 1,
        "principals": 1,
        "findings": 1,
        "distinct actions": 1,
        "malformed records": 1,  # line 2
        "sources": 1,
        "sources ok": 0,
        "sources partial": 1,  # one record read, one item not
        "sources failed": 0,
        "sources with problems": 1,
        "window start": "open",
        "window end": "open",
    }


def test_a_folder_without_cloudtrail_data_is_not_a_quiet_day(tmp_path):
    write_json(tmp_path / "notes" / "foo.json", {"foo": 1})
    run = explore(tmp_path / "notes")
    figures = figures_of(run)
    assert (figures["records read"], figures["sources ok"], figures["malformed records"]) == (1, 1, 0)
    assert figures["sources with problems"] == 1
    [row] = source_problems(run.report).to_dict("records")
    assert row["source"] == str(tmp_path / "notes")
    assert (row["status"], row["records_read"], row["malformed_records"]) == ("ok", 1, 0)
    assert "none of its 1 record(s) is a CloudTrail record" in row["problem"]


def test_source_problems_of_a_malformed_gzip(tmp_path):
    whole = gzip.compress(json.dumps(factories.trail_file([factories.record()])).encode())
    (tmp_path / "cut.json.gz").write_bytes(whole[:30])  # the end of the stream is missing
    (tmp_path / "trail.json").write_text(json.dumps(factories.trail_file([factories.record()])), encoding="utf-8")
    table = source_problems(explore(tmp_path).report)
    assert table.columns.tolist() == SOURCE_PROBLEM_COLUMNS
    assert table["problem"].tolist() == [
        "1 item(s) could not be read",  # the error first, then each problem
        f"{tmp_path / 'cut.json.gz'}: cannot decompress gzip "
        "(Compressed file ended before the end-of-stream marker was reached)",
    ]
    assert set(table["status"]) == {"partial"}  # trail.json's record was read
    assert table["records_read"].tolist() == [1, 1] and table["malformed_records"].tolist() == [1, 1]
    assert table["records_read"].dtype == "int64"


def test_a_clean_run_has_no_source_problems(sample):
    table = source_problems(sample.report)
    assert table.empty and table.columns.tolist() == SOURCE_PROBLEM_COLUMNS


def test_late_denials_are_a_figure_when_the_report_counts_them():
    figures = dict(day_in_numbers(report(hand.daily_with_late_arrivals())).itertuples(index=False))
    assert figures["late denials"] == 2


def test_an_open_window_says_so():
    value = hand.empty_day()
    value["window"] = {"start": None, "end": None}
    figures = dict(day_in_numbers(report(value)).itertuples(index=False))
    assert (figures["window start"], figures["window end"], figures["denials"]) == ("open", "open", 0)


# --- over time ------------------------------------------------------------------------------------


def test_denials_over_time_of_the_sample_day(sample):
    series = denials_over_time(sample.report)
    assert series.name == "hour"
    assert len(series) == 24 and int(series.sum()) == 82
    assert series.index[0] == pd.Timestamp("2026-11-28T00:00:00Z")
    assert str(series.index.tz) == "UTC"
    by_hour = {stamp.hour: int(count) for stamp, count in series.items()}
    assert by_hour[0] == 0
    assert by_hour[1] == 2  # 7c BatchReporter at 01:00 and 01:30
    assert by_hour[2] == 20  # 10 svc-legacy's 19 from 02:14:07, and 7c at 02:00
    assert by_hour[4] == 5  # 4b ExternalAuditor 04:37-04:39


def test_no_timeline_gives_an_empty_series():
    series = denials_over_time(report(hand.empty_day()))
    assert series.empty and series.dtype == "int64"


# --- principals × actions -------------------------------------------------------------------------


def test_matrix_of_the_sample_day(sample):
    matrix = principal_action_matrix(sample.report)
    assert matrix.shape == (20, 21)
    assert (matrix.dtypes == "int64").all()
    assert int(matrix.to_numpy().sum()) == 82
    assert matrix.index[:2].tolist() == [LEGACY, ALICE]
    assert int(matrix.loc[LEGACY].sum()) == 19 and int((matrix.loc[LEGACY] > 0).sum()) == 14
    assert matrix.loc[ALICE, "apprunner:DescribeService"] == 8
    assert matrix.loc[ALICE, "apprunner:ListOperations"] == 4
    # DescribeService 22 (1: 8, 4a: 5, 4b: 3, 10: 2, 11a: 2, 11e: 2); ListOperations and ListServices 11 each,
    # by name
    assert matrix.columns[:3].tolist() == [
        "apprunner:DescribeService",
        "apprunner:ListOperations",
        "apprunner:ListServices",
    ]


def test_matrix_ties_go_by_label_and_name():
    findings = [
        hand.finding(f"arn:aws:iam::{hand.ACCOUNT}:user/zed", actions=[hand.action("apprunner:ListServices", count=2)]),
        hand.finding(
            f"arn:aws:iam::{hand.ACCOUNT}:user/amy", actions=[hand.action("apprunner:DeleteService", count=2)]
        ),
    ]
    matrix = principal_action_matrix(report(hand.report(findings)))
    assert matrix.index.tolist() == ["user/amy @111122223333", "user/zed @111122223333"]
    assert matrix.columns.tolist() == ["apprunner:DeleteService", "apprunner:ListServices"]
    assert matrix.to_numpy().tolist() == [[2, 0], [0, 2]]


def test_matrix_top_keeps_the_busiest_rows_and_their_actions(sample):
    matrix = principal_action_matrix(sample.report, top=2)
    assert matrix.index.tolist() == [LEGACY, ALICE]
    assert matrix.shape == (2, 14)  # dev-alice's two actions are among svc-legacy's fourteen
    assert int(matrix.to_numpy().sum()) == 31


def test_matrix_of_an_empty_day_is_empty():
    assert principal_action_matrix(report(hand.empty_day())).empty


# --- tops -----------------------------------------------------------------------------------------


def test_top_principals_of_the_sample_day(sample):
    table = top_principals(sample.report, n=4).set_index("principal")
    assert table.index.tolist() == [
        LEGACY,
        ALICE,
        "permission-set/Developer_Access @444455556666",
        "role/GitHubActionsDeploy @111122223333",
    ]
    assert table["denials"].tolist() == [19, 12, 8, 7]
    assert table["actions"].tolist() == [14, 2, 2, 2]
    assert table["remedy"].tolist() == ["investigate", "grant", "permission_set", "grant"]
    assert table.loc[LEGACY, "severity"] == "critical"
    assert table.loc[LEGACY, "first_seen"] == "2026-11-28T02:14:07Z"


def test_top_principals_default_is_ten(sample):
    assert len(top_principals(sample.report)) == 10


def test_top_actions_of_the_sample_day(sample):
    table = top_actions(sample.report, n=3).set_index("action")
    assert table.index.tolist() == ["apprunner:DescribeService", "apprunner:ListOperations", "apprunner:ListServices"]
    assert table["denials"].tolist() == [22, 11, 11]
    assert table["principals"].tolist() == [6, 4, 5]
    assert table.loc["apprunner:ListServices", "reasons"] == ["no_identity_allow"]
    assert table.loc["apprunner:ListOperations", "reasons"] == ["no_identity_allow", "unknown", "vpc_endpoint_policy"]


def test_top_reasons_of_the_sample_day(sample):
    table = top_reasons(sample.report).set_index("reason")
    by_hand = {
        "no_identity_allow": 50,  # 1: 12, 2: 7, 3: 8, 4b ListServices: 2, 10: 19, 11f: 1, 11g: 1
        "unknown": 9,  # 8: 2, 9: 2, 11a: 2, 11b: 2, 11c: 1
        "resource_policy": 8,  # 4a: 5, 4b DescribeService: 3
        "session_policy": 4,  # 7b: 2, 11e: 2
        "explicit_identity_deny": 3,  # 5: 2, 11d: 1
        "permissions_boundary": 3,
        "vpc_endpoint_policy": 3,
        "scp": 2,
    }
    assert table["denials"].to_dict() == by_hand
    assert table.index.tolist() == list(by_hand)  # most first; 3-3-3 by name
    assert table["sole_reason_denials"].to_dict() == by_hand  # no action of the day has two reasons
    assert table.loc["no_identity_allow", "principals"] == 7
    assert table.loc["unknown", "actions"] == 5  # DeleteService, StartDeployment, DescribeService, ListOperations,
    # ResumeService


def test_an_action_with_two_reasons_counts_under_each():
    two = hand.action("apprunner:DescribeService", count=4, reasons=["no_identity_allow", "resource_policy"])
    one = hand.action("apprunner:ListServices", count=1, reasons=["no_identity_allow"])
    table = top_reasons(report(hand.report([hand.finding(actions=[two, one])]))).set_index("reason")
    assert table["denials"].to_dict() == {"no_identity_allow": 5, "resource_policy": 4}
    assert table["sole_reason_denials"].to_dict() == {"no_identity_allow": 1, "resource_policy": 0}
    assert table["actions"].to_dict() == {"no_identity_allow": 2, "resource_policy": 1}


# --- severities and remedies ----------------------------------------------------------------------


def test_severity_and_remedies_of_the_sample_day(sample):
    table = severity_and_remedies(sample.report)
    # by hand from SAMPLE_DAY.md and docs/CONTRACT.md's severity rule
    expected = {
        ("critical", "cross_account_role"): (1, 5),  # 4b, an unknown account
        ("critical", "org_policy"): (1, 2),  # 8, root
        ("critical", "investigate"): (1, 19),  # 10
        ("high", "grant"): (1, 7),  # 2, iam:PassRole
        ("high", "review_deny"): (3, 5),  # 5, 7b explicit denies of writes; 11d iam:PassRole
        ("high", "org_policy"): (1, 2),  # 6, an SCP refusing a write
        ("medium", "grant"): (1, 1),  # 11c ResumeService
        ("medium", "cross_account_role"): (1, 5),  # 4a, trusted
        ("medium", "permission_set"): (1, 8),  # 3, UpdateService
        ("medium", "review_deny"): (2, 5),  # 7a PauseService, 9 StartDeployment
        ("low", "grant"): (5, 18),  # 1, 11a, 11b, 11f, 11g
        ("low", "review_deny"): (2, 5),  # 7c, 11e
    }
    got = {
        (str(row.severity), str(row.remedy)): (int(row.findings), int(row.denials))
        for row in table.itertuples(index=False)
    }
    assert got == expected
    assert list(got) == list(expected)  # severities in order, then remedy kinds in the contract's
    grid = table.pivot_table(index="severity", columns="remedy", values="denials", fill_value=0, observed=True)
    assert [str(s) for s in grid.index] == ["critical", "high", "medium", "low"]
    assert [str(r) for r in grid.columns] == [
        "grant",
        "cross_account_role",
        "permission_set",
        "review_deny",
        "org_policy",
        "investigate",
    ]
    assert int(grid.to_numpy().sum()) == 82


def test_a_finding_without_remedy_is_none():
    table = severity_and_remedies(report(hand.report([hand.finding(kind=None)])))
    assert [(str(row.severity), str(row.remedy)) for row in table.itertuples(index=False)] == [("low", "none")]


def test_severity_grid_is_the_long_table_in_the_contracts_order(sample):
    grid = severity_grid(sample.report)
    # scripts/SAMPLE_DAY.md: 82 denials; every severity and every remedy kind occurs on the sample day
    assert list(grid.index) == ["critical", "high", "medium", "low"]
    assert list(grid.columns) == [
        "grant",
        "cross_account_role",
        "permission_set",
        "review_deny",
        "org_policy",
        "investigate",
    ]
    assert int(grid.to_numpy().sum()) == 82
    long = severity_and_remedies(sample.report)
    for row in long.itertuples():
        assert grid.loc[row.severity, row.remedy] == row.denials
    assert (grid == 0).to_numpy().sum() == len(grid.index) * len(grid.columns) - len(long)
    assert grid.loc["critical", "investigate"] == 19  # svc-legacy's sweep (scenario 10)


# --- more of each table's promises (what the notebook reads) ----------------------------------------------------


def arn_finding(arn: str, *, permission_set: str | None = None, **extra: object):
    value = hand.finding(arn, **extra)
    value["principal"]["permission_set"] = permission_set
    return as_finding(value)


@pytest.mark.parametrize(
    ("arn", "permission_set", "label"),
    [
        # a role's or a user's path is left out, however deep
        ("arn:aws:iam::111122223333:role/service-role/team/Deploy", None, "role/Deploy @111122223333"),
        ("arn:aws:iam::111122223333:user/engineering/dev-alice", None, "user/dev-alice @111122223333"),
        # an Identity Center role named by its permission set, whatever its path
        (
            "arn:aws:iam::444455556666:role/AWSReservedSSO_Dev_0a1b",
            "Developer_Access",
            "permission-set/Developer_Access @444455556666",
        ),
        # only a role is an Identity Center role: a user whose path reads so is a user
        ("arn:aws:iam::111122223333:user/aws-reserved/sso.amazonaws.com/x", None, "user/x @111122223333"),
        # anything else is shown whole: a session ARN, a colon in the log's text, an ARN without an account
        ("arn:aws:sts::111122223333:assumed-role/Deploy/jane", None, "assumed-role/Deploy/jane @111122223333"),
        ("arn:aws:iam::111122223333:user/evil:name", None, "user/evil:name @111122223333"),
        ("arn:aws:iam:::user/nobody", None, "user/nobody"),
        ("arn:aws:iam::444455556666:root", None, "root @444455556666"),
    ],
)
def test_principal_labels_by_hand(arn, permission_set, label):
    assert principal_label(arn_finding(arn, permission_set=permission_set)) == label


def test_a_principal_without_arn_or_key_is_an_unknown_principal():
    finding = as_finding(hand.finding(None, account=None))
    finding = finding.model_copy(update={"principal": finding.principal.model_copy(update={"key": None})})
    assert principal_label(finding) == "unknown principal"


def test_principal_key_of_a_report_made_before_keys_is_the_arn():
    finding = as_finding(hand.finding())
    keyless = finding.model_copy(update={"principal": finding.principal.model_copy(update={"key": None})})
    assert principal_key(keyless) == "arn:aws:iam::111122223333:user/dev-alice"
    no_arn = keyless.model_copy(update={"principal": keyless.principal.model_copy(update={"arn": None})})
    assert principal_key(no_arn) == "account:111122223333"


def test_findings_that_still_read_the_same_get_their_ids():
    partner = f"arn:aws:iam::{hand.PARTNER}:role/Reader"
    twice = [hand.finding(partner, type_="AssumedRole", account=hand.PARTNER) for _ in range(2)]
    twice[1]["id"] = "f-00000000000000ff"
    labels = finding_labels(report(hand.report(twice)))
    first_id = twice[0]["id"]
    assert labels == [
        f"role/Reader @444455556666 → 111122223333 ({first_id})",
        "role/Reader @444455556666 → 111122223333 (f-00000000000000ff)",
    ]


def test_a_principal_without_known_accounts_is_told_apart_by_unknown():
    def service(target: str | None) -> dict:
        value = hand.finding(None, type_="AWSService", account=None, target=target)
        value["principal"]["key"] = "service:apprunner.amazonaws.com"
        return value

    labels = finding_labels(report(hand.report([service(hand.ACCOUNT), service(None)])))
    assert labels == ["service:apprunner.amazonaws.com → 111122223333", "service:apprunner.amazonaws.com → unknown"]


def test_an_empty_timeline_keeps_its_unit_and_a_utc_index():
    value = hand.empty_day()
    value["timeline"] = {"unit": "day", "buckets": []}
    series = denials_over_time(report(value))
    assert series.empty and series.name == "day" and series.dtype == "int64"
    assert isinstance(series.index, pd.DatetimeIndex) and str(series.index.tz) == "UTC"
    assert series.index.name == "start"
    none = denials_over_time(report(hand.empty_day()))
    assert none.name is None and isinstance(none.index, pd.DatetimeIndex) and str(none.index.tz) == "UTC"
    assert none.index.name == "start"


def test_denials_over_time_is_indexed_by_start(sample):
    assert denials_over_time(sample.report).index.name == "start"


def test_the_matrix_names_its_axes(sample):
    matrix = principal_action_matrix(sample.report)
    assert (matrix.index.name, matrix.columns.name) == ("principal", "action")


TOP_PRINCIPAL_COLUMNS = [
    "principal",
    "denials",
    "actions",
    "severity",
    "remedy",
    "confidence",
    "first_seen",
    "last_seen",
]


def test_top_principals_columns_and_a_finding_without_remedy():
    table = top_principals(report(hand.report([hand.finding(kind=None)])))
    assert table.columns.tolist() == TOP_PRINCIPAL_COLUMNS
    assert table.to_dict("records") == [
        {
            "principal": ALICE,
            "denials": 3,
            "actions": 1,
            "severity": "low",
            "remedy": "none",
            "confidence": "normal",
            "first_seen": "2026-11-28T09:15:00Z",
            "last_seen": "2026-11-28T11:40:00Z",
        }
    ]
    assert table["denials"].dtype == "int64"


def test_the_tops_of_an_empty_day_are_empty_with_their_columns():
    empty = report(hand.empty_day())
    assert top_principals(empty).columns.tolist() == TOP_PRINCIPAL_COLUMNS
    assert top_actions(empty).columns.tolist() == ["action", "denials", "principals", "reasons"]
    assert top_reasons(empty).columns.tolist() == ["reason", "denials", "sole_reason_denials", "actions", "principals"]
    assert all(len(table) == 0 for table in (top_principals(empty), top_actions(empty), top_reasons(empty)))


def test_top_actions_default_is_ten_and_columns_are_exact(sample):
    table = top_actions(sample.report)
    assert len(table) == 10  # of the day's 21 actions
    assert table.columns.tolist() == ["action", "denials", "principals", "reasons"]
    assert table["denials"].dtype == "int64"


def test_severity_and_remedies_of_an_empty_day_keeps_its_types():
    table = severity_and_remedies(report(hand.empty_day()))
    assert table.empty
    assert (table["findings"].dtype, table["denials"].dtype) == ("int64", "int64")
    assert table["severity"].cat.ordered and table["remedy"].cat.ordered


def test_severity_and_remedies_are_ordered_categoricals(sample):
    table = severity_and_remedies(sample.report)
    assert table["severity"].cat.ordered and table["remedy"].cat.ordered
    assert table["severity"].min() == "critical"  # the order: critical first


def test_severity_grid_holds_only_what_the_report_has():
    findings = [
        hand.finding(kind="grant"),
        hand.finding(f"arn:aws:iam::{hand.ACCOUNT}:user/bob", kind="review_deny", severity="high"),
    ]
    grid = severity_grid(report(hand.report(findings)))
    assert [str(s) for s in grid.index] == ["high", "low"]
    assert [str(r) for r in grid.columns] == ["grant", "review_deny"]
    assert grid.to_numpy().tolist() == [[0, 3], [3, 0]]
    assert (grid.dtypes == "int64").all()


# --- explore's arguments --------------------------------------------------------------------------


def test_explore_reads_the_sample_by_default():
    run = explore()
    assert run.source == "the bundled sample day"
    assert (run.report.totals.denials, run.report.window.start) == (82, "2026-11-28T00:00:00Z")


def test_a_stored_report_says_where_it_was_read(tmp_path):
    path = write_json(tmp_path / "report.json", hand.report([hand.finding()]))
    run = explore(path)
    assert (run.source, run.frame) == (f"stored report {path}", None)


def test_a_folder_is_described_by_its_path(tmp_path):
    write_json(tmp_path / "trail.json", factories.trail_file([factories.record()]))
    assert explore(tmp_path).source == str(tmp_path)


def test_a_folder_named_like_a_json_file_is_read_as_a_folder(tmp_path):
    folder = tmp_path / "day.json"
    write_json(folder / "trail.json", factories.trail_file([factories.record(event_time="2026-11-28T10:00:00Z")]))
    run = explore(folder)
    assert run.report.totals.denials == 1 and run.frame is not None


def test_a_report_of_exactly_the_whole_file_limit_is_read_whole(tmp_path, monkeypatch):
    path = write_json(tmp_path / "report.json", hand.report([hand.finding()]))
    monkeypatch.setattr(analysis.explore.day, "WHOLE_FILE_LIMIT", path.stat().st_size)
    assert explore(path).source == f"stored report {path}"
    monkeypatch.setattr(analysis.explore.day, "WHOLE_FILE_LIMIT", path.stat().st_size - 1)
    assert explore(path).frame is not None  # larger: left to the sources, which stream it


def test_a_report_in_a_file_not_named_json_is_left_to_the_sources(tmp_path):
    path = write_json(tmp_path / "report.txt", hand.report([hand.finding()]))
    run = explore(path)
    assert run.frame is not None and run.report.findings == []


def test_the_window_options_and_now_given_are_used():
    window = Window(datetime(2026, 11, 28, 4, tzinfo=UTC), datetime(2026, 11, 28, 5, tzinfo=UTC))
    now = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    run = explore("sample", window=window, options=Options(), now=now)
    assert (run.report.window.start, run.report.window.end) == ("2026-11-28T04:00:00Z", "2026-11-28T05:00:00Z")
    assert run.report.totals.denials == 5  # 4b ExternalAuditor 04:37-04:39, the hour's only denials
    assert run.report.generated_at == "2026-11-29T06:00:00Z"
    partner = [
        f for f in explore("sample", options=Options()).report.findings if f.principal.account_id == "123456789012"
    ]
    assert partner[0].severity == "critical"  # 4a: without the demo's trusted accounts it is from outside


def test_aws_sources_get_the_service_and_session_given(monkeypatch):
    seen: list[object] = []

    def records(spec, window, options):
        seen.append((spec, options.service, options.session))
        return [RecordsSource([], name=spec)]

    monkeypatch.setattr(analysis.sources, "sources_from_spec", records)
    session = object()
    explore("lookup:us-east-1", options=Options(service="all"), session=session, now=datetime(2026, 11, 29, tzinfo=UTC))
    assert seen == [("lookup:us-east-1", "all", session)]


def test_an_aws_source_without_now_reads_up_to_the_present(monkeypatch):
    seen: list[Window] = []

    def records(spec, window, options):
        seen.append(window)
        return [RecordsSource([], name=spec)]

    monkeypatch.setattr(analysis.sources, "sources_from_spec", records)
    before = datetime.now(UTC)
    explore("lookup:us-east-1")
    [window] = seen
    assert window.end is not None and window.end.tzinfo is not None
    assert before - timedelta(seconds=1) <= window.end <= datetime.now(UTC)


def test_a_source_that_cannot_be_opened_names_the_error_s_kind(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise RuntimeError("no credentials")

    monkeypatch.setattr(analysis.sources, "sources_from_spec", refuse)
    run = explore("s3://bucket/prefix", now=datetime(2026, 11, 29, tzinfo=UTC))
    assert "cannot be opened (RuntimeError: no credentials)" in (run.report.sources[0].error or "")


def test_load_report_names_a_file_that_is_not_json_or_not_an_object(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON") as raised:
        load_report(path)
    assert str(raised.value).startswith(f"{path}: not a report (")
    path.write_text("[1]", encoding="utf-8")
    with pytest.raises(ValueError) as raised:
        load_report(path)
    assert str(raised.value) == f"{path}: not a report (a JSON list, not an object)"


def test_load_report_names_the_first_problem_by_its_place(tmp_path):
    value = hand.report([hand.finding()])
    del value["findings"][0]["id"]
    del value["findings"][0]["severity"]
    path = write_json(tmp_path / "report.json", value)
    with pytest.raises(ValueError) as raised:
        load_report(path)
    assert str(raised.value) == f"{path}: not a report (2 problem(s); first: findings.0.id: Field required)"
