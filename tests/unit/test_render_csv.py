"""CSV: one row per principal and action, and no log string ever read as a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest

from analysis.render import render
from analysis.render.csv import FORMULA_START, HEADER, neutralise, render_csv
from tests import reports as r


def table(report) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(render_csv(report), newline="")))


def test_one_row_per_principal_and_action_most_severe_first():
    report = r.every_kind()
    rows = table(report)
    assert len(rows) == sum(len(f["actions"]) for f in report["findings"])
    assert rows[0]["remedy_kind"] == "investigate" and rows[0]["finding"] == "1" and rows[0]["severity"] == "critical"
    # by hand: one row per finding and action, findings by severity then denials (see test_render_html)
    firsts = {row["finding"]: (row["severity"], row["remedy_kind"]) for row in reversed(rows)}
    assert [firsts[str(n)] for n in range(1, 8)] == [
        ("critical", "investigate"),
        ("critical", "cross_account_role"),
        ("high", "org_policy"),
        ("high", "review_deny"),
        ("medium", "permission_set"),
        ("low", "grant"),
        ("low", ""),
    ]
    grant = next(row for row in rows if row["remedy_kind"] == "grant")
    assert grant["principal"] == f"arn:aws:iam::{r.ACCOUNT}:user/dev-alice"
    assert grant["action"] == "apprunner:DescribeService" and grant["count"] == "3"
    assert grant["resources"] == r.SERVICE and grant["why"] == "no identity-based policy allows it"
    assert grant["advice"] == "Grant the missing permission"
    denied = next(row for row in rows if row["remedy_kind"] == "review_deny")
    assert f"refusing policy: arn:aws:iam::{r.ACCOUNT}:policy/DenyDelete" in denied["details"]
    no_remedy = next(row for row in rows if row["principal"].endswith("new-hire"))
    assert no_remedy["remedy_kind"] == "" and no_remedy["advice"] == ""


def test_dispatch_and_header():
    text = render(r.every_kind(), "csv")
    assert text.splitlines()[0].split(",") == HEADER
    assert text.endswith("\r\n")


def test_an_empty_day_is_the_header_alone():
    assert render_csv(r.empty_day()) == ",".join(HEADER) + "\r\n"


@pytest.mark.parametrize(
    "value", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", r.HYPERLINK, "\tTAB", "＝1+1", " =1+1", "\u3000@x"]
)
def test_formula_prefixes_are_neutralised(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["dev-alice", "arn:aws:iam::111122223333:user/=1+1", "a=b", "1-2", ""])
def test_ordinary_text_is_left_alone(value):
    assert neutralise(value) == value


def test_no_cell_of_a_hostile_report_can_start_a_formula():
    rows = list(csv.reader(io.StringIO(render_csv(r.hostile()), newline="")))
    cells = [cell for row in rows[1:] for cell in row]
    starts = [cell for cell in cells if cell and (cell[0] in FORMULA_START or cell.lstrip()[:1] in FORMULA_START)]
    assert starts == []
    sessions = rows[1][HEADER.index("sessions")]
    assert sessions.startswith(r.SCRIPT)  # not a formula: left as written
    resources = rows[1][HEADER.index("resources")]
    assert resources.startswith(r.SERVICE) and "=cmd|' /C calc'!A0" in resources


def test_a_session_name_that_is_a_formula_stays_text():
    report = r.report(
        [
            r.finding(f"arn:aws:iam::{r.ACCOUNT}:role/Deploy", type_="AssumedRole", sessions=["=1+1"]),
            r.finding(f"arn:aws:iam::{r.ACCOUNT}:role/Build", type_="AssumedRole", sessions=[r.HYPERLINK]),
        ]
    )
    sessions = [row["sessions"] for row in table(report)]
    assert sorted(sessions) == sorted(["'=1+1", "'" + r.HYPERLINK])


def test_access_keys_masked_unicode_kept_and_long_values_cut():
    text = render_csv(r.hostile())
    assert r.ACCESS_KEY not in text and "AKIA************" in text
    assert "日本語-セッション-🚀" in text and "\u202e" not in text
    rows = table(r.hostile())
    assert all(len(value) <= 32_100 for row in rows for value in row.values())


def test_values_with_quotes_commas_and_newlines_stay_in_their_cell():
    report = r.report([r.finding(sessions=['a "quoted", value\nwith a newline'])])
    rows = table(report)
    assert len(rows) == 1 and rows[0]["sessions"] == 'a "quoted", value\nwith a newline'


def test_late_arrivals_are_rows_of_their_own_day_without_a_finding_number():
    rows = table(r.daily_with_late_arrivals())
    assert [(row["day"], row["finding"], row["action"]) for row in rows] == [
        ("2026-11-28", "1", "apprunner:DescribeService"),
        ("2026-11-27", "", "apprunner:StartDeployment"),
    ]


def test_an_open_window_dates_each_row_by_its_first_denial():
    from analysis.pipeline import analyse
    from analysis.render.csv import render_csv
    from tests import factories as f

    records = [
        f.record(event_time="2026-11-27T10:00:00Z"),
        f.record("ListOperations", event_time="2026-11-28T10:00:00Z"),
    ]
    text = render_csv(analyse([f.MemorySource(records)]).report)
    days = sorted(line.split(",", 1)[0] for line in text.splitlines()[1:])
    assert days == ["2026-11-27", "2026-11-28"]


def test_hazards_are_a_column_of_their_own():
    rows = table(r.report([r.finding(severity="high", hazards=[r.hazard()])]))
    assert rows[0]["severity"] == "high"
    assert rows[0]["hazards"] == (
        "iam:PutUserPolicy (privilege escalation): A user who may write an inline policy on itself can grant itself "
        "any permission."
    )
