"""One alert per key and period: the key of an event, and what to do with it given the key's marker.

The key is principal x owning account x action (issue 9). A key alerts at most once per period, whichever rules
fire; the events of the key that follow within the period are only counted, and the next alert for the key carries
that count. The store holds one ``Marker`` per key and replaces it with ``Decision.marker`` by a conditional write
(on the marker it read), so that of two concurrent invocations only one alerts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from analysis.alerting.rules import FiredRule
from analysis.contract import Finding, as_finding
from analysis.denials import audits_service, is_denial

Outcome = Literal["alert", "count", "ignore"]
Triage = Literal["denial", "not_denial", "other_service"]
KEY_PREFIX = "k-"


def alert_key(finding: Finding | Mapping[str, Any]) -> str:
    """``k-`` and 32 hex digits of sha-256(principal key, owning account, lower-case action): stable across runs
    and regions, ASCII, far under DynamoDB's 2048-byte key limit, and free of the log's text (an ARN may be
    attacker-chosen, and the key names an item, a Security Hub finding Id, a metric dimension)."""
    model = as_finding(finding)
    if len(model.actions) != 1:
        raise ValueError(f"an alert key is one event's: one action, not {len(model.actions)}")
    principal = model.principal.key or model.principal.arn or model.principal.type
    owner = model.target_account_id or "unknown"
    action = model.actions[0].action.lower()  # IAM actions are case-insensitive: SNS:Publish is sns:publish
    digest = hashlib.sha256(f"{principal}\n{owner}\n{action}".encode()).hexdigest()
    return KEY_PREFIX + digest[:32]


@dataclass(frozen=True)
class Marker:
    """What the store holds for a key: when it last alerted, and how many of its events were counted since."""

    alerted_at: datetime
    counted: int = 0


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    rules: tuple[FiredRule, ...] = ()  # the rules this event fired (all listed in an alert)
    suppressed: int = 0  # an alert's count of the key's events counted since its previous alert
    marker: Marker | None = None  # what the store holds for the key afterwards (None: nothing to write)
    why: str = ""


def decide(fired: Sequence[FiredRule], marker: Marker | None, now: datetime, period: timedelta) -> Decision:
    """Alert, only count, or ignore one denial of a key.

    Within ``period`` of the key's last alert (``[alerted_at, alerted_at + period)``; an event older than the alert,
    delivered late, is within too) the event is counted, whether or not a rule fires. Otherwise it alerts when a
    rule fired, carrying the count; when none fired it is ignored and the marker, with its count, stays as it is.
    """
    if marker is not None and now - marker.alerted_at < period:
        counted = Marker(marker.alerted_at, marker.counted + 1)
        return Decision("count", tuple(fired), marker=counted, why="the key alerted within the period")
    if fired:
        suppressed = marker.counted if marker is not None else 0
        return Decision("alert", tuple(fired), suppressed, Marker(now, 0), why="a rule fired")
    return Decision("ignore", marker=None, why="no rule fired")


def triage(record: Mapping[str, Any], service: str) -> Triage:
    """Whether a record routed to the alert function is a denial of the audited service. Anything else (a success,
    a throttling error, another service's call) is ignored quietly and counted: ``analysis.event_finding`` would
    make a finding of it all the same (reason ``unknown``), so this is decided on the record, before."""
    record = dict(record)
    if not is_denial(record):
        return "not_denial"
    if not audits_service(record, service):
        return "other_service"
    return "denial"


@dataclass
class Tally:
    """The metrics issue 9 asks for, counted by the handler from the decisions."""

    alerts: int = 0
    deduplicated: int = 0
    redelivered: int = 0  # an eventID the state had counted already: counted here once more, nowhere else
    ignored: dict[str, int] = field(default_factory=dict)

    def add(self, decision: Decision | Triage | Literal["redelivered"]) -> None:
        if decision == "redelivered":
            self.redelivered += 1
        elif isinstance(decision, Decision):
            if decision.outcome == "alert":
                self.alerts += 1
            elif decision.outcome == "count":
                self.deduplicated += 1
            else:
                self.ignored["no_rule"] = self.ignored.get("no_rule", 0) + 1
        elif decision != "denial":
            self.ignored[decision] = self.ignored.get(decision, 0) + 1
