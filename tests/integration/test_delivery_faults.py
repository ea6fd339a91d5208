"""Delivery when what it writes to is missing (moto): the idempotency table, the report bucket, the SES sender
identity, the SNS topic. Every channel is still tried, each failure is recorded with its reason, and the
command line exits 1 with one standard-error line per failed channel and no traceback (issue 15)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from analysis import cli
from analysis.config import DeliveryConfig
from analysis.delivery import Clients, DeliveryError, deliver
from analysis.delivery.idempotency import DynamoGuard
from tests import reports as r

REGION = "us-east-1"
BUCKET = "access-reports"
SENDER = "reports@example.com"
TABLE = "report-delivery"
CHANNELS = ("email", "sns", "events")


@dataclass
class Aws:
    clients: Clients
    topic_arn: str
    sqs: Any
    events_queue: str

    def config(self, **overrides: Any) -> DeliveryConfig:
        settings = {
            "bucket": BUCKET,
            "sender": SENDER,
            "recipients": ("platform@example.com",),
            "topic_arn": self.topic_arn,
            "event_bus": "default",
            "idempotency_table": TABLE,
        }
        return DeliveryConfig(**(settings | overrides))

    def environment(self) -> dict[str, str]:
        return {
            "REPORT_BUCKET": BUCKET,
            "REPORT_EMAIL_FROM": SENDER,
            "REPORT_EMAIL_TO": "platform@example.com",
            "REPORT_TOPIC_ARN": self.topic_arn,
            "REPORT_EVENT_BUS": "default",
            "IDEMPOTENCY_TABLE": TABLE,
        }

    def mails(self) -> int:
        return len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)

    def events_received(self) -> int:
        answer = self.sqs.receive_message(QueueUrl=self.events_queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        return len(answer.get("Messages", []))


@pytest.fixture
def aws() -> Iterator[Aws]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION, config=Config(signature_version="s3v4"))
        s3.create_bucket(Bucket=BUCKET)
        sesv2 = boto3.client("sesv2", region_name=REGION)
        sesv2.create_email_identity(EmailIdentity=SENDER)
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="access-reports")["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name="reports", EventPattern=json.dumps({"source": ["apprunner-access-auditor"]}))
        events.put_targets(Rule="reports", Targets=[{"Id": "q", "Arn": queue_arn}])
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield Aws(Clients(s3=s3, sesv2=sesv2, sns=sns, events=events, dynamodb=dynamodb), topic, sqs, queue)


def _no_table(aws: Aws) -> None:
    aws.clients.dynamodb.delete_table(TableName=TABLE)


def _no_bucket(aws: Aws) -> None:
    aws.clients.s3.delete_bucket(Bucket=BUCKET)


def _sender_not_verified(aws: Aws) -> None:
    aws.clients.sesv2.delete_email_identity(EmailIdentity=SENDER)


def _no_topic(aws: Aws) -> None:
    aws.clients.sns.delete_topic(TopicArn=aws.topic_arn)


# fault -> the channels that must fail (the others must be sent)
FAULTS: dict[str, tuple[Callable[[Aws], None], set[str]]] = {
    # a claim that cannot be checked is not sent: sending unguarded could repeat on every retry
    "table missing": (_no_table, {"email", "sns", "events"}),
    "bucket missing": (_no_bucket, {"s3"}),
    "sender not verified": (_sender_not_verified, {"email"}),
    "topic missing": (_no_topic, {"sns"}),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_one_missing_resource_fails_its_channels_and_every_other_channel_is_still_tried(aws, fault):
    make_fault, failing = FAULTS[fault]
    make_fault(aws)
    with pytest.raises(DeliveryError) as raised:
        deliver(r.every_kind(), None, aws.clients, aws.config())
    statuses = {o.channel: o.status for o in raised.value.result.outcomes}
    assert {channel for channel, status in statuses.items() if status == "failed"} == failing
    assert {channel for channel, status in statuses.items() if status != "failed"} == set(CHANNELS) - failing
    assert set(statuses.values()) <= {"failed", "sent"}
    assert all(o.detail for o in raised.value.result.failed), "each failure says why"
    assert aws.mails() == (0 if "email" in failing else 1)
    assert aws.events_received() == (0 if "events" in failing else 1)


def test_without_its_table_nothing_is_sent_and_each_channel_names_the_table(aws):
    _no_table(aws)
    with pytest.raises(DeliveryError) as raised:
        deliver(r.every_kind(), None, aws.clients, aws.config())
    for outcome in raised.value.result.failed:
        assert TABLE in (outcome.detail or ""), outcome
    stored = aws.clients.s3.list_objects_v2(Bucket=BUCKET)["KeyCount"]
    assert stored == 5, "the report is still stored: report.json, .html, .md, .csv, .details.csv"


def test_without_its_bucket_the_messages_go_out_without_a_link(aws):
    _no_bucket(aws)
    with pytest.raises(DeliveryError) as raised:
        deliver(r.every_kind(), None, aws.clients, aws.config())
    assert raised.value.result.locations == {} and raised.value.result.link is None
    assert BUCKET in (raised.value.result.outcome("s3").detail or "")


def _cli(aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    for variable, value in aws.environment().items():
        monkeypatch.setenv(variable, value)
    code = cli.main(["report", "--source", "sample", "--deliver", "--format", "csv"])
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(
    ("faults", "failing"),
    [
        (["table missing"], {"email", "sns", "events"}),
        (["bucket missing", "sender not verified", "topic missing"], {"s3", "email", "sns"}),
        (["table missing", "bucket missing"], {"s3", "email", "sns", "events"}),
    ],
)
def test_the_command_line_exits_1_with_one_line_per_failed_channel(aws, monkeypatch, capsys, faults, failing):
    for fault in faults:
        FAULTS[fault][0](aws)
    code, err = _cli(aws, monkeypatch, capsys)
    assert code == cli.EXIT_DELIVERY_FAILED
    assert not any("Traceback" in line for line in err)
    failed = [line for line in err if line.startswith("apprunner-audit: error: delivery: ")]
    assert sorted(line.split()[3] for line in failed) == sorted(failing), err
    assert all("failed" in line for line in failed)
    sent = {line.split()[2] for line in err if line.startswith("apprunner-audit: delivery: ")}
    assert sent == set(CHANNELS) - failing


def test_the_command_line_with_every_resource_present_exits_0(aws, monkeypatch, capsys):
    code, err = _cli(aws, monkeypatch, capsys)
    assert code == 0
    assert [line for line in err if "delivery" in line] == [
        f"apprunner-audit: delivery: {channel} sent" for channel in CHANNELS
    ]


def test_a_send_the_table_could_not_record_is_sent_with_a_warning(aws, monkeypatch, capsys):
    def write_refused(self: DynamoGuard, *args: Any, **kwargs: Any) -> None:  # after the send, the record fails
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}
        raise aws.clients.dynamodb.exceptions.ProvisionedThroughputExceededException(error, "UpdateItem")

    monkeypatch.setattr(DynamoGuard, "complete", write_refused)
    code, err = _cli(aws, monkeypatch, capsys)
    assert code == 0 and aws.mails() == 1, "what went out went out"
    warned = [line for line in err if line.startswith("apprunner-audit: warning: delivery: ")]
    assert sorted(line.split()[3] for line in warned) == sorted(CHANNELS), err
    assert all("sent, " in line and "not recorded in the idempotency table" in line for line in warned)
    assert all("may send it again" in line for line in warned)


def test_delivering_without_an_idempotency_table_warns_in_one_line(aws, monkeypatch, capsys):
    monkeypatch.setattr(Aws, "environment", lambda self: {"REPORT_BUCKET": BUCKET, "REPORT_EVENT_BUS": "default"})
    monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
    code, err = _cli(aws, monkeypatch, capsys)
    assert code == 0
    warned = [line for line in err if "idempotency table" in line]
    assert len(warned) == 1 and warned[0].startswith("apprunner-audit: warning: no idempotency table"), err
    assert "again" in warned[0]


def test_delivering_with_an_idempotency_table_does_not_warn_about_it(aws, monkeypatch, capsys):
    code, err = _cli(aws, monkeypatch, capsys)
    assert code == 0 and not [line for line in err if "warning" in line], err


def test_a_link_that_cannot_be_made_keeps_what_was_stored_and_fails_s3(aws, monkeypatch):
    def no_link(*args: Any, **kwargs: Any) -> None:
        raise ValueError("no console for this partition")

    monkeypatch.setattr("analysis.delivery.s3.link_to", no_link)
    with pytest.raises(DeliveryError) as raised:
        deliver(r.every_kind(), None, aws.clients, aws.config())
    result = raised.value.result
    assert {o.channel: o.status for o in result.outcomes} == {"s3": "failed", **dict.fromkeys(CHANNELS, "sent")}
    assert (result.outcome("s3").detail or "").startswith("stored, but no link to it: ValueError")
    assert set(result.locations) == {"json", "html", "md", "csv", "csv_details"} and result.link is None
    stored = json.loads(aws.clients.s3.get_object(Bucket=BUCKET, Key=result.locations["json"].key)["Body"].read())
    assert {c["channel"]: c["status"] for c in stored["delivery"]["channels"]}["s3"] == "failed"
