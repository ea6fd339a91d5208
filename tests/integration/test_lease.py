"""A run killed between a send and its record (moto): the claim stays ``in_progress`` until its lease ends.
A run inside the lease must say so and fail (exit 1 on the command line, a metric and an error in the Lambda),
never report success with the email unsent; a Lambda's lease is its remaining time (issue 15)."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from analysis import cli
from analysis.config import DeliveryConfig
from analysis.delivery import Clients, DeliveryError, default_clients, deliver
from analysis.delivery import s3 as delivery_s3
from analysis.delivery.idempotency import ClaimTakenOver, DynamoGuard
from tests import reports as r

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
TABLE = "state"
BUCKET = "reports"
SENDER = "reports@example.com"
# tests/reports.py's report: the window 2026-11-28T00:00:00Z to 2026-11-29T00:00:00Z, service apprunner;
# delivery_key's documented form is report#SERVICE#START/END#CHANNEL.
REPORT_EMAIL_KEY = "report#apprunner#2026-11-28T00:00:00Z/2026-11-29T00:00:00Z#email"
# The daily function's report of 2026-11-28 in UTC: report#SERVICE#DAY@ZONE#CHANNEL.
DAILY_EMAIL_KEY = "report#apprunner#2026-11-28@UTC#email"


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@pytest.fixture
def aws() -> Iterator[Clients]:
    with mock_aws():
        clients = default_clients(boto3.session.Session(region_name=REGION))
        clients.s3.create_bucket(Bucket=BUCKET)
        clients.sesv2.create_email_identity(EmailIdentity=SENDER)
        clients.dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield clients


def _mails() -> int:
    return len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def _config() -> DeliveryConfig:
    return DeliveryConfig(sender=SENDER, recipients=("platform@example.com",), idempotency_table=TABLE)


def _record(clients: Clients, key: str) -> dict[str, Any]:
    item = clients.dynamodb.get_item(TableName=TABLE, Key={"id": {"S": key}})["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def test_a_lambda_claim_holds_for_the_invocation_s_remaining_time(aws):
    at = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    guard = DynamoGuard(aws.dynamodb, TABLE, lease=timedelta(hours=1), time_left=lambda: 120_000)
    assert guard.claim(REPORT_EMAIL_KEY, now=at).granted
    # 120 s left in the invocation, plus the 5 s margin for clocks: 06:02:05, not the fixed hour
    assert int(_record(aws, REPORT_EMAIL_KEY)["lease_until"]) == _epoch(datetime(2026, 11, 29, 6, 2, 5, tzinfo=UTC))


def test_delivery_registers_the_remaining_time_so_a_killed_run_is_taken_over_when_lambda_stops_it(aws):
    killed_at = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    # the killed run: claimed with 60 s left, then stopped before sending or recording (lease to 06:01:05)
    killed = DynamoGuard(aws.dynamodb, TABLE, lease=timedelta(minutes=15), time_left=lambda: 60_000)
    assert killed.claim(REPORT_EMAIL_KEY, now=killed_at).granted

    with pytest.raises(DeliveryError) as held:
        deliver(r.every_kind(), None, aws, _config(), now=killed_at + timedelta(seconds=30), time_left=lambda: 900_000)
    assert held.value.result.outcome("email").status == "in_progress" and _mails() == 0
    assert "until 2026-11-29T06:01:05Z" in (held.value.result.outcome("email").detail or "")

    # at 06:01:06 the lease has ended (the fixed 15 minutes would still hold it)
    after = deliver(
        r.every_kind(), None, aws, _config(), now=killed_at + timedelta(seconds=66), time_left=lambda: 900_000
    )
    assert after.outcome("email").status == "sent" and _mails() == 1


def test_a_run_inside_another_s_lease_fails_and_says_until_when(aws):
    at = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    assert DynamoGuard(aws.dynamodb, TABLE, lease=timedelta(minutes=15)).claim(REPORT_EMAIL_KEY, now=at).granted
    with pytest.raises(DeliveryError, match="in_progress") as held:
        deliver(r.every_kind(), None, aws, _config(), now=at + timedelta(minutes=1))
    detail = held.value.result.outcome("email").detail or ""
    assert "claimed it at 2026-11-29T06:00:00Z" in detail and "until 2026-11-29T06:15:00Z" in detail
    assert "killed" in detail
    assert held.value.result.in_progress == held.value.result.undelivered


def test_the_command_line_inside_another_run_s_lease_exits_1_with_one_line(aws, monkeypatch, capsys):
    now = datetime.now(UTC).replace(microsecond=0)
    key = "report#apprunner#2026-11-28T00:00:00Z/2026-11-29T00:00:00Z#email"  # --day 2026-11-28, UTC
    assert DynamoGuard(aws.dynamodb, TABLE, lease=timedelta(hours=1)).claim(key, now=now).granted
    for variable, value in {
        "REPORT_EMAIL_FROM": SENDER,
        "REPORT_EMAIL_TO": "platform@example.com",
        "IDEMPOTENCY_TABLE": TABLE,
    }.items():
        monkeypatch.setenv(variable, value)

    code = cli.main(["report", "--source", "sample", "--day", "2026-11-28", "--deliver", "--format", "csv"])

    err = capsys.readouterr().err.splitlines()
    assert code == cli.EXIT_DELIVERY_FAILED and _mails() == 0
    held = [line for line in err if "in_progress" in line]
    assert len(held) == 1, err
    until = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert held[0].startswith("apprunner-audit: error: delivery: email in_progress: ")
    assert f"until {until}" in held[0] and "killed" in held[0]


# --- the daily function ---------------------------------------------------------------------------


@dataclass
class Context:
    remaining_ms: int
    function_name: str = "daily-report"
    memory_limit_in_mb: int = 1769
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:daily-report"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def _daily_handler(monkeypatch: pytest.MonkeyPatch) -> Any:
    """functions/daily_report/app.py, imported fresh in the environment template.yaml gives it."""
    for variable, value in {
        "TRAIL_SOURCE": "sample",
        "STATE_TABLE": TABLE,
        "REPORT_BUCKET": BUCKET,
        "REPORT_EMAIL_FROM": SENDER,
        "REPORT_EMAIL_TO": "platform@example.com",
        "IDEMPOTENCY_TABLE": TABLE,
        "IDEMPOTENCY_LEASE_SECONDS": "960",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "daily-report",
    }.items():
        monkeypatch.setenv(variable, value)
    spec = importlib.util.spec_from_file_location(f"app_{uuid.uuid4().hex}", ROOT / "functions/daily_report/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def _metrics(stdout: str) -> dict[str, float]:
    """The values of the embedded-metric-format lines Powertools printed."""
    values: dict[str, float] = {}
    for line in stdout.splitlines():
        if line.startswith("{") and "_aws" in line:
            document = json.loads(line)
            for definition in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = document[definition["Name"]]
                values[definition["Name"]] = value[0] if isinstance(value, list) else value
    return values


def test_the_daily_function_leases_its_claims_for_its_remaining_time(aws, monkeypatch, capsys):
    handler = _daily_handler(monkeypatch)
    handler({"day": "2026-11-28"}, Context(remaining_ms=300_000))
    record = _record(aws, DAILY_EMAIL_KEY)
    claimed = _epoch(datetime.strptime(record["claimed_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC))
    # 300 s left plus the 5 s margin; claimed_at is cut to the second, the lease rounded up to it
    assert int(record["lease_until"]) - claimed in (305, 306)
    assert _metrics(capsys.readouterr().out)["DeliveryInProgress"] == 0


def test_the_daily_function_inside_another_run_s_lease_fails_with_a_metric(aws, monkeypatch, capsys):
    now = datetime.now(UTC)
    assert DynamoGuard(aws.dynamodb, TABLE, lease=timedelta(hours=1)).claim(DAILY_EMAIL_KEY, now=now).granted
    handler = _daily_handler(monkeypatch)
    with pytest.raises(DeliveryError, match="in_progress"):  # Lambda retries it; the errors alarm sees it
        handler({"day": "2026-11-28"}, Context(remaining_ms=600_000))
    metrics = _metrics(capsys.readouterr().out)
    assert metrics["DeliveryInProgress"] == 1 and metrics["DeliveryFailures"] == 0
    assert _mails() == 0


def test_the_daily_function_without_its_bucket_still_sends_then_fails_with_a_metric(aws, monkeypatch, capsys):
    aws.s3.delete_bucket(Bucket=BUCKET)
    handler = _daily_handler(monkeypatch)
    with pytest.raises(DeliveryError, match="s3 failed"):
        handler({"day": "2026-11-28"}, Context(remaining_ms=600_000))
    assert _mails() == 1, "the email went out without its link"
    assert _metrics(capsys.readouterr().out)["DeliveryFailures"] == 1


class Killed(BaseException):
    """The process stopped (Lambda's timeout, SIGKILL): nothing after it runs, not even except Exception."""


def test_killed_between_the_send_and_its_record_a_rerun_fails_inside_the_lease_and_sends_again_after(aws, monkeypatch):
    """The at-least-once edge: what was sent but never recorded is sent again once the lease ends."""
    at = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)

    def killed(*args: Any, **kwargs: Any) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(DynamoGuard, "complete", killed)
        with pytest.raises(Killed):
            deliver(r.every_kind(), None, aws, _config(), now=at, time_left=lambda: 120_000)
    assert _mails() == 1 and _record(aws, REPORT_EMAIL_KEY)["status"] == "in_progress"

    with pytest.raises(DeliveryError, match="in_progress"):  # 06:01: inside the lease (to 06:02:05)
        deliver(r.every_kind(), None, aws, _config(), now=at + timedelta(minutes=1))
    assert _mails() == 1

    again = deliver(r.every_kind(), None, aws, _config(), now=at + timedelta(minutes=3))  # after it
    assert again.outcome("email").status == "sent" and _mails() == 2, "sent twice: at least once, not exactly"


def test_a_lambda_claim_made_after_slow_uploads_still_holds_until_the_invocation_ends(aws, monkeypatch):
    """The lease is the time left when the claim is made: S3 uploads that took 8 s must not shorten it."""
    clock = {"now": datetime(2026, 11, 29, 6, 0, tzinfo=UTC)}
    deadline = clock["now"] + timedelta(seconds=60)  # Lambda stops the invocation at 06:01:00

    class Clock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return clock["now"]

    real_put = delivery_s3.put_reports

    def slow_put(*arguments: Any, **keywords: Any) -> Any:
        clock["now"] += timedelta(seconds=8)
        return real_put(*arguments, **keywords)

    monkeypatch.setattr("analysis.delivery.datetime", Clock)
    monkeypatch.setattr(delivery_s3, "put_reports", slow_put)
    time_left = lambda: (deadline - clock["now"]).total_seconds() * 1000  # noqa: E731 - Lambda's context method
    deliver(r.every_kind(), None, aws, DeliveryConfig(**{**_config().__dict__, "bucket": BUCKET}), time_left=time_left)
    # claimed at 06:00:08 with 52 s left: held until 06:01:00 plus the 5 s clock margin (not 06:00:57)
    assert int(_record(aws, REPORT_EMAIL_KEY)["lease_until"]) == _epoch(deadline + timedelta(seconds=5))


def test_a_run_whose_claim_was_taken_over_says_the_channel_may_have_gone_twice(aws):
    """Killed-and-retried is not the only edge: a run slower than its lease finds, when it records its send,
    that another run took the claim over. It must say so, not report the channel sent and recorded."""
    at = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    slow = DynamoGuard(aws.dynamodb, TABLE, lease=timedelta(seconds=30))
    claim = slow.claim(REPORT_EMAIL_KEY, now=at)
    retry = DynamoGuard(aws.dynamodb, TABLE, lease=timedelta(minutes=15))
    assert retry.claim(REPORT_EMAIL_KEY, now=at + timedelta(seconds=31)).granted  # the lease had ended
    with pytest.raises(ClaimTakenOver, match="may have been sent twice"):
        slow.complete(claim, {"message_id": "m-1"}, now=at + timedelta(seconds=40))
    assert _record(aws, REPORT_EMAIL_KEY)["status"] == "in_progress"  # the retry's claim stands
