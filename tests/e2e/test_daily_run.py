"""The daily job as an operator runs it from the command line: the sample day read from S3 trail files,
counted once in a ledger, delivered to S3, SES, SNS and EventBridge (moto server on loopback), and not
sent twice when run again."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.ses.models import ses_backends

from analysis.sources.files import bundled_sample_path
from scripts.sample_day.scenarios import SCENARIOS

REGION = "us-east-1"
TRAIL_BUCKET = "org-trail"
REPORT_BUCKET = "access-reports"


@pytest.fixture(scope="module")
def aws():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    clients = {
        name: session.client(name, endpoint_url=endpoint)
        for name in ("s3", "sesv2", "sns", "sqs", "events", "dynamodb")
    }
    _upload_sample_day(clients["s3"])
    queues = _delivery_targets(clients)
    yield env, clients, queues
    server.stop()


def _upload_sample_day(s3) -> None:
    s3.create_bucket(Bucket=TRAIL_BUCKET)
    root = bundled_sample_path()
    for path in sorted(root.rglob("*.json.gz")):
        s3.put_object(Bucket=TRAIL_BUCKET, Key=str(path.relative_to(root)), Body=path.read_bytes())


def _delivery_targets(clients) -> dict[str, str]:
    clients["s3"].create_bucket(Bucket=REPORT_BUCKET)
    clients["sesv2"].create_email_identity(EmailIdentity="reports@example.com")
    sqs = clients["sqs"]
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("sns-inbox", "events-inbox")}
    arns = {
        name: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for name, url in urls.items()
    }
    topic = clients["sns"].create_topic(Name="access-reports")["TopicArn"]
    clients["sns"].subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arns["sns-inbox"], Attributes={"RawMessageDelivery": "true"}
    )
    clients["events"].put_rule(
        Name="reports", EventPattern=json.dumps({"detail-type": ["App Runner Access Report Published"]})
    )
    clients["events"].put_targets(Rule="reports", Targets=[{"Id": "q", "Arn": arns["events-inbox"]}])
    clients["dynamodb"].create_table(
        TableName="report-delivery",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return {"topic": topic, **urls}


def _run(env, *args, tmp: Path):
    delivery = {
        "REPORT_BUCKET": REPORT_BUCKET,
        "REPORT_EMAIL_FROM": "reports@example.com",
        "REPORT_EMAIL_TO": "platform@example.com",
        "IDEMPOTENCY_TABLE": "report-delivery",
        "REPORT_EVENT_BUS": "default",
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "report",
            "--source",
            f"s3://{TRAIL_BUCKET}",
            "--day",
            "2026-11-28",
            "--ledger",
            str(tmp / "ledger"),
            "--trusted-accounts",
            "123456789012",
            *args,
        ],
        env={**env, **delivery},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp,
    )


def _sample_records() -> int:
    """Records in the sample day's trail files; each file was delivered within the day's read window (the day, its
    2-day lookback and 6-hour margin), as its name says, so the run reads every one."""
    records = 0
    for path in bundled_sample_path().rglob("*.json.gz"):
        delivered = datetime.strptime(re.search(r"_(\d{8}T\d{4}Z)_", path.name).group(1), "%Y%m%dT%H%MZ")
        assert datetime(2026, 11, 26) <= delivered <= datetime(2026, 11, 29, 6), path.name
        records += len(json.loads(gzip.decompress(path.read_bytes()))["Records"])
    return records


def _messages(sqs, url):
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [m["Body"] for m in found]


def test_the_daily_job_reads_s3_counts_once_and_delivers_once(aws, tmp_path):
    env, clients, queues = aws
    env = {**env, "REPORT_TOPIC_ARN": queues["topic"]}
    mailed = len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)  # other modules share moto's backends
    first = _run(env, "--deliver", "--format", "json", tmp=tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["totals"]["denials"] == sum(scenario.count for scenario in SCENARIOS)  # the day's App Runner denials
    assert report["totals"]["records_read"] == _sample_records()
    assert report["sources"][0]["status"] == "ok"
    assert {c["channel"]: c["status"] for c in report["delivery"]["channels"]} == {
        "email": "sent",
        "sns": "sent",
        "events": "sent",
    }

    keys = {o["Key"] for o in clients["s3"].list_objects_v2(Bucket=REPORT_BUCKET)["Contents"]}
    assert keys == {f"reports/2026/11/28/report.{ext}" for ext in ("json", "html", "md", "csv", "details.csv")}
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    assert len(sent) == mailed + 1
    assert len(_messages(clients["sqs"], queues["sns-inbox"])) == 1
    [event] = [json.loads(b) for b in _messages(clients["sqs"], queues["events-inbox"])]
    assert event["detail"]["totals"]["denials"] == report["totals"]["denials"]

    again = _run(env, "--deliver", "--format", "json", tmp=tmp_path)
    assert again.returncode == 0, again.stderr
    rerun = json.loads(again.stdout)
    assert {c["channel"]: c["status"] for c in rerun["delivery"]["channels"]} == {
        "email": "already_sent",
        "sns": "already_sent",
        "events": "already_sent",
    }
    assert len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages) == mailed + 1, "not mailed twice"
    assert rerun["totals"]["denials"] == report["totals"]["denials"], (
        "a rerun rebuilds the same day from the ledger's claims"
    )


def test_a_missing_bucket_is_a_failed_source_and_exit_2(aws, tmp_path):
    env, _, _ = aws
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "report", "--source", "s3://no-such-bucket", "--day", "2026-11-28"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "no-such-bucket" in done.stderr and done.stdout == ""
