"""The terminal summary: the window, the totals, one line per finding most severe first, where the reports are.

Reports are hand-written (tests/reports.py) with their figures chosen here, so the expected order and totals
come from the test, not from the code under test. Report text is hostile: it must print as written.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from analysis.contract import Report
from analysis.render.terminal import fitted_names, summary, what_to_do
from tests import reports as r

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
WRITTEN = [Path("out/demo/report.json"), Path("out/demo/report.html")]


def _report(data: dict) -> Report:
    return Report.model_validate(data)


def _plain(text: str) -> str:
    return ANSI.sub("", text)


def _finding_lines(text: str) -> list[str]:
    return [
        line for line in _plain(text).splitlines() if line.split(" ", 1)[0] in {"critical", "high", "medium", "low"}
    ]


def _table_lines(text: str) -> list[str]:
    """The lines under the findings' header, up to the blank line that ends the table."""
    lines = _plain(text).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("severity")) + 1
    return lines[start : lines.index("", start)]


def _ranked() -> dict:
    """Five findings whose order is known by hand: severity first (critical first), then denials (most first)."""
    return r.report(
        [
            r.finding(f"arn:aws:iam::{r.ACCOUNT}:user/low-12", actions=[r.action(count=12)], severity="low"),
            r.finding(f"arn:aws:iam::{r.ACCOUNT}:user/critical-2", actions=[r.action(count=2)], severity="critical"),
            r.finding(f"arn:aws:iam::{r.ACCOUNT}:user/high-7", actions=[r.action(count=7)], severity="high"),
            r.finding(f"arn:aws:iam::{r.ACCOUNT}:user/critical-5", actions=[r.action(count=5)], severity="critical"),
            r.finding(f"arn:aws:iam::{r.ACCOUNT}:user/medium-8", actions=[r.action(count=8)], severity="medium"),
        ]
    )


def test_findings_are_one_line_each_most_severe_first_then_most_denials():
    text = summary(_report(_ranked()), WRITTEN, color=False)

    lines = _finding_lines(text)
    names = [re.search(r"user/(\S+)", line).group(1) for line in lines]
    assert names == ["critical-5", "critical-2", "high-7", "medium-8", "low-12"]
    assert [line.split()[0] for line in lines] == ["critical", "critical", "high", "medium", "low"]
    assert lines[0].split()[2:4] == [r.ACCOUNT, "5"], "the principal's account and its denials"


def test_the_header_and_totals_say_the_window_and_the_counts():
    data = _ranked()
    data["totals"].update(records_read=1200, malformed_records=3)
    data["findings"][0]["actions"][0]["truncated_messages"] = 2
    data["findings"][1]["actions"][0]["truncated_messages"] = 1

    text = _plain(summary(_report(data), WRITTEN, color=False))

    head = text.splitlines()[:3]
    assert head[0] == "App Runner access report · 2026-11-28T00:00:00Z → 2026-11-29T00:00:00Z"
    # 12 + 2 + 7 + 5 + 8 denials; five principals; three messages cut (said on a line of its own: it is long)
    assert head[1] == "1,200 records read · 34 denials · 5 principals · 5 findings · 3 malformed"
    assert head[2] == "3 error messages cut short by AWS: their reasons may be missing"


def test_one_cut_message_says_what_being_cut_means():
    """Issue 11 review: '1 cut message' was unexplained. CloudTrail cuts an errorMessage at about 1,024
    characters (the contract's truncated_messages): the reason may have been in what was cut."""
    data = _ranked()
    data["findings"][0]["actions"][0]["truncated_messages"] = 1
    text = _plain(summary(_report(data), WRITTEN, color=False, width=140))
    assert text.splitlines()[1].endswith(" · 1 error message cut short by AWS: its reason may be missing")


def test_no_cut_messages_are_mentioned_when_none_were_cut():
    text = summary(_report(_ranked()), WRITTEN, color=False)
    assert "cut message" not in text and "cut short" not in text


STRATUS = "arn:aws:iam::{}:role/stratus-red-team-{}"


def test_principals_that_share_a_long_start_are_told_apart_by_their_end():
    """Issue 11 review: on tests/data/real, two roles printed 'role/stratus-red-team-ec2-…'. Names that would
    print the same keep their start and their end; the others are cut at the end as before."""
    arns = [
        STRATUS.format(r.ACCOUNT, "ec2-get-password-data-role"),
        STRATUS.format(r.ACCOUNT, "ec2lui-role-idtzskbvtd"),
    ]
    arns.append(f"arn:aws:iam::{r.ACCOUNT}:role/AWSReservedSSO_Developer_Access_0a1b2c3d4e5f6789")
    data = r.report([r.finding(arn, severity="high") for arn in arns])
    lines = _finding_lines(summary(_report(data), WRITTEN, color=False, width=80))
    shown = [line[len("high     ") :].split(" ", 1)[0] for line in lines]
    # 80 columns leave the principal 19 (see test_no_line_is_wider_than_the_terminal for the sharing)
    first, second, sso = shown
    assert first != second, shown
    assert first.startswith("role/st") and second.startswith("role/st")
    assert first.endswith("data-role") and second.endswith("dtzskbvtd") and first.count("…") == 1
    assert sso == "role/AWSReservedSS…"  # told apart from the others by its start: cut at its end


def test_fitted_names_cut_the_end_unless_two_names_would_print_almost_the_same():
    assert fitted_names(["user/alice", "user/alice"], 11) == ["user/alice", "user/alice"]  # fits: whole
    assert fitted_names(["role/0123456789abcde", "user/0123456789"], 11) == ["role/01234…", "user/01234…"]
    # both would print 'abcdefghij…'; around the middle ('abcde…wxyz1', 'abcd…vwxyz1', 'abcdef…xyz1') still the
    # same; 3 of the start and 7 of the end differ
    twins = ["abcdefghij" + "X" * 5 + "vwxyz1", "abcdefghij" + "Y" * 5 + "vwxyz1"]
    assert fitted_names(twins, 11) == ["abc…Xvwxyz1", "abc…Yvwxyz1"]
    # 'role/stratus-red-team-ec2-…' and '…-ec2l…' (27 cells) differ in one cell of 26: start and end kept
    real = ["role/stratus-red-team-ec2-get-password-data-role", "role/stratus-red-team-ec2lui-role-idtzskbvtd"]
    assert fitted_names(real, 27) == ["role/stratus-…ord-data-role", "role/stratus-…le-idtzskbvtd"]
    # two cells a character: 8 cells and '…' when alone; 4 + 1 + 4 when two would print the same
    assert fitted_names(["開発者開発者開発者"], 9) == ["開発者開…"]
    assert fitted_names(["開発者開発者開発者", "開発者開発者開発"], 9) == ["開発…発者", "開発…開発"]


def test_what_to_do_names_the_remedy_and_its_first_actions():
    report = _report(r.every_kind())
    advice = {finding.principal.arn.rsplit("/", 1)[-1]: what_to_do(finding) for finding in report.findings}
    assert advice == {
        "dev-alice": "grant apprunner:DescribeService",
        "Partner": "cross-account role for apprunner:ListServices",
        "AWSReservedSSO_Developer_Access_0a1b": "permission set Developer_Access: grant apprunner:CreateService",
        "Ops": "do not grant: identity policy deny",
        "Builder": "do not grant: SCP",
        "scanner": "do not grant: investigate (reconnaissance)",
        "new-hire": "no advice yet: see the full report",
    }


def test_a_grant_of_several_actions_shows_the_first_and_how_many_more():
    policy = r.policy("apprunner:DescribeService")
    policy["Statement"][0]["Action"] = ["apprunner:DescribeService", "apprunner:ListOperations", "iam:PassRole"]
    finding = r.finding(remedy={**r.grant_remedy(None), "policy": policy})
    assert what_to_do(_report(r.report([finding])).findings[0]) == "grant apprunner:DescribeService, +2"


def test_an_unnamed_deny_says_explicit_deny():
    finding = r.finding(kind="review_deny", actions=[r.action(reasons=["explicit_deny"])], severity="medium")
    assert what_to_do(_report(r.report([finding])).findings[0]) == "do not grant: explicit deny"


def test_the_full_reports_are_listed_last():
    text = summary(_report(_ranked()), WRITTEN, color=False)
    assert text.splitlines()[-3:] == ["Full reports:", "  out/demo/report.json", "  out/demo/report.html"]


def test_an_empty_day_says_so():
    text = summary(_report(r.empty_day()), WRITTEN, color=False)
    assert "No App Runner denials in this window." in text
    assert not _finding_lines(text)


HOSTILE_NAME = "[bold red]x[/]\x1b[2J"


def _hostile() -> dict:
    data = r.report([r.finding(f"arn:aws:iam::{r.ACCOUNT}:user/{HOSTILE_NAME}", severity="high")])
    data["sources"][0].update(status="partial", error="[blink]boom[/blink]\x1b]0;pwned\x07", malformed_records=1)
    return data


@pytest.mark.parametrize("color", [False, True])
def test_report_text_is_printed_literally_never_as_markup_or_escape_sequences(color):
    text = summary(_report(_hostile()), WRITTEN, color=color)

    assert "user/[bold red]x[/]\\u001b[2J" in _plain(text), "markup shown as written, the escape made visible"
    assert "[blink]boom[/blink]\\u001b]0;pwned\\u0007" in _plain(text)
    assert "\x1b[2J" not in text and "\x1b]0" not in text and "\x07" not in text
    assert "\x1b[5m" not in text, "no blink"
    if color:
        assert "\x1b[1;31mx" not in text, "the name's [bold red] was not applied"


def test_no_ansi_without_color_and_colors_with_it():
    report = _report(r.every_kind())
    assert "\x1b" not in summary(report, WRITTEN, color=False)
    assert "\x1b[" in summary(report, WRITTEN, color=True)


@pytest.mark.parametrize("width", [80, 100])
def test_no_line_is_wider_than_the_terminal(width):
    long_name = "PlatformTerraformApplyRole-AppRunnerProvisioning-production-us-east-1-" + "x" * 60
    wide_name = "開発者" * 20  # two cells each
    data = r.every_kind()
    data["findings"] += [
        r.finding(f"arn:aws:iam::{r.ACCOUNT}:role/{long_name}", type_="AssumedRole", severity="high"),
        r.finding(f"arn:aws:iam::{r.ACCOUNT}:user/{wide_name}", severity="medium"),
        r.finding(f"arn:aws:iam::{r.ACCOUNT}:user/a name with spaces that goes on and on and on", severity="low"),
    ]
    data["sources"][0].update(status="partial", error="e" * 300, malformed_records=1)
    report = _report(data)
    paths = [Path("out") / ("deep/" * 30) / "report.json"]

    for color in (False, True):
        text = _plain(summary(report, paths, color=color, width=width))
        assert max(cell_len(line) for line in text.splitlines()) <= width
        assert len(_table_lines(text)) == len(_finding_lines(text)) == len(data["findings"]), "one line each"
    assert "…" in text, "what does not fit is cut with an ellipsis"


def test_many_findings_are_cut_and_counted():
    data = r.report([r.finding(f"arn:aws:iam::{r.ACCOUNT}:user/u{i}") for i in range(7)])
    text = summary(_report(data), WRITTEN, color=False, max_findings=5)
    assert len(_finding_lines(text)) == 5
    assert "… and 2 more finding(s): see the full reports." in text


def test_importing_the_summary_loads_no_pandas():
    code = "import sys, analysis.render.terminal; print('pandas' in sys.modules, 'numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
