"""The alert state store (analysis.alerting.store) against moto DynamoDB, in the table template.yaml deploys.

Expected values come from the issue (one alert per key and period, a redelivery counted once, two requests for an
event that does not alert), from counting by hand, and from ``rules.observe`` (the reference of the windows)."""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from analysis.alerting import store as alert_store
from analysis.alerting.dedup import Marker, PrincipalMarker, alert_key
from analysis.alerting.rules import SENSITIVE_ACTION, AlertRules, Observation, Seen, fired_rules, observe
from analysis.alerting.store import AlertStore, Denial, Recorded
from analysis.contract import BUILDING, Finding
from analysis.event_finding import event_finding
from analysis.model import Options
from tests import factories as f
from tests.stack import source_template

pytestmark = pytest.mark.integration

TABLE = "apprunner-audit-state"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
RETENTION_SECONDS = 30 * 24 * 3600  # the default retention, 30 days
STATE_TABLE = source_template()["Resources"]["StateTable"]["Properties"]
KEY = STATE_TABLE["KeySchema"][0]["AttributeName"]
TTL = STATE_TABLE["TimeToLiveSpecification"]["AttributeName"]


class Requests:
    """Every DynamoDB request the client sends, by operation name (botocore's before-call event), and the
    principal's entries each answer carried (the item after request 1, ``ReturnValues=ALL_NEW``)."""

    def __init__(self, client: Any) -> None:
        self.names: list[str] = []
        self.entries_after: list[list[str]] = []
        client.meta.events.register("before-call.dynamodb.*", self._seen)
        client.meta.events.register("after-call.dynamodb.UpdateItem", self._answered)

    def _seen(self, event_name: str, **_: Any) -> None:
        self.names.append(event_name.rsplit(".", 1)[-1])

    def _answered(self, parsed: dict[str, Any], **_: Any) -> None:
        attributes = parsed.get("Attributes") or {}
        if attributes.get("kind") == {"S": "alert-principal"}:
            self.entries_after.append(slot_entries(attributes))

    def since(self, start: int) -> list[str]:
        return self.names[start:]


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode=STATE_TABLE["BillingMode"],
            AttributeDefinitions=STATE_TABLE["AttributeDefinitions"],
            KeySchema=STATE_TABLE["KeySchema"],
        )
        client.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"AttributeName": TTL, "Enabled": True})
        yield client


def make_store(client: Any, rules: AlertRules | None = None) -> AlertStore:
    return AlertStore(client, TABLE, rules or AlertRules(), key_attribute=KEY)


def finding_of(record: dict[str, Any]) -> Finding:
    return Finding.model_validate(event_finding(record, Options()), context=BUILDING)


def denial(event_id: str, at: datetime, action: str = "apprunner:DescribeService", principal: str = "alice",
           key: str = "k-alice-describe") -> Denial:  # fmt: skip
    return Denial(event_id, at, principal, action, key)


def item(client: Any, item_id: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get_item(TableName=TABLE, Key={KEY: {"S": item_id}}, ConsistentRead=True)["Item"]
    return found


def slot_entries(attributes: dict[str, Any]) -> list[str]:
    """The entry strings of a principal's item: every list attribute named s<digit>."""
    slots = [attribute["L"] for name, attribute in sorted(attributes.items()) if re.fullmatch(r"s\d", name)]
    return [value["S"] for slot in slots for value in slot]


def held_entries(client: Any, principal: str) -> list[tuple[int, str]]:
    """The (epoch, eventID) pairs the principal's item holds, read back from the table."""
    store = make_store(client)
    found = item(client, store._principal_id(denial("x", T0, principal=principal)))
    entries = slot_entries(found)
    return [(int(entry.split("\t")[0]), entry.split("\t")[1]) for entry in entries]


def test_a_key_is_first_seen_then_seen(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    first = store.record(denial("e-1", T0))
    second = store.record(denial("e-2", T0 + timedelta(minutes=3)))
    other_action = store.record(denial("e-3", T0 + timedelta(minutes=4), "apprunner:ListServices", key="k-list"))
    assert first.observation == Observation(False, 1, 1)
    assert second.observation == Observation(True, 2, 1)  # both within 5 minutes, one action
    assert other_action.observation == Observation(False, 3, 2)  # a new key; the principal's third, second action
    assert (first.marker, second.marker) == (None, None)  # nothing alerted yet


def test_a_key_seen_longer_ago_than_the_retention_is_first_seen_again(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    store.record(denial("e-1", T0))
    just_inside = store.record(denial("e-2", T0 + timedelta(days=30) - timedelta(seconds=1)))
    after = store.record(denial("e-3", T0 + timedelta(days=60) - timedelta(seconds=1)))  # 30 days after e-2
    assert just_inside.observation is not None and just_inside.observation.seen_before
    assert after.observation is not None and not after.observation.seen_before


def test_a_redelivered_event_is_counted_once_and_costs_two_requests(dynamodb: Any) -> None:
    """Request 1 finds the eventID; request 1r finds the key's ``pending`` is not this eventID (e-2 was counted, the
    key's pending alert is e-1's): nothing to publish again."""
    store = make_store(dynamodb)
    requests = Requests(dynamodb)
    first = store.record(denial("e-1", T0))
    assert store.settle(first, [fired("root")]).outcome == "alert"
    store.settle(store.record(denial("e-2", T0 + timedelta(seconds=5))), [fired("root")])
    start = len(requests.names)
    again = store.record(denial("e-2", T0 + timedelta(seconds=5)))
    assert again == Recorded(again.denial, redelivered=True, now=again.now)
    assert again.pending is None
    assert requests.since(start) == ["UpdateItem", "UpdateItem"]
    key_item = item(dynamodb, "alert#k-alice-describe")
    assert key_item["counted"] == {"N": "1"}  # e-2 once, not twice
    assert sorted(event for _, event in held_entries(dynamodb, "alice")) == ["e-1", "e-2"]
    with pytest.raises(ValueError, match="redelivered"):
        store.settle(again, [fired("root")])


def test_the_storm_one_alert_999_counted_two_requests_each_and_the_item_stays_within_two_buckets(
    dynamodb: Any,
) -> None:
    """1,000 denials of apprunner:TagResource (Tagging: sensitive_action fires on every one), one every 3 seconds
    (50 minutes, 100 in each 5-minute burst window), through the table. (Denser storms hold more entries and
    only slow moto, which serialises the whole item of every answer.)"""
    rules = AlertRules()
    store = make_store(dynamodb, rules)
    requests = Requests(dynamodb)
    finding = finding_of(f.record("TagResource"))
    width = 10 * 60  # a bucket is the longest window: reconnaissance's 10 minutes (burst: 5)
    start_epoch = int(T0.timestamp())
    outcomes: Counter[str] = Counter()
    largest = 0
    for n in range(1000):
        at = T0 + timedelta(seconds=3 * n)
        start = len(requests.names)
        recorded = store.record(Denial.of(finding, f"storm-{n:04d}", at))
        assert recorded.observation is not None
        fired = fired_rules(finding, recorded.observation, rules, Options())
        assert SENSITIVE_ACTION in [rule.name for rule in fired]
        decision = store.settle(recorded, fired)
        outcomes[decision.outcome] += 1
        assert requests.since(start) == ["UpdateItem"] * (4 if decision.outcome == "alert" else 2), n
        # the item after this write: this event's bucket and the one before, nothing older
        bucket = (start_epoch + 3 * n) // width
        expected = [m for m in range(n + 1) if (start_epoch + 3 * m) // width in (bucket - 1, bucket)]
        held = sorted(int(entry.split("\t")[1].removeprefix("storm-")) for entry in requests.entries_after[-1])
        assert held == expected, n
        largest = max(largest, len(held))
    assert outcomes == {"alert": 1, "count": 999}
    assert largest == 400  # two whole buckets of 200 (a bucket is 600 s, one event every 3 s)
    key_item = item(dynamodb, "alert#" + alert_key(finding))
    assert (key_item["counted"], key_item["alerted_at"]) == ({"N": "999"}, {"N": str(start_epoch)})
    following = store.record(Denial.of(finding, "next-day", T0 + timedelta(hours=24)))
    assert following.marker == Marker(T0, 999) and following.observation is not None
    decision = store.settle(following, fired_rules(finding, following.observation, rules, Options()))
    assert (decision.outcome, decision.suppressed) == ("alert", 999)
    assert item(dynamodb, "alert#" + alert_key(finding))["counted"] == {"N": "0"}


def test_two_invocations_that_both_read_the_old_marker_alert_once(dynamodb: Any) -> None:
    """The second reads (request 2) before the first writes (request 3): one alert, the other counted."""
    store = make_store(dynamodb)
    first = store.record(denial("e-1", T0))
    second = store.record(denial("e-2", T0 + timedelta(seconds=1)))
    assert (first.marker, second.marker) == (None, None)  # both saw no alert
    outcomes = [store.settle(first, [fired("root")]).outcome, store.settle(second, [fired("root")]).outcome]
    assert outcomes == ["alert", "count"]
    assert item(dynamodb, "alert#k-alice-describe")["counted"] == {"N": "1"}  # the loser's, for the next alert
    third = store.record(denial("e-3", T0 + timedelta(seconds=2)))
    assert third.marker == Marker(T0, 1)
    assert store.settle(third, [fired("root")]).outcome == "count"
    # a period later the next alert carries both counted events
    later = store.record(denial("e-4", T0 + timedelta(hours=24)))
    decision = store.settle(later, [fired("root")])
    assert (decision.outcome, decision.suppressed) == ("alert", 2)


def test_when_the_later_reader_wins_it_carries_the_earlier_readers_event(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    first = store.record(denial("e-1", T0))
    second = store.record(denial("e-2", T0 + timedelta(seconds=1)))  # read counted 1: e-1's
    won = store.settle(second, [fired("root")])
    assert (won.outcome, won.suppressed) == ("alert", 1)  # e-1 is carried by this alert...
    assert store.settle(first, [fired("root")]).outcome == "count"
    assert item(dynamodb, "alert#k-alice-describe")["counted"] == {"N": "0"}  # ...and not by the next


def test_an_expired_marker_raced_by_two_invocations_alerts_once(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    store.settle(store.record(denial("e-1", T0)), [fired("root")])
    day = T0 + timedelta(hours=24)
    racers = [store.record(denial(f"r-{n}", day + timedelta(seconds=n))) for n in range(3)]
    assert [racer.marker for racer in racers] == [Marker(T0, 0), Marker(T0, 1), Marker(T0, 2)]  # each read the last
    assert [store.settle(racer, [fired("root")]).outcome for racer in racers] == ["alert", "count", "count"]
    key_item = item(dynamodb, "alert#k-alice-describe")
    assert key_item["alerted_at"] == {"N": str(int(day.timestamp()))}
    assert key_item["counted"] == {"N": "2"}  # r-1 and r-2, for the next alert


@pytest.fixture
def atomic_items(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each write to an item atomically; moto's in-memory table does not under threads (a
    read-modify-write of its own), so each of its item operations is made one step, as the service's is. The
    threads then interleave between requests, which is the race the store's conditions are for."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    for name in ("update_item", "get_item", "put_item"):
        original = getattr(DynamoDBBackend, name)

        def one_step(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, one_step)


@pytest.mark.usefixtures("atomic_items")
def test_concurrent_threads_for_one_key_alert_once(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    barrier = threading.Barrier(8)
    decisions: list[Any] = []
    lock = threading.Lock()

    def invoke(n: int) -> None:
        barrier.wait()
        recorded = store.record(denial(f"t-{n}", T0 + timedelta(seconds=n % 2)))
        decision = store.settle(recorded, [fired("root")])
        with lock:
            decisions.append(decision)

    threads = [threading.Thread(target=invoke, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(decision.outcome for decision in decisions) == {"alert": 1, "count": 7}
    # each of the seven others is counted once: in the alert (read before it) or left for the next
    (alert,) = [decision for decision in decisions if decision.outcome == "alert"]
    assert int(item(dynamodb, "alert#k-alice-describe")["counted"]["N"]) + alert.suppressed == 7
    assert len(held_entries(dynamodb, "alice")) == 8


def test_items_expire_after_the_retention(dynamodb: Any) -> None:
    assert TTL == "expires_at"
    store = make_store(dynamodb)
    at = T0 + timedelta(minutes=7)
    store.settle(store.record(denial("e-1", at)), [fired("root")])
    expected = int(at.timestamp()) + RETENTION_SECONDS
    assert item(dynamodb, "alert#k-alice-describe")[TTL] == {"N": str(expected)}
    principal_id = store._principal_id(denial("e-1", at))
    assert item(dynamodb, principal_id)[TTL] == {"N": str(expected)}
    assert principal_id.startswith("alert#p-") and len(principal_id) == len("alert#p-") + 32
    assert set(item(dynamodb, "alert#k-alice-describe")) == {
        KEY, "kind", "first_seen", "last_seen", "counted", "alerted_at", "pending", "pending_alert", "pending_at", TTL,
    }  # fmt: skip
    assert store.published(store.record(denial("e-1", at)))  # a redelivery's Recorded names the same key and event
    assert set(item(dynamodb, "alert#k-alice-describe")) == {
        KEY, "kind", "first_seen", "last_seen", "counted", "alerted_at", TTL,
    }  # fmt: skip


def test_a_period_longer_than_the_retention_keeps_the_marker(dynamodb: Any) -> None:
    store = make_store(dynamodb, AlertRules(retention_days=1, period_hours=72))
    store.record(denial("e-1", T0))
    assert item(dynamodb, "alert#k-alice-describe")[TTL] == {"N": str(int(T0.timestamp()) + 72 * 3600)}


def test_a_late_event_is_counted_and_clears_nothing_newer(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    requests = Requests(dynamodb)
    store.record(denial("new", T0 + timedelta(minutes=25)))  # bucket 2 after T0's (10-minute buckets)
    start = len(requests.names)
    late = store.record(denial("late", T0 + timedelta(minutes=4)))
    assert requests.since(start) == ["UpdateItem"] * 3  # 1, 1b (no slot cleared), 2
    assert late.observation == Observation(False, 1, 1)  # as the reference: a late event sees only its past
    assert sorted(event for _, event in held_entries(dynamodb, "alice")) == ["late", "new"]
    assert store.record(denial("late", T0 + timedelta(minutes=4))).redelivered


def test_a_full_slot_drops_older_buckets_and_a_full_bucket_saturates(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alert_store, "MAX_ENTRIES_PER_SLOT", 3)
    store = make_store(dynamodb)
    width = timedelta(minutes=10)
    for n in range(3):
        store.record(denial(f"old-{n}", T0 + timedelta(seconds=n)))
    # five buckets later the same slot (s<b mod 5>) is used again, full of a bucket outside every window
    again = T0 + 5 * width
    recorded = store.record(denial("again-0", again))
    assert recorded.observation == Observation(True, 1, 1)
    assert sorted(event for _, event in held_entries(dynamodb, "alice")) == ["again-0"]
    for n in range(1, 4):
        recorded = store.record(denial(f"again-{n}", again + timedelta(seconds=n)))
    assert recorded.observation == Observation(True, 4, 1)  # saturated: three held, and itself
    assert sorted(event for _, event in held_entries(dynamodb, "alice")) == ["again-0", "again-1", "again-2"]
    assert item(dynamodb, "alert#k-alice-describe")["counted"] == {"N": "7"}


def test_an_entry_is_at_most_205_bytes_and_odd_event_ids_are_refused() -> None:
    longest = Denial("e" * 64, T0, "alice", "apprunner:" + "\u00e9" * 300, "k-x")
    entry = alert_store._entry(longest)
    assert len(entry.encode()) <= 10 + 1 + 64 + 1 + 128  # epoch, tab, eventID, tab, action
    assert entry.split("\t")[2].startswith("apprunner:\u00e9")  # cut between characters, not inside one
    for bad in ("", "e" * 65, "a\tb"):
        with pytest.raises(ValueError, match="eventID"):
            Denial(bad, T0, "alice", "apprunner:ListServices", "k-x")


@pytest.mark.parametrize("seed", range(12))
def test_the_windows_agree_with_the_reference_on_random_sequences(dynamodb: Any, seed: int) -> None:
    """Events in time order (ties included) of two principals, three actions, two owners, with gaps from none to
    two days: each Observation equals ``rules.observe`` over the principal's earlier events."""
    rng = random.Random(seed)
    rules = AlertRules(retention_days=1, burst_denials=3, burst_minutes=2, recon_window_minutes=7)
    store = make_store(dynamodb, rules)
    at = T0
    history: dict[str, list[Seen]] = {"alice": [], "bob": []}
    for n in range(150):
        at += timedelta(seconds=rng.choice([0, 1, 20, 59, 60, 61, 119, 120, 300, 419, 420, 421, 900, 3600, 86399,
                                            86400, 2 * 86400]))  # fmt: skip
        principal = rng.choice(["alice", "bob"])
        action = rng.choice(["apprunner:ListServices", "apprunner:DescribeService", "apprunner:TagResource"])
        owner = rng.choice(["111122223333", "444455556666"])
        key = f"k-{principal}-{owner}-{action.lower()}"
        recorded = store.record(Denial(f"ev-{n}", at, principal, action, key))
        assert recorded.observation == observe(history[principal], at, action, owner, rules), (seed, n)
        history[principal].append(Seen(at, action, owner))


def fired(name: str) -> Any:
    from analysis.alerting.rules import FiredRule

    return FiredRule(name, "test")


def test_a_principals_alert_is_marked_on_its_item_and_folds_its_other_keys_at_two_requests(dynamodb: Any) -> None:
    """Reconnaissance fired on alice's ListServices: the alert is hers (request 3a sets her item's marker, request 3b
    the key's: four requests); her DescribeService a minute later fires reconnaissance too and is folded, counted on
    its key (two requests); a day later (the period) it alerts again."""
    store = make_store(dynamodb)
    requests = Requests(dynamodb)
    recorded = store.record(denial("e-1", T0, "apprunner:ListServices", key="k-alice-list"))
    assert recorded.principal is None and recorded.actions_in_window == ("apprunner:ListServices",)
    decision = store.settle(recorded, [fired("reconnaissance")])
    assert decision.outcome == "alert" and decision.principal is not None
    assert decision.actions_in_window == ("apprunner:ListServices",)
    assert requests.since(0) == ["UpdateItem"] * 4
    held = item(dynamodb, store._principal_id(denial("x", T0)))
    assert (held["principal_alerted_at"], held["principal_alert_key"], held["principal_alert_rules"]) == (
        {"N": str(int(T0.timestamp()))},
        {"S": "k-alice-list"},
        {"S": "reconnaissance"},
    )
    start = len(requests.names)
    later = store.record(denial("e-2", T0 + timedelta(minutes=1)))
    assert later.principal == PrincipalMarker(T0, "k-alice-list", frozenset({"reconnaissance"}))
    assert later.actions_in_window == ("apprunner:ListServices", "apprunner:DescribeService")
    folded = store.settle(later, [fired("first_seen"), fired("reconnaissance")])
    assert (folded.outcome, folded.folded_into) == ("count", "k-alice-list")
    assert "folded into the principal's reconnaissance alert of 2026-11-28T09:00:00Z" in folded.why
    assert requests.since(start) == ["UpdateItem", "UpdateItem"]
    assert item(dynamodb, "alert#k-alice-describe")["counted"] == {"N": "1"}  # carried by the key's next alert
    day = store.record(denial("e-3", T0 + timedelta(hours=24, minutes=1)))
    again = store.settle(day, [fired("reconnaissance")])
    assert (again.outcome, again.suppressed) == ("alert", 1)
    assert again.principal == PrincipalMarker(T0 + timedelta(hours=24, minutes=1), "k-alice-describe",
                                              frozenset({"reconnaissance"}))  # fmt: skip


def test_a_rule_the_principals_alert_did_not_list_alerts_on_its_own_without_taking_the_marker(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    store.settle(store.record(denial("e-1", T0, "apprunner:ListServices", key="k-alice-list")), [fired("burst")])
    requests = Requests(dynamodb)
    own = store.settle(store.record(denial("e-2", T0 + timedelta(seconds=5))), [fired("burst"), fired("org_policy")])
    assert (own.outcome, own.principal) == ("alert", None)
    # request 3a sets the newest alert only: the sweep's marker stays the first alert's
    assert requests.since(0) == ["UpdateItem"] * 4
    held = item(dynamodb, store._principal_id(denial("x", T0)))
    assert held["principal_alert_key"] == {"S": "k-alice-list"}
    assert (held["latest_alert_key"], held["latest_alert_rules"]) == (
        {"S": "k-alice-describe"},
        {"S": "burst org_policy"},
    )


@pytest.mark.usefixtures("atomic_items")
def test_concurrent_threads_for_two_keys_of_one_principal_both_firing_reconnaissance_alert_once(dynamodb: Any) -> None:
    """Both invocations read the principal's item (request 1) and their keys (request 2) before either claims: both
    decide "alert for the principal"; request 3a lets one through, the other is folded into it."""
    store = make_store(dynamodb)
    barrier = threading.Barrier(2)
    decisions: list[Any] = []
    lock = threading.Lock()
    actions = ["apprunner:ListServices", "apprunner:DescribeService"]

    def invoke(n: int) -> None:
        recorded = store.record(denial(f"t-{n}", T0 + timedelta(seconds=n), actions[n], key=f"k-alice-{n}"))
        barrier.wait()  # both have read: neither has claimed
        decision = store.settle(recorded, [fired("reconnaissance")])
        with lock:
            decisions.append(decision)

    threads = [threading.Thread(target=invoke, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(decision.outcome for decision in decisions) == ["alert", "count"]
    (alert,) = [decision for decision in decisions if decision.outcome == "alert"]
    (folded,) = [decision for decision in decisions if decision.outcome == "count"]
    assert alert.principal is not None and folded.folded_into == alert.principal.key
    held = item(dynamodb, store._principal_id(denial("x", T0)))
    assert held["principal_alert_key"] == {"S": alert.principal.key}
    # the folded key's event is counted on its key, for its next alert; the winner's key took its own off
    folded_key = "k-alice-0" if alert.principal.key == "k-alice-1" else "k-alice-1"
    assert item(dynamodb, "alert#" + folded_key)["counted"] == {"N": "1"}
    assert "alerted_at" not in item(dynamodb, "alert#" + folded_key)


def test_the_principals_marker_expires_with_its_item(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    store.settle(store.record(denial("e-1", T0)), [fired("reconnaissance")])
    held = item(dynamodb, store._principal_id(denial("x", T0)))
    assert held[TTL] == {"N": str(int(T0.timestamp()) + RETENTION_SECONDS)}


# --- rule 2, nothing new within the sweep window (dedup's docstring), through the table ------------------------------


def test_a_sweep_of_8_new_reads_10_seconds_apart_alerts_once_and_folds_7_at_two_requests_each(dynamodb: Any) -> None:
    """By hand: the first read alerts (four requests: 3a sets alice's newest alert, 3b the key's); the 7 others, new
    keys firing first_seen only within 10 minutes, are folded into it (two requests each: the newest alert came
    with request 1's answer); each counted on its own key."""
    store = make_store(dynamodb)
    requests = Requests(dynamodb)
    decisions, costs = [], []
    for n in range(8):
        start = len(requests.names)
        recorded = store.record(denial(f"e-{n}", T0 + timedelta(seconds=10 * n), f"apprunner:List{n}", key=f"k-{n}"))
        decisions.append(store.settle(recorded, [fired("first_seen")]))
        costs.append(len(requests.since(start)))
    assert [d.outcome for d in decisions] == ["alert"] + ["count"] * 7
    assert {d.folded_into for d in decisions[1:]} == {"k-0"}
    assert costs == [4] + [2] * 7
    held = item(dynamodb, store._principal_id(denial("x", T0)))
    assert (held["latest_alerted_at"], held["latest_alert_key"], held["latest_alert_rules"]) == (
        {"N": str(int(T0.timestamp()))},
        {"S": "k-0"},
        {"S": "first_seen"},
    )
    assert "principal_alerted_at" not in held  # not a sweep's alert (no burst, no reconnaissance)
    assert [item(dynamodb, f"alert#k-{n}")["counted"] for n in range(1, 8)] == [{"N": "1"}] * 7
    # the same rule 11 minutes after the alert: a new alert, the newest
    late = store.settle(store.record(denial("e-8", T0 + timedelta(minutes=11), "apprunner:Get", key="k-8")),
                        [fired("first_seen")])  # fmt: skip
    assert (late.outcome, late.latest) == ("alert", PrincipalMarker(T0 + timedelta(minutes=11), "k-8",
                                                                     frozenset({"first_seen"})))  # fmt: skip


def test_a_lost_claim_decides_again_on_the_winners_newest_alert(dynamodb: Any) -> None:
    """Two invocations of alice read her item before either claims: a read (first_seen) and a Write (first_seen,
    sensitive_action). Write first: the read claims its key (3b), loses request 3a, decides again on the Write's
    alert and is folded, and gives its key's claim back (3c): 1, 2, 3b, the lost 3a, 3c; its key as if it had never
    claimed (no alerted_at, nothing pending, its event counted). Read first: the Write loses 3a, decides again,
    still has something new (sensitive_action) and wins 3a on the read's marker: two alerts."""
    store = make_store(dynamodb)
    requests = Requests(dynamodb)
    read = store.record(denial("r-1", T0, "apprunner:ListServices", key="k-list"))
    write = store.record(denial("w-1", T0 + timedelta(seconds=1), "apprunner:UpdateService", key="k-update"))
    assert (read.latest, write.latest) == (None, None)
    start = len(requests.names)
    assert store.settle(write, [fired("first_seen"), fired("sensitive_action")]).outcome == "alert"
    middle = len(requests.names)
    folded = store.settle(read, [fired("first_seen")])
    assert (folded.outcome, folded.folded_into) == ("count", "k-update")
    assert (len(requests.since(start)), len(requests.since(middle))) == (5, 3)  # 3b + 3a; 3b, the lost 3a, 3c
    released = item(dynamodb, "alert#k-list")
    assert released["counted"] == {"N": "1"}
    assert not {"alerted_at", "pending", "pending_alert", "pending_at"} & set(released)

    bob = "bob"
    read = store.record(denial("r-2", T0, "apprunner:ListServices", principal=bob, key="k-bob-list"))
    write = store.record(denial("w-2", T0 + timedelta(seconds=1), "apprunner:UpdateService", principal=bob,
                                key="k-bob-update"))  # fmt: skip
    assert store.settle(read, [fired("first_seen")]).outcome == "alert"
    second = store.settle(write, [fired("first_seen"), fired("sensitive_action")])
    assert second.outcome == "alert"
    assert second.why == "a rule the principal's alert of 2026-11-28T09:00:00Z did not list fired: sensitive_action"
    held = item(dynamodb, store._principal_id(denial("x", T0, principal=bob)))
    assert held["latest_alert_key"] == {"S": "k-bob-update"}


@pytest.mark.usefixtures("atomic_items")
def test_concurrent_threads_for_six_keys_of_one_principal_with_nothing_new_alert_once(dynamodb: Any) -> None:
    """Six invocations of alice, six new read actions (first_seen only), all read before any claims: request 3a
    lets one through; the five others decide again on its marker and are folded into it."""
    store = make_store(dynamodb)
    barrier = threading.Barrier(6)
    decisions: list[Any] = []
    lock = threading.Lock()

    def invoke(n: int) -> None:
        recorded = store.record(denial(f"t-{n}", T0 + timedelta(seconds=n), f"apprunner:List{n}", key=f"k-{n}"))
        barrier.wait()
        decision = store.settle(recorded, [fired("first_seen")])
        with lock:
            decisions.append(decision)

    threads = [threading.Thread(target=invoke, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(decision.outcome for decision in decisions) == ["alert"] + ["count"] * 5
    (alert,) = [decision for decision in decisions if decision.outcome == "alert"]
    assert alert.latest is not None
    assert {decision.folded_into for decision in decisions if decision.outcome == "count"} == {alert.latest.key}
    held = item(dynamodb, store._principal_id(denial("x", T0)))
    assert held["latest_alert_key"] == {"S": alert.latest.key}
