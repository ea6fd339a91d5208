"""Settings, validated once: from the command line, or from environment variables for the handlers."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from analysis.identifiers import BUCKET, TABLE, split_list

# --- delivery: where the report goes, validated once -------------------------------------------------

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
_EVENT_BUS = re.compile(r"^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/)?[A-Za-z0-9._/-]{1,256}$")
_EVENT_SOURCE = re.compile(r"^(?!aws\.)[A-Za-z0-9._/-]{1,256}$")
SES_MAX_MESSAGE_BYTES = 40_000_000  # SES v2: 40 MB per message, attachments and encoding included
SNS_FORMATS = ("text", "chatbot")
LINK_MODES = ("object", "none")  # never presigned: a presigned URL carries its signer's key ID and session token
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})

# Environment variable of each DeliveryConfig field (the handlers' configuration; see template.yaml).
DELIVERY_ENV = {
    "bucket": "REPORT_BUCKET",
    "prefix": "REPORT_PREFIX",
    "kms_key_id": "REPORT_KMS_KEY_ID",
    "link_mode": "REPORT_LINK_MODE",
    "sender": "REPORT_EMAIL_FROM",
    "recipients": "REPORT_EMAIL_TO",
    "ses_configuration_set": "REPORT_SES_CONFIGURATION_SET",
    "email_max_bytes": "REPORT_EMAIL_MAX_BYTES",
    "topic_arn": "REPORT_TOPIC_ARN",
    "sns_format": "REPORT_SNS_FORMAT",
    "event_bus": "REPORT_EVENT_BUS",
    "event_source": "REPORT_EVENT_SOURCE",
    "idempotency_table": "IDEMPOTENCY_TABLE",
    "idempotency_lease_seconds": "IDEMPOTENCY_LEASE_SECONDS",
    "send_empty": "REPORT_SEND_EMPTY",
}


class ConfigError(ValueError):
    """A setting that cannot be used: the message names the setting (and its environment variable)."""


@dataclass(frozen=True)
class DeliveryConfig:
    """Where and how a report is delivered. Empty settings switch a channel off.

    - S3: ``bucket`` (+ ``prefix``; SSE-KMS with ``kms_key_id``, else SSE-S3).
    - Links in messages: ``link_mode`` ``object`` (the S3 console page of the object: needs S3 access, never
      expires) or ``none``. Never presigned: a presigned URL carries its signer's access key ID and session token
      to everyone who reads the message.
    - SES: ``sender`` and ``recipients``; past ``email_max_bytes`` the attachments are replaced by a link.
    - SNS: ``topic_arn``; ``sns_format`` ``text`` or ``chatbot`` (AWS Chatbot / Amazon Q custom notification).
    - EventBridge: ``event_bus`` (name or ARN; ``default`` for the account's default bus) and ``event_source``.
    - Exactly once per window: ``idempotency_table`` (DynamoDB, partition key ``id`` of type string); a claim
      left "in progress" by a crashed run may be taken over after ``idempotency_lease_seconds``.
    - ``send_empty``: whether a day without denials is still emailed and published (S3 and EventBridge
      always get it, so automation knows the job ran).
    """

    bucket: str | None = None
    prefix: str = "reports/"
    kms_key_id: str | None = None
    link_mode: str = "object"
    sender: str | None = None
    recipients: tuple[str, ...] = ()
    ses_configuration_set: str | None = None
    email_max_bytes: int = SES_MAX_MESSAGE_BYTES
    topic_arn: str | None = None
    sns_format: str = "text"
    event_bus: str | None = None
    event_source: str = "apprunner-access-auditor"
    idempotency_table: str | None = None
    idempotency_lease_seconds: int = 900
    send_empty: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.recipients, str):  # "a@example.com, b@example.com"
            object.__setattr__(self, "recipients", _parse("recipients", "", self.recipients))
        object.__setattr__(self, "recipients", tuple(self.recipients))
        for check in (_check_storage, _check_email, _check_notifications, _check_limits):
            check(self)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **explicit: Any) -> DeliveryConfig:
        """Settings from environment variables (DELIVERY_ENV), explicit arguments winning; validated once."""
        env = os.environ if env is None else env
        unknown = sorted(set(explicit) - set(DELIVERY_ENV))
        if unknown:
            raise ConfigError(f"unknown delivery setting(s): {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for name, variable in DELIVERY_ENV.items():
            if name in explicit:
                if explicit[name] is not None:
                    values[name] = explicit[name]
            elif env.get(variable, "").strip():
                values[name] = _parse(name, variable, env[variable].strip())
        return cls(**values)

    @property
    def email_enabled(self) -> bool:
        return bool(self.sender and self.recipients)

    @property
    def sns_enabled(self) -> bool:
        return bool(self.topic_arn)

    @property
    def events_enabled(self) -> bool:
        return bool(self.event_bus)

    @property
    def has_destination(self) -> bool:
        """Whether a report has anywhere to go: S3, email, SNS or EventBridge (the other settings shape delivery)."""
        return bool(self.bucket) or self.email_enabled or self.sns_enabled or self.events_enabled


def _parse(name: str, variable: str, text: str) -> Any:
    field_type = {f.name: f.type for f in fields(DeliveryConfig)}[name]
    if field_type == "int":
        try:
            return int(text)
        except ValueError as error:
            raise ConfigError(f"{variable}: not a whole number: {text!r}") from error
    if field_type == "bool":
        if text.lower() not in _TRUE | _FALSE:
            raise ConfigError(f"{variable}: not true or false: {text!r}")
        return text.lower() in _TRUE
    if field_type == "tuple[str, ...]":
        return tuple(split_list(text))
    return text


def _fail(name: str, message: str) -> ConfigError:
    return ConfigError(f"{name} ({DELIVERY_ENV[name]}): {message}")


def _why_not(link_mode: str) -> str:
    if link_mode != "presigned":
        return ""
    return " (presigned links are not sent: one in mail or SNS carries its signer's access key ID and session token)"


def _check_storage(config: DeliveryConfig) -> None:
    if config.bucket is not None and not BUCKET.match(config.bucket):
        raise _fail("bucket", f"not an S3 bucket name: {config.bucket!r}")
    if config.prefix and (config.prefix.startswith("/") or not config.prefix.endswith("/")):
        raise _fail("prefix", f"must not start with '/' and must end with '/': {config.prefix!r}")
    if config.link_mode not in LINK_MODES:
        raise _fail(
            "link_mode", f"one of {', '.join(LINK_MODES)}, not {config.link_mode!r}{_why_not(config.link_mode)}"
        )


def _check_email(config: DeliveryConfig) -> None:
    if bool(config.sender) != bool(config.recipients):
        raise _fail("sender" if not config.sender else "recipients", "email needs both a sender and recipients")
    for address in (config.sender or "", *config.recipients):
        if address and not _EMAIL.match(_bare_address(address)):
            name = "recipients" if address in config.recipients else "sender"
            raise _fail(name, f"not an email address: {address!r}")


def _bare_address(address: str) -> str:
    """'Reports <reports@example.com>' -> 'reports@example.com'."""
    match = re.match(r"^[^<>]*<([^<>]+)>$", address.strip())
    return match.group(1) if match else address.strip()


def _check_notifications(config: DeliveryConfig) -> None:
    if config.topic_arn and not TOPIC_ARN.match(config.topic_arn):
        raise _fail("topic_arn", f"not an SNS topic ARN: {config.topic_arn!r}")
    if config.sns_format not in SNS_FORMATS:
        raise _fail("sns_format", f"one of {', '.join(SNS_FORMATS)}, not {config.sns_format!r}")
    if config.event_bus and not _EVENT_BUS.match(config.event_bus):
        raise _fail("event_bus", f"not an event bus name or ARN: {config.event_bus!r}")
    if not _EVENT_SOURCE.match(config.event_source):
        raise _fail("event_source", "letters, digits and . _ / - only, not starting with 'aws.'")
    if config.idempotency_table and not TABLE.match(config.idempotency_table):
        raise _fail("idempotency_table", f"not a DynamoDB table name or ARN: {config.idempotency_table!r}")


def _check_limits(config: DeliveryConfig) -> None:
    if not 10_000 <= config.email_max_bytes <= SES_MAX_MESSAGE_BYTES:
        raise _fail("email_max_bytes", f"between 10000 and {SES_MAX_MESSAGE_BYTES} (SES's limit)")
    if config.idempotency_lease_seconds < 1:
        raise _fail("idempotency_lease_seconds", "must be positive")
