"""An alert is never lost to a failed publish (issue 9, review finding 1): the store's claim (request 3b) leaves the
alert pending with this eventID and what publishing it again needs; request 4 clears it after Publish; a redelivery
asks (request 1r) whether its alert is still pending, and ``alert_service`` publishes it again.

Against moto DynamoDB and SNS read back through SQS (``test_alert_wiring``'s fixture). Expected values by hand from
the store's docstring: an event that does not alert costs 2 requests, an alert 5 (1, 2, 3a, 3b, 4), a true
redelivery 2 (1, 1r), a redelivery whose alert is pending 3 (1, 1r, 4) and one Publish. apprunner:UpdateService,
first denied, fires first_seen and sensitive_action (a Write action: ``test_alert_wiring``'s storm test)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from moto import mock_aws

from analysis.alert_service import AlertsNotPublished, alert_on_event
from analysis.alerting.dedup import Decision
from analysis.alerting.rules import AlertRules, FiredRule
from analysis.alerting.store import (
    MAX_ACTION_BYTES,
    PENDING_ACTIONS,
    PENDING_REASON_CHARS,
    AlertStore,
    Denial,
    pending_decision,
    pending_document,
)
from tests import factories as f
from tests.integration.test_alert_store import finding_of
from tests.integration.test_alert_wiring import T0, TABLE, Aws, at, settings

pytestmark = pytest.mark.integration

# the wall clock of the deliveries (``alert_on_event``'s ``now``): the first one, and Lambda's retries, which come a
# minute or more after a failed invocation (AWS Lambda: "Error handling and automatic retries"), past the 45-s lease
NOW = T0 + timedelta(minutes=2)
RETRY = timedelta(seconds=61)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    with mock_aws():
        yield Aws()


class FlakySns:
    """The real (moto) SNS client, whose Publish raises for the calls numbered in ``failing`` (1-based), as SNS does
    when throttled beyond botocore's retries or when the topic's KMS key is unusable. The requests it was asked to
    send are kept, failed or not."""

    def __init__(self, real: Any, failing: set[int]) -> None:
        self.real, self.failing, self.calls = real, failing, 0
        self.asked: list[dict[str, Any]] = []

    def publish(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        self.asked.append(request)
        if self.calls in self.failing:
            raise RuntimeError("SNS: throttled after retries")
        answer: dict[str, Any] = self.real.publish(**request)
        return answer


def key_item(aws: Aws) -> dict[str, Any]:
    """The one key item of the table (``alert#k-…``)."""
    items = aws.dynamodb.scan(TableName=TABLE)["Items"]
    [item] = [i for i in items if i["id"]["S"].startswith("alert#k-")]
    return item


def test_a_publish_that_fails_once_is_published_by_the_retry_exactly_once_with_the_same_alert(aws):
    """The reviewer's probe: SNS fails once, the invocation fails, Lambda delivers the same event again."""
    record = f.record("UpdateService", event_time=at(0))
    sns = FlakySns(aws.sns, failing={1})
    aws.requests.clear()
    with pytest.raises(AlertsNotPublished, match="1 alert") as raised:
        alert_on_event(f.eventbridge_envelope(record), settings(aws), sns, aws.dynamodb, now=NOW)
    assert str(raised.value.__cause__) == "SNS: throttled after retries"
    failed = raised.value.run  # what the handler emits before failing: the failure counted
    assert (failed.metrics()["PublishProblems"], failed.metrics()["Alerts"], failed.tally.alerts) == (1, 0, 1)
    assert failed.problems == ["alert: not published, left pending for the retry (RuntimeError)"]
    assert aws.requests == ["UpdateItem"] * 4  # 1, 2, 3a, 3b: no request 4, the alert stays pending
    assert key_item(aws)["pending"] == {"S": record["eventID"]}
    assert aws.received() == []

    aws.requests.clear()
    again = alert_on_event(f.eventbridge_envelope(record), settings(aws), sns, aws.dynamodb, now=NOW + RETRY)
    assert aws.requests == ["UpdateItem"] * 3  # 1 (a redelivery), 1r (pending: this eventID), 4
    [alert] = aws.received()
    assert [rule["name"] for rule in alert["rules"]] == ["first_seen", "sensitive_action"]
    assert "apprunner:UpdateService is a Write action" in alert["rules"][1]["reason"]
    assert alert["events_since_last_alert"] == 0
    assert sns.asked[1] == sns.asked[0]  # the same Subject, Message and attributes as the failed Publish
    assert (again.tally.redelivered, again.republished, len(again.published)) == (1, 1, 1)
    assert again.metrics()["AlertsRepublished"] == 1
    assert "pending" not in key_item(aws) and "pending_alert" not in key_item(aws)

    aws.requests.clear()  # a third delivery (EventBridge's own retry, say): nothing pending any more
    third = alert_on_event(f.eventbridge_envelope(record), settings(aws), sns, aws.dynamodb, now=NOW + 2 * RETRY)
    assert aws.requests == ["UpdateItem"] * 2
    assert (aws.received(), third.published, third.republished) == ([], [], 0)


def test_a_publish_that_fails_on_every_retry_stays_pending_until_one_succeeds(aws):
    record = f.record("UpdateService", event_time=at(0))
    sns = FlakySns(aws.sns, failing={1, 2, 3})
    for n in range(3):  # the first delivery and Lambda's two retries: then the DLQ, redriven by hand later
        with pytest.raises(AlertsNotPublished):
            alert_on_event(f.eventbridge_envelope(record), settings(aws), sns, aws.dynamodb, now=NOW + n * RETRY)
    assert key_item(aws)["pending"] == {"S": record["eventID"]}
    alert_on_event(f.eventbridge_envelope(record), settings(aws), sns, aws.dynamodb, now=NOW + timedelta(hours=1))
    assert len(aws.received()) == 1
    assert "pending" not in key_item(aws)


def test_a_redelivery_after_a_successful_publish_publishes_nothing_at_two_requests(aws):
    record = f.record("UpdateService", event_time=at(0))
    aws.requests.clear()
    first = alert_on_event(f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb)
    assert aws.requests == ["UpdateItem"] * 5  # 1, 2, 3a, 3b, 4
    assert len(first.published) == 1
    aws.requests.clear()
    again = alert_on_event(f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb)
    assert aws.requests == ["UpdateItem"] * 2  # 1, 1r
    assert len(aws.received()) == 1
    assert (again.tally.redelivered, again.republished, again.published) == (1, 0, [])


def test_a_redelivery_of_an_event_that_did_not_alert_publishes_nothing_at_two_requests(aws):
    alert_on_event(
        f.eventbridge_envelope(f.record("UpdateService", event_time=at(0))), settings(aws), aws.sns, aws.dynamodb
    )
    counted = f.record("UpdateService", event_time=at(5))
    run = alert_on_event(f.eventbridge_envelope(counted), settings(aws), aws.sns, aws.dynamodb)
    assert run.tally.deduplicated == 1
    aws.requests.clear()
    again = alert_on_event(f.eventbridge_envelope(counted), settings(aws), aws.sns, aws.dynamodb)
    assert aws.requests == ["UpdateItem"] * 2
    assert len(aws.received()) == 1 and again.published == []


def test_the_function_dying_after_publish_and_before_clearing_gives_a_duplicate_at_least_once(aws, monkeypatch):
    """Request 4 failing (or the function dying before it) leaves the alert pending: a redelivery publishes it again.
    The documented duplicate of at-least-once delivery; request 4's failure is a problem, not an exception (which
    would make Lambda retry, and publish again, for sure)."""
    record = f.record("UpdateService", event_time=at(0))

    def broken(self: AlertStore, recorded: Any) -> bool:
        raise RuntimeError("DynamoDB: throttled")

    monkeypatch.setattr(AlertStore, "published", broken)
    run = alert_on_event(f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb, now=NOW)
    assert len(run.published) == 1
    assert run.problems == ["alert: published, but still marked pending (RuntimeError: DynamoDB: throttled)"]
    monkeypatch.undo()
    again = alert_on_event(f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb, now=RETRY + NOW)
    assert (again.republished, len(aws.received())) == (1, 2)


def test_the_other_records_of_a_list_are_handled_before_the_failure_is_raised(aws):
    """A bare list of two records (an EventBridge event holds one): the first one's Publish fails, the second alerts
    all the same; the retry of the list publishes the first one's alert only (the second's is a redelivery, done).
    An hour apart: the second is not folded into the first (rule 2's window is 10 minutes)."""
    one = f.record("UpdateService", event_time=at(0))
    two = f.record("DeleteService", event_time=at(3600))
    sns = FlakySns(aws.sns, failing={1})
    with pytest.raises(AlertsNotPublished):
        alert_on_event([one, two], settings(aws), sns, aws.dynamodb, now=NOW + timedelta(hours=1))
    [second] = aws.received()
    assert second["finding"]["actions"][0]["action"] == "apprunner:DeleteService"
    retry = alert_on_event([one, two], settings(aws), sns, aws.dynamodb, now=NOW + timedelta(hours=1) + RETRY)
    [first] = aws.received()
    assert first["finding"]["actions"][0]["action"] == "apprunner:UpdateService"
    assert (retry.tally.redelivered, retry.republished, len(retry.published)) == (2, 1, 1)


def test_two_concurrent_invocations_still_alert_once_and_only_the_winner_is_pending(aws):
    """Both read the key before either claims (requests 1 and 2 of each, then 3 of each): one alert. The winner's
    eventID is the pending one; a redelivery of the loser has nothing to publish. A redelivery of the winner before
    its request 4 publishes nothing within the lease (45 s after the claim: the winner may still be publishing,
    review 2's finding 3), and the winner's alert after it (the winner failed or died: Lambda's retry)."""
    rules = AlertRules()
    store = AlertStore(aws.dynamodb, TABLE, rules)
    finding = finding_of(f.record("UpdateService"))
    winner, loser = Denial.of(finding, "e-win", T0), Denial.of(finding, "e-lose", T0 + timedelta(seconds=1))
    read_win, read_lose = store.record(winner, NOW), store.record(loser, NOW)
    fired = [FiredRule("first_seen", "new"), FiredRule("sensitive_action", "a Write action")]
    outcomes = [store.settle(read_win, fired).outcome, store.settle(read_lose, fired).outcome]
    assert outcomes == ["alert", "count"]
    assert store.record(loser, NOW + RETRY).pending is None
    assert store.record(winner, NOW + timedelta(seconds=44)).pending is None  # within the lease: nothing written
    pending = store.record(winner, NOW + timedelta(seconds=46)).pending  # past it: the retry takes the lease
    assert pending is not None
    assert store.record(winner, NOW + timedelta(seconds=46 + 44)).pending is None  # within the retry's lease
    assert store.record(winner, NOW + timedelta(seconds=46 + 46)).pending is not None
    assert ([r.name for r in pending.rules], pending.suppressed) == (["first_seen", "sensitive_action"], 0)


def test_the_pending_document_keeps_what_publishing_needs_and_is_bounded():
    rules = tuple(FiredRule(name, "why " * 2000) for name in ("first_seen", "burst", "reconnaissance", "root"))
    actions = tuple(f"apprunner:{'X' * 300}{i}" for i in range(500))
    decision = Decision("alert", rules, 7, actions_in_window=actions)
    document = pending_document(decision)
    assert len(document.encode()) <= 4 * (PENDING_REASON_CHARS + 40) + PENDING_ACTIONS * (MAX_ACTION_BYTES + 3) + 40
    again = pending_decision(document)
    assert (again.outcome, [r.name for r in again.rules], again.suppressed) == (
        "alert",
        ["first_seen", "burst", "reconnaissance", "root"],
        7,
    )
    assert all(len(r.reason) == PENDING_REASON_CHARS for r in again.rules)
    assert len(again.actions_in_window) == PENDING_ACTIONS
    assert json.loads(pending_document(Decision("alert", (FiredRule("root", "the root user"),), 0))) == {
        "r": [["root", "the root user"]],
        "c": 0,
        "a": [],
    }
