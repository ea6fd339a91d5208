"""The run's settings, validated once: from explicit arguments (the CLI) or environment variables (the handlers).

Explicit arguments win over the environment; the environment wins over the defaults. The names of
the variables are what ``template.yaml`` sets on each function:

==========================  ==========================================================
variable                    setting
==========================  ==========================================================
``TRAIL_SOURCE``            one ``--source`` spec (``s3://…``, ``lookup:…``, ``athena:…``, ``lake:…``)
``AUDITED_SERVICE``         ``apprunner`` (default), another IAM prefix, or ``all``
``TRUSTED_ACCOUNTS``        accounts whose callers need no ``sts:ExternalId`` (comma-separated)
``ORG_ACCOUNTS``            the organization's member accounts (comma-separated)
``ORG_ID``                  the organization's id, for ``aws:PrincipalOrgID``
``RECON_ACTIONS``           distinct actions that make reconnaissance (default 10)
``RECON_MINUTES``           … within this many minutes (default 10)
``REPORT_TIME_ZONE``        the daily report's time zone (IANA, default UTC)
``LOOKBACK_HOURS``          how far back a daily run looks for late deliveries (default 48)
``STATE_TABLE``             DynamoDB table of the ledger (partition key ``id``)
``LOOKUP_ACCOUNTS``         ``lookup:`` reads these accounts through ``LOOKUP_ROLE_NAME``
``LOOKUP_ROLE_NAME``        the read-only role assumed in each account
``LOOKUP_ORGANIZATION``     ``true``: read every active account of AWS Organizations
``REDACT``                  ``true``: mask account IDs, ARNs, sessions and IPs before anything is sent
``REDACT_KEY``              the secret pseudonyms are made with (at least 32 characters): the same in every
                            report redacted with it; without it, a random key for each run
``ALERT_TOPIC_ARN``         the SNS topic alerts are published to
``ALERT_RETENTION_DAYS``    how long the alert state remembers a denial, for "first seen" (default 30)
``ALERT_BURST_DENIALS``     denials of one principal that make a burst (default 10)
``ALERT_BURST_MINUTES``     … within this many minutes (default 5)
``ALERT_PERIOD_HOURS``      a key (principal x account x action) alerts at most once in this period (default 24)
``ALERT_RULES``             the alert rules switched on (comma-separated; default all seven)
``ALERT_SNS_FORMAT``        ``text`` (default: a short text body for email, JSON for SQS/Lambda/HTTPS) or ``chatbot``
``ALERT_SECURITY_HUB``      ``true``: each alert also imports (or updates) one Security Hub finding per key
``ALERT_SECURITY_HUB_PRODUCT_ARN`` the importing account's default product (``arn:aws:securityhub:REGION:ACCOUNT:
                            product/ACCOUNT/default``): its account is every imported finding's ``AwsAccountId``
``ALERT_SUPPRESSIONS``      suppressions of alerts: ``s3://bucket/key[?owner=ACCOUNT]``, ``ssm:/parameter/name`` or a
                            local file
==========================  ==========================================================

Delivery has its own settings (``analysis.config.DeliveryConfig``: ``REPORT_*``, ``IDEMPOTENCY_TABLE``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from analysis.config import TOPIC_ARN, ConfigError
from analysis.identifiers import AWS_PREFIXES, ORG_ID, SERVICE_PREFIX, TABLE, parse_accounts

if TYPE_CHECKING:
    from analysis.model import Options

_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def _setting(default: Any, variable: str, **constraints: Any) -> Any:
    """A field read from ``variable`` (or given by its own name)."""
    return Field(default, validation_alias=AliasChoices(variable), **constraints)


class Settings(BaseModel):
    """What a run reads, how it advises, and where its state lives. Frozen once validated.

    Build it with :func:`load_settings`, which reads the environment (a mapping given, else the
    process's) exactly once; the model itself never looks at ``os.environ``.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    trail_source: str | None = _setting(None, "TRAIL_SOURCE")
    service: str = _setting("apprunner", "AUDITED_SERVICE")
    trusted_accounts: frozenset[str] = _setting(frozenset(), "TRUSTED_ACCOUNTS")
    organization_accounts: frozenset[str] = _setting(frozenset(), "ORG_ACCOUNTS")
    organization_id: str | None = _setting(None, "ORG_ID")
    recon_distinct_actions: int = _setting(10, "RECON_ACTIONS", ge=1)
    recon_window_minutes: int = _setting(10, "RECON_MINUTES", ge=1)
    time_zone: str = _setting("UTC", "REPORT_TIME_ZONE")
    lookback_hours: int = _setting(48, "LOOKBACK_HOURS", ge=0, le=24 * 89)
    state_table: str | None = _setting(None, "STATE_TABLE")
    lookup_accounts: frozenset[str] = _setting(frozenset(), "LOOKUP_ACCOUNTS")
    lookup_role_name: str | None = _setting(None, "LOOKUP_ROLE_NAME")
    lookup_organization: bool = _setting(False, "LOOKUP_ORGANIZATION")
    redact: bool = _setting(False, "REDACT")
    redact_key: SecretStr | None = _setting(None, "REDACT_KEY")
    alert_topic_arn: str | None = _setting(None, "ALERT_TOPIC_ARN")
    alert_retention_days: int = _setting(30, "ALERT_RETENTION_DAYS", ge=1)
    alert_burst_denials: int = _setting(10, "ALERT_BURST_DENIALS", ge=1)
    alert_burst_minutes: int = _setting(5, "ALERT_BURST_MINUTES", ge=1)
    alert_period_hours: int = _setting(24, "ALERT_PERIOD_HOURS", ge=1)
    alert_rules: frozenset[str] | None = _setting(None, "ALERT_RULES")  # None: all seven (analysis.alerting.rules)
    alert_sns_format: Literal["text", "chatbot"] = _setting("text", "ALERT_SNS_FORMAT")
    alert_security_hub: bool = _setting(False, "ALERT_SECURITY_HUB")
    alert_security_hub_product_arn: str | None = _setting(None, "ALERT_SECURITY_HUB_PRODUCT_ARN")
    alert_suppressions: str | None = _setting(None, "ALERT_SUPPRESSIONS")

    @field_validator("trusted_accounts", "organization_accounts", "lookup_accounts", mode="before")
    @classmethod
    def _accounts(cls, value: Any) -> frozenset[str]:
        return parse_accounts(() if value is None else value)

    @field_validator("service", mode="before")
    @classmethod
    def _service(cls, value: Any) -> str:
        text = str(value).strip().lower()
        if text != "all" and not SERVICE_PREFIX.match(text):
            raise ValueError(f"not an IAM service prefix or 'all': {value!r}")
        return text

    @field_validator("trail_source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        scheme = value.split("://", 1)[0] if value and "://" in value else None
        if scheme is not None and f"{scheme}://" not in AWS_PREFIXES:
            raise ValueError(f"not a source spec ({', '.join(AWS_PREFIXES)}, a path or 'sample'): {value!r}")
        return value

    @field_validator("organization_id")
    @classmethod
    def _organization(cls, value: str | None) -> str | None:
        if value and not ORG_ID.match(value):
            raise ValueError(f"not an organization id (o-…): {value!r}")
        return value or None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from analysis.windows import zone

        zone(value)  # ValueError naming the zone
        return value

    @field_validator("state_table")
    @classmethod
    def _table(cls, value: str | None) -> str | None:
        if value and not TABLE.match(value):
            raise ValueError(f"not a DynamoDB table name: {value!r}")
        return value or None

    @field_validator("lookup_role_name")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value and not _ROLE_NAME.match(value):
            raise ValueError(f"not an IAM role name: {value!r}")
        return value or None

    @field_validator("redact_key")
    @classmethod
    def _redact_key(cls, value: SecretStr | None) -> SecretStr | None:
        from analysis.redact import REDACT_KEY_MIN_LENGTH

        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < REDACT_KEY_MIN_LENGTH:  # the message never shows the key
            raise ValueError(f"at least {REDACT_KEY_MIN_LENGTH} characters (e.g. openssl rand -hex 32)")
        return value

    @field_validator("alert_rules", mode="before")
    @classmethod
    def _alert_rules(cls, value: Any) -> frozenset[str] | None:
        from analysis.alerting.rules import RULE_NAMES

        if value is None:
            return None
        names = [part.strip() for part in value.split(",")] if isinstance(value, str) else list(value)
        chosen = frozenset(name.lower() for name in names if name)
        unknown = sorted(chosen - set(RULE_NAMES))
        if unknown:
            raise ValueError(f"not an alert rule: {', '.join(unknown)} (the rules: {', '.join(RULE_NAMES)})")
        return chosen

    @field_validator("alert_sns_format", mode="before")
    @classmethod
    def _sns_format(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("alert_suppressions")
    @classmethod
    def _suppressions(cls, value: str | None) -> str | None:
        # the same set as template.yaml's AlertSuppressions AllowedPattern (tests/unit/test_settings.py compares them)
        from analysis.alerting.suppressions import S3_SPEC, SSM_SPEC

        text = (value or "").strip()
        if text.startswith("s3://") and not re.fullmatch(S3_SPEC, text):
            raise ValueError(
                "not an S3 object URI (s3://bucket/key or s3://bucket/key?owner=ACCOUNT; no * ? $ in the key): "
                f"{value!r}"
            )
        if text.startswith("ssm:") and not re.fullmatch(SSM_SPEC, text):
            raise ValueError(
                f"not an SSM parameter name (ssm:/name: a-zA-Z0-9_.- in at most 15 levels, 1,011 characters): {value!r}"
            )
        return text or None

    @field_validator("alert_security_hub_product_arn")
    @classmethod
    def _product(cls, value: str | None) -> str | None:
        from analysis.alerting.asff import product_arn_parts

        if value and value.strip():
            product_arn_parts(value.strip())  # ValueError naming what is wrong
            return value.strip()
        return None

    @field_validator("alert_topic_arn")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value and not TOPIC_ARN.match(value):
            raise ValueError(f"not an SNS topic ARN: {value!r}")
        return value or None


def load_settings(env: Mapping[str, str] | None = None, **explicit: Any) -> Settings:
    """Settings from ``explicit`` arguments (None means "not given"), then ``env`` (default: the process's).

    Every problem becomes one ``ConfigError`` naming the setting and its variable.
    """
    given = {name: value for name, value in explicit.items() if value is not None}
    unknown = sorted(set(given) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    try:
        env = os.environ if env is None else env
        from_env = {_variable(name): env[_variable(name)] for name in Settings.model_fields if _variable(name) in env}
        from_env = {variable: value for variable, value in from_env.items() if str(value).strip()}
        return Settings.model_validate({**from_env, **{_variable(name): value for name, value in given.items()}})
    except ValidationError as error:
        raise ConfigError(_describe(error)) from error


def _variable(name: str) -> str:
    """The environment variable of a setting."""
    alias = Settings.model_fields[name].validation_alias
    choices = alias.choices if isinstance(alias, AliasChoices) else [name]
    return str(choices[-1])


def _describe(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else "settings"
        name = (
            field
            if field in Settings.model_fields
            else next((n for n in Settings.model_fields if _variable(n) == field), field)
        )
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{name} ({_variable(name) if name in Settings.model_fields else field}): {message}")
    return "; ".join(parts)


ENVIRONMENT = {name: _variable(name) for name in Settings.model_fields}


def advice_options(settings: Settings) -> Options:
    """The remedy engine's options of these settings (the same for the reports and the alerts)."""
    from analysis.model import Options

    return Options(
        service=settings.service,
        trusted_accounts=settings.trusted_accounts,
        organization_accounts=settings.organization_accounts,
        organization_id=settings.organization_id,
        recon_distinct_actions=settings.recon_distinct_actions,
        recon_window_minutes=settings.recon_window_minutes,
    )


def redaction_key(settings: Settings) -> str | None:
    """The configured redaction key (REDACT_KEY); None: each redaction picks a random one."""
    return settings.redact_key.get_secret_value() if settings.redact_key else None
