"""Denial alerts: an EventBridge rule invokes it with one ``AWS API Call via CloudTrail`` event per call."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from analysis.alert_service import AlertsFailed, AlertsNotPublished, AlertStateFailed, alert_on_event
from analysis.aws_clients import client
from analysis.observability import add_counts, powertools
from analysis.settings import load_settings

logger, metrics, tracer = powertools()
SETTINGS = load_settings()
SNS = client(None, "sns")
# the alert state (one alert per key and period); without STATE_TABLE every denial is published
DYNAMODB = client(None, "dynamodb") if SETTINGS.state_table else None
SECURITY_HUB = client(None, "securityhub") if SETTINGS.alert_security_hub else None
if SETTINGS.alert_suppressions:  # read again at most every few minutes (analysis.suppression_config)
    from analysis.suppression_config import SuppressionCache

    SUPPRESSIONS: SuppressionCache | None = SuppressionCache.for_spec(SETTINGS.alert_suppressions)
else:
    SUPPRESSIONS = None

__all__ = ["AlertStateFailed", "AlertsFailed", "AlertsNotPublished", "handler"]


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    suppressions = SUPPRESSIONS.current() if SUPPRESSIONS else None
    try:
        run = alert_on_event(
            event.raw_event, SETTINGS, SNS, DYNAMODB, securityhub=SECURITY_HUB, suppressions=suppressions
        )
    except AlertsFailed as failed:  # Publish or the alert state failed: Lambda retries; the metrics still go out
        add_counts(metrics, failed.run.metrics())
        logger.error(str(failed), extra={"summary": failed.run.summary()})
        raise
    add_counts(metrics, run.metrics())
    logger.info("denial event", extra={"summary": run.summary()})
    return run.summary()
