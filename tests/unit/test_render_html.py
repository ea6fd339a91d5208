"""The HTML email: every kind of finding shown as such, log strings inert, mail-client-safe markup."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from email import message_from_bytes, policy

import pytest
from bs4 import BeautifulSoup
from pydantic import ValidationError

from analysis.contract import as_report
from analysis.delivery.email import build_email
from analysis.pipeline import analyse
from analysis.render import render
from analysis.render.html import (
    BANNER_MARK,
    HTML_BUDGET,
    breakable,
    bucket_labels,
    chart,
    mail_html,
    mail_size,
    render_html,
)
from tests import factories as f
from tests import reports as r


class ListSource:
    name = "test"

    def __init__(self, records):
        self.records = records

    def read(self):
        yield from self.records


def soup(report) -> BeautifulSoup:
    return BeautifulSoup(render_html(report), "html.parser")


def section(page: BeautifulSoup, kind: str):
    found = page.select(f'[data-kind="{kind}"]')
    assert len(found) == 1, kind
    return found[0]


def test_dispatch_and_a_report_built_by_the_pipeline():
    records = [
        f.record(),
        f.record(event_time="2026-11-28T10:00:00Z"),
        f.record("ListServices", identity=f.aws_account()),
    ]
    report = analyse([ListSource(records)]).report.document()
    html = render(report, "html")
    page = BeautifulSoup(html, "html.parser")
    assert len(page.select("[data-finding]")) == len(report["findings"]) == 2
    assert page.select_one("#numbers").get_text(" ", strip=True).startswith("3 denials 2 principals 2 findings")
    assert "aws iam put-user-policy --user-name dev-alice" in html


def test_no_scripts_svg_images_stylesheets_or_external_resources():
    html = render_html(r.every_kind())
    page = BeautifulSoup(html, "html.parser")
    for tag in ("script", "svg", "img", "link", "style", "iframe", "object", "embed", "form", "input"):
        assert page.find(tag) is None, tag
    for element in page.find_all(True):
        assert not [name for name in element.attrs if name.lower().startswith("on")], element.name
        assert "src" not in element.attrs
    assert all(a["href"].startswith(("https://", "#")) for a in page.find_all("a"))
    assert "http://" not in html
    # inline CSS only (mail clients drop <style>): what needs a look carries its own style attribute, or the
    # presentational attributes every client honours (a grid's cellpadding, cellspacing and bgcolor)
    assert all(element.get("style") for element in page.find_all(["h1", "h2", "h3", "pre", "table"]))
    grids = page.select("#summary, table.actions")
    assert grids and all(grid["cellspacing"] == "1" and grid["bgcolor"] for grid in grids)


def test_every_kind_is_shown_most_severe_first_then_most_denials():
    page = soup(r.every_kind())
    shown = [(element["data-severity"], element["data-kind"]) for element in page.select("[data-finding]")]
    # by hand: critical investigate (12 denials) and cross-account (5); high org_policy (6) and review_deny (4);
    # medium permission_set (2); low grant (3) and the finding with no remedy (1)
    assert shown == [
        ("critical", "investigate"),
        ("critical", "cross_account_role"),
        ("high", "org_policy"),
        ("high", "review_deny"),
        ("medium", "permission_set"),
        ("low", "grant"),
        ("low", "none"),
    ]
    numbers = [element["data-finding"] for element in page.select("[data-finding]")]
    assert numbers == [str(n) for n in range(1, 8)]
    summary = [[td.get_text() for td in tr.find_all("td")][:2] for tr in page.select("#summary tr")[1:]]
    assert summary == [[str(n), severity] for n, (severity, _) in enumerate(shown, start=1)]
    assert page.select_one("#severities").get_text(" ", strip=True) == "2 × critical 2 × high 1 × medium 2 × low"
    assert [b.get_text() for b in page.select("[data-finding] .severity")] == [severity for severity, _ in shown]


def test_the_root_user_comes_before_more_denials_of_a_lower_severity():
    root = r.finding(f"arn:aws:iam::{r.ACCOUNT}:root", kind="org_policy", type_="Root", severity="critical")
    busy = r.finding(actions=[r.action(count=40)])  # a Read refused 40 times: low
    page = soup(r.report([busy, root]))
    assert [element["data-severity"] for element in page.select("[data-finding]")] == ["critical", "low"]


def test_within_a_severity_most_denials_first_then_the_remedy_kind():
    review = r.finding(f"arn:aws:iam::{r.ACCOUNT}:role/A", kind="review_deny", type_="AssumedRole")
    grant = r.finding(f"arn:aws:iam::{r.ACCOUNT}:role/B", kind="grant", type_="AssumedRole")
    more = r.finding(f"arn:aws:iam::{r.ACCOUNT}:role/C", kind="grant", type_="AssumedRole", actions=[r.action(count=9)])
    page = soup(r.report([grant, review, more]))
    assert [element["data-kind"] for element in page.select("[data-finding]")] == ["grant", "review_deny", "grant"]
    assert page.select("[data-finding] h2")[0].get_text().endswith("role/C")


def test_hazards_are_shown_with_why_and_a_safe_link_to_their_source():
    hostile = r.hazard(
        "cloudtrail:StopLogging", why=f"why {r.SCRIPT}", source='https://attacker.example/x" onmouseover="alert(1)'
    )
    report = r.report([r.finding(severity="high", hazards=[r.hazard(), hostile])])
    page = soup(report)
    shown = [div.get_text(" ", strip=True) for div in page.select(".hazard")]
    assert shown[0].startswith("Dangerous to grant: iam:PutUserPolicy (privilege escalation): A user who may write")
    assert shown[0].endswith("( source )")
    assert page.select(".hazard a")[0]["href"] == r.hazard()["source"]
    assert r.SCRIPT in shown[1] and page.find("script") is None  # text, not markup
    assert len(page.select(".hazard a")) == 1  # the unsafe source is not linked


def test_grant_shows_the_policy_the_commands_and_the_docs():
    grant = section(soup(r.every_kind()), "grant")
    policy = grant.select_one('pre.policy[data-file="policy.json"]')
    assert json.loads(policy.get_text())["Statement"][0]["Action"] == "apprunner:DescribeService"
    assert "aws iam put-user-policy --user-name dev-alice" in grant.select_one("pre.commands").get_text()
    links = {a["href"] for a in grant.find_all("a")}
    assert f"{r.TROUBLESHOOT}#security_iam_troubleshoot-no-permissions" in links
    assert f"{r.TROUBLESHOOT}#security_iam_troubleshoot-admin-delegate" in links
    (row,) = grant.select("table.actions td")
    assert row.select_one(".action").get_text() == "apprunner:DescribeService"
    assert row.get_text().splitlines() == [
        "apprunner:DescribeService ×\u00a03 09:15:00Z to 11:40:00Z",  # the times of day: the window is one UTC day
        f"on {r.SERVICE}",
        "no identity-based policy allows it",
    ]


def test_cross_account_shows_the_role_its_trust_policy_and_the_callers_side():
    cross = section(soup(r.every_kind()), "cross_account_role")
    files = [pre["data-file"] for pre in cross.select("pre.policy")]
    assert files == ["policy.json", "trust-policy.json", "caller-policy.json"]
    trust = json.loads(cross.select_one('pre[data-file="trust-policy.json"]').get_text())
    assert trust["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{r.PARTNER}:role/Partner"}
    commands = cross.select_one("pre.commands").get_text()
    assert "aws iam create-role --role-name AppRunnerAccessFrom444455556666" in commands
    assert "file://caller-policy.json" in commands
    assert "cross-account" in cross.get_text()
    assert f"{r.TROUBLESHOOT}#security_iam_troubleshoot-cross-account-access" in {a["href"] for a in cross("a")}


@pytest.mark.parametrize("kind", ["investigate", "org_policy"])
def test_reconnaissance_and_org_policy_have_no_fix_to_paste(kind):
    shown = section(soup(r.every_kind()), kind)
    assert shown.select("pre") == []
    text = shown.get_text(" ", strip=True)
    assert "Do not grant" in text and "What to do (nothing to grant)" in text


def test_investigate_never_shows_a_policy_and_a_report_proposing_one_is_refused():
    report = r.report([r.finding(kind="investigate")])
    report["findings"][0]["remedy"]["commands"] = ["aws iam put-user-policy ..."]
    assert soup(report).select("pre") == []
    report["findings"][0]["remedy"]["policy"] = r.policy("apprunner:ListServices", "*")
    with pytest.raises(ValidationError, match="reconnaissance is never answered with a policy"):
        render_html(report)


def test_a_finding_without_remedy_says_so():
    shown = section(soup(r.every_kind()), "none")
    assert "No advice was computed" in shown.get_text()


def test_the_day_in_numbers_and_the_chart():
    page = soup(r.every_kind())
    numbers = page.select_one("#numbers").get_text(" ", strip=True)
    assert "records read" in numbers and "1200" in numbers
    bars = page.select("#chart td[data-start]")
    assert len(bars) == 24 and len(page.select("#chart tr")) == 2  # one row of bars, one of labels
    # every_kind's hours 8..18 hold (hour * 7) % 11 denials: 1, 8, 4, 0, 7, 3, 10, 6, 2, 9, 5; the peak is 14:00
    heights = [int(re.search(r";height:(\d+)px", bar.div["style"]).group(1)) for bar in bars]
    counts = [(hour * 7) % 11 if 8 <= hour <= 18 else 0 for hour in range(24)]
    assert heights.index(max(heights)) == 14 and max(heights) == 48
    assert [height > 1 for height in heights] == [count > 0 for count in counts]  # a 1 px baseline for none
    assert page.select_one("#chart").find_parent("td").h3.get_text() == "Denials per hour (UTC), 2026-11-28"
    assert "Busiest hour: 14:00 (UTC), 10 denial(s)." in page.get_text()


def test_the_chart_falls_back_to_denials_per_principal_without_a_timeline():
    report = r.every_kind()
    del report["timeline"]
    drawn = chart(report)
    assert drawn["title"] == "Denials per principal"
    assert [bar["count"] for bar in drawn["bars"]] == [f["denials"] for f in report["findings"]]


def test_each_hour_is_labelled_under_its_own_bar_from_00():
    """Issue 11: the first label read as the date and the chart seemed to start at 01:00. A UTC day: 00..23,
    each label the hour its bucket starts at, the date once, in the title."""
    page = soup(r.every_kind())
    starts = [bar["data-start"] for bar in page.select("#chart td[data-start]")]
    labels = [td.get_text() for td in page.select("#chart tr")[1].find_all("td")]
    assert starts == [f"2026-11-28T{hour:02d}:00:00Z" for hour in range(24)]
    assert labels == [f"{hour:02d}" for hour in range(24)]


def test_a_daily_report_labels_its_hours_in_its_own_time_zone():
    # Paris is UTC+1 in November: the local day 2026-11-28 starts at 2026-11-27T23:00Z, whose bar reads 00.
    report = r.daily_with_late_arrivals()
    report["timeline"] = {
        "unit": "hour",
        "buckets": [
            {"start": f"2026-11-{27 + (h + 23) // 24}T{(h + 23) % 24:02d}:00:00Z", "denials": 1} for h in range(24)
        ],
    }
    drawn = chart(report)
    assert drawn["title"] == "Denials per hour (Europe/Paris), 2026-11-28"
    assert [bar["label"] for bar in drawn["bars"]] == [f"{hour:02d}" for hour in range(24)]
    assert drawn["bars"][0]["start"] == "2026-11-27T23:00:00Z"


def test_the_day_summer_time_begins_has_23_hours_and_no_02():
    # 2026-03-29 in Paris: clocks go from 02:00 to 03:00, so the local day has 23 hours (22:00Z to 21:00Z).
    report = r.daily_with_late_arrivals()
    report["daily"].update(key="2026-03-29", start="2026-03-28T23:00:00Z", end="2026-03-29T22:00:00Z")
    report["timeline"] = {
        "unit": "hour",
        "buckets": [
            {"start": f"2026-03-{28 + (h + 23) // 24}T{(h + 23) % 24:02d}:00:00Z", "denials": 0} for h in range(23)
        ],
    }
    labels = [bar["label"] for bar in chart(report)["bars"]]
    assert labels == ["00", "01", *(f"{hour:02d}" for hour in range(3, 24))]


def test_two_days_of_hours_label_every_second_bar():
    report = r.every_kind()
    report["timeline"]["buckets"] += [{"start": f"2026-11-29T{hour:02d}:00:00Z", "denials": 0} for hour in range(24)]
    drawn = chart(report)
    assert drawn["title"] == "Denials per hour (UTC), 2026-11-28 to 2026-11-29"
    assert [bar["label"] for bar in drawn["bars"]][:5] == ["00", "", "02", "", "04"]
    assert len(drawn["bars"]) == 48


def test_bucket_labels_of_days_and_weeks():
    starts = ["2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z"]
    assert bucket_labels(starts, "day") == ["2026-11-23", "2026-11-30"]
    assert bucket_labels(starts, "week") == ["week of 2026-11-23", "week of 2026-11-30"]


def test_an_empty_day_still_says_the_job_ran():
    page = soup(r.empty_day())
    assert page.select_one("#empty").get_text() == (
        "No App Runner denials between 2026-11-28T00:00:00Z and 2026-11-29T00:00:00Z."
    )
    assert page.select("[data-finding]") == []
    assert "read 1200 record(s)" in page.get_text()


def test_hostile_strings_stay_text():
    report = r.hostile()
    html = render_html(report)
    page = BeautifulSoup(html, "html.parser")
    assert page.find("script") is None and page.find("img") is None
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert not [e for e in page.find_all(True) if any(a.lower().startswith("on") for a in e.attrs)]
    sessions = page.select_one('[data-kind="grant"]').get_text()
    assert r.SCRIPT in sessions and r.IMG in sessions and "=1+1" in sessions  # shown, as text


def test_only_safe_documentation_links_become_links():
    page = soup(r.hostile())
    hrefs = [a["href"] for a in page.find_all("a")]
    assert not [h for h in hrefs if "javascript" in h.lower() or '"' in h or "onmouseover" in h]
    assert f"{r.TROUBLESHOOT}#security_iam_troubleshoot-no-permissions" in hrefs


def test_access_key_ids_are_masked_in_depth():
    html = render_html(r.hostile())
    assert r.ACCESS_KEY not in html
    assert "AKIA************" in html


def test_very_long_values_are_cut_and_say_so():
    html = render_html(r.hostile())
    assert "x" * 2900 in html and "x" * 3001 not in html
    assert re.search(r"… \(97\d\d\d more characters\)", html)
    assert len(html) < 200_000


def test_unicode_is_kept_and_bidi_overrides_are_neutralised():
    html = render_html(r.hostile())
    assert "日本語-セッション-🚀" in html and "＝1+1" in html
    assert "\u202e" not in html and "evil\\u202egnp.exe" in html  # shown as an escape, not obeyed


def test_policy_documents_are_shown_whole_even_when_long():
    report = r.report([r.finding()])
    statements = [
        {
            "Sid": f"S{i}",
            "Effect": "Allow",
            "Action": "apprunner:DescribeService",
            "Resource": f"{r.SERVICE[:-8]}{i:08d}",
        }
        for i in range(60)
    ]
    report["findings"][0]["remedy"]["policy"] = {"Version": "2012-10-17", "Statement": statements}
    text = soup(report).select_one('pre[data-file="policy.json"]').get_text()
    assert json.loads(text) == report["findings"][0]["remedy"]["policy"], "the whole document, every statement"


def test_the_banner_mark_is_there_once_for_delivery_and_log_strings_cannot_forge_it():
    report = r.report([r.finding(sessions=[BANNER_MARK])])
    html = render_html(report)
    assert html.count(BANNER_MARK) == 1
    assert re.search(r"<body[^>]*>\s*" + re.escape(BANNER_MARK), html)


def test_late_arrivals_of_a_daily_report_are_listed_under_their_own_day():
    page = soup(r.daily_with_late_arrivals())
    late = page.select_one("#late")
    assert [td.get_text() for td in late.select("tr")[1].find_all("td")] == [
        "2026-11-27",
        f"arn:aws:iam::{r.ACCOUNT}:role/Nightly",
        "2",
        "Grant the missing permission",
    ]
    assert "late from earlier days" in page.select_one("#numbers").get_text()
    assert page.find("title").get_text() == "App Runner access report 2026-11-28"  # the local day, not UTC's


def test_a_long_note_holding_a_command_is_shown_whole():
    report = r.report([r.finding()])
    command = "aws sts decode-authorization-message --encoded-message " + "Ab0-_" * 1000
    report["findings"][0]["remedy"]["notes"] = [f"Decode it: {command}"]
    assert command in soup(report).get_text()  # whole, with places to wrap (<wbr>, no character) after its '_'


def weekly(counts: dict[str, int], first: str, weeks: int) -> dict:
    """A week timeline of ``weeks`` buckets from the Monday ``first``, zero but for ``counts``."""
    monday = date.fromisoformat(first)
    starts = [f"{monday + timedelta(weeks=n)}" for n in range(weeks)]
    return {"unit": "week", "buckets": [{"start": f"{s}T00:00:00Z", "denials": counts.get(s, 0)} for s in starts]}


def test_years_of_weeks_are_drawn_a_few_dozen_bars_each_of_whole_weeks():
    """Issue 11 review: `report --source tests/data/real` (231 weeks, 2021-09-06 to 2026-02-02) drew 48 rows, the
    first '184 earlier' holding 319 of the 320 denials. Its weeks with denials, as the report counts them:"""
    real = {"2021-09-06": 1, "2023-07-10": 60, "2024-07-29": 51, "2024-08-12": 205}
    real |= {"2024-12-09": 1, "2025-02-10": 1, "2026-02-02": 1}
    report = r.report([r.finding()])
    report["timeline"] = weekly(real, "2021-09-06", 231)
    drawn = chart(report)
    # 231 weeks: 2 a bar would be 116 bars, 4 58; 13 (a quarter) fits 36: ceil(231 / 13) = 18 bars of 91 days.
    # Weeks from 2021-09-06, by hand: 2023-07-10 is 672 days (96 weeks, bar 96 // 13 = 7), 2024-07-29 1057 days
    # (151, bar 11), 2024-08-12 153 weeks (bar 11), 2024-12-09 1190 days (170, bar 13), 2025-02-10 1253 days
    # (179, bar 13), 2026-02-02 1610 days (230, bar 17).
    assert drawn["title"] == "Denials per 13 weeks (UTC)"
    assert [bar["count"] for bar in drawn["bars"]] == [1, 0, 0, 0, 0, 0, 0, 60, 0, 0, 0, 256, 0, 2, 0, 0, 0, 1]
    labels = [bar["label"] for bar in drawn["bars"]]
    assert labels[:3] == ["2021-09-06", "2021-12-06", "2022-03-07"]  # 91 days apart, each a Monday
    assert [labels[i] for i in (7, 11, 13, 17)] == ["2023-06-05", "2024-06-03", "2024-12-02", "2025-12-01"]
    assert drawn["note"] == "Each bar adds up the 13 weeks from its date."
    page = soup(report)
    rows = page.select_one("#chart").find_all("tr", recursive=False)  # a bar is a table of its own
    assert len(rows) == 18 and "earlier" not in page.select_one("#chart").get_text()
    assert "Each bar adds up the 13 weeks from its date." in page.select_one("#chart").find_parent("td").get_text()


def test_a_long_timeline_is_drawn_over_the_weeks_that_hold_denials():
    """A year's window (52 weeks) with denials in two weeks: the chart is those weeks and the ones between."""
    report = r.report([r.finding()])
    report["timeline"] = weekly({"2026-09-28": 3, "2026-11-02": 4}, "2025-12-29", 52)
    drawn = chart(report)
    # 2026-09-28 to 2026-11-02: 35 days, weeks 0..5 of the span; 46 of the 52 weeks left out
    assert [bar["count"] for bar in drawn["bars"]] == [3, 0, 0, 0, 0, 4]
    assert drawn["bars"][0]["label"] == "week of 2026-09-28" and drawn["bars"][-1]["label"] == "week of 2026-11-02"
    assert drawn["title"] == "Denials per week (UTC)"
    assert drawn["note"] == (
        "Drawn from 2026-09-28 to 2026-11-08, the weeks with denials: the 46 other weeks of the timeline had none."
    )


def test_a_window_of_months_adds_up_days_and_a_short_one_keeps_each_day():
    report = r.report([r.finding()])
    days = [date(2026, 9, 1) + timedelta(days=n) for n in range(92)]  # 2026-09-01 to 2026-12-01
    report["timeline"] = {"unit": "day", "buckets": [{"start": f"{d}T00:00:00Z", "denials": 1} for d in days]}
    drawn = chart(report)
    # 92 days: 2 a bar is 46 bars, 3 a bar fits: 30 bars of 3 days and a last of 2 (2026-11-30, 2026-12-01)
    assert drawn["title"] == "Denials per 3 days (UTC)" and len(drawn["bars"]) == 31
    assert [bar["count"] for bar in drawn["bars"]] == [3] * 30 + [2]
    assert [bar["label"] for bar in drawn["bars"]][:2] == ["2026-09-01", "2026-09-04"]
    assert drawn["bars"][-1]["label"] == "2026-11-30"
    report["timeline"]["buckets"] = report["timeline"]["buckets"][:36]  # 36 days: one bar each, all shown
    drawn = chart(report)
    assert drawn["title"] == "Denials per day (UTC)" and drawn["note"] == ""
    assert [bar["label"] for bar in drawn["bars"]] == [f"{d}" for d in days[:36]]


def test_weeks_decades_apart_still_fit_a_few_dozen_bars():
    """Past MAX_BUCKETS weeks the timeline lists only the weeks with denials (a record dated decades off)."""
    report = r.report([r.finding()])
    report["timeline"] = {
        "unit": "week",
        "buckets": [{"start": "1990-01-01T00:00:00Z", "denials": 1}, {"start": "2026-11-23T00:00:00Z", "denials": 5}],
    }
    bars = chart(report)["bars"]
    assert len(bars) <= 36 and bars[0] == {"label": "1990-01-01", "count": 1, "width": 20}
    assert sum(bar["count"] for bar in bars) == 6 and bars[-1]["count"] == 5


def test_the_findings_summary_comes_before_the_chart_and_the_findings():
    """Findings first: the summary table (severity, principal, denials, fix) right after the numbers."""
    page = soup(r.every_kind())
    order = [
        "finding" if e.has_attr("data-finding") else e["id"]
        for e in page.select("#numbers, #summary, #chart, [data-finding]")
    ]
    assert order[:3] == ["numbers", "summary", "chart"] and set(order[3:]) == {"finding"}
    header = [th.get_text() for th in page.select("#summary th")]
    assert header == ["#", "severity", "principal, and the fix", "denials"]
    first = [td.get_text("|") for td in page.select("#summary tr")[1].find_all("td")]
    assert first == [
        "1",
        "critical",
        "arn:|aws:|iam::|111122223333:|user/|scanner|Do not grant: investigate (looks like reconnaissance)",
        "12",
    ]


def test_names_may_wrap_after_colons_and_slashes_only():
    page = soup(r.every_kind())
    cell = page.select("#summary tr")[1].find_all("td")[2]
    assert (
        cell.decode_contents().split("<br/>")[0]
        == "arn:<wbr/>aws:<wbr/>iam::<wbr/>111122223333:<wbr/>user/<wbr/>scanner"
    )
    action = page.select_one('[data-kind="grant"] .action')
    assert action.b.decode_contents() == "apprunner:<wbr/>DescribeService"


def test_a_short_name_in_prose_is_never_given_a_place_to_wrap():
    # 'iam:PassRole' (12 characters) fits any column: in a sentence it wraps at spaces, never after its ':'
    assert str(breakable("iam:PassRole is granted only for the refused role")) == (
        "iam:PassRole is granted only for the refused role"
    )
    assert str(breakable("apprunner:DescribeService")) == "apprunner:<wbr>DescribeService"  # 25 characters


def test_a_long_name_may_wrap_after_its_underscores_too():
    """Issue 11 review: at 400 px the summary broke 'AWSReservedSSO_Developer_Acc|ess' inside a word."""
    arn = (
        "arn:aws:iam::444455556666:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_Access_0a1b2c3d4e5f6789"
    )
    assert str(breakable(arn)) == (
        "arn:<wbr>aws:<wbr>iam::<wbr>444455556666:<wbr>role/<wbr>aws-reserved/<wbr>sso.amazonaws.com/<wbr>"
        "AWSReservedSSO_<wbr>Developer_<wbr>Access_<wbr>0a1b2c3d4e5f6789"
    )
    assert str(breakable("MY_SHORT_NAME")) == "MY_SHORT_NAME"  # 13 characters: fits any column whole
    assert str(breakable("__init__ of a module")) == "__init__ of a module"
    assert str(breakable("a_very_long_snake_case_name__")) == "a_<wbr>very_<wbr>long_<wbr>snake_<wbr>case_<wbr>name__"


def test_break_points_are_added_to_the_escaped_text_never_to_markup_from_the_log():
    hostile = '<a href="javascript:x">x</a>:/<wbr>'
    shown = str(breakable(hostile))
    assert shown == "&lt;a href=&#34;javascript:<wbr>x&#34;&gt;x&lt;/<wbr>a&gt;:/<wbr>&lt;wbr&gt;"
    assert BeautifulSoup(shown, "html.parser").get_text() == hostile
    assert {tag.name for tag in BeautifulSoup(shown, "html.parser").find_all(True)} == {"wbr"}


def test_a_small_report_keeps_its_policies_and_documentation_under_each_finding():
    html = render_html(r.every_kind())
    page = BeautifulSoup(html, "html.parser")
    assert len(html.encode()) < HTML_BUDGET
    assert page.select_one("#policies-elsewhere") is None and page.select_one("#docs") is None
    assert len(page.select("pre.policy")) == 5  # grant, permission set, and the cross-account role's three
    assert page.select_one('[data-kind="grant"]').find(
        "a", href=f"{r.TROUBLESHOOT}#security_iam_troubleshoot-no-permissions"
    )


def test_past_the_budget_the_documentation_is_listed_once_at_the_end_first():
    report = r.every_kind()
    full = len(render_html(report, budget=None).encode())
    html = render_html(report, budget=full - 1)
    page = BeautifulSoup(html, "html.parser")
    assert len(html.encode()) < full
    assert len(page.select("pre.policy")) == 5 and page.select_one("#policies-elsewhere") is None
    linked = [a["href"] for a in page.select("#docs a")]
    assert linked == list(dict.fromkeys(linked)) and len(linked) == 3  # each page once: the three of every_kind
    assert not page.select("[data-finding] a[href^='https://']")


def test_past_the_budget_policies_are_left_out_with_their_actions_and_where_they_are():
    report = r.every_kind()
    html = render_html(report, budget=10_000)
    page = BeautifulSoup(html, "html.parser")
    assert page.select("pre.policy") == []
    notice = page.select_one("#policies-elsewhere")
    assert notice.find_previous("table", id="summary") is None  # at the top, before the findings
    assert "leaves out the full policy documents" in notice.get_text()
    cross = page.select_one('[data-kind="cross_account_role"]')
    left_out = {p["data-file"]: " ".join(p.get_text().split()) for p in cross.select(".policy-elsewhere")}
    assert sorted(left_out) == ["caller-policy.json", "policy.json", "trust-policy.json"]
    # Where the page says each document is, the JSON report holds it.
    document = as_report(report).document()
    finding = next(f for f in document["findings"] if f["id"] == cross["data-id"])
    assert f"remedy.trust_policy of finding {finding['id']}" in left_out["trust-policy.json"]
    assert left_out["trust-policy.json"].startswith("Allows sts:AssumeRole.")
    assert finding["remedy"]["trust_policy"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert left_out["caller-policy.json"].startswith("Allows sts:AssumeRole.")
    assert left_out["policy.json"].startswith("Allows apprunner:ListServices.")
    assert "aws iam create-role" in cross.select_one("pre.commands").get_text()  # the commands stay


def test_a_page_still_over_the_budget_says_how_to_see_its_end():
    within = BeautifulSoup(
        render_html(r.every_kind(), budget=mail_size(render_html(r.every_kind(), budget=10)) + 200), "html.parser"
    )
    assert "Message clipped" not in within.select_one("#policies-elsewhere").get_text()
    over = BeautifulSoup(render_html(r.every_kind(), budget=10_000), "html.parser")
    assert (
        'if it ends with "[Message clipped]", open the whole message'
        in over.select_one("#policies-elsewhere").get_text()
    )


def test_a_report_without_policies_is_never_said_to_leave_them_out():
    report = r.report([r.finding(kind="review_deny"), r.finding(kind="investigate")])
    page = BeautifulSoup(render_html(report, budget=1_000), "html.parser")
    assert page.select_one("#policies-elsewhere") is None


def sent_size(report, page: str) -> int:
    """The bytes of the text/html part as the email carries the page (no banner), read back from the message."""
    rendered = {"json": "{}", "csv": "", "md": "", "html": page}
    built = build_email(
        as_report(report), rendered, sender="a@x.example", recipients=("b@x.example",), link=None, max_bytes=10**8
    )
    message = message_from_bytes(built.raw, policy=policy.default)
    return len(next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload().encode("ascii"))


def test_a_page_under_the_budget_in_characters_but_over_it_as_sent_is_made_smaller():
    report = r.every_kind()
    full = render_html(report, budget=None)
    raw = len(full.encode())
    # Sent, every line ends in CRLF (and characters past ASCII are references): more bytes than the page's.
    assert sent_size(report, full) > raw + 1
    html = render_html(report, budget=raw + 1)
    assert html != full and BeautifulSoup(html, "html.parser").select_one("#docs") is not None  # the next step
    assert sent_size(report, html) <= raw + 1


def test_the_email_carries_the_same_document_in_ascii_and_short_lines():
    page = render_html(r.hostile())
    sent = mail_html(page)
    assert sent.isascii()
    # Only the hostile report's 2,900-character word is a line past SMTP's 998 (that page is sent quoted-printable).
    assert [len(line) for line in sent.split("\n") if len(line) > 998] == [len(max(sent.split("\n"), key=len))]
    assert "x" * 2900 in max(sent.split("\n"), key=len)
    assert max(len(line) for line in mail_html(render_html(r.every_kind())).split("\n")) <= 998
    before, after = BeautifulSoup(page, "html.parser"), BeautifulSoup(sent, "html.parser")
    assert [p.get_text() for p in before.find_all("pre")] == [p.get_text() for p in after.find_all("pre")]
    assert before.get_text().split() == after.get_text().split()

    def tags(soup):
        squeeze = {"style", "content"}  # CSS: a line end between declarations is a space
        return [
            (t.name, {k: "".join(v.split()) if k in squeeze else v for k, v in t.attrs.items()})
            for t in soup.find_all(True)
            if t.name != "wbr"
        ]

    assert tags(before) == tags(after)
    assert "日本語-セッション-🚀" in after.get_text()  # as character references, shown the same
