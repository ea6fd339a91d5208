"""Publishing an alert (analysis.alert_delivery) against moto SNS, SQS and Security Hub.

What is checked comes from the AWS documentation: with MessageStructure "json" the Message is a JSON object whose
keys are protocols ("default" required) and whose values are strings; each subscriber gets its protocol's string
(SQS: the "sqs" one; with raw delivery the string itself, else inside SNS's notification envelope as "Message");
the whole Message is at most 262,144 bytes. Email cannot be read back in moto: the Publish call's "default" and
"email" are read from the request itself (a botocore event hook). Security Hub: the same finding Id updates one
finding (moto keeps one per Id), and a failure is named, never raised past the SNS message already sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from analysis.alert_delivery import AlertOutput, publish_alert
from analysis.alerting.rules import FiredRule
from analysis.contract import BUILDING, Finding
from analysis.event_finding import event_finding
from analysis.model import Options
from analysis.redact import redact_report
from tests import factories as f

pytestmark = pytest.mark.integration

REGION = "us-east-1"
MOTO_ACCOUNT = "123456789012"  # moto's default account: the importing account
PRODUCT = f"arn:aws:securityhub:{REGION}:{MOTO_ACCOUNT}:product/{MOTO_ACCOUNT}/default"
RULES = [FiredRule("first_seen", "user dev-alice was not denied apprunner:DescribeService within 30 days")]


@dataclass(frozen=True)
class Clients:
    sns: Any = None
    dynamodb: Any = None
    securityhub: Any = None


class Aws:
    def __init__(self) -> None:
        self.sns = boto3.client("sns", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.securityhub = boto3.client("securityhub", region_name=REGION)
        self.topic = self.sns.create_topic(Name="alerts")["TopicArn"]
        self.raw = self._queue("raw", raw=True)
        self.enveloped = self._queue("enveloped", raw=False)
        self.requests: list[dict[str, Any]] = []
        self.sns.meta.events.register("provide-client-params.sns.Publish", self._publish_seen)

    def _queue(self, name: str, *, raw: bool) -> str:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(
            TopicArn=self.topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": str(raw).lower()}
        )
        return url

    def _publish_seen(self, params: dict[str, Any], **_: Any) -> None:
        self.requests.append(dict(params))

    def bodies(self, queue: str) -> list[str]:
        return [m["Body"] for m in self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])]

    def clients(self, *, securityhub: Any = None) -> Clients:
        return Clients(sns=self.sns, securityhub=securityhub)


@pytest.fixture
def aws(monkeypatch) -> Iterator[Aws]:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(variable, "testing")
    with mock_aws():
        yield Aws()


def finding_of(record: dict) -> Finding:
    return Finding.model_validate(event_finding(record, Options(service="apprunner")), context=BUILDING)


def output(aws: Aws, **more: Any) -> AlertOutput:
    return AlertOutput(aws.topic, "apprunner", **more)


def test_queues_get_the_json_document_raw_or_in_snss_envelope(aws):
    finding = finding_of(f.record())
    published = publish_alert(aws.clients(), output(aws), finding, RULES, 2)
    assert len(published.message_ids) == 1 and published.problems == []
    [raw] = aws.bodies(aws.raw)
    [envelope] = aws.bodies(aws.enveloped)
    document = json.loads(raw)
    notification = json.loads(envelope)
    assert notification["Type"] == "Notification" and json.loads(notification["Message"]) == document
    assert notification["Subject"] == (
        "apprunner alert [low]: user/dev-alice denied apprunner:DescribeService (no policy allows it)"
    )
    # the document keeps its keys (subject, service, rules, events_since_last_alert, finding) and adds four
    assert set(document) == {
        "subject",
        "service",
        "severity",
        "key",
        "rules",
        "events_since_last_alert",
        "actions_in_window",
        "body",
        "finding",
    }
    assert document["actions_in_window"] == []  # one key's alert covers nothing more
    assert document["rules"] == [{"name": "first_seen", "reason": RULES[0].reason}]
    assert document["events_since_last_alert"] == 2
    assert document["finding"]["actions"][0]["action"] == "apprunner:DescribeService"
    assert document["key"].startswith("k-") and len(document["key"]) == 34


def test_email_and_default_get_the_ten_second_text_body(aws):
    finding = finding_of(f.record())
    publish_alert(aws.clients(), output(aws), finding, RULES, 0)
    [request] = aws.requests
    assert request["MessageStructure"] == "json"
    structure = json.loads(request["Message"])
    assert set(structure) == {"default", "email", "sqs", "lambda", "http", "https", "email-json", "firehose"}
    assert all(isinstance(value, str) for value in structure.values())  # SNS: protocol values are strings
    body = structure["email"]
    assert structure["default"] == body
    lines = body.splitlines()
    assert lines[0] == f"Who: user/dev-alice (arn:aws:iam::{f.ACCOUNT}:user/dev-alice), account {f.ACCOUNT}, " + (
        f"owning account {f.ACCOUNT}"
    )
    assert "Fix: grant apprunner:DescribeService" in lines  # the summary's "what to do" for this finding
    assert "Console: https://console.aws.amazon.com/iam/home#/users/details/dev-alice" in lines
    assert len(lines) <= 12
    assert json.loads(structure["sqs"])["body"] == body


def test_the_chatbot_format_goes_to_default_and_https_and_email_stays_text(aws):
    publish_alert(aws.clients(), output(aws, sns_format="chatbot"), finding_of(f.record()), RULES, 0)
    structure = json.loads(aws.requests[0]["Message"])
    notification = json.loads(structure["default"])
    assert structure["https"] == structure["default"]
    assert (notification["version"], notification["source"]) == ("1.0", "custom")
    assert structure["email"].startswith("Who: user/dev-alice")
    assert json.loads(aws.bodies(aws.raw)[0])["finding"]["principal"]["arn"].endswith(":user/dev-alice")


def test_a_finding_too_large_for_sns_is_cut_and_says_so(aws):
    finding = finding_of(f.record())
    action = finding.actions[0].model_copy(
        update={"resources": [f"arn:aws:apprunner:{'r' * 90}:{n}" for n in range(3000)]}
    )
    finding = finding.model_copy(update={"actions": [action]})
    publish_alert(aws.clients(), output(aws), finding, RULES, 0)
    [request] = aws.requests
    assert len(request["Message"].encode()) <= 262_144
    document = json.loads(aws.bodies(aws.raw)[0])
    assert document["cut"].startswith("the finding's lists were cut to their first 10 items")
    assert len(document["finding"]["actions"][0]["resources"]) == 10
    assert document["finding"]["actions"][0]["resources"][0] == action.resources[0]


def test_security_hub_one_finding_per_key_updated_by_the_repeat(aws):
    aws.securityhub.enable_security_hub()
    hub = aws.clients(securityhub=aws.securityhub)
    first = finding_of(f.record(event_time="2026-11-28T09:15:00Z"))
    again = finding_of(f.record(event_time="2026-11-29T10:00:00Z"))  # the same key a day later
    one = publish_alert(hub, output(aws, security_hub=True, product_arn=PRODUCT), first, RULES, 0)
    two = publish_alert(hub, output(aws, security_hub=True, product_arn=PRODUCT), again, [], 5)
    assert one.security_hub_ids == two.security_hub_ids and one.problems == two.problems == []
    [stored] = aws.securityhub.get_findings()["Findings"]
    assert stored["Id"] == one.security_hub_ids[0]
    assert stored["LastObservedAt"] == "2026-11-29T10:00:00.000Z"  # the update applied
    assert stored["UpdatedAt"] >= stored["CreatedAt"]
    assert stored["Severity"]["Label"] == "LOW" and stored["AwsAccountId"] == MOTO_ACCOUNT
    assert len(one.message_ids) == len(two.message_ids) == 1  # SNS all the same


def test_a_redacted_alert_leaks_no_account_or_arn_into_security_hub(aws):
    aws.securityhub.enable_security_hub()
    record = f.record(identity=f.iam_user("dev-alice", account=MOTO_ACCOUNT), recipient=MOTO_ACCOUNT)
    finding = finding_of(record)
    redacted = redact_report({"findings": [finding.model_dump(mode="json")]}, "k" * 32)
    finding = Finding.model_validate(redacted["findings"][0], context=BUILDING)  # as alert_service does
    publish_alert(
        aws.clients(securityhub=aws.securityhub),
        output(aws, security_hub=True, product_arn=PRODUCT, redacted=True),
        finding,
        RULES,
        0,
    )
    [stored] = aws.securityhub.get_findings()["Findings"]
    # the importing account must be named where Security Hub requires it (the product and AwsAccountId), nowhere else
    rest = {name: value for name, value in stored.items() if name not in {"ProductArn", "AwsAccountId"}}
    sent = json.dumps(rest)
    assert MOTO_ACCOUNT not in sent and "dev-alice" not in sent and "198.51.100.7" not in sent
    assert stored["ProductFields"]["rule/first_seen"].startswith("(reason left out")  # RULES' names dev-alice
    # and SNS: the document's finding and rules, the text body
    sent = aws.bodies(aws.raw)[0] + aws.requests[0]["Message"] + aws.requests[0]["Subject"]
    assert MOTO_ACCOUNT not in sent and "dev-alice" not in sent and "198.51.100.7" not in sent


class FailingHub:
    def __init__(self, answer: dict[str, Any] | None = None, error: Exception | None = None) -> None:
        self.answer, self.error = answer, error

    def batch_import_findings(self, **_: Any) -> dict[str, Any]:
        if self.error:
            raise self.error
        return self.answer or {}


@pytest.mark.parametrize(
    ("hub", "problem"),
    [
        (
            FailingHub(
                {
                    "FailedCount": 1,
                    "SuccessCount": 0,
                    "FailedFindings": [{"Id": "x", "ErrorCode": "InvalidAccess", "ErrorMessage": "not subscribed"}],
                }
            ),
            "Security Hub: finding x refused (InvalidAccess: not subscribed)",
        ),
        (
            FailingHub(
                error=ClientError(
                    {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "BatchImportFindings"
                )
            ),
            "Security Hub: BatchImportFindings failed (TooManyRequestsException: ",
        ),
    ],
    ids=["refused", "throttled after retries"],
)
def test_a_security_hub_failure_is_a_named_problem_and_the_sns_message_is_sent(aws, hub, problem):
    published = publish_alert(
        aws.clients(securityhub=hub),
        output(aws, security_hub=True, product_arn=PRODUCT),
        finding_of(f.record()),
        RULES,
        0,
    )
    assert len(published.message_ids) == 1 and published.security_hub_ids == []
    [named] = published.problems
    assert named.startswith(problem)


def test_without_a_product_arn_nothing_is_imported_and_it_is_said(aws):
    published = publish_alert(
        aws.clients(securityhub=aws.securityhub), output(aws, security_hub=True), finding_of(f.record()), RULES, 0
    )
    assert published.problems == ["Security Hub: no product ARN (ALERT_SECURITY_HUB_PRODUCT_ARN): nothing imported"]


KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SESSION_KEY_ID = "ASIAY34FZKBOKMUTVV7A"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampletokenexampletokenexampletoken0123456789"


@pytest.mark.parametrize("sns_format", ["text", "chatbot"])
def test_no_access_key_id_or_session_token_reaches_any_published_field(aws, sns_format):
    aws.securityhub.enable_security_hub()
    record = f.record(identity=f.iam_user(f"ci{KEY_ID}"))
    record["userIdentity"]["accessKeyId"] = SESSION_KEY_ID
    record["userAgent"] = f"aws-cli/2.17 key {KEY_ID} token {TOKEN}"
    record["errorMessage"] += f" (key {SESSION_KEY_ID}, token {TOKEN})"
    rules = [FiredRule("first_seen", f"user ci{KEY_ID} was not denied it within 30 days")]
    out = output(aws, sns_format=sns_format, security_hub=True, product_arn=PRODUCT)
    covered = ("apprunner:ListServices", f"apprunner:List{KEY_ID}")  # the covered actions are masked too
    published = publish_alert(
        aws.clients(securityhub=aws.securityhub), out, finding_of(record), rules, 0, actions_in_window=covered
    )
    assert published.problems == [] and published.security_hub_ids != []
    assert "Covers: " in json.loads(aws.requests[0]["Message"])["email"]  # the covers line was sent
    [request] = aws.requests
    sent = [request["Subject"], request["Message"], json.dumps(request["MessageAttributes"])]
    sent += list(json.loads(request["Message"]).values())  # every protocol's message, decoded once more
    sent += aws.bodies(aws.raw) + aws.bodies(aws.enveloped)
    sent.append(json.dumps(aws.securityhub.get_findings()["Findings"]))
    for text in sent:
        for secret in (KEY_ID[4:], SESSION_KEY_ID[4:], TOKEN[:40], TOKEN[-30:]):
            assert secret not in text


SWEEP = (
    "apprunner:ListServices",
    "apprunner:ListConnections",
    "apprunner:ListVpcConnectors",
    "apprunner:ListOperations",
)
BURST = [
    FiredRule("first_seen", "first denial of apprunner:ListOperations to this principal in 30 days"),
    FiredRule("burst", "11 denials for this principal within 5 minutes (threshold 10)"),
]


@pytest.mark.parametrize("sns_format", ["text", "chatbot"])
def test_a_principals_alert_names_what_it_covers_everywhere_it_goes(aws, sns_format):
    aws.securityhub.enable_security_hub()
    finding = finding_of(f.record("ListOperations", identity=f.iam_user("svc-legacy")))
    out = output(aws, sns_format=sns_format, security_hub=True, product_arn=PRODUCT, window_minutes=10, period_hours=24)
    published = publish_alert(aws.clients(securityhub=aws.securityhub), out, finding, BURST, 0, actions_in_window=SWEEP)
    assert published.problems == [] and len(published.message_ids) == 1
    covers = (
        "Covers: user/svc-legacy was denied 4 actions within 10 minutes: apprunner:ListServices, "
        "apprunner:ListConnections, apprunner:ListVpcConnectors (+1 more); its other denials in the next 24 h are "
        "counted, not alerted, unless they fire root, unknown_account, org_policy, sensitive_action or reconnaissance"
    )
    structure = json.loads(aws.requests[0]["Message"])
    assert covers in structure["email"].splitlines()
    document = json.loads(aws.bodies(aws.raw)[0])
    assert document["actions_in_window"] == list(SWEEP)
    assert covers in document["body"].splitlines()
    if sns_format == "chatbot":
        assert covers in json.loads(structure["default"])["content"]["description"].splitlines()
    [stored] = aws.securityhub.get_findings()["Findings"]
    assert stored["ProductFields"]["actionsInWindow"] == ",".join(SWEEP)
    assert covers in stored["Description"]


def test_a_redacted_principals_alert_names_the_pseudonym_only(aws):
    aws.securityhub.enable_security_hub()
    record = f.record("ListOperations", identity=f.iam_user("svc-legacy", account=MOTO_ACCOUNT), recipient=MOTO_ACCOUNT)
    redacted = redact_report({"findings": [finding_of(record).model_dump(mode="json")]}, "k" * 32)
    finding = Finding.model_validate(redacted["findings"][0], context=BUILDING)  # as alert_service does
    out = output(aws, security_hub=True, product_arn=PRODUCT, redacted=True)
    publish_alert(aws.clients(securityhub=aws.securityhub), out, finding, BURST, 0, actions_in_window=SWEEP)
    document = json.loads(aws.bodies(aws.raw)[0])
    [covers] = [line for line in document["body"].splitlines() if line.startswith("Covers: ")]
    pseudonym = finding.principal.arn.rsplit("/", 1)[1]
    assert pseudonym != "svc-legacy" and covers.startswith(f"Covers: user/{pseudonym} was denied 4 actions")
    [stored] = aws.securityhub.get_findings()["Findings"]
    rest = {name: value for name, value in stored.items() if name not in {"ProductArn", "AwsAccountId"}}
    sent = [aws.requests[0]["Message"], aws.requests[0]["Subject"], json.dumps(document), json.dumps(rest)]
    for text in sent:
        assert "svc-legacy" not in text and MOTO_ACCOUNT not in text


def _state_table(aws: Aws) -> str:
    from tests.stack import source_template

    table = source_template()["Resources"]["StateTable"]["Properties"]
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName="state",
        BillingMode=table["BillingMode"],
        AttributeDefinitions=table["AttributeDefinitions"],
        KeySchema=table["KeySchema"],
    )
    return "state"


def test_a_keys_second_alert_a_period_later_keeps_security_hubs_first_observed_and_created_times(aws):
    """Issue 9 review finding 12, through alert_service and the store (moto DynamoDB and Security Hub): dev-alice is
    denied apprunner:UpdateService at 09:15:00 (first_seen, sensitive_action: an alert), then 25 hours later
    (sensitive_action: the period of 24 h is over, another alert updating the same finding). FirstObservedAt and
    CreatedAt stay the first denial's; LastObservedAt is the second's."""
    from analysis.alert_service import alert_on_event
    from analysis.settings import load_settings

    aws.securityhub.enable_security_hub()
    settings = load_settings(
        {},
        alert_topic_arn=aws.topic,
        state_table=_state_table(aws),
        alert_security_hub=True,
        alert_security_hub_product_arn=PRODUCT,
    )
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    runs = [
        alert_on_event(
            f.eventbridge_envelope(f.record("UpdateService", event_time=when)),
            settings,
            aws.sns,
            dynamodb,
            securityhub=aws.securityhub,
        )
        for when in ("2026-11-28T09:15:00Z", "2026-11-29T10:15:00Z")
    ]
    assert [len(run.security_hub) for run in runs] == [1, 1] and runs[0].security_hub == runs[1].security_hub
    [stored] = aws.securityhub.get_findings()["Findings"]
    assert stored["FirstObservedAt"] == stored["CreatedAt"] == "2026-11-28T09:15:00.000Z"
    assert stored["LastObservedAt"] == "2026-11-29T10:15:00.000Z"
    assert stored["ProductFields"]["rules"] == "sensitive_action"  # the second alert's: the update applied


def test_a_denial_forwarded_from_another_region_says_that_region_in_security_hub(aws):
    aws.securityhub.enable_security_hub()
    record = f.record("UpdateService", region="eu-central-1")
    publish_alert(
        aws.clients(securityhub=aws.securityhub),
        output(aws, security_hub=True, product_arn=PRODUCT),
        finding_of(record),
        RULES,
        0,
    )
    [stored] = aws.securityhub.get_findings()["Findings"]
    assert [resource["Region"] for resource in stored["Resources"]] == ["eu-central-1", "eu-central-1"]
    assert stored["ProductArn"].split(":")[3] == REGION  # imported in the function's region all the same
