"""The alert state under duplicates, late redeliveries and DynamoDB errors (issue 9, second review's findings 3-6):
review2's four probes made tests, against moto DynamoDB and SNS read back through SQS.

Expected values by hand from the issue ("a redelivered event never counts twice", "two concurrent invocations
cannot both alert") and AWS Lambda's documented retries of an asynchronous invocation (two, a minute and two minutes
after a failure, then the function's dead-letter queue). apprunner:UpdateService first denied fires first_seen and
sensitive_action (a Write action); so does apprunner:DeleteService."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from analysis.alert_service import AlertsNotPublished, AlertStateFailed, alert_on_event
from analysis.alerting.dedup import alert_key
from analysis.alerting.rules import AlertRules, FiredRule
from analysis.alerting.store import AlertStateError, AlertStore, Denial
from tests import factories as f
from tests.integration.test_alert_lost_publish import NOW, RETRY, FlakySns, aws, key_item  # noqa: F401  (fixture)
from tests.integration.test_alert_store import finding_of
from tests.integration.test_alert_wiring import T0, TABLE, at, settings

pytestmark = pytest.mark.integration


def item_of(cloud: Any, record: dict[str, Any]) -> dict[str, Any]:
    """The key item (``alert#<key>``) of a record's denial."""
    answer = cloud.dynamodb.get_item(TableName=TABLE, Key={"id": {"S": "alert#" + alert_key(finding_of(record))}})
    item: dict[str, Any] = answer["Item"]
    return item


class ReentrantSns:
    """The real (moto) SNS client; its first Publish first runs a duplicate delivery of ``event`` (EventBridge's
    at-least-once duplicates come within about a second), ``after`` later on the wall clock, while this one is in
    flight: after request 3b, before request 4."""

    def __init__(self, cloud: Any, event: Any, after: timedelta) -> None:
        self.aws, self.event, self.after = cloud, event, after
        self.duplicate: Any = None

    def publish(self, **request: Any) -> dict[str, Any]:
        if self.duplicate is None:
            duplicate_at = NOW + self.after
            self.duplicate = alert_on_event(self.event, settings(self.aws), self, self.aws.dynamodb, now=duplicate_at)
        answer: dict[str, Any] = self.aws.sns.publish(**request)
        return answer


@pytest.mark.parametrize("after", [timedelta(0), timedelta(seconds=1), timedelta(seconds=30)])
def test_a_duplicate_delivered_while_the_first_is_publishing_publishes_nothing(aws, after):  # noqa: F811
    """Finding 3: before the lease the duplicate saw pending = its eventID (request 1r) and published: 2 messages."""
    event = f.eventbridge_envelope(f.record("UpdateService", event_time=at(0)))
    sns = ReentrantSns(aws, event, after)
    first = alert_on_event(event, settings(aws), sns, aws.dynamodb, now=NOW)
    assert len(aws.received()) == 1
    assert (len(first.published), first.tally.alerts) == (1, 1)
    duplicate = sns.duplicate
    assert (duplicate.published, duplicate.republished, duplicate.tally.redelivered) == ([], 0, 1)
    assert duplicate.metrics()["EventsRedelivered"] == 1
    assert "pending" not in key_item(aws)  # the first one's request 4 cleared it
    later = alert_on_event(event, settings(aws), aws.sns, aws.dynamodb, now=NOW + RETRY)
    assert (later.published, aws.received()) == ([], [])


def test_a_duplicate_of_a_failing_invocation_leaves_the_alert_to_its_retry(aws):  # noqa: F811
    """The first delivery's Publish fails; a duplicate 2 s after its claim publishes nothing (the first may still be
    publishing); Lambda's retry of the failed one a minute later publishes the alert once."""
    event = f.eventbridge_envelope(f.record("UpdateService", event_time=at(0)))
    sns = FlakySns(aws.sns, failing={1})
    with pytest.raises(AlertsNotPublished):
        alert_on_event(event, settings(aws), sns, aws.dynamodb, now=NOW)
    duplicate = alert_on_event(event, settings(aws), sns, aws.dynamodb, now=NOW + timedelta(seconds=2))
    assert (duplicate.published, duplicate.republished) == ([], 0)
    retry = alert_on_event(event, settings(aws), sns, aws.dynamodb, now=NOW + RETRY)
    assert (len(retry.published), retry.republished) == (1, 1)
    assert len(aws.received()) == 1


def test_a_late_redelivery_publishes_its_pending_alert_once_and_is_not_counted_again(aws):  # noqa: F811
    """Finding 4: the principal's item moved on (a denial 30 min later clears the first one's bucket), then the failed
    event is redriven from the dead-letter queue an hour later: request 2 finds its alert pending (not counted), 1r
    republishes it; a second redrive sends nothing."""
    first = f.record("UpdateService", event_time=at(0))
    sns = FlakySns(aws.sns, failing={1})
    with pytest.raises(AlertsNotPublished):
        alert_on_event(f.eventbridge_envelope(first), settings(aws), sns, aws.dynamodb, now=NOW)
    counted_before = item_of(aws, first)["counted"]
    later = f.record("DescribeService", event_time=at(1800))
    alert_on_event(f.eventbridge_envelope(later), settings(aws), sns, aws.dynamodb, now=NOW + timedelta(minutes=30))
    [describe] = aws.received()  # DescribeService alerts on its own key (first_seen)
    assert describe["finding"]["actions"][0]["action"] == "apprunner:DescribeService"
    aws.requests.clear()
    redrive = f.eventbridge_envelope(first)
    again = alert_on_event(redrive, settings(aws), sns, aws.dynamodb, now=NOW + timedelta(hours=1))
    [alert] = aws.received()
    assert alert["finding"]["actions"][0]["action"] == "apprunner:UpdateService"
    assert [rule["name"] for rule in alert["rules"]] == ["first_seen", "sensitive_action"]
    assert (again.tally.redelivered, again.tally.deduplicated, again.republished) == (1, 0, 1)
    # 1 (not recognised: appended again), 1b (a late event: appended without clearing), 2 (failed: pending), 1r, 4
    assert aws.requests == ["UpdateItem"] * 5
    assert item_of(aws, first)["counted"] == counted_before  # not counted twice
    assert "pending" not in item_of(aws, first)
    twice = alert_on_event(redrive, settings(aws), sns, aws.dynamodb, now=NOW + timedelta(hours=2))
    assert (twice.published, aws.received()) == ([], [])
    assert item_of(aws, first)["counted"] == counted_before


class FailingOnce:
    """Makes the moto DynamoDB client's ``n``-th UpdateItem (1-based, counted from now) raise ``code`` before it is
    sent, as DynamoDB does when throttled past botocore's retries (ProvisionedThroughputExceededException)."""

    def __init__(self, cloud: Any, n: int, code: str = "ProvisionedThroughputExceededException") -> None:
        self.n, self.code, self.calls = n, code, 0
        cloud.dynamodb.meta.events.register("before-call.dynamodb.UpdateItem", self)

    def __call__(self, **_: Any) -> None:
        self.calls += 1
        if self.calls == self.n:
            raise ClientError({"Error": {"Code": self.code, "Message": "throttled"}}, "UpdateItem")


def principal_item(cloud: Any) -> dict[str, Any]:
    items = cloud.dynamodb.scan(TableName=TABLE)["Items"]
    [item] = [i for i in items if i["id"]["S"].startswith("alert#p-")]
    return item


def test_a_failed_key_claim_fails_the_invocation_and_leaves_no_principal_marker(aws):  # noqa: F811
    """Finding 5, the reviewer's probe: request 3 (the key's claim, 3b, the third UpdateItem: 1, 2, 3b) fails. Before:
    MalformedRecords 1, the invocation succeeded, 3a's markers named an alert never sent and DeleteService a minute
    later was folded into it (no alert at all). Now: AlertStateFailed (StateErrors 1, MalformedRecords 0), no marker
    (3b comes before 3a), and DeleteService alerts on its own."""
    first = f.record("UpdateService", event_time=at(0))
    FailingOnce(aws, 3)
    with pytest.raises(AlertStateFailed, match="1 record") as raised:
        alert_on_event(f.eventbridge_envelope(first), settings(aws), aws.sns, aws.dynamodb, now=NOW)
    assert isinstance(raised.value.__cause__, AlertStateError)
    assert "ProvisionedThroughputExceededException" in str(raised.value.__cause__)
    metrics = raised.value.run.metrics()
    assert (metrics["StateErrors"], metrics["MalformedRecords"], metrics["Alerts"]) == (1, 0, 0)
    assert raised.value.run.problems[0].startswith("alert state: DynamoDB UpdateItem:")
    held = principal_item(aws)
    assert not {"latest_alerted_at", "principal_alerted_at"} & set(held)
    assert not {"alerted_at", "pending"} & set(item_of(aws, first))
    second = f.record("DeleteService", event_time=at(60))
    run = alert_on_event(f.eventbridge_envelope(second), settings(aws), aws.sns, aws.dynamodb, now=NOW + RETRY)
    [alert] = aws.received()
    assert alert["finding"]["actions"][0]["action"] == "apprunner:DeleteService"
    assert (len(run.published), run.tally.folded) == (1, 0)


def test_a_failed_principal_claim_after_the_key_claim_is_published_by_the_retry(aws):  # noqa: F811
    """Request 3a (the fourth UpdateItem: 1, 2, 3b, 3a) fails after the key's claim: the invocation fails, the alert
    is pending, Lambda's retry a minute later publishes it once (its markers never written: later alerts of the
    principal are not folded into it, more alerts rather than fewer)."""
    first = f.record("UpdateService", event_time=at(0))
    FailingOnce(aws, 4)
    with pytest.raises(AlertStateFailed):
        alert_on_event(f.eventbridge_envelope(first), settings(aws), aws.sns, aws.dynamodb, now=NOW)
    assert item_of(aws, first)["pending"] == {"S": first["eventID"]}
    retry = alert_on_event(f.eventbridge_envelope(first), settings(aws), aws.sns, aws.dynamodb, now=NOW + RETRY)
    [alert] = aws.received()
    assert [rule["name"] for rule in alert["rules"]] == ["first_seen", "sensitive_action"]
    assert (retry.republished, retry.metrics()["StateErrors"]) == (1, 0)


def test_a_state_error_on_one_record_leaves_the_others_handled_then_fails(aws):  # noqa: F811
    """A bare list of two records: the first one's request 1 fails, the second alerts all the same; AlertStateFailed
    wins over nothing else to raise; the retry of the list alerts the first (request 1 had written nothing)."""
    one = f.record("UpdateService", event_time=at(0))
    two = f.record("DeleteService", event_time=at(3600))
    FailingOnce(aws, 1, code="InternalServerError")
    with pytest.raises(AlertStateFailed) as raised:
        alert_on_event([one, two], settings(aws), aws.sns, aws.dynamodb, now=NOW)
    assert (raised.value.run.state_problems, len(raised.value.run.published)) == (1, 1)
    [second] = aws.received()
    assert second["finding"]["actions"][0]["action"] == "apprunner:DeleteService"
    retry = alert_on_event([one, two], settings(aws), aws.sns, aws.dynamodb, now=NOW + RETRY)
    [first] = aws.received()
    assert first["finding"]["actions"][0]["action"] == "apprunner:UpdateService"
    assert (len(retry.published), retry.tally.redelivered) == (1, 1)


def test_a_failed_clearing_request_is_a_state_error_but_not_a_failed_invocation(aws):  # noqa: F811
    """Request 4 (the fifth UpdateItem) fails after Publish: the alert is out, counted in StateErrors, no exception
    (a retry would publish it again for sure); a redelivery past the lease publishes it again (the documented
    duplicate)."""
    first = f.record("UpdateService", event_time=at(0))
    FailingOnce(aws, 5)
    run = alert_on_event(f.eventbridge_envelope(first), settings(aws), aws.sns, aws.dynamodb, now=NOW)
    assert (len(run.published), run.metrics()["StateErrors"]) == (1, 1)
    assert run.problems[0].startswith("alert: published, but still marked pending (AlertStateError")


def test_the_loser_of_a_same_key_race_writes_no_principal_marker(aws):  # noqa: F811
    """Finding 6, the reviewer's probe: A and B (one key) read before either claims; A fires first_seen, B also burst.
    A wins; B loses the key's claim (3b, now before 3a) and writes no marker. Before: B took 3a again with
    {first_seen, burst}, lost 3b, and a DeleteService two hours later was folded into that unpublished burst alert."""
    store = AlertStore(aws.dynamodb, TABLE, AlertRules())
    finding = finding_of(f.record("UpdateService"))
    a, b = Denial.of(finding, "e-a", T0), Denial.of(finding, "e-b", T0 + timedelta(seconds=1))
    ra, rb = store.record(a, NOW), store.record(b, NOW)
    assert store.settle(ra, [FiredRule("first_seen", "new")]).outcome == "alert"
    lost = store.settle(rb, [FiredRule("first_seen", "new"), FiredRule("burst", "10 in 5 min")])
    assert (lost.outcome, lost.why) == ("count", "a concurrent invocation alerted for the key")
    other = store.record(Denial.of(finding_of(f.record("DeleteService")), "e-c", T0 + timedelta(hours=2)), NOW)
    assert other.principal is None  # no sweep marker: nobody alerted for a burst
    later = store.settle(other, [FiredRule("first_seen", "new"), FiredRule("sensitive_action", "Write")])
    assert later.outcome == "alert"
