"""One alert per key and period: the key of an event, and what to do with it given the key's marker.

The key is principal x owning account x action (issue 9). A key alerts at most once per period, whichever rules
fire; the events of the key that follow within the period are only counted, and the next alert for the key carries
that count. The store holds one ``Marker`` per key and replaces it with ``Decision.marker`` by a conditional write
(on the marker it read), so that of two concurrent invocations only one alerts.

Folding per principal: two rules, taken in this order after the key's own (an event of a key that alerted within
the period is counted, whatever else holds).

1. The sweep's alert. An alert in which burst or reconnaissance fired is the principal's (``Decision.principal``, the
   store's ``principal_*`` attributes). Until the period after its time ``t`` ends (``now < t + period``; a late
   event older than ``t`` too), a denial of another key of the principal that fires a rule is folded into it:
   counted (``why`` names the alert that covers it, ``folded_into`` its key; the key's count goes into its next
   alert, as any count), unless it fires a rule of ``OWN_RULES`` that alert did not list: root, unknown_account,
   org_policy (a new fact: the root user, a caller from outside, an organization policy), sensitive_action (a write
   or ``iam:PassRole`` after a sweep of reads: what a reconnaissance is for, named nowhere else until the key's next
   alert a period later) or reconnaissance (a burst's alert does not give the daily report's advice on a prober,
   "do not grant: investigate"; the first reconnaissance of the principal does). Such a denial goes on to rule 2
   (which folds it only when the principal's newest alert, within the window, listed all its rules) and otherwise
   alerts. When reconnaissance is the rule the sweep alert did not list (it was a burst's), the new alert becomes
   the principal's sweep alert in turn, unless older than it: the rest of the sweep folds into the alert that gives
   the report's advice. An alert for another of these rules leaves the sweep alert as it is, so that a later one
   alerts again (each write after a sweep alerts, unless rule 2 folds it). Only first_seen and burst are folded
   whatever the sweep alert listed: a prober tries new actions by nature, and its alert names them
   (``actions_in_window``).
2. Nothing new within the sweep window. The principal's newest alert, whatever its rules (``Decision.latest``, the
   store's ``latest_*`` attributes): within the reconnaissance window around it (``|now - t| < recon_window``,
   10 minutes by default), a denial of another key whose fired rules are all among the rules that alert listed
   (a subset: it would tell the person nothing new) is folded into it the same way. One that fires a rule the
   newest alert did not list (burst after a first_seen alert, sensitive_action after a read, unknown_account)
   alerts, and becomes the newest alert in turn (and the sweep's alert, by rule 1, when burst or reconnaissance
   fired). The window is counted from the newest alert, not from the folded events: a sweep of new reads 10 s
   apart gives one alert per window while it fires first_seen only, and one more when burst or reconnaissance
   fire (rule 1 then covers the rest of the period). Severity and action are not compared: a second sensitive
   action of another key with the same rules within the window (``DeleteService`` 9 minutes after an
   ``UpdateService`` alert, both first_seen and sensitive_action) is folded into the first alert, even when its
   severity is higher; its ``why`` names the alert and the rules, its key's next alert carries the count, and a
   third such action 10 minutes or more after that alert alerts again.

An alert not older than the newest alert the principal had becomes its newest (``Decision.latest`` is set); an
alert delivered late, older than it, leaves it as it is (``latest`` None). Both markers are written together, on
the principal's state item, by one conditional request (the store's request 3a), so that of two concurrent
invocations for one principal only one raises the alert a rule allows once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from analysis.alerting.rules import (
    BURST,
    ORG_POLICY,
    RECONNAISSANCE,
    ROOT,
    SENSITIVE_ACTION,
    UNKNOWN_ACCOUNT,
    AlertRules,
    FiredRule,
)
from analysis.contract import Finding, as_finding
from analysis.denials import audits_service, is_denial

Outcome = Literal["alert", "count", "ignore"]
Triage = Literal["denial", "not_denial", "other_service"]
KEY_PREFIX = "k-"
PRINCIPAL_RULES = frozenset({BURST, RECONNAISSANCE})  # an alert in which one fired is the principal's
# rule 1: alert on their own unless the principal's sweep alert listed them (the Covers line names them in this order)
OWN_RULES = (ROOT, UNKNOWN_ACCOUNT, ORG_POLICY, SENSITIVE_ACTION, RECONNAISSANCE)
SWEEP_WINDOW = AlertRules().recon_window  # the default of rule 2's window (the store and replay pass the rules')


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
class PrincipalMarker:
    """An alert of a principal as its state item holds it: when, for which key, and the rules that alert listed.
    Two per principal: its sweep's alert (burst or reconnaissance fired, rule 1) and its newest alert (rule 2)."""

    alerted_at: datetime
    key: str
    rules: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    rules: tuple[FiredRule, ...] = ()  # the rules this event fired (all listed in an alert)
    suppressed: int = 0  # an alert's count of the key's events counted since its previous alert
    marker: Marker | None = None  # what the store holds for the key afterwards (None: nothing to write)
    why: str = ""
    # a principal's alert (burst or reconnaissance fired): the marker the store writes on the principal
    principal: PrincipalMarker | None = None
    # a principal's alert: the distinct actions denied to the principal in the longest window, this one included
    actions_in_window: tuple[str, ...] = ()
    folded_into: str = ""  # a count folded into the principal's alert: that alert's key
    # an alert not older than the principal's newest: the marker the store writes as its newest alert (rule 2)
    latest: PrincipalMarker | None = None


def decide(
    fired: Sequence[FiredRule],
    marker: Marker | None,
    now: datetime,
    period: timedelta,
    *,
    key: str = "",
    principal: PrincipalMarker | None = None,
    actions_in_window: Sequence[str] = (),
    latest: PrincipalMarker | None = None,
    sweep_window: timedelta = SWEEP_WINDOW,
) -> Decision:
    """Alert, only count, or ignore one denial of a key.

    Within ``period`` of the key's last alert (``[alerted_at, alerted_at + period)``; an event older than the alert,
    delivered late, is within too) the event is counted, whether or not a rule fires. Otherwise an event that fired
    a rule is folded (counted) into the principal's sweep alert ``principal`` (rule 1 of the module's docstring:
    another key, within ``period``, no rule of ``OWN_RULES`` it did not list) or else into its newest alert
    ``latest`` (rule 2: another key, within ``sweep_window``, every fired rule listed by it). Otherwise it alerts
    when a rule fired, carrying the count; it becomes the principal's newest alert (``latest``) unless older than
    the one it had, and its sweep alert (``principal``, with ``actions_in_window``) when burst or reconnaissance
    fired and no sweep alert covers it (or the one that covers it, not newer, did not list reconnaissance, which
    fired). When no rule fired it is ignored and the marker, with its count, stays.
    """
    if marker is not None and now - marker.alerted_at < period:
        counted = Marker(marker.alerted_at, marker.counted + 1)
        return Decision("count", tuple(fired), marker=counted, why="the key alerted within the period")
    if not fired:
        return Decision("ignore", marker=None, why="no rule fired")
    names = frozenset(rule.name for rule in fired)
    kept = Marker(marker.alerted_at, marker.counted + 1) if marker is not None else None
    covering = principal is not None and principal.key != key and now - principal.alerted_at < period
    own: list[str] = []
    if covering and principal is not None:
        own = [name for name in OWN_RULES if name in names and name not in principal.rules]
        if not own:
            listed = ", ".join(name for name in (BURST, RECONNAISSANCE) if name in principal.rules) or "principal"
            why = f"folded into the principal's {listed} alert of {_when(principal.alerted_at)} (key {principal.key})"
            return Decision("count", tuple(fired), marker=kept, why=why, folded_into=principal.key)
    recent = latest is not None and latest.key != key and abs(now - latest.alerted_at) < sweep_window
    if recent and latest is not None and names <= latest.rules:
        minutes = int(sweep_window.total_seconds() // 60)
        why = (
            f"folded into the principal's alert of {_when(latest.alerted_at)} (key {latest.key}): nothing new "
            f"within {minutes} minutes, its rules ({', '.join(sorted(names))}) were listed"
        )
        return Decision("count", tuple(fired), marker=kept, why=why, folded_into=latest.key)
    suppressed = marker.counted if marker is not None else 0
    newest = PrincipalMarker(now, key, names) if latest is None or now >= latest.alerted_at else None
    decision = Decision("alert", tuple(fired), suppressed, Marker(now, 0), why="a rule fired", latest=newest)
    # reconnaissance after a sweep alert that did not list it (a burst's): not older than that alert, it replaces it
    renews = RECONNAISSANCE in own and principal is not None and now >= principal.alerted_at
    if names & PRINCIPAL_RULES and (not covering or renews):
        mark = PrincipalMarker(now, key, names)
        decision = replace(decision, principal=mark, actions_in_window=tuple(actions_in_window))
    if covering:
        return replace(decision, why="a rule the principal's alert did not list fired: " + ", ".join(own))
    if recent and latest is not None:
        new = ", ".join(rule.name for rule in fired if rule.name not in latest.rules)
        return replace(
            decision, why=f"a rule the principal's alert of {_when(latest.alerted_at)} did not list fired: {new}"
        )
    return decision


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


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
    deduplicated: int = 0  # counted, folded ones included
    folded: int = 0  # of which folded into a principal's alert
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
                self.folded += bool(decision.folded_into)
            else:
                self.ignored["no_rule"] = self.ignored.get("no_rule", 0) + 1
        elif decision != "denial":
            self.ignored[decision] = self.ignored.get(decision, 0) + 1
