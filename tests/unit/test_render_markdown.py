"""Markdown for tickets, chat and GitHub: log strings escaped, fences unbreakable, fixes and docs linked."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from analysis.render import render
from analysis.render.markdown import escape_markdown, render_markdown
from tests import reports as r


def as_html(markdown: str) -> BeautifulSoup:
    """What a Markdown viewer that allows inline HTML (as GitHub does, before sanitising) would build."""
    return BeautifulSoup(MarkdownIt("commonmark", {"html": True}).enable("table").render(markdown), "html.parser")


def test_every_kind_most_severe_first_with_fixes_commands_and_docs():
    text = render_markdown(r.every_kind())
    headings = re.findall(r"^## \d+\. (\S+)", text, flags=re.MULTILINE)
    # by hand: critical scanner (12 denials) and Partner (5); high Builder (6) and Ops (4); medium the permission
    # set's role; low dev-alice (3) and new-hire (1)
    assert [h.rsplit("/", 1)[-1] for h in headings] == [
        "scanner",
        "Partner",
        "Builder",
        "Ops",
        "AWSReservedSSO\\_Developer\\_Access\\_0a1b",
        "dev-alice",
        "new-hire",
    ]
    severities = re.findall(r"^- \*\*Severity:\*\* (\w+)$", text, flags=re.MULTILINE)
    assert severities == ["critical", "critical", "high", "high", "medium", "low", "low"]
    assert "Severity: 2 × critical · 2 × high · 1 × medium · 2 × low" in text
    page = as_html(text)
    code = [block.get_text() for block in page.find_all("code")]
    assert any("aws iam create-role --role-name AppRunnerAccessFrom444455556666" in block for block in code)
    assert any('"sts:ExternalId"' in block for block in code)
    links = {a["href"] for a in page.find_all("a")}
    assert f"{r.TROUBLESHOOT}#security_iam_troubleshoot-cross-account-access" in links
    assert "(save as trust-policy.json)" in page.get_text()


def test_investigate_and_org_policy_have_no_policy_block():
    report = r.report([r.finding(kind="investigate"), r.finding(f"arn:aws:iam::{r.ACCOUNT}:role/B", kind="org_policy")])
    text = render_markdown(report)
    assert "```json" not in text and "Do not grant" in text


def test_an_empty_day_still_says_the_job_ran():
    shown = as_html(render(r.empty_day(), "md")).get_text()
    assert "No App Runner denials between 2026-11-28T00:00:00Z and 2026-11-29T00:00:00Z." in shown


def test_hostile_strings_render_as_text_in_a_real_markdown_parser():
    text = render_markdown(r.hostile())
    page = as_html(text)
    assert page.find("script") is None and page.find("img") is None
    assert not [e for e in page.find_all(True) if any(a.lower().startswith("on") for a in e.attrs)]
    assert not [a for a in page.find_all("a") if not a["href"].startswith("https://")]
    shown = page.get_text()
    assert r.SCRIPT in shown and r.IMG in shown  # visible as the text the log holds


def test_log_text_cannot_close_a_fence_or_break_a_table():
    text = render_markdown(r.hostile())
    page = as_html(text)
    tables = page.find_all("table")
    assert len(tables) == 3  # totals, and one per finding: a '|' in a log string did not split a row
    header = [th.get_text() for th in tables[1].find_all("th")]
    assert header == ["action", "count", "resources", "why"]
    assert all(len(row.find_all("td")) == 4 for row in tables[1].find_all("tr")[1:])
    assert "fence breaker" in page.get_text()


def test_access_keys_masked_and_bidi_neutralised():
    text = render_markdown(r.hostile())
    assert r.ACCESS_KEY not in text and "\u202e" not in text


def test_escape_markdown_of_line_starts_and_specials():
    assert escape_markdown("=1+1") == "\\=1+1"
    assert escape_markdown("<b>") == "\\<b\\>"
    assert escape_markdown(None) == ""


def test_late_arrivals_are_a_table():
    page = as_html(render_markdown(r.daily_with_late_arrivals()))
    late = page.find_all("table")[-1]
    assert [td.get_text() for td in late.find_all("td")] == [
        "2026-11-27",
        f"arn:aws:iam::{r.ACCOUNT}:role/Nightly",
        "2",
        "Grant the missing permission",
    ]


def test_a_long_note_holding_a_command_is_shown_whole():
    report = r.report([r.finding()])
    command = "aws sts decode-authorization-message --encoded-message " + "Ab0Cd" * 1000
    report["findings"][0]["remedy"]["notes"] = [f"Decode it: {command}"]
    assert command in as_html(render_markdown(report)).get_text()


def test_hazards_are_listed_with_why_and_their_source_and_stay_text():
    hostile = r.hazard(
        "cloudtrail:StopLogging", why=f"why {r.SCRIPT}", source='https://attacker.example/x" onmouseover="alert(1)'
    )
    page = as_html(render_markdown(r.report([r.finding(severity="high", hazards=[r.hazard(), hostile])])))
    items = [li.get_text() for li in page.find_all("li") if li.get_text().startswith("Dangerous to grant")]
    assert items[0] == (
        "Dangerous to grant: iam:PutUserPolicy (privilege escalation): A user who may write an inline policy on "
        "itself can grant itself any permission. (source)"
    )
    assert r.SCRIPT in items[1] and page.find("script") is None
    hrefs = [a["href"] for a in page.find_all("a")]
    assert r.hazard()["source"] in hrefs and not [h for h in hrefs if "attacker" in h]  # the unsafe one not linked
