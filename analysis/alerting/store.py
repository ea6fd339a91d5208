"""The alert state in the stack's DynamoDB table (issue 9): what ``rules`` and ``dedup`` need to know about one denial,
and the outcome, in two requests on the common path; an alert stays pending until it is published.

Two kinds of item, beside the ledger's ``event#…`` and ``report#…`` in the same table (partition key ``id``, TTL
attribute ``expires_at`` in epoch seconds):

``alert#p-<32 hex>`` (one per principal)
    The principal's recent denials, for the burst and reconnaissance windows and for recognising a redelivery.
    Time is cut in buckets as wide as the longest window (``width``); a denial of bucket ``b`` is the string
    ``"<epoch>\\t<eventID>\\t<action>"`` in the list attribute ``s<b mod 5>``. Each in-order write removes the three
    slots that are neither ``b`` nor ``b - 1``, so the item holds the two buckets the windows ``(t - M, t]`` can
    reach, never more (a long quiet gap can leave an older bucket in one of the two slots: its entries are read
    by time and filtered out, and dropped when the slot is full). ``newest`` is the newest bucket written.
    ``principal_alerted_at`` (epoch), ``principal_alert_key`` and ``principal_alert_rules`` (space-separated rule
    names): the principal's last alert in which burst or reconnaissance fired (``dedup.PrincipalMarker``), which
    later denials of its other keys are folded into within the period (``dedup``'s rule 1); absent before the
    first. ``latest_alerted_at``, ``latest_alert_key`` and ``latest_alert_rules``: the principal's newest alert,
    whatever its rules, which later denials of its other keys firing no rule it did not list are folded into within
    the reconnaissance window (rule 2); absent before the first.
``alert#k-<32 hex>`` (one per key, ``dedup.alert_key``)
    ``first_seen`` / ``last_seen`` (epoch) for "seen before" (and Security Hub's FirstObservedAt), ``counted`` (the
    key's events since its last alert that did not alert), ``alerted_at`` (epoch of the last alert, absent before
    the first). ``pending`` (an eventID), ``pending_at`` (the wall clock of the claim, epoch) and ``pending_alert``
    (a compact JSON string: the fired rules' names and reasons, the carried count, the covered actions;
    ``pending_document``, at most about 40 KB): the key's last alert, claimed and not yet known to be published;
    absent once it is.

The requests of one denial:

1. ``UpdateItem`` on the principal's item: append the entry, set ``newest``, remove the stale slots, on condition
   that the entry is not there yet (else it is a redelivery: stop, nothing counted), that the event is not older
   than the newest bucket (else request 1b appends without removing anything) and that the slot is not full
   (else request 1b keeps the slot's own bucket and drops older entries). ``ReturnValues=ALL_NEW`` gives the
   windows, the actions a principal's alert covers, and the principal's two markers (request 1 never writes
   them): a folded event costs no request more.
2. ``UpdateItem`` on the key's item: ``ADD counted 1``, set ``last_seen``, ``first_seen`` if absent and the TTL, on
   condition that ``pending`` is not this eventID; ``ReturnValues=ALL_OLD`` gives the marker and "seen before". When the
   condition fails the event is a redelivery request 1 did not recognise (its entry had left the principal's item: a
   dead-letter queue redrive, a late retry) whose alert is still pending: not counted, it takes request 1r. (Its entry
   is back in the principal's item, once, in its own bucket.)
3b. Only when ``decide`` says alert: ``UpdateItem`` on the key's item setting ``alerted_at``, ``pending`` = this
   eventID, ``pending_at`` = now and ``pending_alert`` (what publishing the alert again needs), and taking this event
   and the count it carries off ``counted``, on condition that ``alerted_at`` is still what request 2 read. Of two
   concurrent invocations that both read the old marker, one wins; the other's event is already in ``counted`` (request
   2), so it is carried by the winner's alert (if it was counted before the winner read) or the next one, and its
   decision becomes "count", before it writes any marker. The alert's ``suppressed`` is the count it took off:
   ``dedup.decide``'s, except that with no earlier alert it is the key's events counted before this one (a racer's, or
   ignored ones) rather than 0, so that every event that did not alert is carried by exactly one alert.
3a. After 3b, when the alert is not older than the principal's newest or is its sweep alert: ``UpdateItem`` on the
   principal's item setting ``latest_*`` (and ``principal_*`` when the alert is the sweep's: burst or reconnaissance
   fired, no sweep alert within the period), on condition that ``latest_alerted_at`` and ``principal_alerted_at`` are
   still what request 1 read. Of two concurrent invocations for two keys of one principal, one wins; the other decides
   again with the winner's markers (``ReturnValuesOnConditionCheckFailure`` gives them) and alerts with something new (a
   rule the winner did not list), taking request 3a again, or is folded or counted (its event is in its key's
   ``counted`` already) and gives its key's claim back (3c). After ``CLAIMS`` lost claims it gives up the same way (its
   key's next alert carries the event). 3b comes first so that the markers never name an alert that was not claimed: a
   lost or failed 3b writes no marker; a failed 3a leaves the alert pending (published by the retry) and no marker
   (later alerts of the principal's other keys are not folded into it: more alerts, never fewer).
3c. Only after a lost 3a whose new decision is not to alert: ``UpdateItem`` on the key's item undoing 3b (``alerted_at``
   as request 2 read it, the count given back, ``pending*`` removed), on condition that ``pending`` is this eventID. An
   invocation of the same key that read the claim in between counted its event against it; it is carried by the key's
   next alert.

4. After the alert was published (``AlertStore.published``, called by ``alert_service``): ``UpdateItem`` removing
   ``pending``, ``pending_at`` and ``pending_alert``, on condition that ``pending`` is still this eventID.
1r. Only on a redelivery (request 1's condition failed: the eventID is there; or request 2's): ``UpdateItem`` on the
   key's item setting ``pending_at`` = now, on condition that ``pending`` is this eventID and ``pending_at`` is older
   than the lease (``PENDING_LEASE``, 45 s: the function's Timeout, 30 s, and a margin; absent counts as older),
   ``ReturnValues=ALL_NEW`` (the role has dynamodb:UpdateItem only). When it holds, the first delivery claimed the alert
   (3b) and did not clear it (4): its publishing failed or the function died; this delivery takes the lease,
   ``Recorded.pending`` carries the alert as ``pending_alert`` kept it and ``alert_service`` publishes it again, then
   takes request 4. When the condition fails it is a true redelivery, or a duplicate delivered while the first
   invocation may still be publishing (EventBridge's duplicates come within about a second): nothing counted, nothing
   published. Lambda retries a failed invocation a minute or more after it (then two minutes after that), past the
   lease.

Delivery is therefore at least once: an alert is never lost to a failed Publish, a DynamoDB error after 3b or a function
that dies after 3b (the invocation fails, Lambda's retry, or a redrive of the function's dead-letter queue, delivers the
event again, 1r finds it pending), and it is published twice only if the function dies, or request 4 fails, after
Publish succeeded. A DynamoDB error raises ``AlertStateError`` (``alert_service`` fails the invocation after the event's
other records). An error, or the function dying, before 3b succeeded leaves nothing pending: the retry is a redelivery
(request 1 wrote the entry) and publishes nothing; the event is carried by its key's next alert if request 2 counted it.
A late redelivery of an event that claimed no alert is counted again.

An event that does not alert (folded ones included) therefore costs two requests, an alert five (1, 2, 3b, 3a, 4; four
for an alert older than the principal's newest, delivered late, which writes no marker; a lost 3a one more each time it
is taken again, and 3c when it ends in a count), a lost 3b three, a redelivery two (1 and 1r), a redelivery whose alert
is pending three (1, 1r and 4) and its publishing again (a late one four or five: 1, maybe 1b, 2, 1r, 4); a late event
(older than the principal's newest bucket) or a full slot adds one. ``counted`` counts every event of the key since its
last alert that did not alert, including those ignored after the period ended (``dedup.decide`` keeps the count
unchanged for those: keeping it exactly would need a third request on the "ignore" path, which is the common one for a
key seen every day).

The client is a boto3 DynamoDB client the caller made; every time is passed in: the event's ``eventTime`` for the
windows and the period, the wall clock of the delivery (``record``'s ``now``, from ``alert_service``) for the lease.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis.alerting.dedup import Decision, Marker, PrincipalMarker, alert_key, decide
from analysis.alerting.rules import AlertRules, FiredRule, Observation, Seen, actions_in_window
from analysis.contract import Finding, as_finding

PREFIX = "alert#"
PRINCIPAL_PREFIX = "p-"
SLOTS = 5  # slot names s0..s4: the two a write keeps and three it clears
# 600 entries of at most 205 bytes in each of the two kept slots, and a third a late event may fill before the next
# in-order write clears it: 3 x 600 x 205 = 369 KB, under DynamoDB's 400 KB item
MAX_ENTRIES_PER_SLOT = 600
MAX_ACTION_BYTES = 128
MAX_EVENT_ID_BYTES = 64
# an alert's claim (request 3b) is the invocation's for this long (``pending_at``, the wall clock): a redelivery within
# it is a duplicate delivered while the first invocation may still be publishing, and publishes nothing (request 1r's
# condition). The alert function's Timeout (30 s, template.yaml) and a margin for the hosts' clocks; Lambda's first
# retry of a failed invocation comes a minute or more after it, the second two minutes after that, so a real retry
# is past the lease. A longer Timeout needs a longer lease (``AlertStore.lease``).
PENDING_LEASE = timedelta(seconds=45)
CLAIMS = 4  # request 3a taken at most this many times for one event (each loss is another invocation's alert)
_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Denial:
    """One denial as the store sees it: its event, time, principal and action, and the key it counts for."""

    event_id: str
    at: datetime
    principal: str
    action: str
    key: str

    def __post_init__(self) -> None:
        if not self.event_id or len(self.event_id.encode()) > MAX_EVENT_ID_BYTES or "\t" in self.event_id:
            raise ValueError(f"not a CloudTrail eventID: {self.event_id[:80]!r}")
        if self.at.tzinfo is None:
            raise ValueError("the denial's time must be aware (UTC)")

    @classmethod
    def of(cls, finding: Finding | Mapping[str, Any], event_id: str, at: datetime) -> Denial:
        """The denial of one event's finding (``analysis.event_finding``): the same principal as ``alert_key``'s."""
        model = as_finding(finding)
        principal = model.principal.key or model.principal.arn or model.principal.type
        return cls(event_id, at, principal, model.actions[0].action, alert_key(model))

    @property
    def epoch(self) -> int:
        return int(self.at.timestamp())


@dataclass(frozen=True)
class Recorded:
    """What requests 1 and 2 answered: the observation and marker for ``fired_rules`` and ``decide``."""

    denial: Denial
    redelivered: bool
    observation: Observation | None = None
    marker: Marker | None = None
    counted_before: int = 0  # ``counted`` as request 2 read it (before this event)
    alerted_at_before: int | None = None  # ``alerted_at`` as request 2 read it (epoch), the condition of request 3
    principal: PrincipalMarker | None = None  # the principal's sweep alert as request 1 read it
    actions_in_window: tuple[str, ...] = ()  # the principal's distinct actions in the longest window
    latest: PrincipalMarker | None = None  # the principal's newest alert as request 1 read it
    first_seen: datetime | None = None  # the key's first denial (request 2's ``first_seen``, or this event's)
    # a redelivery whose key's alert is still pending for this eventID (request 1r said so): the alert claimed when
    # the event was first delivered, whose publishing did not finish; the caller publishes it again
    pending: Decision | None = None
    now: datetime | None = None  # the wall clock of this delivery (``pending_at`` of a claim, 1r's lease)


@dataclass
class AlertStore:
    """The alert state of one table. ``client`` is a boto3 DynamoDB client, ``table`` the table's name."""

    client: Any
    table: str
    rules: AlertRules
    key_attribute: str = "id"
    lease: timedelta = PENDING_LEASE

    @property
    def width(self) -> int:
        """A bucket's seconds: the longest window, so that a window ending in bucket ``b`` starts after ``b - 1``."""
        return int(max(self.rules.burst_window, self.rules.recon_window).total_seconds())

    def _expires_at(self, denial: Denial) -> int:
        return denial.epoch + int(max(self.rules.retention, self.rules.period).total_seconds())

    def record(self, denial: Denial, now: datetime | None = None) -> Recorded:
        """Requests 1 and 2: count the denial once, and say what the windows and the key's marker hold. ``now`` is
        the wall clock of this delivery (default: the machine's), for the pending claim's lease."""
        with _state_errors():
            return self._record(denial, now or datetime.now(UTC))

    def _record(self, denial: Denial, now: datetime) -> Recorded:
        appended = self._append(denial)
        if appended is None:
            return self._redelivered(denial, now)
        entries, principal_item = appended
        old = self._count(denial)
        if old is None:  # request 2 found this event's alert pending: a late redelivery (its entry had moved on)
            return self._redelivered(denial, now)
        marker = None
        alerted_at = _number(old, "alerted_at")
        counted = _number(old, "counted") or 0
        if alerted_at is not None:
            marker = Marker(datetime.fromtimestamp(alerted_at, UTC), counted)
        observation = Observation(
            self._seen_before(old, denial),
            *window_counts(entries, denial, self.rules),
        )
        return Recorded(
            denial,
            False,
            observation,
            marker,
            counted,
            alerted_at,
            principal_marker(principal_item),
            window_actions(entries, denial, self.rules),
            latest_marker(principal_item),
            _first_seen(old, denial),
            now=now,
        )

    def _redelivered(self, denial: Denial, now: datetime) -> Recorded:
        pending, first_seen = self._pending(denial, now)
        return Recorded(denial, redelivered=True, first_seen=first_seen, pending=pending, now=now)

    def settle(self, recorded: Recorded, fired: Sequence[FiredRule]) -> Decision:
        """``decide`` on what ``record`` read, and request 3 when it says alert: the key's claim (3b) first, then the
        principal's markers (3a). An alert lost to a concurrent invocation's becomes a count (this event is in
        ``counted`` already): a lost 3b before any marker is written, a lost 3a (decided again on the markers that
        won, and folded or counted) releases the key's claim (request 3c)."""
        if recorded.redelivered:
            raise ValueError("a redelivered event is not settled: it was counted when first delivered")
        with _state_errors():
            return self._settle(recorded, fired)

    def _settle(self, recorded: Recorded, fired: Sequence[FiredRule]) -> Decision:
        denial = recorded.denial
        principal, latest = recorded.principal, recorded.latest
        decision = self._decide(recorded, fired, principal, latest)
        if decision.outcome != "alert":
            return decision
        # the count taken off ``counted``: with no earlier alert it is not 0 when a concurrent invocation's
        # event (or one ignored before any alert) came first; each is carried by exactly one alert
        alert = replace(decision, suppressed=recorded.counted_before)
        if not self._claim_alert(recorded, alert):
            return Decision("count", tuple(fired), why="a concurrent invocation alerted for the key")
        for _ in range(CLAIMS):  # a lost claim on the principal decides again on the markers that won
            if decision.principal is None and decision.latest is None:
                return replace(decision, suppressed=recorded.counted_before)
            claimed, principal, latest = self._claim_principal(denial, (principal, latest), decision)
            if claimed:
                return replace(decision, suppressed=recorded.counted_before)
            decision = self._decide(recorded, fired, principal, latest)
            if decision.outcome != "alert":
                self._release(recorded)
                return decision
        self._release(recorded)
        return Decision("count", tuple(fired), why="concurrent invocations alerted for the principal")

    def _decide(
        self,
        recorded: Recorded,
        fired: Sequence[FiredRule],
        principal: PrincipalMarker | None,
        latest: PrincipalMarker | None,
    ) -> Decision:
        return decide(
            fired,
            recorded.marker,
            recorded.denial.at,
            self.rules.period,
            key=recorded.denial.key,
            principal=principal,
            actions_in_window=recorded.actions_in_window,
            latest=latest,
            sweep_window=self.rules.recon_window,
        )

    def _update(self, item_id: str, **request: Any) -> tuple[bool, Mapping[str, Any]]:
        """One conditional ``UpdateItem`` on the item ``item_id``: (True, the attributes it returned) or, when its
        condition failed, (False, the item as the condition read it: ``ReturnValuesOnConditionCheckFailure``); any
        other error is raised (``_state_errors`` names it)."""
        from botocore.exceptions import ClientError

        try:
            answer = self.client.update_item(TableName=self.table, Key={self.key_attribute: {"S": item_id}}, **request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
                raise
            return False, _item_read(error)
        attributes: Mapping[str, Any] = answer.get("Attributes") or {}
        return True, attributes

    # --- request 1: the principal's recent denials ----------------------------------------------------------------

    def _append(self, denial: Denial) -> tuple[list[str], Mapping[str, Any]] | None:
        """The principal's entries after appending this denial's and the item, or None when it was there (a
        redelivery)."""
        bucket = denial.epoch // self.width
        slot = f"s{bucket % SLOTS}"
        stale = [f"s{(bucket + offset) % SLOTS}" for offset in range(1, SLOTS - 1)]  # neither b nor b - 1
        entry = _entry(denial)
        names = {"#k": self.key_attribute, "#slot": slot} | {f"#stale{i}": name for i, name in enumerate(stale)}
        values = {
            ":entry": {"S": entry},
            ":new": {"L": [{"S": entry}]},
            ":none": {"L": []},
            ":bucket": {"N": str(bucket)},
            ":full": {"N": str(MAX_ENTRIES_PER_SLOT)},
            ":kind": {"S": "alert-principal"},
            ":expires": {"N": str(self._expires_at(denial))},
        }
        appended, item = self._update(
            self._principal_id(denial),
            UpdateExpression=(
                "SET #slot = list_append(if_not_exists(#slot, :none), :new), newest = :bucket, kind = :kind, "
                "expires_at = :expires REMOVE " + ", ".join(f"#stale{i}" for i in range(len(stale)))
            ),
            ConditionExpression=(
                "attribute_not_exists(#k) OR (NOT contains(#slot, :entry) AND newest <= :bucket "
                "AND (attribute_not_exists(#slot) OR size(#slot) < :full))"
            ),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if appended:
            return _all_entries(item), item
        if entry in _strings(item.get(slot)):
            return None
        return self._append_late_or_full(denial, item)

    def _append_late_or_full(
        self, denial: Denial, old: Mapping[str, Any]
    ) -> tuple[list[str], Mapping[str, Any]] | None:
        """Request 1b. A late event is appended to its slot without clearing any (they may hold newer buckets). A
        full slot keeps only its own bucket's entries (older ones are outside every window); one still full of its
        own bucket (a storm past ``MAX_ENTRIES_PER_SLOT`` in one bucket) takes no more: the denial is counted, its
        windows are read as they stand plus itself, and a redelivery of it would not be recognised. Conditional
        on the slot as read: a concurrent write is seen, and the step taken again on what it wrote."""
        bucket = denial.epoch // self.width
        slot = f"s{bucket % SLOTS}"
        entry = _entry(denial)
        held = _strings(old.get(slot))
        values: dict[str, Any] = {":entry": {"S": entry}, ":expires": {"N": str(self._expires_at(denial))}}
        if len(held) < MAX_ENTRIES_PER_SLOT:
            update = "SET #slot = list_append(if_not_exists(#slot, :none), :new)"
            condition = "NOT contains(#slot, :entry) AND (attribute_not_exists(#slot) OR size(#slot) < :full)"
            values |= {":new": {"L": [{"S": entry}]}, ":none": {"L": []}, ":full": {"N": str(MAX_ENTRIES_PER_SLOT)}}
        else:
            kept = [held_entry for held_entry in held if _epoch(held_entry) // self.width == bucket]
            if len(kept) >= MAX_ENTRIES_PER_SLOT:
                return [*_all_entries(old), entry], old
            update = "SET #slot = :kept"
            condition = "size(#slot) = :size AND NOT contains(#slot, :entry)"
            values |= {":kept": {"L": [{"S": e} for e in [*kept, entry]]}, ":size": {"N": str(len(held))}}
        appended, item = self._update(
            self._principal_id(denial),
            UpdateExpression=update + ", expires_at = :expires",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#slot": slot},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if appended:
            return _all_entries(item), item
        if entry in _strings(item.get(slot)):
            return None
        return self._append_late_or_full(denial, item)

    def _principal_id(self, denial: Denial) -> str:
        digest = hashlib.sha256(denial.principal.encode()).hexdigest()[:32]
        return f"{PREFIX}{PRINCIPAL_PREFIX}{digest}"

    # --- request 2: the key's counter and marker ------------------------------------------------------------------

    def _count(self, denial: Denial) -> Mapping[str, Any] | None:
        """The key's item before counting this event, or None when its ``pending`` is this eventID: a redelivery
        that request 1 did not recognise (its entry left the principal's item), whose alert is still pending."""
        counted, old = self._update(
            PREFIX + denial.key,
            UpdateExpression=(
                "SET last_seen = :at, first_seen = if_not_exists(first_seen, :at), kind = :kind, "
                "expires_at = :expires ADD counted :one"
            ),
            ConditionExpression="attribute_not_exists(pending) OR pending <> :event",
            ExpressionAttributeValues={
                ":at": {"N": str(denial.epoch)},
                ":kind": {"S": "alert-key"},
                ":expires": {"N": str(self._expires_at(denial))},
                ":one": {"N": "1"},
                ":event": {"S": denial.event_id},
            },
            ReturnValues="ALL_OLD",
        )
        return old if counted else None

    def _seen_before(self, old: Mapping[str, Any], denial: Denial) -> bool:
        """An earlier denial of the key at most ``at`` and within the retention. The item keeps the first and the
        last time, which answers exactly for events in time order; a late event is judged by the last time at most
        its own, or else the first."""
        first, last = _number(old, "first_seen"), _number(old, "last_seen")
        if first is None or first > denial.epoch:
            return False
        latest = last if last is not None and last <= denial.epoch else first
        return denial.epoch - latest < self.rules.retention.total_seconds()

    # --- request 3a: the principal's markers, at most one alert where a folding rule allows one ----------------

    def _claim_principal(
        self, denial: Denial, before: tuple[PrincipalMarker | None, PrincipalMarker | None], decision: Decision
    ) -> tuple[bool, PrincipalMarker | None, PrincipalMarker | None]:
        """Set the principal's newest alert (and its sweep alert when ``decision.principal``), on condition that
        both markers are still ``before`` (what request 1 read); when another invocation set either first, False
        and the two markers as it left them."""
        values: dict[str, Any] = {}
        sets: list[str] = []
        for prefix, mark in (("principal", decision.principal), ("latest", decision.latest)):
            if mark is None:
                continue
            alias = prefix[0]
            sets.append(
                f"{prefix}_alerted_at = :{alias}at, {prefix}_alert_key = :{alias}key, "
                f"{prefix}_alert_rules = :{alias}rules"
            )
            values |= {
                f":{alias}at": {"N": str(int(mark.alerted_at.timestamp()))},
                f":{alias}key": {"S": mark.key},
                f":{alias}rules": {"S": " ".join(sorted(mark.rules))},
            }
        conditions = []
        for prefix, read in zip(("principal", "latest"), before, strict=True):
            if read is None:
                conditions.append(f"attribute_not_exists({prefix}_alerted_at)")
            else:
                conditions.append(f"{prefix}_alerted_at = :{prefix[0]}before")
                values[f":{prefix[0]}before"] = {"N": str(int(read.alerted_at.timestamp()))}
        claimed, old = self._update(
            self._principal_id(denial),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=" AND ".join(conditions),
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if not claimed:
            return False, principal_marker(old), latest_marker(old)
        return True, decision.principal, decision.latest

    # --- request 3 (3b): the alert, at most one per key and period -------------------------------------------------

    def _claim_alert(self, recorded: Recorded, alert: Decision) -> bool:
        denial = recorded.denial
        values = {
            ":at": {"N": str(denial.epoch)},
            ":handled": {"N": str(recorded.counted_before + 1)},  # the count this alert carries, and itself
            ":event": {"S": denial.event_id},
            ":alert": {"S": pending_document(alert)},
            ":now": {"N": str(int((recorded.now or datetime.now(UTC)).timestamp()))},
        }
        if recorded.alerted_at_before is None:
            condition = "attribute_not_exists(alerted_at)"
        else:
            condition = "alerted_at = :before"
            values[":before"] = {"N": str(recorded.alerted_at_before)}
        claimed, _ = self._update(
            PREFIX + denial.key,
            UpdateExpression=(
                "SET alerted_at = :at, counted = counted - :handled, pending = :event, pending_alert = :alert, "
                "pending_at = :now"
            ),
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
        )
        return claimed

    def _release(self, recorded: Recorded) -> None:
        """Request 3c, after a lost 3a whose new decision is not to alert: the key's claim (3b) undone, on condition
        that ``pending`` is still this eventID: ``alerted_at`` as request 2 read it, the count given back (this
        event included), nothing pending."""
        values: dict[str, Any] = {
            ":handled": {"N": str(recorded.counted_before + 1)},
            ":event": {"S": recorded.denial.event_id},
        }
        if recorded.alerted_at_before is None:
            update = "SET counted = counted + :handled REMOVE alerted_at, pending, pending_alert, pending_at"
        else:
            update = "SET counted = counted + :handled, alerted_at = :before REMOVE pending, pending_alert, pending_at"
            values[":before"] = {"N": str(recorded.alerted_at_before)}
        self._update(
            PREFIX + recorded.denial.key,
            UpdateExpression=update,
            ConditionExpression="pending = :event",
            ExpressionAttributeValues=values,
        )

    # --- request 4: the alert published (clears ``pending``); on a redelivery, whether it still is ------------------

    def published(self, recorded: Recorded) -> bool:
        """Request 4 after an alert was published: remove the key's ``pending`` and ``pending_alert``, on condition
        that ``pending`` is still this eventID (a later alert of the key may have claimed it since). False when it
        was not (nothing removed)."""
        with _state_errors():
            return self._published(recorded)

    def _published(self, recorded: Recorded) -> bool:
        cleared, _ = self._update(
            PREFIX + recorded.denial.key,
            UpdateExpression="REMOVE pending, pending_alert, pending_at",
            ConditionExpression="pending = :event",
            ExpressionAttributeValues={":event": {"S": recorded.denial.event_id}},
        )
        return cleared

    def _pending(self, denial: Denial, now: datetime) -> tuple[Decision | None, datetime | None]:
        """Request 1r on a redelivery: the alert this eventID claimed and whose publishing did not finish (the key's
        ``pending`` is still this eventID, claimed longer than ``lease`` ago), with the key's first time; (None,
        None) when it is not pending (a true redelivery: counted once, nothing to publish) or claimed within the
        lease (a duplicate delivered while the first invocation may still be publishing: it publishes or fails for
        its own retry). An UpdateItem that takes the lease (``pending_at`` = now, so that a duplicate of this
        delivery publishes nothing either), answering ``ALL_NEW``: the role has dynamodb:UpdateItem, not GetItem.
        A claim without ``pending_at`` (written before the lease existed) is past it."""
        taken, item = self._update(
            PREFIX + denial.key,
            UpdateExpression="SET pending_at = :now",
            ConditionExpression="pending = :event AND (attribute_not_exists(pending_at) OR pending_at < :lease)",
            ExpressionAttributeValues={
                ":event": {"S": denial.event_id},
                ":now": {"N": str(int(now.timestamp()))},
                ":lease": {"N": str(int((now - self.lease).timestamp()))},
            },
            ReturnValues="ALL_NEW",
        )
        if not taken:
            return None, None
        document = (item.get("pending_alert") or {}).get("S")
        if document is None:
            return None, None
        return pending_decision(document), _first_seen(item, denial)


class AlertStateError(RuntimeError):
    """A DynamoDB request of the alert state failed (a ``ClientError`` other than a failed condition, or a
    ``BotoCoreError``, after botocore's retries): throttling, the table's KMS key, an IAM mistake. The cause is the
    botocore error. The caller fails the invocation, so that Lambda retries the event (``alert_service``)."""


@contextmanager
def _state_errors() -> Iterator[None]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "?")
        raise AlertStateError(f"DynamoDB {error.operation_name}: {code}") from error
    except BotoCoreError as error:
        raise AlertStateError(f"DynamoDB: {type(error).__name__}") from error


PENDING_REASON_CHARS = 1024  # a rule's reason as kept for publishing again (the rules' reasons are a line each)
PENDING_ACTIONS = 200  # a principal's alert's covered actions kept (a window holds few; 200 x 128 bytes at most)


def pending_document(alert: Decision) -> str:
    """What publishing ``alert`` again needs, as the compact JSON string ``pending_alert`` holds: the fired rules'
    names and reasons (``r``), the carried count (``c``) and the covered actions (``a``). At most about 40 KB: the
    rules are the seven of ``rules``, a reason at most ``PENDING_REASON_CHARS``, actions at most ``PENDING_ACTIONS``
    of ``MAX_ACTION_BYTES``."""
    document = {
        "r": [[rule.name, rule.reason[:PENDING_REASON_CHARS]] for rule in alert.rules],
        "c": alert.suppressed,
        "a": [action.encode()[:MAX_ACTION_BYTES].decode(errors="ignore") for action in alert.actions_in_window][
            :PENDING_ACTIONS
        ],
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def pending_decision(document: str) -> Decision:
    """The alert ``pending_document`` kept, as ``decide`` gave it (outcome alert, its rules, count and actions)."""
    kept = json.loads(document)
    rules = tuple(FiredRule(str(name), str(reason)) for name, reason in kept.get("r", []))
    return Decision(
        "alert",
        rules,
        int(kept.get("c", 0)),
        why="published again: the first delivery claimed the alert and did not finish publishing it",
        actions_in_window=tuple(str(action) for action in kept.get("a", [])),
    )


def _first_seen(item: Mapping[str, Any], denial: Denial) -> datetime:
    """The key's first denial: the item's ``first_seen``, or this event's time when it is earlier or there is none
    (request 2 sets ``first_seen`` only if absent: a late event does not move it back)."""
    first = _number(item, "first_seen")
    epoch = denial.epoch if first is None else min(first, denial.epoch)
    return datetime.fromtimestamp(epoch, UTC)


def window_counts(entries: Sequence[str], denial: Denial, rules: AlertRules) -> tuple[int, int]:
    """The principal's denials in ``(t - burst, t]`` and distinct actions in ``(t - recon, t]``, this one included,
    as ``rules.observe`` counts them (entries later than the denial are not counted)."""
    by_event = {}
    for entry in entries:
        epoch, event_id, action = entry.split("\t", 2)
        by_event[event_id] = (int(epoch), action)
    by_event[denial.event_id] = (denial.epoch, _action(denial))
    at = denial.epoch
    burst = int(rules.burst_window.total_seconds())
    recon = int(rules.recon_window.total_seconds())
    past = [(epoch, action) for epoch, action in by_event.values() if epoch <= at]
    in_burst = sum(1 for epoch, _ in past if at - epoch < burst)
    in_recon = {action for epoch, action in past if at - epoch < recon}
    return in_burst, len(in_recon)


def window_actions(entries: Sequence[str], denial: Denial, rules: AlertRules) -> tuple[str, ...]:
    """``rules.actions_in_window`` over the entries, in the longest window: what a principal's alert covers."""
    by_event = {}
    for entry in entries:
        epoch, event_id, action = entry.split("\t", 2)
        by_event[event_id] = Seen(datetime.fromtimestamp(int(epoch), UTC), action)
    by_event.pop(denial.event_id, None)
    window = max(rules.burst_window, rules.recon_window)
    return actions_in_window(by_event.values(), datetime.fromtimestamp(denial.epoch, UTC), _action(denial), window)


def principal_marker(item: Mapping[str, Any], prefix: str = "principal") -> PrincipalMarker | None:
    """The principal's sweep alert as its item holds it (``principal_alerted_at``, ``_alert_key``, ``_alert_rules``),
    or None."""
    at = _number(item, f"{prefix}_alerted_at")
    if at is None:
        return None
    key = (item.get(f"{prefix}_alert_key") or {}).get("S", "")
    rules = (item.get(f"{prefix}_alert_rules") or {}).get("S", "")
    return PrincipalMarker(datetime.fromtimestamp(at, UTC), key, frozenset(rules.split()))


def latest_marker(item: Mapping[str, Any]) -> PrincipalMarker | None:
    """The principal's newest alert as its item holds it (``latest_alerted_at``, ``_alert_key``, ``_alert_rules``),
    or None."""
    return principal_marker(item, "latest")


def _action(denial: Denial) -> str:
    """The action as written, cut at ``MAX_ACTION_BYTES`` of UTF-8 (an IAM action is far shorter)."""
    return denial.action.encode()[:MAX_ACTION_BYTES].decode(errors="ignore")


def _entry(denial: Denial) -> str:
    return f"{denial.epoch}\t{denial.event_id}\t{_action(denial)}"


def _epoch(entry: str) -> int:
    return int(entry.split("\t", 1)[0])


def _strings(attribute: Mapping[str, Any] | None) -> list[str]:
    return [value["S"] for value in (attribute or {}).get("L", [])]


def _all_entries(item: Mapping[str, Any]) -> list[str]:
    return [entry for index in range(SLOTS) for entry in _strings(item.get(f"s{index}"))]


def _item_read(error: Exception) -> Mapping[str, Any]:
    """The item a failed condition read (``ReturnValuesOnConditionCheckFailure=ALL_OLD``); empty if none was."""
    item: Mapping[str, Any] = getattr(error, "response", {}).get("Item") or {}
    return item


def _number(item: Mapping[str, Any], name: str) -> int | None:
    value = item.get(name)
    return int(value["N"]) if value else None


def observation_window(rules: AlertRules) -> timedelta:
    """How far back the principal's item reaches: two buckets of the longest window."""
    return 2 * max(rules.burst_window, rules.recon_window)


__all__ = [
    "PENDING_LEASE",
    "AlertStateError",
    "AlertStore",
    "Denial",
    "Recorded",
    "latest_marker",
    "observation_window",
    "pending_decision",
    "pending_document",
    "principal_marker",
    "window_actions",
    "window_counts",
]
