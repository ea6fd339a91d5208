"""Logging, metrics and tracing for the Lambda handlers (Powertools), set up one way for both."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit

from analysis.redact import mask_secrets

SERVICE = "apprunner-access-auditor"
NAMESPACE = "AppRunnerAccessAuditor"


class SecretMaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON log lines with access key IDs masked: a log line quoting a record never leaks one."""

    def serialize(self, log: Any) -> str:
        return mask_secrets(super().serialize(log))


def powertools(service: str = SERVICE) -> tuple[Logger, Metrics, Tracer]:
    """The handler's Logger (secrets masked), Metrics (namespace ``AppRunnerAccessAuditor``) and Tracer."""
    logger = Logger(service=service, logger_formatter=SecretMaskingFormatter())
    return logger, Metrics(namespace=NAMESPACE, service=service), Tracer(service=service)


def add_counts(metrics: Metrics, counts: dict[str, int]) -> None:
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
