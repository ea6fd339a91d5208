"""The HTML email: every kind of finding shown as such, log strings inert, mail-client-safe markup."""

from __future__ import annotations

import json
import re

import pytest
from bs4 import BeautifulSoup
from pydantic import ValidationError

from analysis.pipeline import analyse
from analysis.render import render
from analysis.render.html import BANNER_MARK, bucket_labels, chart, render_html
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
    # inline CSS only (mail clients drop <style>): what needs a look carries its own style attribute
    assert all(element.get("style") for element in page.find_all(["h1", "h2", "h3", "pre", "th", "td", "table"]))


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
    cells = [td.get_text() for td in grant.select("table.actions td")]
    assert cells[:3] == ["apprunner:DescribeService", "3", r.SERVICE]
    assert cells[3].startswith("no identity-based policy allows it")


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
    rows = page.select("#chart > tr")
    assert len(rows) == 24
    widths = [int(t["width"].rstrip("%")) for t in page.select("#chart table[width]")]
    assert max(widths) == 100 and all(0 < w <= 100 for w in widths)
    assert "Denials per hour (UTC)" in page.get_text()


def test_the_chart_falls_back_to_denials_per_principal_without_a_timeline():
    report = r.every_kind()
    del report["timeline"]
    drawn = chart(report)
    assert drawn["title"] == "Denials per principal"
    assert [bar["count"] for bar in drawn["bars"]] == [f["denials"] for f in report["findings"]]


def test_bucket_labels_show_the_date_once_and_at_midnight():
    starts = ["2026-11-28T22:00:00Z", "2026-11-28T23:00:00Z", "2026-11-29T00:00:00Z"]
    assert bucket_labels(starts, "hour") == ["2026-11-28 22:00", "23:00", "2026-11-29 00:00"]
    assert bucket_labels(starts[:1], "day") == ["2026-11-28"]


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
    assert command in render_html(report)


def test_a_long_timeline_keeps_its_latest_bars_and_sums_the_rest():
    report = r.report([r.finding()])
    report["timeline"] = {
        "unit": "day",
        "buckets": [{"start": f"2026-{m:02d}-{d:02d}T00:00:00Z", "denials": 1} for m in (9, 10) for d in range(1, 31)],
    }
    bars = chart(report)["bars"]
    assert len(bars) == 48 and bars[0]["label"] == "13 earlier" and bars[0]["count"] == 13
    assert bars[-1]["label"] == "2026-10-30"
