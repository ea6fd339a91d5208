"""The alert decisions of a stream of denials from plain data, in memory: a second method beside the DynamoDB store
(``analysis.alerting.store``), and the CLI's replay of a day.

``replay`` keeps what the store keeps, the same way, and takes the same decisions: per principal the recent denials
in the store's slots (buckets as wide as the longest window, ``s<b mod 5>``, the three stale slots cleared by each
in-order write, a late event appended without clearing, a full slot keeping only its own bucket), per key
``first_seen``/``last_seen``/``counted``/``alerted_at``; times are whole seconds (the store's epochs). The windows are
``rules.observe``'s on the held entries; "seen before" is the store's (first and last time of the key); the
decision is ``dedup.decide``'s, folding included (the principal's two markers, its sweep alert and its newest
alert, as the store's principal item holds them; an alert older than the newest leaves it), with the store's count
carried by an alert (the key's events since its last alert that did not alert). Pure: no boto3, no pandas.
Documented differences from the store: none (concurrency aside: one stream has no racing invocations).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from analysis.alerting.dedup import Decision, Marker, PrincipalMarker, alert_key, decide
from analysis.alerting.rules import AlertRules, Observation, Seen, actions_in_window, fired_rules, observe
from analysis.contract import Finding, as_finding
from analysis.model import Options

SLOTS = 5  # as the store's
MAX_ENTRIES_PER_SLOT = 600  # as the store's
MAX_ACTION_BYTES = 128  # as the store's


@dataclass(frozen=True)
class Replayed:
    event_id: str
    at: datetime
    finding: Finding  # the event's finding (analysis.event_finding -> Finding)
    decision: Decision | None  # None: a redelivered eventID (counted once)


@dataclass
class _Principal:
    slots: dict[int, list[tuple[int, str, str]]] = field(default_factory=dict)  # slot -> (epoch, eventID, action)
    newest: int | None = None
    alerted: PrincipalMarker | None = None  # the principal's sweep alert (burst or reconnaissance), the store's
    latest: PrincipalMarker | None = None  # the principal's newest alert, the store's


@dataclass
class _Key:
    first_seen: int
    last_seen: int
    counted: int = 0
    alerted_at: int | None = None


@dataclass
class _State:
    rules: AlertRules
    principals: dict[str, _Principal] = field(default_factory=dict)
    keys: dict[str, _Key] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(max(self.rules.burst_window, self.rules.recon_window).total_seconds())

    def append(self, principal: str, entry: tuple[int, str, str]) -> list[tuple[int, str, str]] | None:
        """The store's request 1 (and 1b): the principal's entries after this one, None for a redelivery."""
        held = self.principals.get(principal)
        bucket = entry[0] // self.width
        slot = bucket % SLOTS
        if held is None:
            held = self.principals[principal] = _Principal()
            held.slots[slot] = [entry]
            held.newest = bucket
            return _entries(held)
        own = held.slots.get(slot, [])
        if entry in own:
            return None
        if held.newest is not None and held.newest <= bucket and len(own) < MAX_ENTRIES_PER_SLOT:
            held.slots[slot] = [*own, entry]
            held.newest = bucket
            for offset in range(1, SLOTS - 1):
                held.slots.pop((bucket + offset) % SLOTS, None)
            return _entries(held)
        if len(own) < MAX_ENTRIES_PER_SLOT:  # late, or full: appended without clearing anything
            held.slots[slot] = [*own, entry]
            return _entries(held)
        kept = [e for e in own if e[0] // self.width == bucket]
        if len(kept) >= MAX_ENTRIES_PER_SLOT:  # a bucket full of its own: counted, not kept
            return [*_entries(held), entry]
        held.slots[slot] = [*kept, entry]
        return _entries(held)


def replay(denials: Iterable[tuple[Finding, str, datetime]], rules: AlertRules, options: Options) -> list[Replayed]:
    """The decision of each denial (finding, eventID, eventTime aware UTC), processed in time order (stable for
    ties), as the alert handler with the state table takes them on an empty table."""
    state = _State(rules)
    ordered = sorted(denials, key=lambda denial: denial[2])
    out = []
    for finding, event_id, at in ordered:
        if at.tzinfo is None:
            raise ValueError("the denial's time must be aware (UTC)")
        model = as_finding(finding)
        out.append(Replayed(event_id, at, model, _one(state, model, event_id, at, options)))
    return out


def _one(state: _State, finding: Finding, event_id: str, at: datetime, options: Options) -> Decision | None:
    rules = state.rules
    principal = finding.principal.key or finding.principal.arn or finding.principal.type
    action = finding.actions[0].action
    key = alert_key(finding)
    epoch = int(at.timestamp())
    cut = action.encode()[:MAX_ACTION_BYTES].decode(errors="ignore")
    held_id = _principal_id(principal)
    entries = state.append(held_id, (epoch, event_id, cut))
    if entries is None:
        return None
    held = state.principals[held_id]
    item = state.keys.get(key)
    seen_before = _seen_before(item, epoch, rules)
    counted_before = item.counted if item else 0
    alerted_at = item.alerted_at if item else None
    if item is None:
        item = state.keys[key] = _Key(epoch, epoch)
    item.last_seen = epoch
    item.counted += 1
    by_event = {e_id: (e_epoch, e_action) for e_epoch, e_id, e_action in entries}
    by_event.pop(event_id, None)
    earlier = [Seen(_moment(e_epoch), e_action) for e_epoch, e_action in by_event.values()]
    windows = observe(earlier, _moment(epoch), cut, None, rules)
    observation = Observation(seen_before, windows.denials_in_burst_window, windows.distinct_actions_in_recon_window)
    fired = fired_rules(finding, observation, rules, options)
    marker = Marker(_moment(alerted_at), counted_before) if alerted_at is not None else None
    window = max(rules.burst_window, rules.recon_window)
    covers = actions_in_window(earlier, _moment(epoch), cut, window)
    decision = decide(
        fired,
        marker,
        _moment(epoch),
        rules.period,
        key=key,
        principal=held.alerted,
        actions_in_window=covers,
        latest=held.latest,
        sweep_window=rules.recon_window,
    )
    if decision.principal is not None:
        held.alerted = decision.principal
    if decision.latest is not None:
        held.latest = decision.latest
    if decision.outcome == "alert":
        item.alerted_at = epoch
        item.counted -= counted_before + 1
        decision = replace(decision, suppressed=counted_before)
    return decision


def _seen_before(item: _Key | None, epoch: int, rules: AlertRules) -> bool:
    """The store's: the key's first and last time answer exactly in time order."""
    if item is None or item.first_seen > epoch:
        return False
    latest = item.last_seen if item.last_seen <= epoch else item.first_seen
    return epoch - latest < rules.retention.total_seconds()


def _entries(held: _Principal) -> list[tuple[int, str, str]]:
    return [entry for index in range(SLOTS) for entry in held.slots.get(index, [])]


def _principal_id(principal: str) -> str:
    return hashlib.sha256(principal.encode()).hexdigest()[:32]


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


__all__ = ["Replayed", "replay"]
