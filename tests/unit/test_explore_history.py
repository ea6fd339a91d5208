"""analysis.explore.history over a hand-built history (the expected tables worked out by hand below).

The history: the owner account 111122223333, stored daily reports on four days of November 2026 and none on the
26th (a missing day):

====================  ====  ====  ====  ====  ============================================  =========
principal             24    25    27    28    remedy (its policy's actions)                 cross?
====================  ====  ====  ====  ====  ============================================  =========
user/dev-alice        3     .     4     5     grant (apprunner:DescribeService)             no
role/GitHubActions…   6     .     2     .     grant (apprunner:CreateService, iam:PassRole)  no
user/bob              1     .     .     .     review_deny (refused apprunner:DeleteService)  no
role/Partner          .     .     2     3     cross_account_role (apprunner:ListServices)   from 4444…
user/carol            .     .     2     3     grant: ListServices on 27, + DescribeService  no
account:999988887777  .     .     .     10    investigate (five actions refused)           from 9999…
====================  ====  ====  ====  ====  ============================================  =========

The 25th is a report without findings; the 27th is a daily report of Europe/Paris (its window starts on the 26th
in UTC: the day it is filed under is its local day). 41 denials in 11 findings. role/Partner's proposed role
requires sts:ExternalId (tests/reports.py's cross_account_remedy): a caller from outside the organization.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.exceptions import ClientError

from analysis.contract import as_report
from analysis.explore import history as h
from tests import reports as r

pytestmark = pytest.mark.unit

OWNER = r.ACCOUNT  # 111122223333
PARTNER = r.PARTNER  # 444455556666
OUTSIDER = "999988887777"
ALICE = "user/dev-alice @111122223333"
DEPLOY = "role/GitHubActionsDeploy @111122223333"
BOB = "user/bob @111122223333"
PARTNER_ROLE = "role/Partner @444455556666 → 111122223333"
CAROL = "user/carol @111122223333"
OUTSIDE = "account:999988887777 → 111122223333"
NS = "datetime64[ns]"  # the frame's days
DAYS = [pd.Timestamp(f"2026-11-{n}") for n in (24, 25, 26, 27, 28)]
NAN = float("nan")
GAP_26 = "2026-11-26: no report stored for this day"
SERVICE_KEY = "service:apprunner.amazonaws.com"


def grant(*actions: str) -> dict[str, Any]:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "Allow", "Effect": "Allow", "Action": list(actions), "Resource": r.SERVICE}],
    }
    return r._remedy("grant", document)


def alice(count: int) -> dict[str, Any]:
    return r.finding(
        actions=[r.action("apprunner:DescribeService", count=count)], remedy=grant("apprunner:DescribeService")
    )


def deploy(count: int) -> dict[str, Any]:
    return r.finding(
        f"arn:aws:iam::{OWNER}:role/GitHubActionsDeploy",
        type_="AssumedRole",
        actions=[r.action("apprunner:CreateService", count=count - 1), r.action("iam:PassRole", count=1)],
        remedy=grant("iam:PassRole", "apprunner:CreateService"),
        severity="high",
    )


def bob() -> dict[str, Any]:
    return r.finding(
        f"arn:aws:iam::{OWNER}:user/bob",
        kind="review_deny",
        actions=[r.action("apprunner:DeleteService", count=1, reasons=["explicit_identity_deny"])],
        severity="high",
    )


def partner(count: int) -> dict[str, Any]:
    return r.finding(
        f"arn:aws:iam::{PARTNER}:role/Partner",
        type_="AssumedRole",
        account=PARTNER,
        kind="cross_account_role",
        actions=[r.action("apprunner:ListServices", count=count)],
        severity="medium",
    )


def carol(policy_actions: list[str], count: int) -> dict[str, Any]:
    return r.finding(
        f"arn:aws:iam::{OWNER}:user/carol",
        actions=[r.action("apprunner:ListServices", count=count)],
        remedy=grant(*policy_actions),
    )


def outsider() -> dict[str, Any]:
    names = ["ListServices", "DescribeService", "ListConnections", "ListVpcConnectors", "DescribeCustomDomains"]
    return r.finding(
        None,
        type_="AWSAccount",
        account=OUTSIDER,
        kind="investigate",
        actions=[r.action(f"apprunner:{name}", count=2) for name in names],
        severity="critical",
    )


def day_report(day: int, findings: list[dict[str, Any]], *, generated: str | None = None) -> dict[str, Any]:
    value = r.report(findings)
    value["window"] = {"start": f"2026-11-{day}T00:00:00Z", "end": f"2026-11-{day + 1}T00:00:00Z"}
    value["generated_at"] = generated or f"2026-11-{day + 1}T06:00:00Z"
    return value


def paris_day(day: int, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """A daily report of Europe/Paris: the local day ``day`` starts at 23:00 UTC the day before."""
    value = day_report(day, findings)
    start, end = f"2026-11-{day - 1}T23:00:00Z", f"2026-11-{day}T23:00:00Z"
    value["window"] = {"start": start, "end": end}
    value["daily"] = {
        "key": f"2026-11-{day}",
        "time_zone": "Europe/Paris",
        "start": start,
        "end": end,
        "lookback_hours": 2.0,
        "read_window": {"start": f"2026-11-{day - 1}T21:00:00Z", "end": end},
    }
    return value


def week() -> dict[str, dict[str, Any]]:
    """The history's reports by their key under the folder (``reports/YYYY/MM/DD/report.json``)."""
    days = {
        24: day_report(24, [alice(3), deploy(6), bob()]),
        25: day_report(25, []),
        27: paris_day(27, [alice(4), deploy(2), partner(2), carol(["apprunner:ListServices"], 2)]),
        28: day_report(
            28,
            [
                alice(5),
                partner(3),
                outsider(),
                carol(["apprunner:ListServices", "apprunner:DescribeService"], 3),
            ],
        ),
    }
    return {f"reports/2026/11/{day}/report.json": report for day, report in days.items()}


def write(folder: Path, files: dict[str, Any]) -> Path:
    for key, content in files.items():
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write(tmp_path / "copy", week())


@pytest.fixture
def frame(folder: Path) -> pd.DataFrame:
    return h.history_frame(h.load_history(folder))


# --- loading ------------------------------------------------------------------------------------


def test_loads_one_report_per_day_in_order_and_skips_the_missing_day(folder):
    history = h.load_history(folder)
    assert history.problems == [GAP_26]
    assert history.days == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 28)]
    assert [s.location for s in history.reports] == [
        str(folder / f"reports/2026/11/{day}/report.json") for day in (24, 25, 27, 28)
    ]
    assert [len(s.report.findings) for s in history.reports] == [3, 0, 4, 4]


def test_the_reports_folder_itself_and_load_read_the_same(folder):
    whole, inner, through_load = h.load_history(folder), h.load_history(folder / "reports"), h.load(str(folder))
    assert inner.days == whole.days == through_load.days
    assert [s.report for s in inner.reports] == [s.report for s in whole.reports]


def test_a_daily_report_is_filed_under_its_local_day_not_its_utc_start(folder):
    stored = h.load_history(folder).reports[2]
    assert stored.report.window.start == "2026-11-26T23:00:00Z"
    assert stored.day == date(2026, 11, 27)


def test_a_malformed_file_is_named_and_the_rest_loads(folder):
    bad = write(folder, {"reports/2026/11/26/report.json": '{"schema_version": "1", '})
    history = h.load_history(bad)
    path = folder / "reports/2026/11/26/report.json"
    assert len(history.problems) == 1
    assert history.problems[0].startswith(f"{path}: not a report (not valid JSON: ")
    assert date(2026, 11, 26) not in history.days
    assert len(history.reports) == 4


def test_json_that_is_not_a_report_is_named_with_why(folder):
    write(folder, {"reports/2026/11/26/report.json": {"schema_version": "1"}, "reports/2026/11/23/report.json": "[]"})
    problems = h.load_history(folder).problems
    assert problems[0] == f"{folder / 'reports/2026/11/23/report.json'}: not a report (a JSON list, not an object)"
    assert problems[1].startswith(f"{folder / 'reports/2026/11/26/report.json'}: not a report (")
    assert "first: generated_at: Field required" in problems[1]
    assert len(problems) == 2


def test_a_report_filed_under_another_day_is_skipped_and_named(folder):
    write(folder, {"reports/2026/11/23/report.json": day_report(28, [alice(1)])})
    history = h.load_history(folder)
    path = folder / "reports/2026/11/23/report.json"
    assert history.problems == [f"{path}: skipped (filed under 2026-11-23 but reports 2026-11-28)", GAP_26]
    assert history.reports[-1].report.totals.denials == 21  # the 28th's own report


def test_report_files_outside_a_day_folder_are_named(folder):
    write(folder, {"report.json": day_report(28, []), "reports/2026/13/01/report.json": day_report(28, [])})
    problems = h.load_history(folder).problems
    assert problems == [
        f"{folder / 'report.json'}: skipped (not in a YYYY/MM/DD/ folder)",
        f"{folder / 'reports/2026/13/01/report.json'}: skipped (2026/13/01 is not a date)",
        GAP_26,
    ]


def test_of_two_reports_for_a_day_the_later_generated_is_kept(folder):
    rerun = day_report(28, [alice(7)], generated="2026-11-29T09:30:00Z")
    write(folder, {"again/2026/11/28/report.json": rerun})
    history = h.load_history(folder)
    kept, skipped = folder / "again/2026/11/28/report.json", folder / "reports/2026/11/28/report.json"
    assert history.problems == [
        f"two reports for 2026-11-28: kept {kept} (generated 2026-11-29T09:30:00Z), "
        f"skipped {skipped} (generated 2026-11-29T06:00:00Z)",
        GAP_26,
    ]
    assert history.days[-1] == date(2026, 11, 28)
    assert [f.denials for f in history.reports[-1].report.findings] == [7]


def test_an_earlier_generated_duplicate_does_not_replace_the_report(folder):
    write(folder, {"again/2026/11/28/report.json": day_report(28, [alice(7)], generated="2026-11-29T01:00:00Z")})
    history = h.load_history(folder)
    assert "kept " + str(folder / "reports/2026/11/28/report.json") in history.problems[0]
    assert history.reports[-1].report.findings[0].denials == 10  # the outsider's, the 28th's busiest


def test_nothing_found_is_a_problem_not_an_exception(tmp_path):
    history = h.load_history(tmp_path)
    assert history.reports == []
    assert history.problems == [f"no report found under {tmp_path} (expected …/YYYY/MM/DD/report.json)"]
    assert h.load_history(tmp_path / "absent").problems == [f"{tmp_path / 'absent'}: not a folder"]


def test_an_empty_history_gives_empty_tables(tmp_path):
    frame = h.history_frame(h.load_history(tmp_path))
    assert list(frame.columns) == h.FRAME_COLUMNS and len(frame) == 0
    assert h.recurring_principals(frame).empty
    assert h.fixes_by_impact(frame).empty and h.do_not_grant(frame).empty
    assert h.outside_accounts(frame).empty and h.new_principals(frame).empty
    assert h.remedy_trends(frame).empty and h.principal_days(frame).empty


# --- the frame ----------------------------------------------------------------------------------


def test_one_row_per_day_and_finding(frame):
    assert list(frame.columns) == h.FRAME_COLUMNS
    assert str(frame["day"].dtype) == "datetime64[ns]"
    assert frame.groupby("day").size().to_dict() == {DAYS[0]: 3, DAYS[3]: 4, DAYS[4]: 4}
    assert frame["denials"].sum() == 41
    assert frame.attrs["days"] == [DAYS[0], DAYS[1], DAYS[3], DAYS[4]]


def test_a_cross_account_row(frame):
    row = frame[(frame["principal"] == PARTNER_ROLE) & (frame["day"] == DAYS[4])].iloc[0].to_dict()
    assert row == {
        "day": DAYS[4],
        "finding_id": r.finding_id(f"arn:aws:iam::{PARTNER}:role/Partner", OWNER),
        "principal": PARTNER_ROLE,
        "principal_key": f"arn:aws:iam::{PARTNER}:role/Partner",
        "principal_type": "AssumedRole",
        "caller_account": PARTNER,
        "target_account": OWNER,
        "cross_account": True,
        "denials": 3,
        "actions": ["apprunner:ListServices"],
        "severity": "medium",
        "remedy": "cross_account_role",
        "caller": "outside: confirm the owner first",
        "fix_actions": ["apprunner:ListServices"],
        "fix": f"cross_account_role: {PARTNER_ROLE} in {OWNER}: apprunner:ListServices",
    }


def test_the_fix_names_the_policy_actions_sorted_and_is_the_same_on_every_day(frame):
    deploy_fixes = set(frame.loc[frame["principal"] == DEPLOY, "fix"])
    assert deploy_fixes == {f"grant: {DEPLOY} in {OWNER}: apprunner:CreateService, iam:PassRole"}
    assert frame.loc[frame["principal"] == ALICE, "fix"].nunique() == 1
    outsider_row = frame[frame["principal"] == OUTSIDE].iloc[0]
    assert outsider_row["principal_key"] == "account:999988887777" and outsider_row["caller_account"] == OUTSIDER
    assert outsider_row["fix_actions"] == [  # investigate proposes nothing: the refused actions, sorted
        "apprunner:DescribeCustomDomains",
        "apprunner:DescribeService",
        "apprunner:ListConnections",
        "apprunner:ListServices",
        "apprunner:ListVpcConnectors",
    ]


# --- the questions ------------------------------------------------------------------------------


def test_recurring_principals(frame):
    table = h.recurring_principals(frame)
    expected = pd.DataFrame(
        [
            (ALICE, 3, DAYS[0], DAYS[4], 12, True),
            (DEPLOY, 2, DAYS[0], DAYS[3], 8, False),
            (PARTNER_ROLE, 2, DAYS[3], DAYS[4], 5, True),
            (CAROL, 2, DAYS[3], DAYS[4], 5, True),
        ],
        columns=["principal", "days", "first_day", "last_day", "denials", "on_latest_day"],
    ).astype({"first_day": NS, "last_day": NS, "on_latest_day": "boolean"})
    pd.testing.assert_frame_equal(table, expected)
    assert list(h.recurring_principals(frame, min_days=3)["principal"]) == [ALICE]


def test_on_latest_day_is_false_for_all_when_the_last_report_has_no_findings(folder):
    write(folder, {"reports/2026/11/29/report.json": day_report(29, [])})
    table = h.recurring_principals(h.history_frame(h.load_history(folder)))
    assert not table["on_latest_day"].any()


def test_an_unreadable_last_day_is_missing_and_leaves_still_failing_unknown(folder):
    write(folder, {"reports/2026/11/29/report.json": "{"})
    frame = h.history_frame(h.load_history(folder))
    matrix = h.principal_days(frame)
    assert matrix.columns[-1] == pd.Timestamp("2026-11-29")  # in the span, not dropped
    assert matrix[pd.Timestamp("2026-11-29")].isna().all()
    assert h.remedy_trends(frame).loc[pd.Timestamp("2026-11-29")].isna().all()
    # the 28th was the last day read, but the 29th may have held anyone: nobody is known to be still failing
    assert h.fixes_by_impact(frame)["still_failing"].isna().all()
    assert h.recurring_principals(frame)["on_latest_day"].isna().all()


def test_fixes_by_impact(frame):
    table = h.fixes_by_impact(frame)
    describe, listing = "apprunner:DescribeService", "apprunner:ListServices"
    same, outside = "same account", "outside: confirm the owner first"
    expected = pd.DataFrame(
        [
            (
                f"grant: {ALICE} in {OWNER}: {describe}",
                "grant",
                ALICE,
                OWNER,
                [describe],
                12,
                3,
                DAYS[4],
                "low",
                True,
                same,
            ),
            (
                f"grant: {DEPLOY} in {OWNER}: apprunner:CreateService, iam:PassRole",
                "grant",
                DEPLOY,
                OWNER,
                ["apprunner:CreateService", "iam:PassRole"],
                8,
                2,
                DAYS[3],
                "high",
                False,  # refused last on the 27th: the history ends on the 28th
                same,
            ),
            (
                f"cross_account_role: {PARTNER_ROLE} in {OWNER}: {listing}",
                "cross_account_role",
                PARTNER_ROLE,
                OWNER,
                [listing],
                5,
                2,
                DAYS[4],
                "medium",
                True,
                outside,
            ),
            (
                f"grant: {CAROL} in {OWNER}: {describe}, {listing}",
                "grant",
                CAROL,
                OWNER,
                [describe, listing],
                3,
                1,
                DAYS[4],
                "low",
                True,
                same,
            ),
            (
                f"grant: {CAROL} in {OWNER}: {listing}",
                "grant",
                CAROL,
                OWNER,
                [listing],
                2,
                1,
                DAYS[3],
                "low",
                False,
                same,
            ),
        ],
        columns=[
            "fix",
            "remedy",
            "principal",
            "target_account",
            "actions",
            "denials",
            "days",
            "last_day",
            "severity",
            "still_failing",
            "caller",
        ],
    ).astype({"last_day": NS, "still_failing": "boolean"})
    pd.testing.assert_frame_equal(table, expected)


def test_fix_bars_name_each_fix_apart(frame):
    bars = h.fix_bars(h.fixes_by_impact(frame))
    # carol has two fixes (ListServices on the 27th; ListServices and DescribeService on the 28th): named apart
    assert list(bars.index) == [
        ALICE,
        DEPLOY,
        PARTNER_ROLE,
        f"{CAROL} (grant: apprunner:DescribeService, apprunner:ListServices)",
        f"{CAROL} (grant: apprunner:ListServices)",
    ]
    assert list(bars) == [12, 8, 5, 3, 2]


def test_do_not_grant(frame):
    table = h.do_not_grant(frame)
    assert list(table.columns) == [
        "fix",
        "remedy",
        "principal",
        "target_account",
        "actions",
        "denials",
        "days",
        "last_day",
        "severity",
        "still_failing",
    ]
    assert list(table["principal"]) == [OUTSIDE, BOB]
    assert list(table["still_failing"]) == [True, False]
    assert list(table["remedy"]) == ["investigate", "review_deny"]
    assert list(table["denials"]) == [10, 1]
    assert list(table["days"]) == [1, 1]
    assert list(table["last_day"]) == [DAYS[4], DAYS[0]]
    assert list(table["severity"]) == ["critical", "high"]
    assert table["actions"].iloc[1] == ["apprunner:DeleteService"]
    assert len(table["actions"].iloc[0]) == 5


def test_outside_accounts(frame):
    table = h.outside_accounts(frame)
    expected = pd.DataFrame(
        [
            (OUTSIDER, [OWNER], [OUTSIDE], 1, 10, ["investigate"], "critical", "not stated: no role proposed"),
            (
                PARTNER,
                [OWNER],
                [PARTNER_ROLE],
                2,
                5,
                ["cross_account_role"],
                "medium",
                "outside: confirm the owner first",
            ),
        ],
        columns=[
            "caller_account",
            "target_accounts",
            "principals",
            "days",
            "denials",
            "remedies",
            "severity",
            "caller",
        ],
    )
    pd.testing.assert_frame_equal(table, expected)


def test_new_principals_are_those_not_failing_on_day_one(frame):
    table = h.new_principals(frame)
    expected = pd.DataFrame(
        [
            (PARTNER_ROLE, DAYS[3], DAYS[4], 2, 5),
            (CAROL, DAYS[3], DAYS[4], 2, 5),
            (OUTSIDE, DAYS[4], DAYS[4], 1, 10),
        ],
        columns=["principal", "first_day", "last_day", "days", "denials"],
    ).astype({"first_day": NS, "last_day": NS})
    pd.testing.assert_frame_equal(table, expected)
    assert list(h.new_principals(frame, since=date(2026, 11, 28))["principal"]) == [OUTSIDE]
    assert len(h.new_principals(frame, since=date(2026, 11, 24))) == 6


def test_remedy_trends_has_every_day_a_day_without_a_report_missing(frame):
    table = h.remedy_trends(frame)
    expected = pd.DataFrame(
        {  # the 25th: a report without findings (0); the 26th: no report (NaN)
            "grant": [9, 0, NAN, 8, 8],
            "cross_account_role": [0, 0, NAN, 2, 3],
            "review_deny": [1, 0, NAN, 0, 0],
            "investigate": [0, 0, NAN, 0, 10],
        },
        index=pd.DatetimeIndex(DAYS, name="day").astype(NS),
        dtype="float64",
    )
    expected.columns.name = "remedy"
    pd.testing.assert_frame_equal(table, expected)
    assert table.sum().sum() == 41


def test_principal_days(frame):
    matrix = h.principal_days(frame)
    assert list(matrix.columns) == DAYS
    assert list(matrix.index) == [ALICE, OUTSIDE, DEPLOY, PARTNER_ROLE, CAROL, BOB]
    assert matrix.loc[ALICE].tolist()[:2] + matrix.loc[ALICE].tolist()[3:] == [3, 0, 4, 5]
    assert matrix.loc[DEPLOY].tolist()[3:] == [2, 0]
    assert matrix.loc[BOB].tolist()[:2] == [1, 0]
    assert matrix[DAYS[2]].isna().all()  # the 26th: no report
    assert not matrix.drop(columns=DAYS[2]).isna().any().any()
    assert matrix.sum().sum() == 41


def test_reports_built_here_are_valid():
    for report in week().values():
        as_report(report)


# --- one principal across days (the reviewer's case) --------------------------------------------


def service(target: str, count: int) -> dict[str, Any]:
    """App Runner's service principal refused in ``target``: the log names no account of its own."""
    value = r.finding(
        None,
        type_="AWSService",
        account=None,
        target=target,
        kind="review_deny",
        actions=[r.action("apprunner:DescribeService", count=count, reasons=["explicit_identity_deny"])],
        severity="high",
    )
    value["id"] = r.finding_id(SERVICE_KEY, target)
    value["principal"]["key"] = SERVICE_KEY
    return value


@pytest.fixture
def service_frame(tmp_path: Path) -> pd.DataFrame:
    """The service refused in the owner's account on the 24th, 25th and 27th, and in the partner's on the 25th."""
    days = {
        24: day_report(24, [service(OWNER, 2)]),
        25: day_report(25, [service(OWNER, 1), service(PARTNER, 4)]),
        27: day_report(27, [service(OWNER, 3)]),
    }
    files = {f"reports/2026/11/{day}/report.json": report for day, report in days.items()}
    return h.history_frame(h.load_history(write(tmp_path, files)))


def test_a_principal_refused_in_two_accounts_on_one_day_is_labelled_so_on_every_day(service_frame):
    in_owner, in_partner = f"{SERVICE_KEY} → {OWNER}", f"{SERVICE_KEY} → {PARTNER}"
    rows = service_frame[["day", "principal", "denials"]].values.tolist()
    assert sorted(rows) == [
        [DAYS[0], in_owner, 2],
        [DAYS[1], in_owner, 1],
        [DAYS[1], in_partner, 4],
        [DAYS[3], in_owner, 3],
    ]
    matrix = h.principal_days(service_frame)
    assert list(matrix.index) == [in_owner, in_partner]  # 6 denials, then 4
    assert matrix.loc[in_owner].tolist()[:2] + matrix.loc[in_owner].tolist()[3:] == [2, 1, 3]
    assert matrix.loc[in_partner].tolist()[:2] + matrix.loc[in_partner].tolist()[3:] == [0, 4, 0]
    recurring = h.recurring_principals(service_frame)
    assert recurring[["principal", "days", "denials"]].values.tolist() == [[in_owner, 3, 6]]
    new = h.new_principals(service_frame)
    assert new[["principal", "first_day", "days", "denials"]].values.tolist() == [[in_partner, DAYS[1], 1, 4]]
    fixes = h.do_not_grant(service_frame)
    assert fixes[["principal", "denials", "days"]].values.tolist() == [[in_owner, 6, 3], [in_partner, 4, 1]]


def test_labels_that_still_read_the_same_get_their_key():
    one = r.finding(f"arn:aws:iam::{OWNER}:user/x", kind=None)
    other = r.finding(f"arn:aws:iam::{OWNER}:user/x", kind=None)
    other["principal"]["key"] = "made-up-key"
    findings = as_report(r.report([one, other])).findings
    assert h.history_labels(findings) == {
        (f"arn:aws:iam::{OWNER}:user/x", OWNER): f"user/x @{OWNER} → {OWNER} (arn:aws:iam::{OWNER}:user/x)",
        ("made-up-key", OWNER): f"user/x @{OWNER} → {OWNER} (made-up-key)",
    }


# --- a day without a report ---------------------------------------------------------------------


def test_an_unreadable_day_is_named_once_and_missing_in_the_tables(folder):
    write(folder, {"reports/2026/11/26/report.json": "not json"})
    history = h.load_history(folder)
    assert len(history.problems) == 1  # the file, not also a gap
    assert history.problems[0].startswith(f"{folder / 'reports/2026/11/26/report.json'}: not a report (")
    frame = h.history_frame(history)
    assert h.remedy_trends(frame).loc[DAYS[2]].isna().all()
    assert h.principal_days(frame)[DAYS[2]].isna().all()


def test_gaps_are_named_in_day_order_and_only_between_the_first_and_last_day(tmp_path):
    files = {f"reports/2026/11/{day}/report.json": day_report(day, [alice(1)]) for day in (22, 25, 26)}
    history = h.load_history(write(tmp_path, files))
    assert history.problems == [
        "2026-11-23: no report stored for this day",
        "2026-11-24: no report stored for this day",
    ]
    trends = h.remedy_trends(h.history_frame(history))
    assert trends["grant"].tolist()[0] == 1 and trends["grant"].tolist()[3:] == [1, 1]
    assert trends["grant"].iloc[1:3].isna().all()


def test_a_day_with_a_report_and_no_findings_stays_zero_and_a_frame_without_days_counts_only_its_own(frame):
    assert h.remedy_trends(frame).loc[DAYS[1]].tolist() == [0, 0, 0, 0]
    bare = frame.copy()
    bare.attrs = {}
    trends = h.remedy_trends(bare)  # days known only from its rows: the 25th and 26th are unknown
    assert list(trends.index) == [DAYS[0], DAYS[1], DAYS[2], DAYS[3], DAYS[4]]
    assert trends.loc[DAYS[1]].isna().all() and trends.loc[DAYS[2]].isna().all()


# --- who the caller is --------------------------------------------------------------------------


def role_for(caller: str, condition: dict[str, Any] | None) -> dict[str, Any]:
    """A cross_account_role remedy whose trust policy has ``condition`` (as analysis.policies.trust_policy writes
    it: sts:ExternalId for an outside caller, aws:PrincipalOrgID for the organization, none for a trusted one)."""
    remedy = r.cross_account_remedy(f"arn:aws:iam::{caller}:role/Reader")
    statement = remedy["trust_policy"]["Statement"][0]
    statement.pop("Condition")
    if condition is not None:
        statement["Condition"] = condition
    return remedy


def reader(caller: str, condition: dict[str, Any] | None, *, severity: str, count: int = 1) -> dict[str, Any]:
    return r.finding(
        f"arn:aws:iam::{caller}:role/Reader",
        type_="AssumedRole",
        account=caller,
        remedy=role_for(caller, condition),
        actions=[r.action("apprunner:ListServices", count=count)],
        severity=severity,
    )


EXTERNAL_ID = {"StringEquals": {"sts:ExternalId": "c97faa8d-85df-511c"}}
IN_ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}


def test_the_caller_is_read_from_the_proposed_trust_policy():
    report = as_report(
        r.report(
            [
                reader("123456789012", None, severity="medium"),
                reader("222233334444", IN_ORG, severity="medium"),
                reader("999988887777", EXTERNAL_ID, severity="critical"),
                alice(1),
                outsider(),
            ]
        )
    )
    assert {f.principal.key: h.caller_kind(f) for f in report.findings} == {
        "arn:aws:iam::123456789012:role/Reader": "trusted or organization",
        "arn:aws:iam::222233334444:role/Reader": "trusted or organization",
        "arn:aws:iam::999988887777:role/Reader": "outside: confirm the owner first",
        f"arn:aws:iam::{OWNER}:user/dev-alice": "same account",
        f"account:{OUTSIDER}": "not stated: no role proposed",
    }


def test_outside_accounts_takes_the_worst_severity_and_the_most_cautious_caller(tmp_path):
    """One caller account, two principals: one trusted (medium, 3 denials), one with an external ID (critical)."""
    trusted = reader("999988887777", None, severity="medium", count=3)
    other = r.finding(
        "arn:aws:iam::999988887777:role/Auditor",
        type_="AssumedRole",
        account="999988887777",
        remedy=role_for("999988887777", EXTERNAL_ID),
        actions=[r.action("apprunner:ListServices", count=2)],
        severity="critical",
    )
    files = {
        "reports/2026/11/24/report.json": day_report(24, [trusted]),
        "reports/2026/11/25/report.json": day_report(25, [trusted, other]),
    }
    frame = h.history_frame(h.load_history(write(tmp_path, files)))
    row = h.outside_accounts(frame).iloc[0].to_dict()
    assert (row["days"], row["denials"], row["severity"], row["caller"]) == (
        2,
        8,
        "critical",
        "outside: confirm the owner first",
    )
    fixes = h.fixes_by_impact(frame)
    assert fixes[["denials", "severity", "caller"]].values.tolist() == [
        [6, "medium", "trusted or organization"],
        [2, "critical", "outside: confirm the owner first"],
    ]


# --- the reports bucket, with a fake client (no network: tests/integration reads a moto bucket) ----------------


class FakeS3:
    """An S3 client over ``objects`` (key → report, text, or an exception ``get_object`` raises), listing by prefix
    in pages of two keys, after an empty page (a page without ``Contents``), as ``list_objects_v2`` may return."""

    def __init__(self, objects: dict[str, Any]) -> None:
        self.objects = objects
        self.calls: list[tuple[str, str, str]] = []

    def get_paginator(self, operation: str) -> FakeS3:
        assert operation == "list_objects_v2"
        return self

    def paginate(self, *, Bucket: str, Prefix: str) -> Any:
        self.calls.append(("list", Bucket, Prefix))
        keys = sorted((key for key in self.objects if key.startswith(Prefix)), reverse=True)  # sorted by load
        yield {"KeyCount": 0}
        for start in range(0, len(keys), 2):
            yield {"Contents": [{"Key": key} for key in keys[start : start + 2]]}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls.append(("get", Bucket, Key))
        content = self.objects[Key]
        if isinstance(content, Exception):
            raise content
        text = content if isinstance(content, str) else json.dumps(content)
        return {"Body": io.BytesIO(text.encode("utf-8"))}


class ResponseError(Exception):
    """An error carrying a response without an ``Error`` (not every botocore error has one)."""

    def __init__(self, message: str, *, response: dict[str, Any]) -> None:
        super().__init__(message)
        self.response = response


def client_error(code: str, message: str | None) -> ClientError:
    details = {"Code": code, **({"Message": message} if message is not None else {})}
    return ClientError({"Error": details}, "GetObject")  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_default_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that gives its client must never get boto3's default one (which would reach AWS)."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("boto3.client called although a client was given")

    monkeypatch.setattr(boto3, "client", refuse)


def test_load_reads_an_s3_uri_with_the_client_given_and_matches_the_folder(folder):
    s3 = FakeS3({**week(), "elsewhere/2026/11/23/report.json": day_report(23, [])})
    history = h.load("s3://access-reports/reports/", s3=s3)
    assert s3.calls[0] == ("list", "access-reports", "reports/")
    assert [s.location for s in history.reports] == [
        f"s3://access-reports/reports/2026/11/{day}/report.json" for day in (24, 25, 27, 28)
    ]
    local = h.load_history(folder)
    assert [(s.day, s.report) for s in history.reports] == [(s.day, s.report) for s in local.reports]
    assert history.problems == local.problems == [GAP_26]


def test_load_of_a_bare_bucket_lists_it_whole():
    s3 = FakeS3({**{f"archive/{key}": value for key, value in week().items()}, "report.json": day_report(23, [])})
    history = h.load("s3://access-reports", s3=s3)
    assert s3.calls[0] == ("list", "access-reports", "")
    assert history.problems == ["s3://access-reports/report.json: skipped (not in a YYYY/MM/DD/ folder)", GAP_26]
    assert history.days == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 28)]


def test_load_without_a_client_makes_a_default_one(monkeypatch):
    made: list[str] = []
    s3 = FakeS3(week())

    def client(service: str) -> FakeS3:
        made.append(service)
        return s3

    monkeypatch.setattr(boto3, "client", client)
    assert len(h.load("s3://access-reports/reports/").reports) == 4
    assert made == ["s3"]


def test_only_report_json_keys_are_read_and_each_once():
    objects = {**week(), "reports/2026/11/28/report.html": "<html></html>", "reports/2026/11/28/x-report.json": "{"}
    s3 = FakeS3(objects)
    history = h.load_history_s3(s3, "access-reports")
    read = [key for call, _bucket, key in s3.calls if call == "get"]
    assert read == sorted(week())  # in key order, the listing's pages in any order
    assert {bucket for _call, bucket, _key in s3.calls} == {"access-reports"}
    assert history.days[-1] == date(2026, 11, 28) and history.problems == [GAP_26]


def test_keys_that_cannot_be_read_are_named_with_the_client_s_words_and_the_rest_loads():
    objects = {
        **week(),
        "reports/2026/11/22/report.json": client_error("AccessDenied", "Access Denied"),
        "reports/2026/11/23/report.json": client_error("NoSuchKey", None),
        "reports/2026/11/26/report.json": ConnectionError("connection reset"),
        "reports/2026/11/21/report.json": "not json",
        "reports/2026/11/20/report.json": ResponseError("throttled", response={"ResponseMetadata": {}}),
    }
    history = h.load_history_s3(FakeS3(objects), "access-reports", "reports/")
    where = "s3://access-reports/reports/2026/11"
    assert history.problems[1].startswith(f"{where}/21/report.json: not a report (not valid JSON: ")
    del history.problems[1]
    assert history.problems == [
        f"{where}/20/report.json: cannot be read (ResponseError: throttled)",
        f"{where}/22/report.json: cannot be read (AccessDenied: Access Denied)",
        f"{where}/23/report.json: cannot be read (NoSuchKey: no message)",
        f"{where}/26/report.json: cannot be read (ConnectionError: connection reset)",
    ]
    assert history.days == [date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 28)]
    assert history.unreadable_days == [date(2026, 11, day) for day in (20, 21, 22, 23, 26)]


def test_an_empty_prefix_in_the_bucket_says_nothing_was_found():
    history = h.load_history_s3(FakeS3({}), "access-reports", "reports/")
    assert history.reports == []
    assert history.problems == [
        "no report found under s3://access-reports/reports/ (expected …/YYYY/MM/DD/report.json)"
    ]


# --- more of each question's promises -------------------------------------------------------------


def history_of(tmp_path: Path, days: dict[int, list[dict[str, Any]]]) -> pd.DataFrame:
    files = {f"reports/2026/11/{day}/report.json": day_report(day, findings) for day, findings in days.items()}
    return h.history_frame(h.load_history(write(tmp_path, files)))


def user(name: str, count: int, **extra: Any) -> dict[str, Any]:
    return r.finding(
        f"arn:aws:iam::{OWNER}:user/{name}", actions=[r.action("apprunner:ListServices", count=count)], **extra
    )


def from_nowhere(count: int) -> dict[str, Any]:
    """A caller the log names no account for, refused in the owner's account (a cross-account finding)."""
    value = r.finding(None, type_="AWSService", account=None, target=OWNER, kind=None, cross_account=True)
    value["principal"]["key"] = SERVICE_KEY
    value["actions"] = [r.action("apprunner:ListServices", count=count)]
    value["denials"] = count
    return value


def test_a_path_that_is_not_a_folder_has_no_reports(tmp_path):
    (tmp_path / "file").write_text("x", encoding="utf-8")
    history = h.load_history(tmp_path / "file")
    assert (history.reports, history.problems) == ([], [f"{tmp_path / 'file'}: not a folder"])


def test_a_file_that_cannot_be_read_is_named_and_the_rest_loads(folder, monkeypatch):
    unreadable = folder / "reports/2026/11/24/report.json"
    read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path == unreadable:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    history = h.load_history(folder)
    assert history.problems == [f"{unreadable}: cannot be read (Permission denied)", GAP_26]
    assert history.days == [date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 28)]


def test_a_report_with_problems_is_named_by_its_first_problem_s_place(folder):
    value = day_report(23, [alice(1)])
    del value["findings"][0]["id"]
    del value["findings"][0]["severity"]
    write(folder, {"reports/2026/11/23/report.json": value})
    where = folder / "reports/2026/11/23/report.json"
    assert h.load_history(folder).problems[0] == (
        f"{where}: not a report (2 problem(s); first: findings.0.id: Field required)"
    )


def test_a_gap_just_before_the_last_day_is_named(tmp_path):
    files = {f"reports/2026/11/{day}/report.json": day_report(day, []) for day in (24, 26)}
    assert h.load_history(write(tmp_path, files)).problems == ["2026-11-25: no report stored for this day"]


def test_the_frame_counts_denials_as_ints_and_names_a_missing_remedy_and_account(tmp_path):
    frame = history_of(tmp_path, {28: [from_nowhere(4), user("x", 1, kind=None)]})
    assert frame["denials"].dtype == "int64"
    assert frame["remedy"].tolist() == ["none", "none"]
    assert frame["caller"].tolist() == [h.NOT_STATED, h.SAME_ACCOUNT]
    assert frame["fix"].tolist() == [
        "none: service:apprunner.amazonaws.com → 111122223333 in 111122223333: apprunner:ListServices",
        "none: user/x @111122223333 in 111122223333: apprunner:ListServices",
    ]


def test_a_fix_without_an_owning_account_says_unknown_account(tmp_path):
    value = user("x", 2)
    value["target_account_id"] = None
    frame = history_of(tmp_path, {27: [value], 28: [value]})
    assert frame["fix"].tolist() == ["grant: user/x @111122223333 in unknown account: apprunner:DescribeService"] * 2
    fixes = h.fixes_by_impact(frame)  # one fix, over both days, though its account is unknown
    assert (len(fixes), fixes.loc[0, "denials"], fixes.loc[0, "days"]) == (1, 4, 2)
    recurring = h.recurring_principals(frame)
    assert recurring["principal"].tolist() == ["user/x @111122223333"] and recurring.loc[0, "days"] == 2


def test_a_remedy_that_does_not_grant_is_about_the_refused_actions_even_with_a_policy(tmp_path):
    remedy = r._remedy("review_deny", r.policy("apprunner:CreateService"))
    frame = history_of(tmp_path, {28: [user("x", 2, remedy=remedy)]})
    assert frame.loc[0, "fix_actions"] == ["apprunner:ListServices"]


def test_identities_without_a_known_account_are_labelled_unknown_and_an_arrow_is_not_doubled():
    one = r.finding(None, type_="AWSService", account=None, target=OWNER, kind=None)
    other = r.finding(None, type_="AWSService", account=None, target=None, kind=None)
    for value in (one, other):
        value["principal"]["key"] = SERVICE_KEY
    partner = r.finding(f"arn:aws:iam::{PARTNER}:role/P", account=PARTNER, kind=None)
    twin = r.finding(f"arn:aws:iam::{PARTNER}:role/P", account=PARTNER, kind=None)
    twin["principal"]["key"] = "made-up-key"
    findings = as_report(r.report([one, other, partner, twin])).findings
    assert h.history_labels(findings) == {
        (SERVICE_KEY, OWNER): f"{SERVICE_KEY} → {OWNER}",
        (SERVICE_KEY, None): f"{SERVICE_KEY} → unknown",
        (f"arn:aws:iam::{PARTNER}:role/P", OWNER): f"role/P @{PARTNER} → {OWNER} (arn:aws:iam::{PARTNER}:role/P)",
        ("made-up-key", OWNER): f"role/P @{PARTNER} → {OWNER} (made-up-key)",
    }


def test_principal_days_names_its_axes(frame):
    matrix = h.principal_days(frame)
    assert (matrix.index.name, matrix.columns.name) == ("principal", "day")


def test_fix_bars_are_the_denials(frame):
    assert h.fix_bars(h.fixes_by_impact(frame)).name == "denials"


def test_still_failing_unknown_is_a_boolean_column(folder):
    write(folder, {"reports/2026/11/29/report.json": "{"})
    frame = h.history_frame(h.load_history(folder))
    assert h.fixes_by_impact(frame)["still_failing"].dtype == "boolean"
    assert h.recurring_principals(frame)["on_latest_day"].dtype == "boolean"


def test_fixes_tied_on_denials_go_by_days_then_by_their_text(tmp_path):
    frame = history_of(tmp_path, {27: [user("b", 2), user("c", 2)], 28: [user("a", 4), user("c", 2)]})
    fixes = h.fixes_by_impact(frame)
    assert fixes["principal"].tolist() == ["user/c @111122223333", "user/a @111122223333", "user/b @111122223333"]
    assert fixes["denials"].tolist() == [4, 4, 2]
    same = h.fixes_by_impact(history_of(tmp_path / "same", {28: [user("b", 2), user("a", 2)]}))
    assert same["principal"].tolist() == ["user/a @111122223333", "user/b @111122223333"]


def test_the_worst_severity_is_by_the_contract_s_order_not_the_alphabet(tmp_path):
    frame = history_of(tmp_path, {27: [user("x", 1, severity="low")], 28: [user("x", 1, severity="medium")]})
    assert h.fixes_by_impact(frame).loc[0, "severity"] == "medium"


def test_outside_accounts_names_an_unknown_caller_account_and_ties_go_by_account(tmp_path):
    frame = history_of(tmp_path, {27: [partner(3)], 28: [from_nowhere(3)]})
    table = h.outside_accounts(frame)
    assert table["caller_account"].tolist() == [PARTNER, "unknown"]  # 3 denials each: by account
    assert table["target_accounts"].tolist() == [[OWNER], [OWNER]]


def test_outside_accounts_leaves_an_unknown_owning_account_out_of_its_list(tmp_path):
    value = partner(3)
    value["target_account_id"] = None
    assert h.outside_accounts(history_of(tmp_path / "one", {28: [value]}))["target_accounts"].tolist() == [[]]
    table = h.outside_accounts(history_of(tmp_path / "two", {27: [partner(2)], 28: [value]}))
    assert table["target_accounts"].tolist() == [[OWNER]] and table["denials"].tolist() == [5]


def test_new_principals_of_one_day_go_by_most_denials(tmp_path):
    frame = history_of(tmp_path, {27: [user("a", 1)], 28: [user("a", 1), user("b", 1), user("c", 5)]})
    assert h.new_principals(frame)["principal"].tolist() == ["user/c @111122223333", "user/b @111122223333"]


def test_new_principals_of_an_empty_history_has_its_columns(tmp_path):
    frame = h.history_frame(h.load_history(tmp_path))
    assert h.new_principals(frame).columns.tolist() == ["principal", "first_day", "last_day", "days", "denials"]
