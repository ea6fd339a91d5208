"""CSV: one row per principal and action, the lists one value a row in a second file, no log string ever read
as a spreadsheet formula, and account IDs that stay text."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest

from analysis.render import render
from analysis.render.csv import DETAILS_HEADER, FORMULA_START, HEADER, neutralise, render_csv, render_csv_details
from tests import reports as r

pytestmark = pytest.mark.unit


def table(report) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(render_csv(report), newline="")))


def details(report) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(render_csv_details(report), newline="")))


def loaded(text: str) -> pd.DataFrame:
    """The loading recipe the module's docstring and the README give."""
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return frame.apply(lambda column: column.str.removeprefix("'"))


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
    detail_cells = [
        cell for row in csv.reader(io.StringIO(render_csv_details(r.hostile()), newline="")) for cell in row
    ]
    assert len(detail_cells) > len(DETAILS_HEADER) * len(r.HOSTILE_SESSIONS)
    assert [
        cell for cell in detail_cells if cell and (cell[0] in FORMULA_START or cell.lstrip()[:1] in FORMULA_START)
    ] == []
    resources = rows[1][HEADER.index("resources")]
    assert resources.startswith(r.SERVICE) and "=cmd|' /C calc'!A0" in resources


def test_a_session_name_that_is_a_formula_stays_text():
    report = r.report(
        [
            r.finding(f"arn:aws:iam::{r.ACCOUNT}:role/Deploy", type_="AssumedRole", sessions=["=1+1"]),
            r.finding(f"arn:aws:iam::{r.ACCOUNT}:role/Build", type_="AssumedRole", sessions=[r.HYPERLINK]),
        ]
    )
    sessions = [row["value"] for row in details(report) if row["field"] == "sessions"]
    assert sorted(sessions) == sorted(["'=1+1", "'" + r.HYPERLINK])


def test_access_keys_masked_unicode_kept_and_long_values_cut():
    text = render_csv(r.hostile()) + render_csv_details(r.hostile())
    assert r.ACCESS_KEY not in text and "AKIA************" in text  # a session name (details)
    assert "日本語-セッション-🚀" in text and "\u202e" not in text
    rows = table(r.hostile()) + details(r.hostile())
    assert all(len(value) <= 32_100 for row in rows for value in row.values())
    assert max(len(row["value"]) for row in details(r.hostile())) > 30_000  # the 100,000-character user agent, cut


def test_values_with_quotes_commas_and_newlines_stay_in_their_cell():
    report = r.report([r.finding(sessions=['a "quoted", value\nwith a newline'])])
    sessions = [row["value"] for row in details(report) if row["field"] == "sessions"]
    assert sessions == ['a "quoted", value\nwith a newline']


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


def test_details_hold_each_list_one_value_a_row_keyed_by_finding_and_action():
    report = r.every_kind()
    rows = details(report)
    assert list(rows[0]) == DETAILS_HEADER == ["day", "finding_id", "action", "field", "value"]
    by_id = {f["id"]: f for f in report["findings"]}
    for finding_id, finding in by_id.items():
        mine = [row for row in rows if row["finding_id"] == finding_id]
        of_finding = [(row["field"], row["value"]) for row in mine if row["action"] == ""]
        expected = [("sessions", s) for s in finding["principal"]["sessions"]]
        expected += [
            ("regions", "us-east-1"),
            ("source_ips", "198.51.100.7"),
            ("user_agents", finding["user_agents"][0]),
        ]
        assert of_finding == expected
        for action in finding["actions"]:
            of_action = [(row["field"], row["value"]) for row in mine if row["action"] == action["action"]]
            assert of_action == [
                *(("resources", resource) for resource in action["resources"]),
                *(("reasons", reason) for reason in action["reasons"]),
                *(("event_ids", event_id) for event_id in r.event_ids(action["action"], action["count"])),
            ]
    assert {row["day"] for row in rows} == {"2026-11-28"}
    assert ("sessions", "jane@example.com") in [(row["field"], row["value"]) for row in rows]


def test_every_action_row_of_the_details_joins_a_row_of_the_report():
    for report in (r.every_kind(), r.daily_with_late_arrivals(), r.hostile()):
        keys = {(row["day"], row["finding_id"], row["action"]) for row in table(report)}
        finding_keys = {(day, finding_id) for day, finding_id, _ in keys}
        for row in details(report):
            if row["action"]:
                assert (row["day"], row["finding_id"], row["action"]) in keys
            else:
                assert (row["day"], row["finding_id"]) in finding_keys


def test_late_arrivals_details_are_under_their_own_day():
    rows = details(r.daily_with_late_arrivals())
    late = [row for row in rows if row["action"] == "apprunner:StartDeployment"]
    assert late and {row["day"] for row in late} == {"2026-11-27"}
    assert [row["value"] for row in late if row["field"] == "event_ids"] == r.event_ids("apprunner:StartDeployment", 2)


def test_an_empty_day_has_a_details_header_alone():
    assert render_csv_details(r.empty_day()) == "day,finding_id,action,field,value\r\n"
    assert render(r.empty_day(), "csv_details") == "day,finding_id,action,field,value\r\n"


LEADING_ZERO = "012345678901"


def leading_zero_report():
    return r.report(
        [
            r.finding(
                f"arn:aws:iam::{LEADING_ZERO}:role/Deploy",
                type_="AssumedRole",
                account=LEADING_ZERO,
                target=LEADING_ZERO,
                sessions=["'quoted", "NA", "00123"],
            )
        ]
    )


def test_account_ids_stay_text_with_every_digit_when_pandas_guesses_types():
    frame = pd.read_csv(io.StringIO(render_csv(leading_zero_report())))  # no dtype: pandas infers the types
    for column in ("principal_account_id", "target_account_id"):
        value = frame[column].iloc[0]
        assert isinstance(value, str) and value == "'" + LEADING_ZERO  # never the number 12345678901
    assert frame["count"].iloc[0] == 3 and frame["finding"].iloc[0] == 1  # numbers stay numbers


def test_the_documented_recipe_reads_every_value_back_exactly():
    report = leading_zero_report()
    frame = loaded(render_csv(report))
    assert frame["principal_account_id"].iloc[0] == LEADING_ZERO == frame["target_account_id"].iloc[0]
    assert frame["principal"].iloc[0] == f"arn:aws:iam::{LEADING_ZERO}:role/Deploy"
    sessions = loaded(render_csv_details(report)).query("field == 'sessions'")["value"].tolist()
    assert sessions == ["'quoted", "NA", "00123"]  # a leading apostrophe of the data survives the recipe
    hostile = loaded(render_csv_details(r.hostile())).query("field == 'sessions'")["value"].tolist()
    plain = [
        r.SCRIPT,
        "=1+1",
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        r.HYPERLINK,
        "＝1+1",
        "日本語-セッション-🚀",
    ]
    assert set(plain) <= set(hostile)


def test_a_value_starting_with_an_apostrophe_gets_a_second_one():
    assert neutralise("'quoted") == "''quoted"


def test_booleans_are_true_or_false_and_times_iso_8601_utc():
    rows = table(r.every_kind())
    assert {row["cross_account"] for row in rows} == {"true", "false"}
    partner = next(row for row in rows if row["principal"].endswith(":role/Partner"))
    assert partner["cross_account"] == "true" and partner["principal_account_id"] == "'" + r.PARTNER
    iso = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
    assert all(iso.fullmatch(row["first_seen"]) and iso.fullmatch(row["last_seen"]) for row in rows)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["day"]) for row in rows)


def test_no_list_is_joined_into_a_cell_for_sessions_regions_addresses_or_event_ids():
    assert not {"sessions", "regions", "source_ips", "user_agents", "event_ids"} & set(HEADER)
