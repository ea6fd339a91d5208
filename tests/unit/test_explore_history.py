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
in UTC: the day it is filed under is its local day). 41 denials in 11 findings.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

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
    assert history.problems == []
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
    assert history.problems == [f"{path}: skipped (filed under 2026-11-23 but reports 2026-11-28)"]
    assert history.reports[-1].report.totals.denials == 21  # the 28th's own report


def test_report_files_outside_a_day_folder_are_named(folder):
    write(folder, {"report.json": day_report(28, []), "reports/2026/13/01/report.json": day_report(28, [])})
    problems = h.load_history(folder).problems
    assert problems == [
        f"{folder / 'report.json'}: skipped (not in a YYYY/MM/DD/ folder)",
        f"{folder / 'reports/2026/13/01/report.json'}: skipped (2026/13/01 is not a date)",
    ]


def test_of_two_reports_for_a_day_the_later_generated_is_kept(folder):
    rerun = day_report(28, [alice(7)], generated="2026-11-29T09:30:00Z")
    write(folder, {"again/2026/11/28/report.json": rerun})
    history = h.load_history(folder)
    kept, skipped = folder / "again/2026/11/28/report.json", folder / "reports/2026/11/28/report.json"
    assert history.problems == [
        f"two reports for 2026-11-28: kept {kept} (generated 2026-11-29T09:30:00Z), "
        f"skipped {skipped} (generated 2026-11-29T06:00:00Z)"
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
    ).astype({"first_day": NS, "last_day": NS})
    pd.testing.assert_frame_equal(table, expected)
    assert list(h.recurring_principals(frame, min_days=3)["principal"]) == [ALICE]


def test_on_latest_day_is_false_for_all_when_the_last_report_has_no_findings(folder):
    write(folder, {"reports/2026/11/29/report.json": day_report(29, [])})
    table = h.recurring_principals(h.history_frame(h.load_history(folder)))
    assert not table["on_latest_day"].any()


def test_fixes_by_impact(frame):
    table = h.fixes_by_impact(frame)
    describe, listing = "apprunner:DescribeService", "apprunner:ListServices"
    expected = pd.DataFrame(
        [
            (f"grant: {ALICE} in {OWNER}: {describe}", "grant", ALICE, OWNER, [describe], 12, 3, DAYS[4]),
            (
                f"grant: {DEPLOY} in {OWNER}: apprunner:CreateService, iam:PassRole",
                "grant",
                DEPLOY,
                OWNER,
                ["apprunner:CreateService", "iam:PassRole"],
                8,
                2,
                DAYS[3],
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
            ),
            (f"grant: {CAROL} in {OWNER}: {listing}", "grant", CAROL, OWNER, [listing], 2, 1, DAYS[3]),
        ],
        columns=["fix", "remedy", "principal", "target_account", "actions", "denials", "days", "last_day"],
    ).astype({"last_day": NS})
    pd.testing.assert_frame_equal(table, expected)


def test_do_not_grant(frame):
    table = h.do_not_grant(frame)
    assert list(table["principal"]) == [OUTSIDE, BOB]
    assert list(table["remedy"]) == ["investigate", "review_deny"]
    assert list(table["denials"]) == [10, 1]
    assert list(table["days"]) == [1, 1]
    assert list(table["last_day"]) == [DAYS[4], DAYS[0]]
    assert table["actions"].iloc[1] == ["apprunner:DeleteService"]
    assert len(table["actions"].iloc[0]) == 5


def test_outside_accounts(frame):
    table = h.outside_accounts(frame)
    expected = pd.DataFrame(
        [
            (OUTSIDER, [OWNER], [OUTSIDE], 1, 10, ["investigate"], "critical"),
            (PARTNER, [OWNER], [PARTNER_ROLE], 2, 5, ["cross_account_role"], "medium"),
        ],
        columns=["caller_account", "target_accounts", "principals", "days", "denials", "remedies", "severity"],
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


def test_remedy_trends_has_every_day_even_without_findings_or_report(frame):
    table = h.remedy_trends(frame)
    expected = pd.DataFrame(
        {
            "grant": [9, 0, 0, 8, 8],
            "cross_account_role": [0, 0, 0, 2, 3],
            "review_deny": [1, 0, 0, 0, 0],
            "investigate": [0, 0, 0, 0, 10],
        },
        index=pd.DatetimeIndex(DAYS, name="day").astype(NS),
        dtype="int64",
    )
    expected.columns.name = "remedy"
    pd.testing.assert_frame_equal(table, expected)
    assert table.to_numpy().sum() == 41


def test_principal_days(frame):
    matrix = h.principal_days(frame)
    assert list(matrix.columns) == DAYS
    assert list(matrix.index) == [ALICE, OUTSIDE, DEPLOY, PARTNER_ROLE, CAROL, BOB]
    assert matrix.loc[ALICE].tolist() == [3, 0, 0, 4, 5]
    assert matrix.loc[DEPLOY].tolist() == [6, 0, 0, 2, 0]
    assert matrix.loc[BOB].tolist() == [1, 0, 0, 0, 0]
    assert int(matrix.to_numpy().sum()) == 41


def test_reports_built_here_are_valid():
    for report in week().values():
        as_report(report)
