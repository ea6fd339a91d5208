"""The email's two bodies (issue 11): the HTML part stays under Gmail's clipping size on a normal day, and the
text part is readable plain text, not the Markdown file with its escapes."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from bs4 import BeautifulSoup

from analysis.contract import Report, as_report
from analysis.delivery.email import build_email
from analysis.delivery.s3 import Link
from analysis.demo import DEMO_ORGANIZATION, DEMO_TRUSTED_ACCOUNTS, SAMPLE_DAY
from analysis.pipeline import Options, analyse
from analysis.render import render
from analysis.render.common import KIND_SHORT
from analysis.sources.files import bundled_sample_path, sample_source
from tests import reports as r

pytestmark = pytest.mark.unit

GMAIL_CLIPS_PAST = 102 * 1024  # bytes of HTML Gmail shows before "[Message clipped] View entire message"
SES_LIMIT = 10_000_000  # SES v2 refuses a message past 10 MB (the default of EMAIL_MAX_BYTES)
LINK = Link(
    "https://s3.console.aws.amazon.com/s3/object/reports-bucket?region=eu-west-1&prefix=reports%2F2026%2F11%2F28%2Freport.html",
    None,
    "needs read access to the bucket",
)


def email_of(report: Report) -> tuple[str, str, list[str]]:
    rendered = {fmt: render(report, fmt) for fmt in ("json", "md", "html", "csv")}
    built = build_email(
        report, rendered, sender="audit@example.com", recipients=("ops@example.com",), link=LINK, max_bytes=SES_LIMIT
    )
    message = message_from_bytes(built.raw, policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")  # SMTP line ends
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html, [part.get_filename() for part in message.iter_attachments()]


@pytest.fixture(scope="module")
def sample_day() -> Report:
    if not bundled_sample_path().exists():
        pytest.skip("the sample day is not generated yet")
    options = Options(trusted_accounts=DEMO_TRUSTED_ACCOUNTS, organization_accounts=DEMO_ORGANIZATION)
    return analyse([sample_source()], SAMPLE_DAY, options).report  # as `apprunner-audit demo` reports it


def test_the_sample_days_email_has_an_html_part_gmail_shows_whole(sample_day):
    _, html, attached = email_of(sample_day)
    assert len(html.encode("utf-8")) < GMAIL_CLIPS_PAST  # with the banner delivery adds (the link to S3)
    assert LINK.url.replace("&", "&amp;") in html
    assert attached == ["apprunner-access-report-2026-11-28.json", "apprunner-access-report-2026-11-28.csv"]


def test_the_sample_days_text_part_names_every_finding_and_its_fix(sample_day):
    text, _, _ = email_of(sample_day)
    assert text.startswith(f"Full report: {LINK.url} (link needs read access to the bucket)\n\n")
    for finding in sample_day.findings:
        name = finding.principal.arn or finding.principal.key
        assert f"{finding.severity.upper()}: {name} (" in text
        assert KIND_SHORT[finding.remedy.kind] in text
    assert "\\_" not in text and "\\|" not in text and "**" not in text


def test_the_text_part_is_plain_text_not_the_markdown_file():
    text, _, _ = email_of(as_report(r.every_kind()))
    markdown = render(r.every_kind(), "md")
    assert "# App Runner access report" in markdown and "**" in markdown  # what the text part used to be
    assert "# App Runner" not in text and "**" not in text and "```" not in text
    assert "App Runner access report 2026-11-28\n" in text
    assert "1. CRITICAL: arn:aws:iam::111122223333:user/scanner (IAMUser)" in text


def html_part_as_sent(built_raw: bytes) -> tuple[str, int]:
    """The text/html part's transfer encoding and the bytes of its body as they travel (before any decoding)."""
    message = message_from_bytes(built_raw, policy=policy.default)
    part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    return part["Content-Transfer-Encoding"], len(part.get_payload().encode("ascii"))


def policy_documents(report: Report) -> int:
    """How many policy documents the JSON report holds (each to be shown inline), counted from the JSON."""
    remedies = [finding.get("remedy") or {} for finding in as_report(report).document()["findings"]]
    return sum(
        sum(isinstance(r.get(field), dict) for field in ("policy", "trust_policy", "caller_policy"))
        + len(r.get("more_policies") or [])
        for r in remedies
    )


def test_the_sample_days_html_part_as_sent_is_under_gmails_clip_with_every_policy_inline(sample_day):
    rendered = {fmt: render(sample_day, fmt) for fmt in ("json", "md", "html", "csv")}
    built = build_email(
        sample_day, rendered, sender="a@example.com", recipients=("b@example.com",), link=LINK, max_bytes=SES_LIMIT
    )
    encoding, size = html_part_as_sent(built.raw)
    assert size <= 102_400, (encoding, size)  # the encoded bytes, whatever the transfer encoding
    message = message_from_bytes(built.raw, policy=policy.default)
    page = BeautifulSoup(message.get_body(preferencelist=("html",)).get_content(), "html.parser")
    assert page.select_one("#policies-elsewhere") is None
    assert len(page.select("pre.policy")) == policy_documents(sample_day) > 0
    assert page.find("a", string="open in S3")  # the banner is in


def test_a_link_that_would_push_the_html_part_past_the_clip_gets_a_smaller_page(sample_day):
    rendered = {fmt: render(sample_day, fmt) for fmt in ("json", "md", "html", "csv")}
    long_link = Link(LINK.url + "&x=" + "a" * 4_000, None, LINK.words)  # 4 KB more banner than the budget allows
    built = build_email(
        sample_day, rendered, sender="a@example.com", recipients=("b@example.com",), link=long_link, max_bytes=SES_LIMIT
    )
    assert html_part_as_sent(built.raw)[1] <= 102_400
    message = message_from_bytes(built.raw, policy=policy.default)
    assert "a" * 4_000 in message.get_body(preferencelist=("html",)).get_content()  # the link is whole
