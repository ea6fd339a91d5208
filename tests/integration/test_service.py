"""The application layer under the CLI and the handlers (analysis.service), against moto."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from analysis.alert_service import alert_on_event
from analysis.config import DeliveryConfig
from analysis.delivery import Clients
from analysis.ledger_stores import FileLedger
from analysis.service import (
    AllSourcesFailed,
    DailyRequest,
    RequestError,
    WindowRequest,
    deliver_run,
    report_window,
    run_daily,
    run_window,
)
from analysis.settings import load_settings
from scripts.sample_day.scenarios import SCENARIOS
from tests import factories as f

REGION = "us-east-1"
SAMPLE_DAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
# scripts/SAMPLE_DAY.md: the accounts of the sample organization, which --redact must hide
SAMPLE_ACCOUNTS = ("111122223333", "444455556666", "777788889999", "210987654321", "123456789012")


@pytest.fixture
def aws():
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        session.client("s3").create_bucket(Bucket="reports")
        session.client("sesv2").create_email_identity(EmailIdentity="reports@example.com")
        yield session


def test_the_sample_day_gives_its_documented_figures():
    run = run_window(WindowRequest(("sample",), day=SAMPLE_DAY), load_settings({}), now=NOW)
    # README and scripts/SAMPLE_DAY.md: 4,739 records, 82 App Runner denials, 20 findings
    assert run.metrics() == {
        "RecordsRead": 4739,
        "MalformedRecords": 0,
        "Denials": 82,
        "LateDenials": 0,
        "Findings": 20,
        "SourcesFailed": 0,
        "DeliveryFailures": 0,
        "DeliveryInProgress": 0,
    }
    assert run.report.document()["generated_at"] == "2026-11-29T06:00:00Z"


def test_what_is_sent_with_redaction_is_redacted(aws):
    settings = load_settings({}, redact=True)
    run = run_window(WindowRequest(("sample",), day=SAMPLE_DAY), settings, now=NOW)
    config = DeliveryConfig(bucket="reports", sender="reports@example.com", recipients=("platform@example.com",))
    clients = Clients(s3=aws.client("s3"), sesv2=aws.client("sesv2"))
    delivered = deliver_run(run, config, clients, now=NOW)
    assert delivered.delivery_error is None
    stored = aws.client("s3").get_object(Bucket="reports", Key="reports/2026/11/28/report.json")["Body"].read()
    [mail] = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    for sent in (stored.decode(), mail.raw_data, delivered.report.dumps()):
        assert not [account for account in SAMPLE_ACCOUNTS if account in sent]
        assert "dev-alice" not in sent
    assert json.loads(stored)["redacted"] is True


def test_every_source_failing_is_an_error_not_an_empty_report(aws):
    with pytest.raises(AllSourcesFailed, match="every source failed") as raised:
        run_window(WindowRequest(("s3://no-such-bucket",), day=SAMPLE_DAY), load_settings({}), session=aws, now=NOW)
    assert raised.value.statuses[0].status == "failed"


def test_aws_sources_default_to_the_last_24_hours_and_files_to_everything():
    window = report_window(WindowRequest(), ["s3://trail"], NOW)
    assert (window.start, window.end) == (NOW - timedelta(hours=24), NOW)
    window = report_window(WindowRequest(), ["sample"], NOW)
    assert (window.start, window.end) == (None, None)
    with pytest.raises(RequestError):
        report_window(WindowRequest(day=SAMPLE_DAY, since=NOW), ["sample"], NOW)
    with pytest.raises(RequestError):
        report_window(WindowRequest(since=NOW, until=NOW), ["sample"], NOW)


@pytest.mark.parametrize(
    ("event", "day"),
    [
        ({"day": "2026-11-28"}, date(2026, 11, 28)),
        ({}, None),
        ({"source": "scheduler"}, None),
        ([], None),
        (None, None),
    ],
)
def test_a_scheduled_event_names_a_day_or_none(event, day):
    assert DailyRequest.from_event(event).day == day


@pytest.mark.parametrize("day", ["20261128", "2026-W48-6", 20261128, "2026-11-28T00:00", "2026-02-30"])
def test_a_day_must_be_written_yyyy_mm_dd(day):
    with pytest.raises(RequestError):
        DailyRequest.from_event({"day": day})


@pytest.mark.parametrize("day", [date(2026, 11, 29), date(2026, 12, 25)])
def test_a_day_that_has_not_ended_is_refused_before_anything_is_claimed_or_sent(day, tmp_path):
    with pytest.raises(RequestError, match="has not ended"):
        run_daily(DailyRequest(day, ("sample",)), load_settings({}), FileLedger(tmp_path), now=NOW)
    assert list(tmp_path.iterdir()) == [], "the ledger claimed nothing"


@pytest.mark.parametrize("day", [date(1, 1, 1), date(2013, 11, 12)])
def test_a_scheduled_day_before_cloudtrail_is_refused_before_anything_is_claimed(day, tmp_path):
    with pytest.raises(RequestError, match="before CloudTrail existed"):
        run_daily(DailyRequest.from_event({"day": day.isoformat()}), load_settings({}), FileLedger(tmp_path), now=NOW)
    assert list(tmp_path.iterdir()) == [], "the ledger claimed nothing"


@pytest.mark.parametrize(("day", "why"), [(date(9999, 12, 31), "not begun"), (date(1, 1, 1), "before CloudTrail")])
def test_a_window_s_day_cloudtrail_cannot_have_logged_is_refused(day, why):
    with pytest.raises(RequestError, match=why):
        run_window(WindowRequest(("sample",), day=day), load_settings({}), now=NOW)


def test_a_daily_run_without_a_day_reports_the_day_that_just_ended_in_its_zone(tmp_path):
    # 2026-11-29 06:00 UTC is 2026-11-28 22:00 in Los Angeles: the day that just ended there is the 27th
    settings = load_settings({}, time_zone="America/Los_Angeles")
    run = run_daily(DailyRequest(sources=("sample",)), settings, FileLedger(tmp_path), now=NOW)
    assert run.report.document()["daily"]["key"] == "2026-11-27"
    assert run.report.document()["window"] == {"start": "2026-11-27T08:00:00Z", "end": "2026-11-28T08:00:00Z"}
    utc = run_daily(DailyRequest(sources=("sample",)), load_settings({}), FileLedger(tmp_path / "utc"), now=NOW)
    assert utc.report.document()["daily"]["key"] == "2026-11-28"
    assert utc.report.document()["totals"]["denials"] == sum(scenario.count for scenario in SCENARIOS)


# --- the alert path --------------------------------------------------------------------------------


@pytest.fixture
def topic(aws):
    sns, sqs = aws.client("sns"), aws.client("sqs")
    arn = sns.create_topic(Name="alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    return arn, sns, sqs, queue


def _received(sqs, queue) -> list[dict]:
    return [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    ]


def test_an_alert_carries_the_remedy_the_daily_report_would_give(topic):
    arn, sns, sqs, queue = topic
    record = f.record(
        "CreateService",
        identity=f.assumed_role("Deploy", account=f.OTHER_ACCOUNT),
        request={"serviceName": "web"},
        recipient=f.OTHER_ACCOUNT,
        error_message=f.message(
            f"arn:aws:sts::{f.OTHER_ACCOUNT}:assumed-role/Deploy/jane",
            "iam:PassRole",
            f"arn:aws:iam::{f.OTHER_ACCOUNT}:role/AppRunnerInstanceRole",
        ),
    )
    run = alert_on_event(f.eventbridge_envelope(record), load_settings({}, alert_topic_arn=arn), sns)
    assert (run.records, run.denials, len(run.published)) == (1, 1, 1)
    [alert] = _received(sqs, queue)
    finding = alert["finding"]
    assert finding["actions"][0]["action"] == "iam:PassRole"
    statement = finding["remedy"]["policy"]["Statement"][0]
    # docs/CONTRACT.md: iam:PassRole alone, on the role the message names, with iam:PassedToService
    assert statement["Action"] == "iam:PassRole"
    assert statement["Resource"] == f"arn:aws:iam::{f.OTHER_ACCOUNT}:role/AppRunnerInstanceRole"
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "apprunner.amazonaws.com"}}
    # alerting.message.alert_subject: severity high (iam:PassRole refused, docs/CONTRACT.md), the role's short name,
    # the action, and why it was refused in the terminal summary's few words (advice_words.REASON_SHORT)
    assert alert["subject"] == "apprunner alert [high]: role/Deploy denied iam:PassRole (no policy allows it)"
    assert alert["severity"] == "high" and alert["body"].startswith("Who: role/Deploy (arn:aws:iam::")


@pytest.mark.parametrize(
    "record",
    [
        f.record("DescribeService", error_code=None),
        f.record("DescribeService", error_code="ThrottlingException"),
        f.record("DescribeServices", event_source="ecs.amazonaws.com"),
    ],
    ids=["success", "throttled", "another service"],
)
def test_no_alert_for_what_is_no_denial_of_the_audited_service(topic, record):
    arn, sns, sqs, queue = topic
    run = alert_on_event(f.eventbridge_envelope(record), load_settings({}, alert_topic_arn=arn), sns)
    assert (run.records, run.denials, run.published) == (1, 0, [])
    assert _received(sqs, queue) == []


def test_an_unreadable_event_is_counted_not_dropped_silently(topic):
    arn, sns, _, _ = topic
    envelope = {**f.eventbridge_envelope(f.record()), "detail": "not an object"}
    run = alert_on_event(envelope, load_settings({}, alert_topic_arn=arn), sns)
    assert run.denials == 0 and len(run.problems) == 1 and "detail is not an object" in run.problems[0]
    assert run.metrics()["MalformedRecords"] == 1


def test_a_redacted_alert_names_no_account(topic):
    arn, sns, sqs, queue = topic
    run = alert_on_event(f.eventbridge_envelope(f.record()), load_settings({}, alert_topic_arn=arn, redact=True), sns)
    assert len(run.published) == 1
    body = json.dumps(_received(sqs, queue))
    assert f.ACCOUNT not in body and "dev-alice" not in body


def test_the_lambda_time_left_becomes_the_query_sources_deadline():
    """A handler's remaining time reaches Athena's and Lake's polling: they stop 60 s before the end."""
    from analysis.service import deadline_of, open_sources, read_options

    deadline = deadline_of(lambda: 300_000, clock=lambda: 1_000.0)
    assert deadline == 1_000.0 + 300 - 60
    assert deadline_of(None) is None
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        options = read_options(load_settings({}), session, deadline)
        window = report_window(WindowRequest(day=SAMPLE_DAY), ["athena:audit.trail"], NOW)
        [athena] = open_sources(["athena:audit.trail"], window, options)
        [lake] = open_sources(["lake:EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"], window, options)
    assert athena.backoff.deadline == lake.backoff.deadline == 1_240.0


def test_an_access_key_in_a_principal_name_is_masked_before_the_alert_subject_is_cut(topic):
    """The subject is cut at 99 characters: cut first, a key glued into a user name left 'AKIAIOSF' in the
    mail subject and SNS notification, past the reach of the mask (issue 15)."""
    arn, sns, sqs, queue = topic
    # "apprunner alert [low]: user/" is 28 characters and the name's 63 x's 63 more, so a cut at 99 before masking
    # would keep 8 characters of the key ("AKIAIOSF"); masked first, the key is "AKIA" and 12 stars, cut after 8
    record = f.record(identity=f.iam_user("x" * 63 + "AKIAIOSFODNN7EXAMPLE"))
    alert_on_event(f.eventbridge_envelope(record), load_settings({}, alert_topic_arn=arn), sns)
    [alert] = _received(sqs, queue)
    assert alert["subject"] == "apprunner alert [low]: user/" + "x" * 63 + "AKIA" + "*" * 4
    assert "AKIAIOSF" not in json.dumps(alert) and "IOSFODNN7" not in json.dumps(alert)


class _BrokenPartWay:
    """A source that yields one record, then fails (as a bug or an unreadable object would)."""

    name = "s3://trail/AWSLogs/"

    def read(self):
        yield f.record()
        raise RecursionError("maximum recursion depth exceeded")


def test_a_source_that_failed_part_way_is_named_on_standard_error_not_only_marked_partial():
    from analysis.pipeline import analyse
    from analysis.service import source_warnings

    statuses = analyse([_BrokenPartWay()], now=datetime(2026, 11, 29, tzinfo=UTC)).report.sources
    assert [(s.status, s.records_read) for s in statuses] == [("partial", 1)]
    assert source_warnings(statuses) == ["s3://trail/AWSLogs/: RecursionError: maximum recursion depth exceeded"]


def test_an_event_the_alert_fails_on_is_a_named_problem_not_a_lost_invocation(topic, monkeypatch):
    arn, sns, _, _ = topic

    def breaks(record, options):
        raise KeyError("principal")

    monkeypatch.setattr("analysis.event_finding.event_finding", breaks)
    run = alert_on_event(f.eventbridge_envelope(f.record()), load_settings({}, alert_topic_arn=arn), sns)
    assert (run.records, run.denials, run.published) == (1, 0, [])
    assert run.problems == ["event: cannot be read (KeyError: 'principal')"]
    assert run.metrics()["MalformedRecords"] == 1


STATE_TABLE = "apprunner-audit-state"


@pytest.fixture
def state(aws, topic):
    from tests.stack import source_template

    table = source_template()["Resources"]["StateTable"]["Properties"]
    aws.client("dynamodb").create_table(
        TableName=STATE_TABLE,
        BillingMode=table["BillingMode"],
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
    )
    return aws.client("dynamodb")


def test_an_alert_runs_metrics_count_alerts_deduplicated_folded_redelivered_and_ignored(aws, topic, state):
    """dev-alice was denied each of App Runner's 14 read actions (factories.APPRUNNER_READ_EVENTS) two days before,
    one hour apart (14 first_seen alerts: first_seen fires no more). Then a sweep of 12 of them, 40 s apart, and the
    12th delivered twice. By hand, with the defaults (reconnaissance: 10 distinct actions within 10 minutes; burst:
    10 denials within 5 minutes, at most 8 here): denials 1-9 fire no rule (ignored); the 10th fires reconnaissance,
    the principal's alert, covering the 10 actions of the last 10 minutes; the 11th and 12th fire it too and are
    folded into it (counted: de-duplicated, of which folded); the 12th's redelivery is counted once as such."""
    arn, sns, sqs, queue = topic
    settings = load_settings({}, alert_topic_arn=arn, state_table=STATE_TABLE)
    t0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

    def at(seconds: float) -> str:
        return (t0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    for i, action in enumerate(f.APPRUNNER_READ_EVENTS):
        alert_on_event(
            f.eventbridge_envelope(f.record(action, event_time=at(-2 * 86400 + i * 3600))), settings, sns, state
        )
    while sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        sqs.purge_queue(QueueUrl=queue)
    sweep = [f.record(action, event_time=at(i * 40)) for i, action in enumerate(f.APPRUNNER_READ_EVENTS[:12])]
    runs = [alert_on_event(f.eventbridge_envelope(record), settings, sns, state) for record in [*sweep, sweep[-1]]]
    totals: dict[str, int] = {}
    for run in runs:
        for name, value in run.metrics().items():
            totals[name] = totals.get(name, 0) + value
    assert totals == {
        "Denials": 13,
        "Alerts": 1,
        "AlertsSuppressed": 0,
        "AlertsDeduplicated": 2,
        "AlertsFolded": 2,
        "EventsRedelivered": 1,
        "AlertsRepublished": 0,  # the redelivery is of a folded event: nothing pending
        "EventsIgnored": 9,
        "SuppressionsExpired": 0,
        "SecurityHubFindings": 0,
        "SuppressionProblems": 0,
        "PublishProblems": 0,
        "SuppressionsOverridden": 0,
        "MalformedRecords": 0,
        "StateErrors": 0,
    }
    [alert] = _received(sqs, queue)
    covered = [f"apprunner:{action}" for action in f.APPRUNNER_READ_EVENTS[:10]]
    assert alert["actions_in_window"] == covered
    assert [rule["name"] for rule in alert["rules"]] == ["reconnaissance"]
    assert alert["events_since_last_alert"] == 0
    lines = alert["body"].splitlines()
    # the 10th action; its key alerted two days before and counted nothing since: no "0 since the last alert"
    assert lines[1].startswith("What: apprunner:DescribeCustomDomains") and lines[1].endswith(", 1 denial")
    assert lines[2] == (
        f"Covers: user/dev-alice was denied 10 actions within 10 minutes: {covered[0]}, {covered[1]}, {covered[2]} "
        "(+7 more); its other denials in the next 24 h are counted, not alerted, unless they fire root, "
        "unknown_account, org_policy or sensitive_action"
    )
