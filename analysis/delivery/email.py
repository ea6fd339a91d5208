"""The report by email through SES v2: multipart text and HTML, the JSON and CSV attached.

Sent as Raw MIME (SES's Simple content has no attachments). When the message would pass the size limit,
the attachments are left out and the email links to the report in S3 instead; if even the HTML is too big,
the email carries a short summary and the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from markupsafe import Markup, escape

from analysis.contract import Report
from analysis.delivery import summary
from analysis.delivery.s3 import Link
from analysis.render.common import report_day
from analysis.render.html import BANNER_MARK, GMAIL_CLIP_BYTES, HTML_BUDGET, mail_part, mail_size, render_html
from analysis.render.text import report_text

BANNER_STYLE = (
    "margin:0;padding:10px 16px;background:#eff8ff;border-bottom:1px solid #b2ddff;color:#194185;"
    "font-family:Arial,Helvetica,sans-serif;font-size:13px;"
)


@dataclass(frozen=True)
class Email:
    raw: bytes
    subject: str
    attached: tuple[str, ...]  # file names attached
    reduced: str | None  # why the full message was not sent as is (None when it was)


def build_email(
    report: Report,
    rendered: dict[str, str],
    *,
    sender: str,
    recipients: tuple[str, ...],
    link: Link | None,
    max_bytes: int,
) -> Email:
    """The smallest faithful message under ``max_bytes``: full with attachments, else linked, else a summary."""
    subject = summary.subject(report)
    day = report_day(report)
    attachments = {
        f"apprunner-access-report-{day}.json": rendered["json"],
        f"apprunner-access-report-{day}.csv": rendered["csv"],
    }
    plain = report_text(report)  # the text/plain part: readable text, not the Markdown file's escapes
    rendered = dict(rendered, html=_clip_proof(report, rendered["html"], link))
    full = _message(
        subject, sender, recipients, _text(plain, link, None), _html(rendered["html"], link, None), attachments
    )
    if len(full) <= max_bytes:
        return Email(full, subject, tuple(attachments), None)
    reason = f"the report with its attachments is {len(full):,} bytes, over the {max_bytes:,}-byte limit"
    notice = f"{reason}: the JSON and CSV are not attached" + ("; the link above leads to them." if link else ".")
    linked = _message(
        subject, sender, recipients, _text(plain, link, notice), _html(rendered["html"], link, notice), {}
    )
    if len(linked) <= max_bytes:
        return Email(linked, subject, (), reason)
    notice = f"{reason}, and the HTML alone is too large: this is a summary."
    text = summary.text_summary(report, link)
    short = _message(subject, sender, recipients, f"{notice}\n\n{text}", _summary_html(text, notice), {})
    return Email(short, subject, (), f"{reason}; HTML replaced by a summary")


def _clip_proof(report: Report, html: str, link: Link | None) -> str:
    """The page, or, in the rare case the banner (a long link) pushes the HTML part as sent past Gmail's clipping
    size, the page rendered again within what is left (the page in S3 keeps its size: it is never clipped)."""
    over = mail_size(_html(html, link, None)) - GMAIL_CLIP_BYTES
    if over <= 0:
        return html
    return render_html(report, budget=min(HTML_BUDGET, mail_size(html)) - over)


def send_email(
    sesv2: Any, message: Email, *, sender: str, recipients: tuple[str, ...], configuration_set: str | None = None
) -> str:
    """Send through SES v2 as Raw MIME; returns SES's MessageId."""
    request: dict[str, Any] = {
        "FromEmailAddress": sender,
        "Destination": {"ToAddresses": list(recipients)},
        "Content": {"Raw": {"Data": message.raw}},
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    return str(sesv2.send_email(**request)["MessageId"])


def _message(
    subject: str, sender: str, recipients: tuple[str, ...], text: str, html: str, attachments: dict[str, str]
) -> bytes:
    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message.set_content(text, subtype="plain", charset="utf-8")
    body, cte = mail_part(html)  # the same document, 7bit: ASCII, short lines (see analysis.render.html)
    message.add_alternative(body, subtype="html", charset="utf-8", cte=cte)
    for name, content in attachments.items():
        subtype = name.rsplit(".", 1)[-1]
        maintype = "application" if subtype == "json" else "text"
        message.add_attachment(content.encode("utf-8"), maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def _domain(sender: str) -> str:
    return sender.rsplit("@", 1)[-1].strip(" >") or "localhost"


def _text(body: str, link: Link | None, notice: str | None) -> str:
    lines = [f"Full report: {link.url} (link {link.words})"] if link else []
    lines += [notice] if notice else []
    return ("\n".join(lines) + "\n\n" if lines else "") + body


def _html(html: str, link: Link | None, notice: str | None) -> str:
    """The rendered HTML with a banner (link, notice) where the template marks it."""
    parts = []
    if link:
        parts.append(
            Markup('Full report: <a href="{}" style="color:#175cd3;">open in S3</a> (link {})').format(
                link.url, link.words
            )
        )
    if notice:
        parts.append(escape(notice))
    if not parts:
        return html
    banner = Markup('<div style="{}">{}</div>').format(BANNER_STYLE, Markup("<br>").join(parts))
    return html.replace(BANNER_MARK, str(banner), 1)


def _summary_html(text: str, notice: str) -> str:
    return str(
        Markup('<!DOCTYPE html><html><body><div style="{}">{}</div><pre style="{}">{}</pre></body></html>').format(
            BANNER_STYLE, notice, "font-family:Consolas,Menlo,monospace;white-space:pre-wrap;", text
        )
    )
