"""One denial event as a finding, without pandas: what the alert path hands to the remedy engine.

The shape is the one ``analysis.findings.findings`` gives for a frame holding this one row (the tests
check both agree on every denial of the real corpus), so an alert and the daily report advise alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from analysis import remedies
from analysis.denials import denial_row, mended, request_context
from analysis.identifiers import finding_id
from analysis.severity import with_severity
from analysis.times import iso

if TYPE_CHECKING:
    from analysis.model import Options


# No CloudTrail record is older; the report's pandas path cannot hold such a time either (it reads as unreadable there)
_FIRST_READABLE_YEAR = 1000


def event_finding(record: dict[str, Any], options: Options, *, reconnaissance: bool = False) -> dict[str, Any]:
    """The finding, with its remedy, hazards and severity, of one denial record; ``reconnaissance``: the principal
    is known to be probing (the report's threshold crossed within its window), so the advice is the report's
    "do not grant: investigate"."""
    row = denial_row(mended(record))  # the event was parsed by Python's json, which takes lone surrogates
    finding = finding_of_row(row)
    finding["remedy"] = remedies.advise_one(finding, [row], options, reconnaissance=reconnaissance)
    return with_severity(finding, options)


def finding_of_row(row: dict[str, Any]) -> dict[str, Any]:
    """The finding of one denial row (``analysis.denials.denial_row``); ``remedy`` left empty."""
    when = _time(row["event_time"])
    return {
        "id": finding_id(row["principal_key"], row["target_account_id"]),
        "principal": {
            "arn": row["principal_arn"],
            "type": row["principal_type"],
            "account_id": row["principal_account_id"],
            "sessions": _listed(row["session"]),
            "key": row["principal_key"],
            "permission_set": row["permission_set"],
        },
        "target_account_id": row["target_account_id"],
        "cross_account": bool(row["cross_account"]),
        "denials": 1,
        "first_seen": when,
        "last_seen": when,
        "regions": _listed(row["region"]),
        "user_agents": _listed(row["user_agent"]),
        "source_ips": _listed(row["source_ip"]),
        "confidence": "low",
        "actions": [
            {
                "action": row["action"],
                "count": 1,
                "resources": sorted({r for r in row["resources"] if isinstance(r, str) and r}),
                "reasons": _listed(row["reason"]),
                "first_seen": when,
                "last_seen": when,
                "policy_arns": _listed(row["policy_arn"]),
                "event_names": _listed(row["event_name"]),
                "resource_origin": _listed(row["resource_origin"]),
                "action_from_message": bool(row["action_from_message"]),
                "action_in_catalog": bool(row["action_known"]),
                "encoded_messages": int(row["encoded_message"] is not None),
                "truncated_messages": int(bool(row["truncated"])),
                "non_iam_failures": _listed(row["non_iam_failure"]),
                "denied_explicitly": bool(row["denied_explicitly"]),
                "context": request_context(_listed(row["passed_to_service"])),
                "event_ids": _listed(row["event_id"]),
            }
        ],
        "remedy": None,
    }


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) and value else []


def _time(value: Any) -> str | None:
    """The event time as the report writes it (``…Z``, whole seconds), or None when it cannot be read, or is
    outside the years ``YYYY`` writes once in UTC (``0001-01-01T00:00:00+05:00`` is in year 0), or before year 1000."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return iso(moment) if moment.year >= _FIRST_READABLE_YEAR else None
