"""Publishing one alert: SNS (and, when switched on, a Security Hub finding). I/O at the edge: the clients are the
caller's (``alert_service.AlertClients``, made with ``aws_clients.client``: botocore's adaptive retries, so a
throttled call is retried with backoff before it fails); what is sent is built by ``analysis.alerting.message`` and
``analysis.alerting.asff``.

SNS: one Publish with MessageStructure "json": email (and ``default``: SMS, mobile push) gets the text body a
person reads in ten seconds; SQS, Lambda, HTTP/S, email-json and Firehose subscribers get the JSON document; with
ALERT_SNS_FORMAT=chatbot ``default`` and ``https`` are AWS Chatbot's custom notification (Chatbot subscribes over
HTTPS). Security Hub: one ``BatchImportFindings`` per alert; a failure there is a problem named in
``Published.problems``, never an exception that would lose the SNS message already sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from analysis.contract import Finding

if TYPE_CHECKING:
    from analysis.alerting.message import Covered

REASON_WITHHELD = "(reason left out: the alert is redacted and the reason names the principal)"


@dataclass(frozen=True)
class AlertOutput:
    """Where and how an alert is published (from ``Settings``: ALERT_TOPIC_ARN, AUDITED_SERVICE,
    ALERT_SNS_FORMAT, ALERT_SECURITY_HUB, ALERT_SECURITY_HUB_PRODUCT_ARN)."""

    topic_arn: str | None
    service: str
    sns_format: str = "text"
    security_hub: bool = False
    product_arn: str | None = None  # the importing account's default product (template.yaml sets it)
    redacted: bool = False  # REDACT: the finding is redacted, and the rules' reasons (which name the principal,
    # its account, the action's resource: alerting.rules) are left out rather than sent as they are
    window_minutes: int = 10  # a principal's alert: the window its actions were denied in (the longest of burst's
    # and reconnaissance's: AlertRules, as the store counts them)
    period_hours: int = 24  # ... and the period its principal's other denials are folded into it (ALERT_PERIOD_HOURS)


@dataclass(frozen=True)
class _Withheld:
    """A fired rule whose reason is not sent (a redacted alert)."""

    name: str
    reason: str = REASON_WITHHELD


@dataclass
class Published:
    message_ids: list[str] = field(default_factory=list)
    security_hub_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be sent, named (the SNS message still is)


def publish_alert(
    clients: Any,
    output: AlertOutput,
    finding: Finding,
    rules: Sequence[Any],
    carried: int | None,
    *,
    actions_in_window: Sequence[str] = (),
    first_seen: datetime | None = None,
) -> Published:
    """Publish ``finding``'s alert; ``rules`` those that fired, ``carried`` the key's events since its last alert
    (None without the state table), ``actions_in_window`` the actions a principal's alert covers (the decision's:
    burst or reconnaissance fired; empty for the alert of one key), ``first_seen`` the key's first denial (the
    store's; Security Hub's FirstObservedAt and CreatedAt; None: this event's time). An exception from SNS's
    Publish is raised (the caller leaves the alert pending and the invocation fails); Security Hub's are problems."""
    published = Published()
    if output.redacted:
        rules = [_Withheld(rule.name) for rule in rules]
    covered = _covered(output, actions_in_window)
    if clients.sns is not None and output.topic_arn:
        request = sns_request(output, finding, rules, carried, covered)
        answer = clients.sns.publish(TopicArn=output.topic_arn, MessageStructure="json", **request)
        published.message_ids.append(answer["MessageId"])
    if output.security_hub and getattr(clients, "securityhub", None) is not None:
        _import_finding(clients.securityhub, output, finding, rules, published, covered, first_seen)
    return published


def sns_request(
    output: AlertOutput, finding: Finding, rules: Sequence[Any], carried: int | None, covered: Covered | None = None
) -> dict[str, Any]:
    """Publish's Subject, Message (the per-protocol JSON object) and MessageAttributes for one alert."""
    from analysis.alerting.message import alert_document, alert_message, sns_structure

    text = alert_message(finding, output.service, rules, carried, covered=covered)
    document = alert_document(finding, output.service, rules, carried, key=_key(finding), covered=covered)
    if output.sns_format == "chatbot":
        chatbot = alert_message(finding, output.service, rules, carried, fmt="chatbot", covered=covered).body
        structure = sns_structure(text, document, "chatbot", chatbot)
    else:
        structure = sns_structure(text, document)
    return {
        "Subject": text.subject,
        "Message": json.dumps(structure, ensure_ascii=False),
        "MessageAttributes": text.attributes,
    }


def _covered(output: AlertOutput, actions: Sequence[str]) -> Covered | None:
    from analysis.alerting.message import Covered

    return Covered(tuple(actions), output.window_minutes, output.period_hours) if actions else None


def _import_finding(
    securityhub: Any,
    output: AlertOutput,
    finding: Finding,
    rules: Sequence[Any],
    published: Published,
    covered: Covered | None = None,
    first_seen: datetime | None = None,
) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    from analysis.alerting.asff import asff_finding

    if not output.product_arn:
        published.problems.append("Security Hub: no product ARN (ALERT_SECURITY_HUB_PRODUCT_ARN): nothing imported")
        return
    try:
        now = datetime.now(UTC)
        asff = asff_finding(
            finding, output.service, rules, output.product_arn, now, covered=covered, first_seen=first_seen
        )
    except ValueError as error:  # a finding of several actions, a product ARN of another shape
        published.problems.append(f"Security Hub: not imported ({error})")
        return
    try:
        answer = securityhub.batch_import_findings(Findings=[asff])
    except (ClientError, BotoCoreError) as error:  # after botocore's retries (throttling included)
        published.problems.append(f"Security Hub: BatchImportFindings failed ({_error_words(error)})")
        return
    if answer.get("FailedCount", 0):
        for failed in answer.get("FailedFindings", []):
            published.problems.append(
                f"Security Hub: finding {failed.get('Id', asff['Id'])} refused "
                f"({failed.get('ErrorCode', 'error')}: {failed.get('ErrorMessage', '')})"
            )
        return
    published.security_hub_ids.append(asff["Id"])


def _key(finding: Finding) -> str | None:
    from analysis.alerting.dedup import alert_key

    return alert_key(finding) if len(finding.actions) == 1 else None


def _error_words(error: Exception) -> str:
    from analysis.redact import mask_secrets

    code = getattr(error, "response", {}).get("Error", {}).get("Code") if hasattr(error, "response") else None
    return mask_secrets(f"{code}: {error}" if code else str(error))
