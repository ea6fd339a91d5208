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

from analysis.alert_service import AlertsNotPublished, alert_on_event
from analysis.alerting.dedup import alert_key
from tests import factories as f
from tests.integration.test_alert_lost_publish import NOW, RETRY, FlakySns, aws, key_item  # noqa: F401  (fixture)
from tests.integration.test_alert_store import finding_of
from tests.integration.test_alert_wiring import TABLE, at, settings

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
