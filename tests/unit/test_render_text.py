"""A finding as plain text (``explain --format text``): its severity and hazards are said first; the whole report as
plain text (the email's text part): readable, wrapped, every finding with its fix."""

from __future__ import annotations

from analysis.render.common import REMEDY_WORDS
from analysis.render.text import finding_text, report_text
from tests import reports as r


def test_the_severity_follows_the_principal():
    lines = finding_text(r.finding(severity="critical")).splitlines()
    assert lines[:2] == [f"Principal: arn:aws:iam::{r.ACCOUNT}:user/dev-alice (IAMUser)", "Severity: critical"]


def test_each_hazard_is_a_line_with_why_and_source():
    text = finding_text(r.finding(severity="high", hazards=[r.hazard()]))
    assert (
        "Dangerous to grant: iam:PutUserPolicy (privilege escalation): A user who may write an inline policy on "
        "itself can grant itself any permission. "
        "(https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/)\n"
    ) in text


def test_a_finding_without_hazards_says_nothing_of_them():
    assert "Dangerous" not in finding_text(r.finding())


# --- the whole report as plain text (the email's text/plain part) ---------------------------------------------

MARKDOWN_ESCAPES = ("\\_", "\\|", "\\*", "\\#", "\\-", "**", "```", "](")


def test_the_report_text_is_plain_text_not_escaped_markdown():
    text = report_text(r.every_kind())
    assert [escape for escape in MARKDOWN_ESCAPES if escape in text] == []
    assert not [line for line in text.splitlines() if line.startswith(("#", "|"))]


def test_every_finding_is_a_block_with_severity_principal_denials_and_fix():
    report = r.every_kind()
    text = report_text(report)
    blocks = text.split("-" * 78 + "\n")[1:]
    assert len(blocks) == len(report["findings"])
    # by hand, as in test_render_html: most severe first, then most denials
    assert [block.split(":", 1)[0] for block in blocks] == [
        "1. CRITICAL",
        "2. CRITICAL",
        "3. HIGH",
        "4. HIGH",
        "5. MEDIUM",
        "6. LOW",
        "7. LOW",
    ]
    for finding in report["findings"]:
        block = next(b for b in blocks if b.splitlines()[0].split(": ", 1)[1].startswith(finding["principal"]["arn"]))
        kind = finding["remedy"]["kind"] if finding["remedy"] else None
        words = REMEDY_WORDS[kind] if kind else "No advice yet"
        assert block.splitlines()[1] == f"{words}."
        assert f"Denials: {finding['denials']}, " in block
    grant = next(b for b in blocks if "user/dev-alice" in b.splitlines()[0])
    assert "    aws iam put-user-policy --user-name dev-alice --policy-name AppRunnerAccessAuditorGrant " in grant
    assert '      "Action": "apprunner:DescribeService",' in grant  # the policy, indented, whole


def test_the_summary_lists_every_finding_most_urgent_first():
    text = report_text(r.every_kind())
    summary = text.split("FINDINGS, MOST URGENT FIRST\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert summary[0] == " #  severity  denials  principal, fix"
    assert summary[1] == f" 1  critical       12  arn:aws:iam::{r.ACCOUNT}:user/scanner"
    assert summary[2].strip() == "investigate"
    assert len(summary) == 1 + 2 * 7


def test_prose_is_wrapped_at_78_columns_and_names_and_commands_are_never_cut():
    report = r.every_kind()
    long_note = "word " * 60
    report["findings"][0]["remedy"]["notes"].append(long_note.strip())
    text = report_text(report)
    lines = text.splitlines()
    too_long = [line for line in lines if len(line) > 78]
    # only what must stay whole: a command, a line of a policy, a name or URL longer than a line
    assert all(line.startswith("    ") or len(line.split()) <= 4 or "arn:aws:" in line for line in too_long), too_long
    assert (
        "    aws iam put-user-policy --user-name dev-alice --policy-name AppRunnerAccessAuditorGrant --policy-document file://policy.json"
        in lines
    )
    wrapped = [line for line in lines if line.strip().startswith("word")]
    assert len(wrapped) > 1 and all(len(line) <= 78 for line in wrapped)


def test_log_strings_cannot_start_a_line_or_hide_in_the_report_text():
    report = r.hostile()
    report["findings"][0]["principal"]["sessions"] = ["bob\nFix: attach AdministratorAccess", "evil\u202egnp.exe"]
    text = report_text(report)
    assert "\nFix: attach AdministratorAccess" not in text
    assert "bob\\u000aFix: attach AdministratorAccess" in text and "evil\\u202egnp.exe" in text
    assert "\u202e" not in text and r.ACCESS_KEY not in text
    assert r.SCRIPT in text  # plain text: shown as written


def test_an_empty_day_says_so_in_the_report_text():
    text = report_text(r.empty_day())
    assert "No App Runner denials between 2026-11-28T00:00:00Z and 2026-11-29T00:00:00Z." in text
    assert "FINDINGS" not in text
