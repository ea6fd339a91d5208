"""An EventBridge event for users' own automation: "App Runner Access Report Published".

``detail`` carries the window, the totals, the findings per remedy kind and the report's S3 location:
a rule can match, for example, ``{"detail": {"totals": {"denials": [{"numeric": [">", 0]}]}}}``.
"""

from __future__ import annotations

import json
from typing import Any

from analysis.contract import Report
from analysis.delivery.s3 import Location
from analysis.render import common

DETAIL_TYPE = "App Runner Access Report Published"
DETAIL_MAX_BYTES = 256 * 1024  # PutEvents entry limit


class EventError(RuntimeError):
    """EventBridge refused the entry (PutEvents reports failures per entry, not as an exception)."""


def event_detail(report: Report, locations: dict[str, Location]) -> dict[str, Any]:
    main = locations.get("json")
    return {
        "schema_version": report.schema_version,
        "service": report.service,
        "day": common.report_day(report),
        "window": report.window.model_dump(),
        "generated_at": report.generated_at,
        "totals": report.totals.model_dump(exclude_none=True),
        "findings_by_kind": common.kind_counts(report),
        "report": {
            "bucket": main.bucket if main else None,
            "key": main.key if main else None,
            "uri": main.uri if main else None,
            "objects": {fmt: location.uri for fmt, location in locations.items()},
        },
    }


def event_entry(report: Report, locations: dict[str, Location], *, source: str, bus: str) -> dict[str, Any]:
    detail = json.dumps(event_detail(report, locations), ensure_ascii=False)
    if len(detail.encode("utf-8")) > DETAIL_MAX_BYTES:
        raise EventError(f"the event detail is over EventBridge's {DETAIL_MAX_BYTES}-byte limit")
    main = locations.get("json")
    return {
        "Source": source,
        "DetailType": DETAIL_TYPE,
        "Detail": detail,
        "EventBusName": bus,
        "Resources": [main.arn] if main else [],
    }


def publish_event(events: Any, entry: dict[str, Any]) -> str:
    """PutEvents one entry; returns its EventId, raising EventError when the entry failed."""
    answer = events.put_events(Entries=[entry])
    result = answer["Entries"][0]
    if answer.get("FailedEntryCount") or "EventId" not in result:
        raise EventError(f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}")
    return str(result["EventId"])
