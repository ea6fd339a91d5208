"""The daily report: EventBridge Scheduler invokes it once a day; ``{"day": "YYYY-MM-DD"}`` reports that day."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from analysis.config import DeliveryConfig
from analysis.observability import add_counts, powertools
from analysis.service import DailyRequest, daily_job
from analysis.settings import load_settings

logger, metrics, tracer = powertools()
SETTINGS = load_settings()
DELIVERY = DeliveryConfig.from_env()


@logger.inject_lambda_context(log_event=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = daily_job(DailyRequest.from_event(event), SETTINGS, DELIVERY, time_left=context.get_remaining_time_in_millis)
    add_counts(metrics, run.metrics())
    logger.info("daily report", extra={"summary": run.summary(), "warnings": run.warnings()})
    run.raise_for_delivery()
    return run.summary()
