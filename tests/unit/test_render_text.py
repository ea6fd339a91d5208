"""A finding as plain text (``explain --format text``): its severity and hazards are said first."""

from __future__ import annotations

from analysis.render.text import finding_text
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
