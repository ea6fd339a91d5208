"""The alert path with its state (issue 9): ``alert_service.alert_on_event`` with the rules, the de-duplication and the
DynamoDB store, against moto DynamoDB (the table template.yaml deploys) and SNS read back through SQS.

Expected values are counted by hand from the issue: a key alerts at most once per 24 hours with the rules that
fired; the events after it in the period are counted and carried by the key's next alert; a redelivered eventID is
counted once; what is no denial is ignored and counted. apprunner:UpdateService is a Write action in the IAM
catalog (Service Authorization Reference), apprunner:DescribeService a Read one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from analysis.alert_service import NO_STATE, WITH_STATE, alert_on_event
from analysis.settings import load_settings
from tests import factories as f
from tests.stack import source_template

pytestmark = pytest.mark.integration

TABLE = "apprunner-audit-state"
REGION = "us-east-1"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
STATE_TABLE = source_template()["Resources"]["StateTable"]["Properties"]


class Aws:
    def __init__(self) -> None:
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.sns = boto3.client("sns", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.requests: list[str] = []
        self.filtered: list[str] = []
        self.dynamodb.meta.events.register("before-call.dynamodb.*", self._seen)
        self.dynamodb.create_table(
            TableName=TABLE,
            BillingMode=STATE_TABLE["BillingMode"],
            AttributeDefinitions=STATE_TABLE["AttributeDefinitions"],
            KeySchema=STATE_TABLE["KeySchema"],
        )
        self.topic = self.sns.create_topic(Name="alerts")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]
        self.sns.subscribe(
            TopicArn=self.topic,
            Protocol="sqs",
            Endpoint=queue_arn["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        self.requests.clear()

    def _seen(self, event_name: str, **_: Any) -> None:
        self.requests.append(event_name.rsplit(".", 1)[-1])

    def received(self, queue: str | None = None) -> list[dict[str, Any]]:
        return [body for body, _ in self.received_with_attributes(queue)]

    def received_with_attributes(self, queue: str | None = None) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """Each message's body and its message attributes (raw delivery hands SNS's to SQS as they were)."""
        queue = queue or self.queue
        messages = []
        while batch := self.sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for m in batch:
                attributes = {name: value["StringValue"] for name, value in m.get("MessageAttributes", {}).items()}
                messages.append((json.loads(m["Body"]), attributes))
                self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        return messages

    def filtered_queue(self, filter_policy: dict[str, Any]) -> str:
        """A second subscriber that takes only what its filter policy (on the message attributes) lets through."""
        queue = self.sqs.create_queue(QueueName=f"filtered-{len(self.filtered)}")["QueueUrl"]
        self.filtered.append(queue)
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
        self.sns.subscribe(
            TopicArn=self.topic,
            Protocol="sqs",
            Endpoint=queue_arn["QueueArn"],
            Attributes={"RawMessageDelivery": "true", "FilterPolicy": json.dumps(filter_policy)},
        )
        return queue


@pytest.fixture
def aws(monkeypatch) -> Iterator[Aws]:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    with mock_aws():
        yield Aws()


def settings(aws: Aws, *, state: bool = True):
    return load_settings({}, alert_topic_arn=aws.topic, state_table=TABLE if state else None)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_storm_alerts_once_with_its_rules_and_the_next_period_carries_the_count(aws):
    runs = [
        alert_on_event(
            f.eventbridge_envelope(f.record("UpdateService", event_time=at(i))), settings(aws), aws.sns, aws.dynamodb
        )
        for i in range(100)
    ]
    [alert] = aws.received()
    assert [rule["name"] for rule in alert["rules"]] == ["first_seen", "sensitive_action"]
    assert "apprunner:UpdateService is a Write action" in alert["rules"][1]["reason"]
    assert alert["events_since_last_alert"] == 0
    assert alert["finding"]["actions"][0]["action"] == "apprunner:UpdateService"
    assert sum(len(run.published) for run in runs) == 1
    assert sum(run.tally.deduplicated for run in runs) == 99
    assert [run.metrics()["AlertsDeduplicated"] for run in runs[:2]] == [0, 1]
    assert runs[0].summary()["deduplication"] == WITH_STATE

    # a day later (the default period: 24 h): the key alerts again and carries the 99 it did not alert for
    later = f.record("UpdateService", event_time=at(24 * 3600 + 1))
    run = alert_on_event(f.eventbridge_envelope(later), settings(aws), aws.sns, aws.dynamodb)
    [next_alert] = aws.received()
    assert [rule["name"] for rule in next_alert["rules"]] == ["sensitive_action"]  # seen the day before
    assert next_alert["events_since_last_alert"] == 99
    assert run.tally.alerts == 1


def test_a_redelivered_event_is_counted_once(aws):
    record = f.record("UpdateService", event_time=at(0))
    first = alert_on_event(f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb)
    again = alert_on_event(f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb)
    assert len(aws.received()) == 1
    assert (first.tally.alerts, first.tally.redelivered) == (1, 0)
    assert (again.tally.alerts, again.tally.deduplicated, again.tally.redelivered) == (0, 0, 1)
    assert again.metrics()["EventsRedelivered"] == 1 and again.published == []
    # counted once: a third, new event of the key is the only one the next period's alert carries
    alert_on_event(
        f.eventbridge_envelope(f.record("UpdateService", event_time=at(60))), settings(aws), aws.sns, aws.dynamodb
    )
    later = f.record("UpdateService", event_time=at(24 * 3600 + 1))
    alert_on_event(f.eventbridge_envelope(later), settings(aws), aws.sns, aws.dynamodb)
    [next_alert] = aws.received()
    assert next_alert["events_since_last_alert"] == 1


def test_a_success_routed_by_mistake_is_ignored_counted_and_costs_no_request(aws):
    success = f.record("UpdateService", error_code=None, event_time=at(0))
    run = alert_on_event(f.eventbridge_envelope(success), settings(aws), aws.sns, aws.dynamodb)
    assert aws.received() == []
    assert run.denials == 0 and run.published == []
    assert run.tally.ignored == {"not_denial": 1}
    assert run.metrics()["EventsIgnored"] == 1
    assert aws.requests == []


def test_an_event_that_does_not_alert_costs_two_requests(aws):
    alert_on_event(f.eventbridge_envelope(f.record(event_time=at(0))), settings(aws), aws.sns, aws.dynamodb)
    aws.requests.clear()
    alert_on_event(f.eventbridge_envelope(f.record(event_time=at(1))), settings(aws), aws.sns, aws.dynamodb)
    assert aws.requests == ["UpdateItem", "UpdateItem"]


def test_without_the_state_table_every_denial_is_published_as_before(aws):
    runs = [
        alert_on_event(
            f.eventbridge_envelope(f.record("UpdateService", event_time=at(i))),
            settings(aws, state=False),
            aws.sns,
            aws.dynamodb,
        )
        for i in range(3)
    ]
    alerts = aws.received()
    assert len(alerts) == 3
    assert all("rules" not in alert and "events_since_last_alert" not in alert for alert in alerts)
    assert all(run.summary()["deduplication"] == NO_STATE for run in runs)
    assert aws.requests == []


def test_an_alert_carries_the_attributes_subscribers_filter_on(aws):
    """dev-alice (the factories' IAM user in 111122223333) denied apprunner:UpdateService, a Write action, for want
    of an allow: medium (docs/CONTRACT.md); first seen and sensitive fire, first_seen listed first."""
    high_only = aws.filtered_queue({"severity": ["high", "critical"]})
    first_seen = aws.filtered_queue({"rule": ["first_seen"], "account": [f.ACCOUNT]})
    record = f.record("UpdateService", event_time=at(0))
    alert_on_event(f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb)
    [(alert, attributes)] = aws.received_with_attributes()
    assert attributes == {
        "severity": "medium",
        "rule": "first_seen",
        "account": f.ACCOUNT,
        "principal": f"arn:aws:iam::{f.ACCOUNT}:user/dev-alice",
    }
    assert alert["rules"][0]["name"] == "first_seen"
    assert aws.received(high_only) == []  # a subscriber for high and critical alerts only is not woken
    assert aws.received(first_seen) == [alert]  # one for new denials in its account is


def test_without_the_state_table_an_alert_has_no_rule_attribute(aws):
    alert_on_event(f.eventbridge_envelope(f.record(event_time=at(0))), settings(aws, state=False), aws.sns)
    [(_, attributes)] = aws.received_with_attributes()
    assert attributes == {
        "severity": "low",  # apprunner:DescribeService is a Read action
        "account": f.ACCOUNT,
        "principal": f"arn:aws:iam::{f.ACCOUNT}:user/dev-alice",
    }


def test_a_reconnaissance_alerts_once_for_the_principal_and_folds_the_rest_at_two_requests_each(aws):
    """dev-alice, denied each of App Runner's 14 read actions two days before (seen: first_seen does not fire), sweeps
    them again 40 s apart (9 min), then tries apprunner:CreateService, refused by an SCP. By hand, with the defaults
    (reconnaissance 10 distinct actions in 10 minutes, burst 10 denials in 5): denials 1-9 fire nothing (at most 8
    in any 5 minutes, at most 9 actions); the 10th fires reconnaissance and alerts for the principal; 11-14 fire it
    too and are folded into that alert; CreateService fires first_seen, sensitive_action, reconnaissance (folded)
    and org_policy, which the principal's alert did not list: it alerts on its own. Requests: 2 for each event that
    does not alert, 5 for each alert (request 3a: the principal's markers, the sweep's and the newest, or the
    newest only; 3b the key's, with the alert pending; 4 after Publish: no longer pending)."""
    day0 = -2 * 24 * 3600
    for i, action in enumerate(f.APPRUNNER_READ_EVENTS):
        record = f.record(action, event_time=at(day0 + i * 3600))
        alert_on_event(f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb)
    assert len(aws.received()) == 14  # first seen, one hour apart
    user = f.iam_user()
    scp = "with an explicit deny in a service control policy"
    sweep = [f.record(action, event_time=at(i * 40)) for i, action in enumerate(f.APPRUNNER_READ_EVENTS)]
    sweep.append(
        f.record(
            "CreateService",
            event_time=at(570),
            error_message=f.message(user["arn"], "apprunner:CreateService", f.service_arn(), scp),
        )
    )
    requests, runs = [], []
    for record in sweep:
        aws.requests.clear()
        runs.append(alert_on_event(f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb))
        requests.append(len(aws.requests))
    assert requests == [2] * 9 + [5] + [2] * 4 + [5]
    assert [len(run.published) for run in runs] == [0] * 9 + [1] + [0] * 4 + [1]
    assert sum(run.tally.ignored.get("no_rule", 0) for run in runs) == 9
    assert (sum(run.tally.deduplicated for run in runs), sum(run.tally.folded for run in runs)) == (4, 4)
    recon, own = aws.received()
    assert recon["finding"]["actions"][0]["action"] == "apprunner:DescribeCustomDomains"
    assert [rule["name"] for rule in recon["rules"]] == ["reconnaissance"]
    assert "10 distinct actions" in recon["rules"][0]["reason"]
    assert own["finding"]["actions"][0]["action"] == "apprunner:CreateService"
    assert [rule["name"] for rule in own["rules"]] == ["first_seen", "sensitive_action", "reconnaissance", "org_policy"]
    # the daily report's advice for a principal over the reconnaissance threshold (docs/CONTRACT.md: investigate
    # wins over every other kind), not the "grant" one event alone would give
    assert [alert["finding"]["remedy"]["kind"] for alert in (recon, own)] == ["investigate", "investigate"]
    assert "Fix: do not grant: investigate" in recon["body"]


def test_a_protected_denial_a_suppression_matches_is_alerted_and_counted_as_overridden(aws):
    """The root user's denial, matched by an entry on its action alone, cannot be hidden by it
    (``suppressions.protected``: root; the entry does not name the principal): it alerts, and the run counts it in
    ``suppression_overridden``. The same entry hides dev-alice's denial of the action (not protected: a service of
    her own account), which is not counted there."""
    from analysis.alerting.suppressions import Suppression, Suppressions

    entry = Suppression("known noise", T0 + timedelta(days=30), action=("apprunner:DescribeService",))
    suppressions = Suppressions((entry,))
    root = f.record("DescribeService", identity=f.root(), event_time=at(0))
    alice = f.record("DescribeService", event_time=at(60))
    runs = [
        alert_on_event(
            f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb, suppressions=suppressions, now=T0
        )
        for record in (root, alice)
    ]
    assert [(len(run.published), run.suppressed, run.suppression_overridden) for run in runs] == [(1, 0, 1), (0, 1, 0)]
    assert runs[0].summary()["suppression_overridden"] == 1 and runs[0].metrics()["SuppressionsOverridden"] == 1
