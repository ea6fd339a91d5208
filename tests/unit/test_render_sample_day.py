"""Every rendering of the bundled sample day: one section or row per finding and action, nothing lost."""

from __future__ import annotations

import csv
import io
import json

import pytest
from bs4 import BeautifulSoup

from analysis.demo import DEMO_ORGANIZATION, DEMO_TRUSTED_ACCOUNTS
from analysis.pipeline import Options, analyse
from analysis.render import render
from analysis.sources.files import bundled_sample_path, sample_source

pytestmark = pytest.mark.skipif(not bundled_sample_path().exists(), reason="the sample day is not generated yet")


@pytest.fixture(scope="module")
def sample_report() -> dict:
    options = Options(trusted_accounts=DEMO_TRUSTED_ACCOUNTS, organization_accounts=DEMO_ORGANIZATION)
    return analyse([sample_source()], options=options).report.document()


def test_html_has_a_section_per_finding_with_its_actions(sample_report):
    page = BeautifulSoup(render(sample_report, "html"), "html.parser")
    sections = page.select("[data-finding]")
    assert len(sections) == len(sample_report["findings"]) > 0
    shown_actions = sum(len(section.select("table.actions tr")) for section in sections)  # a row per action
    assert shown_actions == sum(len(f["actions"]) for f in sample_report["findings"])
    assert page.find("script") is None
    kinds = {section["data-kind"] for section in sections}
    assert kinds == {f["remedy"]["kind"] for f in sample_report["findings"]}
    for section in sections:
        for pre in section.select("pre.policy"):
            assert json.loads(pre.get_text())["Version"] == "2012-10-17"


def test_csv_has_a_row_per_principal_and_action(sample_report):
    rows = list(csv.DictReader(io.StringIO(render(sample_report, "csv"), newline="")))
    assert len(rows) == sum(len(f["actions"]) for f in sample_report["findings"])
    assert sum(int(row["count"]) for row in rows) == sample_report["totals"]["denials"]


def test_markdown_names_every_principal(sample_report):
    text = render(sample_report, "md")
    for finding in sample_report["findings"]:
        name = finding["principal"]["arn"] or finding["principal"]["key"]
        assert name.replace("_", "\\_") in text


def test_people_facing_formats_put_the_root_user_among_the_most_severe_first(sample_report):
    # By hand from the scenarios: critical are the reconnaissance (svc-legacy), the caller from an account outside
    # the organization (ExternalAuditor) and the root user; ordered by remedy kind alone, root came last.
    critical = {"user/svc-legacy", "role/ExternalAuditor", "root"}
    ranks = ["critical", "high", "medium", "low"]
    page = BeautifulSoup(render(sample_report, "html"), "html.parser")
    shown = [(s["data-severity"], s.select_one("h2").get_text()) for s in page.select("[data-finding]")]
    assert [severity for severity, _ in shown] == sorted((s for s, _ in shown), key=ranks.index)
    assert {title.rsplit(":", 1)[-1] for severity, title in shown[:3]} == critical
    assert shown[3][0] != "critical"
    markdown = render(sample_report, "md")
    rows = list(csv.DictReader(io.StringIO(render(sample_report, "csv"), newline="")))
    for name in ("root", "user/svc-legacy", "role/ExternalAuditor"):
        number = next(n for n, (_, title) in enumerate(shown, start=1) if title.endswith(f":{name}"))
        assert f"## {number}. " in markdown.split(f":{name} (")[0].rsplit("\n", 1)[-1]
        assert {row["severity"] for row in rows if row["finding"] == str(number)} == {"critical"}
    denials = [f["denials"] for f in sample_report["findings"]]
    assert denials == sorted(denials, reverse=True)  # the JSON keeps the contract's order


GMAIL_CLIPS_PAST = 102 * 1024  # bytes of HTML Gmail shows before "[Message clipped] View entire message"


def test_the_sample_days_html_is_under_gmails_clipping_size(sample_report):
    """It was 197,663 bytes (issue 11): Gmail showed about half of it."""
    html = render(sample_report, "html")
    assert len(html.encode("utf-8")) < GMAIL_CLIPS_PAST


def test_the_sample_days_chart_has_a_bar_per_hour_labelled_with_its_hour(sample_report):
    # By hand: the window is 2026-11-28T00:00Z to 2026-11-29T00:00Z, so 24 hourly buckets starting at 00:00Z.
    page = BeautifulSoup(render(sample_report, "html"), "html.parser")
    bars = page.select("#chart td[data-start]")
    labels = [td.get_text() for td in page.select("#chart tr")[1].find_all("td")]
    assert [bar["data-start"] for bar in bars] == [f"2026-11-28T{hour:02d}:00:00Z" for hour in range(24)]
    assert labels == [f"{hour:02d}" for hour in range(24)]
    counts = [int(bar["title"].rsplit(": ", 1)[1].split()[0]) for bar in bars]
    assert sum(counts) == sample_report["totals"]["denials"]
    # The sample's first denial is in the 01:00 hour: its bar is the second one, under the label "01".
    first = min(a["first_seen"] for f in sample_report["findings"] for a in f["actions"])
    assert first.startswith("2026-11-28T01:") and counts[0] == 0 and counts[1] > 0


def test_the_sample_days_summary_comes_first_with_every_finding(sample_report):
    page = BeautifulSoup(render(sample_report, "html"), "html.parser")
    assert page.select_one("#summary").find_next(id="chart") is not None  # the chart after the table
    rows = page.select("#summary tr")[1:]
    assert len(rows) == len(sample_report["findings"])
    cells = [row.find_all("td")[2] for row in rows]  # the principal, then the fix on its own line
    shown = {cell.get_text().removesuffix(cell.select_one(".fix").get_text()) for cell in cells}
    assert shown == {f["principal"]["arn"] or f["principal"]["key"] for f in sample_report["findings"]}
