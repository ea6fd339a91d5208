"""Publishing one alert: SNS (and, when switched on, a Security Hub finding). I/O at the edge: the clients are the
caller's (``alert_service.AlertClients``); what is sent is built by ``analysis.alerting.message``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.contract import Finding


@dataclass(frozen=True)
class AlertOutput:
    """Where and how an alert is published (from ``Settings``: ALERT_TOPIC_ARN, AUDITED_SERVICE,
    ALERT_SNS_FORMAT, ALERT_SECURITY_HUB)."""

    topic_arn: str | None
    service: str
    sns_format: str = "text"
    security_hub: bool = False


@dataclass
class Published:
    message_ids: list[str] = field(default_factory=list)
    security_hub_ids: list[str] = field(default_factory=list)


def publish_alert(
    clients: Any, output: AlertOutput, finding: Finding, rules: Sequence[Any], carried: int | None
) -> Published:
    """Publish ``finding``'s alert; ``rules`` those that fired, ``carried`` the key's events since its last alert
    (None without the state table)."""
    from analysis.alerting.message import message_attributes
    from analysis.redact import printable

    published = Published()
    if clients.sns is None or not output.topic_arn:
        return published
    message = alert_document(finding, output.service, rules, carried)
    answer = clients.sns.publish(
        TopicArn=output.topic_arn,
        Subject=message["subject"],
        Message=printable(json.dumps(message, ensure_ascii=False, indent=2)),
        MessageAttributes=message_attributes(finding, rules),
    )
    published.message_ids.append(answer["MessageId"])
    return published


def alert_document(
    finding: Finding, service: str, rules: Sequence[Any] = (), carried: int | None = None
) -> dict[str, Any]:
    from analysis.redact import map_strings, mask_secrets

    who = mask_secrets(finding.principal.arn or finding.principal.type)  # before the subject is cut
    subject = f"{service} access denied: {finding.actions[0].action} for {who}"
    subject = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in subject)
    message: dict[str, Any] = {
        "subject": subject if len(subject) < 100 else subject[:96] + "...",
        "service": service,
    }
    if carried is not None:  # the state table decided: why it alerts, and what it did not alert for
        message["rules"] = [{"name": rule.name, "reason": rule.reason} for rule in rules]
        message["events_since_last_alert"] = carried
    message["finding"] = finding.model_dump(mode="json")
    return map_strings(message, mask_secrets)
