"""Delivery against moto: S3 objects, the email read back from SES, SNS through an SQS subscription, the
EventBridge event through a rule with an SQS target, and exactly once per window through DynamoDB."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

import boto3
import pytest
from botocore.config import Config
from bs4 import BeautifulSoup
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from analysis.config import DeliveryConfig
from analysis.contract import as_report
from analysis.delivery import Clients, DeliveryError, deliver
from analysis.delivery.events import DETAIL_TYPE
from analysis.delivery.idempotency import DynamoGuard, delivery_key
from analysis.delivery.sns import chatbot_message
from tests import reports as r

REGION = "us-east-1"
BUCKET = "access-reports"
SENDER = "reports@example.com"
RECIPIENTS = ("platform@example.com", "security@example.com")
TABLE = "report-delivery"
SOURCE = "apprunner-access-auditor"


@dataclass
class Aws:
    clients: Clients
    sqs: Any
    topic_arn: str
    sns_queue: str
    events_queue: str

    def config(self, **overrides: Any) -> DeliveryConfig:
        settings = {
            "bucket": BUCKET,
            "sender": SENDER,
            "recipients": RECIPIENTS,
            "topic_arn": self.topic_arn,
            "event_bus": "default",
            "idempotency_table": TABLE,
        }
        return DeliveryConfig(**(settings | overrides))

    def emails(self) -> list[Any]:
        return [
            message_from_bytes(
                m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data, policy=policy.default
            )
            for m in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        ]

    def received(self, queue: str) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        bodies = [json.loads(m["Body"]) for m in messages.get("Messages", [])]
        for m in messages.get("Messages", []):
            self.sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        return bodies

    def objects(self) -> dict[str, dict[str, Any]]:
        listed = self.clients.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        return {o["Key"]: self.clients.s3.head_object(Bucket=BUCKET, Key=o["Key"]) for o in listed}

    def stored(self, key: str = "reports/2026/11/28/report.json") -> dict[str, Any]:
        return json.loads(self.clients.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@pytest.fixture
def aws():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION, config=Config(signature_version="s3v4"))  # as delivery makes it
        s3.create_bucket(Bucket=BUCKET)
        sesv2 = boto3.client("sesv2", region_name=REGION)
        sesv2.create_email_identity(EmailIdentity=SENDER)
        sqs = boto3.client("sqs", region_name=REGION)
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="access-reports")["TopicArn"]
        sns_queue, sns_queue_arn = _queue(sqs, "sns-subscriber")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sns_queue_arn)
        events = boto3.client("events", region_name=REGION)
        events_queue, events_queue_arn = _queue(sqs, "event-subscriber")
        events.put_rule(Name="reports", EventPattern=json.dumps({"source": [SOURCE], "detail-type": [DETAIL_TYPE]}))
        events.put_targets(Rule="reports", Targets=[{"Id": "queue", "Arn": events_queue_arn}])
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        clients = Clients(s3=s3, sesv2=sesv2, sns=sns, events=events, dynamodb=dynamodb)
        yield Aws(clients, sqs, topic, sns_queue, events_queue)


def test_s3_holds_every_format_encrypted_and_the_record_of_what_was_sent(aws):
    report = r.every_kind()
    result = deliver(report, None, aws.clients, aws.config())
    objects = aws.objects()
    assert sorted(objects) == [
        f"reports/2026/11/28/report.{fmt}" for fmt in ("csv", "details.csv", "html", "json", "md")
    ]
    assert {head["ServerSideEncryption"] for head in objects.values()} == {"AES256"}
    assert objects["reports/2026/11/28/report.html"]["ContentType"] == "text/html; charset=utf-8"
    stored = aws.stored()
    assert stored["findings"] == as_report(report).document()["findings"]
    channels = {c["channel"]: c for c in stored["delivery"]["channels"]}
    assert {name: c["status"] for name, c in channels.items()} == {"email": "sent", "sns": "sent", "events": "sent"}
    assert channels["email"]["message_id"] == result.outcome("email").message_id
    assert stored["delivery"]["objects"]["html"] == f"s3://{BUCKET}/reports/2026/11/28/report.html"


def test_s3_with_a_kms_key(aws):
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    deliver(r.every_kind(), None, aws.clients, aws.config(kms_key_id=key))
    heads = aws.objects().values()
    assert {h["ServerSideEncryption"] for h in heads} == {"aws:kms"}
    assert {h["SSEKMSKeyId"] for h in heads} == {key}


def test_the_email_has_text_html_and_both_attachments(aws):
    report = r.every_kind()
    deliver(report, None, aws.clients, aws.config())
    (mail,) = aws.emails()
    assert mail["Subject"] == "App Runner access report 2026-11-28: 33 denial(s), 7 finding(s)"
    assert mail["From"] == SENDER and mail["To"] == ", ".join(RECIPIENTS)
    assert mail.get_content_type() == "multipart/mixed"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "Full report: https://s3.console.aws.amazon.com/" in text
    assert "App Runner access report 2026-11-28" in text and "# App Runner" not in text  # plain text, not Markdown
    page = BeautifulSoup(html, "html.parser")
    assert len(page.select("[data-finding]")) == 7 and page.find("script") is None
    assert page.find("a", href=lambda h: h and "s3.console.aws.amazon.com" in h) is not None
    attachments = {part.get_filename(): part for part in mail.iter_attachments()}
    assert sorted(attachments) == ["apprunner-access-report-2026-11-28.csv", "apprunner-access-report-2026-11-28.json"]
    attached = json.loads(attachments["apprunner-access-report-2026-11-28.json"].get_content())
    assert attached["findings"] == as_report(report).document()["findings"]
    rows = list(csv.DictReader(io.StringIO(attachments["apprunner-access-report-2026-11-28.csv"].get_content())))
    assert len(rows) == sum(len(f["actions"]) for f in report["findings"])


def test_past_the_size_limit_the_email_links_the_console_page_instead_of_attaching(aws):
    report = r.every_kind()
    for finding in report["findings"]:
        finding["principal"]["sessions"] = [f"session-{n:05d}-" + "s" * 40 for n in range(400)]
    result = deliver(report, None, aws.clients, aws.config(email_max_bytes=200_000))
    (mail,) = aws.emails()
    assert list(mail.iter_attachments()) == []
    html = mail.get_body(preferencelist=("html",)).get_content()
    link = BeautifulSoup(html, "html.parser").find("a", string="open in S3")["href"]
    # The S3 console's object page (the reader signs in): bucket, region and the key URL-encoded.
    assert link == f"https://s3.console.aws.amazon.com/s3/object/{BUCKET}?region={REGION}" + (
        "&prefix=reports%2F2026%2F11%2F28%2Freport.html"
    )
    assert "are not attached; the link above leads to them" in html and "needs read access to the bucket" in html
    assert len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages[0].raw_data) <= 200_000
    assert "over the 200,000-byte limit" in result.outcome("email").detail


def test_no_message_carries_the_senders_credentials(aws):
    """Issue 15: a presigned link would put the signer's access key ID, session token and signature in every
    inbox and subscription. Mail and SNS carry the console link; nothing in them signs a request."""
    key_id = aws.clients.s3._request_signer._credentials.get_frozen_credentials().access_key
    report = r.every_kind()
    report["findings"][0]["principal"]["sessions"] = ["s" * 300_000]  # past the limit: the linked email
    deliver(report, None, aws.clients, aws.config(email_max_bytes=200_000, sns_format="text"))
    sent = [m.raw_data for m in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages]
    sent = [m.decode() if isinstance(m, bytes) else m for m in sent]
    sent += [n["Message"] for n in aws.received(aws.sns_queue)]
    assert len(sent) == 2 and all("s3.console.aws.amazon.com" in message for message in sent)
    for message in sent:
        assert key_id not in message and "X-Amz-" not in message and "Signature=" not in message


def test_presigned_links_are_refused_by_the_settings():
    with pytest.raises(ValueError, match="presigned"):  # ConfigError, naming REPORT_LINK_MODE
        DeliveryConfig(bucket=BUCKET, link_mode="presigned")


def test_the_sns_notice_arrives_through_an_sqs_subscription(aws):
    deliver(r.every_kind(), None, aws.clients, aws.config())
    (notification,) = aws.received(aws.sns_queue)
    assert len(notification["Subject"]) < 100 and notification["Subject"].isascii()
    body = notification["Message"]
    assert len(body.encode()) < 8 * 1024
    assert "33 denial(s) · 7 principal(s) · 7 finding(s)" in body
    # Reconnaissance is critical (docs/CONTRACT.md, severity) and the most denials among the critical ones.
    assert "1. [critical] arn:aws:iam::111122223333:user/scanner: 12 denial(s): Do not grant: investigate" in body
    assert "Full report: https://s3.console.aws.amazon.com/s3/object/access-reports?" in body
    assert "needs read access to the bucket" in body


def test_the_sns_notice_in_chatbot_format(aws):
    deliver(r.hostile(), None, aws.clients, aws.config(sns_format="chatbot"))
    (notification,) = aws.received(aws.sns_queue)
    chat = json.loads(notification["Message"])
    assert chat["version"] == "1.0" and chat["source"] == "custom"
    assert chat["content"]["textType"] == "client-markdown"
    assert chat["content"]["title"] == "App Runner access report 2026-11-28"
    assert chat["metadata"]["relatedResources"] == [f"arn:aws:s3:::{BUCKET}/reports/2026/11/28/report.json"]
    assert "<" not in chat["content"]["description"] and "`" not in chat["content"]["description"]


def test_chatbot_message_of_an_empty_day():
    chat = json.loads(chatbot_message(as_report(r.empty_day()), None))
    assert "No App Runner denials between" in chat["content"]["description"]
    assert chat["content"]["nextSteps"] == []


def test_the_event_arrives_through_a_rule_with_an_sqs_target(aws):
    report = r.every_kind()
    deliver(report, None, aws.clients, aws.config())
    (event,) = aws.received(aws.events_queue)
    assert event["detail-type"] == DETAIL_TYPE and event["source"] == SOURCE
    detail = event["detail"]
    assert detail["totals"]["denials"] == report["totals"]["denials"] and detail["day"] == "2026-11-28"
    kinds = [finding["remedy"]["kind"] for finding in report["findings"] if finding["remedy"]]  # one has none
    assert detail["findings_by_kind"] == {kind: kinds.count(kind) for kind in kinds}
    assert detail["report"] == {
        "bucket": BUCKET,
        "key": "reports/2026/11/28/report.json",
        "uri": f"s3://{BUCKET}/reports/2026/11/28/report.json",
        "objects": {
            **{fmt: f"s3://{BUCKET}/reports/2026/11/28/report.{fmt}" for fmt in ("json", "html", "md", "csv")},
            "csv_details": f"s3://{BUCKET}/reports/2026/11/28/report.details.csv",
        },
    }
    assert event["resources"] == [f"arn:aws:s3:::{BUCKET}/reports/2026/11/28/report.json"]


def test_running_again_for_the_same_window_sends_nothing_and_force_resends(aws):
    report = r.every_kind()
    deliver(report, None, aws.clients, aws.config())
    assert len(aws.emails()) == 1 and len(aws.received(aws.sns_queue)) == 1 and len(aws.received(aws.events_queue)) == 1

    again = deliver(report, None, aws.clients, aws.config())
    assert {o.channel: o.status for o in again.outcomes} == {
        "email": "already_sent",
        "sns": "already_sent",
        "events": "already_sent",
    }
    assert len(aws.emails()) == 1 and aws.received(aws.sns_queue) == [] and aws.received(aws.events_queue) == []
    first_id = again.outcome("email").message_id
    assert first_id == ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages[0].id
    assert {c["status"] for c in aws.stored()["delivery"]["channels"]} == {"already_sent"}

    forced = deliver(report, None, aws.clients, aws.config(), force=True)
    assert {o.status for o in forced.outcomes} == {"sent"} and all(o.forced for o in forced.outcomes)
    assert len(aws.emails()) == 2 and len(aws.received(aws.sns_queue)) == 1 and len(aws.received(aws.events_queue)) == 1


def test_another_day_is_another_window(aws):
    deliver(r.every_kind(), None, aws.clients, aws.config())
    next_day = r.every_kind()
    next_day["window"] = {"start": "2026-11-29T00:00:00Z", "end": "2026-11-30T00:00:00Z"}
    result = deliver(next_day, None, aws.clients, aws.config())
    assert {o.status for o in result.outcomes} == {"sent"} and len(aws.emails()) == 2
    assert "reports/2026/11/29/report.html" in aws.objects()


def test_a_failed_channel_is_retried_and_only_it_is_sent_again(aws):
    report = r.every_kind()
    config = aws.config(sender="unverified@example.org")
    with pytest.raises(DeliveryError, match="email") as raised:
        deliver(report, None, aws.clients, config)
    assert {o.channel: o.status for o in raised.value.result.outcomes} == {
        "email": "failed",
        "sns": "sent",
        "events": "sent",
    }
    assert aws.emails() == [] and len(aws.received(aws.sns_queue)) == 1
    assert {c["channel"]: c["status"] for c in aws.stored()["delivery"]["channels"]}["email"] == "failed"

    aws.clients.sesv2.create_email_identity(EmailIdentity="unverified@example.org")
    retried = deliver(report, None, aws.clients, config)
    assert {o.channel: o.status for o in retried.outcomes} == {
        "email": "sent",
        "sns": "already_sent",
        "events": "already_sent",
    }
    assert len(aws.emails()) == 1 and aws.received(aws.sns_queue) == []


def test_a_claim_left_in_progress_blocks_until_its_lease_ends(aws):
    report = r.every_kind()
    guard = DynamoGuard(aws.clients.dynamodb, TABLE, lease=timedelta(minutes=15))
    crashed_at = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    assert guard.claim(
        delivery_key(as_report(report), "email"), now=crashed_at
    ).granted  # a run that died before sending

    with pytest.raises(DeliveryError) as during:  # held by another run: not delivered, and said so
        deliver(report, None, aws.clients, aws.config(), now=crashed_at + timedelta(minutes=5))
    assert during.value.result.outcome("email").status == "in_progress" and aws.emails() == []
    after = deliver(report, None, aws.clients, aws.config(), now=crashed_at + timedelta(minutes=16))
    assert after.outcome("email").status == "sent" and len(aws.emails()) == 1


def test_an_empty_day_is_stored_and_announced_to_automation_but_emailed_only_if_asked(aws):
    quiet = deliver(r.empty_day(), None, aws.clients, aws.config(send_empty=False))
    assert {o.channel: o.status for o in quiet.outcomes} == {"email": "skipped", "sns": "skipped", "events": "sent"}
    assert aws.emails() == [] and aws.received(aws.sns_queue) == []
    assert aws.received(aws.events_queue)[0]["detail"]["totals"]["denials"] == 0
    assert (
        "No App Runner denials between"
        in aws.clients.s3.get_object(Bucket=BUCKET, Key="reports/2026/11/28/report.html")["Body"].read().decode()
    )

    sent = deliver(r.empty_day(), None, aws.clients, aws.config(send_empty=True))
    assert sent.outcome("email").status == "sent"
    (mail,) = aws.emails()
    assert mail["Subject"] == "App Runner access report 2026-11-28: no denials"
    assert "No App Runner denials between" in mail.get_body(preferencelist=("plain",)).get_content()


def test_without_a_table_every_run_sends_and_says_it_was_unguarded(aws):
    config = aws.config(idempotency_table=None)
    deliver(r.every_kind(), None, aws.clients, config)
    result = deliver(r.every_kind(), None, aws.clients, config)
    assert len(aws.emails()) == 2 and not any(o.guarded for o in result.outcomes)


def test_channels_not_configured_are_not_used(aws):
    result = deliver(r.every_kind(), {"md": "given"}, aws.clients, DeliveryConfig(bucket=BUCKET))
    assert result.outcomes == [] and aws.emails() == []
    md = aws.clients.s3.get_object(Bucket=BUCKET, Key="reports/2026/11/28/report.md")["Body"].read()
    assert md == b"given"  # what the caller rendered is what is stored


def test_the_guard_reads_back_what_it_wrote_as_plain_values(aws):
    guard = DynamoGuard(aws.clients.dynamodb, TABLE)
    key, at = "report#apprunner#2026-11-28@UTC#email", datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    first = guard.claim(key, now=at)
    assert first.granted and first.previous == {}
    guard.complete(first, {"message_id": "m-1", "detail": None, "forced": False}, now=at)

    again = guard.claim(key, now=at + timedelta(hours=1))
    assert not again.granted
    assert again.previous == {
        "id": key,
        "status": "sent",
        "token": first.token,
        "claimed_at": "2026-11-29T06:00:00Z",
        "sent_at": "2026-11-29T06:00:00Z",
        "lease_until": int((at + timedelta(minutes=15)).timestamp()),
        "expires_at": int((at + timedelta(days=400)).timestamp()),
        "forced": False,
        "attempts": 1,
        "result": {"message_id": "m-1", "detail": None, "forced": False},
    }
    forced = guard.claim(key, force=True, now=at + timedelta(hours=2))
    assert forced.granted and forced.previous["attempts"] == 1 and type(forced.previous["attempts"]) is int
    guard.release(forced, "MessageRejected: address is not verified", now=at + timedelta(hours=2))
    retried = guard.claim(key, now=at + timedelta(hours=3))
    assert retried.granted and retried.previous["status"] == "failed" and retried.previous["attempts"] == 2
    assert retried.previous["error"] == "MessageRejected: address is not verified"
