"""Suppressions on the alert path (issue 9): ``alert_service.alert_on_event`` with a suppression document, against
moto DynamoDB (the state table template.yaml deploys), SNS read back through SQS, and the document in S3.

By hand from the issue and README: a denial a suppression matches is counted as suppressed (metric
AlertsSuppressed), never published and never written to the alert state (no DynamoDB request); an expired suppression
no longer applies and the run names it; a document that cannot be read suppresses nothing and the run names why.
The stack is tests/integration/test_alert_wiring.py's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from analysis.alert_service import alert_on_event
from analysis.alerting.suppressions import parse_suppressions
from analysis.settings import load_settings
from analysis.suppression_config import SuppressionCache
from tests import factories as f
from tests.integration.test_alert_wiring import Aws as WiringAws

pytestmark = pytest.mark.integration

TABLE = "apprunner-audit-state"
REGION = "us-east-1"
BUCKET = "audit-config"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ALICE = f"arn:aws:iam::{f.ACCOUNT}:user/dev-alice"
SUPPRESS_ALICE_WRITES = {
    "principal": ALICE,
    "action": "apprunner:Update*",
    "reason": "migrating the web service, ticket OPS-12",
    "expires": "2026-12-01",
}


class Aws(WiringAws):
    """test_alert_wiring's stack (the state table, the topic read back through SQS, DynamoDB requests counted) and
    the bucket the suppression document is read from."""

    def __init__(self) -> None:
        super().__init__()
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.create_bucket(Bucket=BUCKET)
        self.requests.clear()


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


def moment(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def document(*entries: dict[str, Any]) -> str:
    return json.dumps({"suppressions": list(entries)})


def test_a_suppressed_denial_is_counted_never_published_and_costs_no_request(aws):
    suppressions = parse_suppressions(document(SUPPRESS_ALICE_WRITES), "s.json", T0)
    record = f.record("UpdateService", event_time=at(0))  # would alert: first seen, and a Write (sensitive)
    run = alert_on_event(
        f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb, suppressions=suppressions, now=moment(0)
    )
    assert aws.received() == []
    assert aws.requests == []  # not recorded in the alert state: no DynamoDB request at all
    summary = run.summary()
    assert (summary["suppressed"], summary["alerts"], summary["denials"]) == (1, 0, 1)
    assert summary["problems"] == [] and summary["expired_suppressions"] == []
    assert run.metrics()["AlertsSuppressed"] == 1
    assert run.metrics()["Alerts"] == 0


def test_what_a_suppression_does_not_match_alerts_as_usual(aws):
    suppressions = parse_suppressions(document(SUPPRESS_ALICE_WRITES), "s.json", T0)
    bob = f.record("UpdateService", identity=f.iam_user("dev-bob"), event_time=at(0))
    delete = f.record("DeleteService", event_time=at(1))  # alice, but not an Update*: AND
    runs = [
        alert_on_event(
            f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb, suppressions=suppressions, now=T0
        )
        for record in (bob, delete)
    ]
    alerts = aws.received()
    assert sorted(alert["finding"]["actions"][0]["action"] for alert in alerts) == [
        "apprunner:DeleteService",
        "apprunner:UpdateService",
    ]
    assert [run.suppressed for run in runs] == [0, 0]
    assert sum(len(run.published) for run in runs) == 2


def test_an_expired_suppression_lets_the_alert_out_and_the_run_names_it(aws):
    suppressions = parse_suppressions(document(SUPPRESS_ALICE_WRITES), "s3://audit-config/s.json", T0)
    after = datetime(2026, 12, 2, tzinfo=UTC)  # "2026-12-01": through that day, so expired exactly from here on
    record = f.record("UpdateService", event_time=after.strftime("%Y-%m-%dT%H:%M:%SZ"))
    run = alert_on_event(
        f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb, suppressions=suppressions, now=after
    )
    [alert] = aws.received()
    assert alert["finding"]["principal"]["arn"] == ALICE
    summary = run.summary()
    assert summary["suppressed"] == 0 and summary["alerts"] == 1
    assert summary["expired_suppressions"] == [
        "suppression suppressions[0] in s3://audit-config/s.json (principal arn:aws:iam::111122223333:user/dev-alice, "
        "action apprunner:Update*): migrating the web service, ticket OPS-12; expires 2026-12-02T00:00:00Z "
        "(through 2026-12-01)"
    ]
    assert run.metrics()["SuppressionsExpired"] == 1
    # a second before its expiry it still applied
    before = alert_on_event(
        f.eventbridge_envelope(f.record("UpdateService", event_time=at(0))),
        settings(aws),
        aws.sns,
        aws.dynamodb,
        suppressions=suppressions,
        now=after - timedelta(seconds=1),
    )
    assert before.suppressed == 1 and before.summary()["expired_suppressions"] == []


def test_a_document_problem_suppresses_nothing_and_the_run_names_it(aws):
    aws.s3.put_object(Bucket=BUCKET, Key="s.json", Body=b'{"suppressions": [{"principal": "*", "reason": "x"')
    cache = SuppressionCache.for_spec(f"s3://{BUCKET}/s.json", s3=aws.s3)
    record = f.record("UpdateService", event_time=at(0))
    run = alert_on_event(
        f.eventbridge_envelope(record), settings(aws), aws.sns, aws.dynamodb, suppressions=cache.current(), now=T0
    )
    assert len(aws.received()) == 1
    [problem] = run.summary()["problems"]
    assert problem.startswith(f"s3://{BUCKET}/s.json: not JSON")
    assert run.summary()["suppressed"] == 0
    # a configuration problem, not a malformed record: its own metric
    assert (run.metrics()["SuppressionProblems"], run.metrics()["MalformedRecords"]) == (1, 0)


def test_a_missing_document_suppresses_nothing_and_the_run_names_it(aws):
    cache = SuppressionCache.for_spec(f"s3://{BUCKET}/missing.json", s3=aws.s3)
    run = alert_on_event(
        f.eventbridge_envelope(f.record("UpdateService", event_time=at(0))),
        settings(aws),
        aws.sns,
        aws.dynamodb,
        suppressions=cache.current(),
        now=T0,
    )
    assert len(aws.received()) == 1
    [problem] = run.summary()["problems"]
    assert problem.startswith(f"s3://{BUCKET}/missing.json: cannot be read (AWS refused GetObject (NoSuchKey)")


def test_a_refused_entry_is_named_and_the_good_ones_still_apply_read_from_s3(aws):
    bad = {"principle": ALICE, "action": "apprunner:Describe*", "reason": "typo", "expires": "2026-12-01"}
    aws.s3.put_object(Bucket=BUCKET, Key="s.json", Body=document(SUPPRESS_ALICE_WRITES, bad).encode())
    suppressions = SuppressionCache.for_spec(f"s3://{BUCKET}/s.json", s3=aws.s3).current()
    runs = [
        alert_on_event(
            f.eventbridge_envelope(f.record(action, event_time=at(i))),
            settings(aws),
            aws.sns,
            aws.dynamodb,
            suppressions=suppressions,
            now=T0,
        )
        for i, action in enumerate(("UpdateService", "DescribeService"))
    ]
    [alert] = aws.received()  # DescribeService: the typo'd entry suppresses nothing; first seen alerts
    assert alert["finding"]["actions"][0]["action"] == "apprunner:DescribeService"
    assert [run.suppressed for run in runs] == [1, 0]
    assert runs[1].summary()["problems"] == [
        f"suppressions[1] in s3://{BUCKET}/s.json: refused: unknown field principle (the fields: account, action, "
        "comment, expires, owner_account, principal, reason)"
    ]


def test_without_the_state_table_a_suppressed_denial_is_not_published_either(aws):
    suppressions = parse_suppressions(document(SUPPRESS_ALICE_WRITES), "s.json", T0)
    run = alert_on_event(
        f.eventbridge_envelope(f.record("UpdateService", event_time=at(0))),
        settings(aws, state=False),
        aws.sns,
        suppressions=suppressions,
        now=T0,
    )
    assert aws.received() == [] and run.suppressed == 1 and run.published == []


def test_a_storm_of_suppressed_denials_costs_nothing(aws):
    suppressions = parse_suppressions(document(SUPPRESS_ALICE_WRITES), "s.json", T0)
    runs = [
        alert_on_event(
            f.eventbridge_envelope(f.record("UpdateService", event_time=at(i))),
            settings(aws),
            aws.sns,
            aws.dynamodb,
            suppressions=suppressions,
            now=moment(i),
        )
        for i in range(50)
    ]
    assert aws.received() == [] and aws.requests == []
    assert sum(run.metrics()["AlertsSuppressed"] for run in runs) == 50


def test_an_owner_account_entry_does_not_hide_a_root_denial_and_a_literal_principal_does(aws):
    """README "What no wildcard silences": the root user's denial alerts despite an entry for its account, and is
    suppressed (no message, no request) by an entry naming arn:aws:iam::ACCOUNT:root."""
    sandbox = {"owner_account": f.ACCOUNT, "reason": "sandbox being closed", "expires": "2026-12-01"}
    root = {"principal": f"arn:aws:iam::{f.ACCOUNT}:root", "reason": "break-glass drill", "expires": "2026-12-01"}
    delete = f.record("DeleteService", identity=f.root(), event_time=at(0))
    run = alert_on_event(
        f.eventbridge_envelope(delete),
        settings(aws),
        aws.sns,
        aws.dynamodb,
        suppressions=parse_suppressions(document(sandbox), "s.json", T0),
        now=T0,
    )
    [alert] = aws.received()
    assert "root" in [rule["name"] for rule in alert["rules"]]
    assert (run.suppressed, run.metrics()["AlertsSuppressed"]) == (0, 0)
    aws.requests.clear()
    again = f.record("DeleteService", identity=f.root(), event_time=at(1))
    run = alert_on_event(
        f.eventbridge_envelope(again),
        settings(aws),
        aws.sns,
        aws.dynamodb,
        suppressions=parse_suppressions(document(sandbox, root), "s.json", T0),
        now=T0,
    )
    assert aws.received() == [] and aws.requests == [] and run.suppressed == 1
