"""A short notice through SNS: a subject under 100 characters and a small text body with the link.

``chatbot`` format: AWS Chatbot's (Amazon Q Developer in chat applications) custom notification JSON,
for a topic mapped to a Slack or Teams channel.
"""

from __future__ import annotations

import json
import re
from typing import Any

from analysis.contract import Report
from analysis.delivery import summary
from analysis.delivery.idempotency import delivery_key
from analysis.delivery.s3 import Link, Location
from analysis.render import common

BODY_MAX_BYTES = 8 * 1024  # "short", well under SNS's 256 KB: email and chat subscribers read it whole
_CHAT_UNSAFE = re.compile(r"[`*_~<>|\[\]\\]")  # chat markdown and Slack's control characters


def publish(
    sns: Any,
    topic_arn: str,
    report: Report,
    link: Link | None,
    *,
    fmt: str = "text",
    location: Location | None = None,
) -> str:
    """Publish the notice; returns SNS's MessageId."""
    message = chatbot_message(report, link, location) if fmt == "chatbot" else text_message(report, link)
    request: dict[str, Any] = {"TopicArn": topic_arn, "Subject": summary.subject(report), "Message": message}
    if topic_arn.endswith(".fifo"):
        request["MessageGroupId"] = "reports"
        request["MessageDeduplicationId"] = re.sub(r"[^A-Za-z0-9]", "-", delivery_key(report, "sns"))[:128]
    return str(sns.publish(**request)["MessageId"])


def text_message(report: Report, link: Link | None) -> str:
    return _fit(summary.text_summary(report, link), BODY_MAX_BYTES)


def chatbot_message(report: Report, link: Link | None, location: Location | None = None) -> str:
    """AWS Chatbot custom notification (version 1.0, source custom), description in client markdown."""
    description = [summary.numbers_line(report)]
    kinds = summary.kinds_line(report)
    description += [kinds] if kinds else []
    if report.findings:
        description += ["*Most severe:*", *(chat_safe(line) for line in summary.top_findings(report))]
    else:
        description.append(chat_safe(common.empty_sentence(report)))
    notification = {
        "version": "1.0",
        "source": "custom",
        "id": delivery_key(report, "chatbot"),
        "content": {
            "textType": "client-markdown",
            "title": summary.title(report),
            "description": _fit("\n".join(description), 4000),
            "nextSteps": [f"Full report: {link.url} ({link.words})"] if link else [],
            "keywords": ["AccessDenied", "IAM", summary.title(report).split(" access report")[0]],
        },
        "metadata": {
            "summary": summary.subject(report),
            "eventType": "AccessReportPublished",
            "relatedResources": [location.arn] if location else [],
            "enableCustomActions": False,
        },
    }
    return json.dumps(notification, ensure_ascii=False)


def chat_safe(text: str) -> str:
    """Log-derived text with chat markdown's special characters removed (they cannot be escaped in Slack)."""
    return _CHAT_UNSAFE.sub("", text)


def _fit(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 40].decode("utf-8", errors="ignore") + "\n... (cut: see the full report)\n"
