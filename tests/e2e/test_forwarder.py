"""forwarder.yaml, the member side of an organization (issue 9), and the central side it forwards to in
template.yaml (OrganizationId set): cfn-lint; one pattern in both templates; the pattern against the sample
day's records (moto's EventBridge pattern engine); a member's denial forwarded across accounts and regions to
the central stack's bus (moto); the bus policy and the forwarding role read from the templates."""

from __future__ import annotations

import ast
import gzip
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.events.models import EventPattern

from analysis.sources.files import bundled_sample_path
from tests import factories as f
from tests.stack import CODE_BUCKET, FUNCTIONS, ROOT, dumps, expanded_template, source_template

FORWARDER = ROOT / "forwarder.yaml"
CENTRAL_ACCOUNT, CENTRAL_REGION = DEFAULT_ACCOUNT_ID, "us-east-1"
MEMBER_ACCOUNT, MEMBER_REGION = "210987654321", "eu-west-1"
ORG_ID = "o-a1b2c3d4e5"
CENTRAL_PARAMETERS = {"TrailSource": "s3://org-trail", "OrganizationId": ORG_ID}
# template.yaml names the bus AUDITEDSERVICE-audit-denials, here with the default service:
CENTRAL_BUS_ARN = f"arn:aws:events:{CENTRAL_REGION}:{CENTRAL_ACCOUNT}:event-bus/apprunner-audit-denials"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"


def forwarder_template() -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(FORWARDER.read_text())


# --- the templates, as written -------------------------------------------------------------------


def test_cfn_lint_passes_the_forwarder_and_the_central_template():
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), str(FORWARDER), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _rules() -> dict[str, dict[str, Any]]:
    central = source_template()["Resources"]
    return {
        "DenialAlertRule": central["DenialAlertRule"]["Properties"],
        "ForwardedDenialAlertRule": central["ForwardedDenialAlertRule"]["Properties"],
        "ForwarderRule": forwarder_template()["Resources"]["ForwarderRule"]["Properties"],
    }


def test_one_pattern_in_both_templates_over_the_same_parameter():
    """The three rules carry the same pattern, written over a parameter both templates define alike, so a
    change to one that is not made to the others fails here."""
    patterns = {name: rule["EventPattern"] for name, rule in _rules().items()}
    assert patterns["ForwarderRule"] == patterns["DenialAlertRule"] == patterns["ForwardedDenialAlertRule"]
    central, member = source_template()["Parameters"], forwarder_template()["Parameters"]
    same = ("Type", "Default", "AllowedPattern")
    assert {k: member["AuditedService"].get(k) for k in same} == {k: central["AuditedService"].get(k) for k in same}


def test_every_rule_receives_read_only_denials_where_it_forwards():
    """Describe*/List* denials reach a rule only in ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS (EventBridge
    user guide, read-only management events); the forwarder is off only where the central bus lives."""
    rules = _rules()
    all_events = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    assert rules["DenialAlertRule"]["State"] == rules["ForwardedDenialAlertRule"]["State"] == all_events
    assert rules["ForwarderRule"]["State"] == {"Fn::If": ["IsTheCentralBusHome", "DISABLED", all_events]}
    assert rules["ForwarderRule"]["EventBusName"] == "default"  # where CloudTrail delivers the member's events


# --- the pattern against the sample day (moto's EventBridge pattern engine) ----------------------


def _envelope(record: dict[str, Any]) -> dict[str, Any]:
    """A CloudTrail record as EventBridge delivers it (source aws.<prefix of eventSource>)."""
    return {
        **f.eventbridge_envelope(record),
        "source": "aws." + record["eventSource"].split(".")[0],
        "detail-type": CLOUDTRAIL_DETAIL_TYPE,
    }


def _sample_records() -> list[dict[str, Any]]:
    root = bundled_sample_path()
    return [r for path in sorted(root.rglob("*.json.gz")) for r in json.loads(gzip.open(path).read())["Records"]]


def _resolved_pattern(audited_service: str = "apprunner") -> str:
    """The forwarder's pattern with its !Sub resolved as CloudFormation resolves it."""
    text = json.dumps(forwarder_template()["Resources"]["ForwarderRule"]["Properties"]["EventPattern"])
    text = text.replace('{"Fn::Sub": "aws.${AuditedService}"}', json.dumps(f"aws.{audited_service}"))
    text = text.replace(
        '{"Fn::Sub": "${AuditedService}.amazonaws.com"}', json.dumps(f"{audited_service}.amazonaws.com")
    )
    assert "Fn::" not in text, text
    return text


def test_the_pattern_matches_the_sample_days_app_runner_denials_and_nothing_else():
    pattern = EventPattern.load(_resolved_pattern())
    records = _sample_records()
    matched = [r for r in records if pattern.matches_event(_envelope(r))]
    matched_ids = {id(r) for r in matched}
    # scripts/SAMPLE_DAY.md: 82 App Runner denials (unique eventIDs); 3 of them delivered twice in the files
    assert len({r["eventID"] for r in matched}) == 82
    assert len(matched) == 85
    assert {r["eventSource"] for r in matched} == {"apprunner.amazonaws.com"}
    assert {r["errorCode"] for r in matched} == {"AccessDenied", "AccessDeniedException"}
    unmatched_app_runner_errors = {
        r.get("errorCode")
        for r in records
        if r["eventSource"] == "apprunner.amazonaws.com" and id(r) not in matched_ids
    }
    assert unmatched_app_runner_errors == {None, "ResourceNotFoundException", "ThrottlingException"}
    ec2_denials = [r for r in records if r.get("errorCode") == "Client.UnauthorizedOperation"]
    assert ec2_denials and not any(pattern.matches_event(_envelope(r)) for r in ec2_denials)


@pytest.mark.parametrize(
    ("record", "routed"),
    [
        (f.record("UpdateService", error_code="AccessDenied"), True),
        (f.record("ListServices", error_code="AccessDeniedException", request={}), True),
        (f.record("DescribeService", error_code=None), False),
        (f.record("DescribeService", error_code="ThrottlingException"), False),
        (f.record("DescribeServices", error_code="AccessDeniedException", event_source="ecs.amazonaws.com"), False),
    ],
    ids=["write denied", "list denied", "success", "throttled", "another service denied"],
)
def test_the_pattern_routes_a_denial_and_not_a_success_or_another_service(record, routed):
    assert EventPattern.load(_resolved_pattern()).matches_event(_envelope(record)) is routed


def test_the_pattern_follows_the_audited_service_parameter():
    record = f.record("DescribeServices", error_code="AccessDeniedException", event_source="ecs.amazonaws.com")
    assert EventPattern.load(_resolved_pattern("ecs")).matches_event(_envelope(record))
    assert not EventPattern.load(_resolved_pattern("ecs")).matches_event(_envelope(f.record("DescribeService")))


# --- the central bus's policy, from the expanded template -------------------------------------------


def _central_resources() -> dict[str, Any]:
    return expanded_template(CENTRAL_PARAMETERS)["Resources"]


def test_the_bus_accepts_put_events_from_the_organization_only():
    bus = _central_resources()["OrganizationDenialBus"]
    assert bus["Condition"] == "AcceptsOrganization"
    assert bus["Properties"]["Name"] == {"Fn::Sub": "${AuditedService}-audit-denials"}
    statements = bus["Properties"]["Policy"]["Statement"]
    assert [s["Effect"] for s in statements] == ["Allow"]
    [statement] = statements
    assert statement["Principal"] in ("*", {"AWS": "*"})
    assert statement["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}
    assert statement["Action"] == "events:PutEvents"
    bus_arn = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${AuditedService}-audit-denials"
    assert statement["Resource"] == {"Fn::Sub": bus_arn}
    # only events a member's rule forwards: callers cannot put aws.* sources themselves
    assert statement["Condition"]["ForAllValues:StringEquals"] == {
        "events:source": [{"Fn::Sub": "aws.${AuditedService}"}]
    }


def test_no_statement_opens_any_resource_to_everyone_without_the_organization():
    for name, resource in _central_resources().items():
        for statement in _policy_statements(resource):
            if statement.get("Effect") == "Allow" and statement.get("Principal") in ("*", {"AWS": "*"}):
                assert statement["Condition"]["StringEquals"]["aws:PrincipalOrgID"] == {"Ref": "OrganizationId"}, name


def _policy_statements(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    properties = resource.get("Properties", {})
    for key in ("Policy", "PolicyDocument", "KeyPolicy"):
        document = properties.get(key)
        if isinstance(document, dict):
            yield from (s for s in document.get("Statement", []) if isinstance(s, dict))


def test_the_organization_side_exists_only_with_an_organization_id():
    resources = _central_resources()
    conditioned = {name for name, r in resources.items() if r.get("Condition") == "AcceptsOrganization"}
    assert conditioned == {"OrganizationDenialBus", "ForwardedDenialAlertRule", "ForwardedDenialAlertInvokePermission"}
    condition = expanded_template(CENTRAL_PARAMETERS)["Conditions"]["AcceptsOrganization"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]}
    permission = resources["ForwardedDenialAlertInvokePermission"]["Properties"]
    assert permission["SourceArn"] == {"Fn::GetAtt": ["ForwardedDenialAlertRule", "Arn"]}
    assert permission["Principal"] == "events.amazonaws.com"


# --- both stacks in moto: a member's denial reaches the central bus ---------------------------------


@dataclass
class Organization:
    central: boto3.session.Session
    member: boto3.session.Session
    central_outputs: dict[str, str]
    member_outputs: dict[str, str]
    inbox: str  # SQS queue URL in the central account, the forwarded-denials rule's target


def _create(session: boto3.session.Session, name: str, body: str, parameters: dict[str, str]) -> dict[str, str]:
    cloudformation = session.client("cloudformation")
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=body,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def _session_in(account: str, region: str) -> boto3.session.Session:
    """Credentials moto ties to another account (an assumed role's keys carry its account)."""
    sts = boto3.client("sts", region_name=region)
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/deployer", RoleSessionName="test")[
        "Credentials"
    ]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


@pytest.fixture(scope="module")
def organization() -> Iterator[Organization]:
    with mock_aws():
        central = boto3.session.Session(region_name=CENTRAL_REGION)
        s3 = central.client("s3")
        s3.create_bucket(Bucket=CODE_BUCKET)
        for name in FUNCTIONS:
            s3.put_object(Bucket=CODE_BUCKET, Key=f"{name}.zip", Body=b"PK\x05\x06" + bytes(18))
        central_outputs = _create(
            central, "auditor", dumps(expanded_template(CENTRAL_PARAMETERS, CENTRAL_REGION)), CENTRAL_PARAMETERS
        )
        # moto cannot invoke a Lambda target, so the forwarded-denials rule delivers to a queue instead
        events, sqs = central.client("events"), central.client("sqs")
        bus = central_outputs["OrganizationDenialBusArn"].rsplit("/", 1)[1]
        [rule] = events.list_rules(EventBusName=bus)["Rules"]
        events.remove_targets(Rule=rule["Name"], EventBusName=bus, Ids=["denial-alert"])
        inbox = sqs.create_queue(QueueName="forwarded")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_targets(Rule=rule["Name"], EventBusName=bus, Targets=[{"Id": "q", "Arn": inbox_arn}])

        member = _session_in(MEMBER_ACCOUNT, MEMBER_REGION)
        member_outputs = _create(
            member,
            "forwarder",
            FORWARDER.read_text(),
            {"CentralEventBusArn": central_outputs["OrganizationDenialBusArn"]},
        )
        yield Organization(central, member, central_outputs, member_outputs, inbox)


def test_the_central_stack_makes_the_organizations_bus(organization):
    assert organization.central_outputs["OrganizationDenialBusArn"] == CENTRAL_BUS_ARN
    buses = {b["Name"] for b in organization.central.client("events").list_event_buses()["EventBuses"]}
    assert buses == {"default", "apprunner-audit-denials"}


def test_the_rules_have_one_pattern_as_moto_created_them(organization):
    central, member = organization.central.client("events"), organization.member.client("events")
    [local] = central.list_rules(EventBusName="default")["Rules"]
    [forwarded] = central.list_rules(EventBusName="apprunner-audit-denials")["Rules"]
    forwarder = member.describe_rule(Name=organization.member_outputs["ForwarderRuleName"])
    expected = {  # docs/DESIGN.md: CIS errorCode filter AccessDenied* or *UnauthorizedOperation, written out by hand
        "source": ["aws.apprunner"],
        "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
        "detail": {
            "eventSource": ["apprunner.amazonaws.com"],
            "errorCode": [{"prefix": "AccessDenied"}, {"suffix": "UnauthorizedOperation"}],
        },
    }
    for rule in (local, forwarded, forwarder):
        assert json.loads(rule["EventPattern"]) == expected
    assert forwarder["State"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    assert organization.member_outputs["Forwarding"] == "true"


def test_a_member_denial_reaches_the_central_bus_and_nothing_else_does(organization):
    """moto delivers a rule's event-bus target to the other account's and region's bus (send_to_targets) but
    neither checks the bus policy nor the target's role, and re-stamps the event with the central account
    and region: real EventBridge keeps the member's. So this proves routing, not authorisation (read from
    the templates above)."""
    cases = {
        "denied": (f.record("DescribeService", recipient=MEMBER_ACCOUNT, region=MEMBER_REGION), True),
        "denied write": (
            f.record("UpdateService", error_code="AccessDenied", recipient=MEMBER_ACCOUNT, region=MEMBER_REGION),
            True,
        ),
        "success": (
            f.record("DescribeService", error_code=None, recipient=MEMBER_ACCOUNT, region=MEMBER_REGION),
            False,
        ),
        "another service": (
            f.record(
                "ListFunctions20150331", event_source="lambda.amazonaws.com", recipient=MEMBER_ACCOUNT, request={}
            ),
            False,
        ),
    }
    entries = [
        {"Source": _envelope(r)["source"], "DetailType": CLOUDTRAIL_DETAIL_TYPE, "Detail": json.dumps(r)}
        for r, _ in cases.values()
    ]
    assert organization.member.client("events").put_events(Entries=entries)["FailedEntryCount"] == 0
    arrived = _drain(organization.central.client("sqs"), organization.inbox)
    assert {a["detail"]["eventID"] for a in arrived} == {r["eventID"] for r, wanted in cases.values() if wanted}
    for event in arrived:
        assert event["source"] == "aws.apprunner" and event["detail-type"] == CLOUDTRAIL_DETAIL_TYPE
        assert event["detail"]["recipientAccountId"] == MEMBER_ACCOUNT  # whose denial it was, in the detail


def _drain(sqs: Any, queue: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for _ in range(5):
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_the_forwarding_role_may_put_events_on_the_central_bus_only(organization):
    iam = organization.member.client("iam")
    [role] = [r for r in iam.list_roles()["Roles"] if "ForwarderRole" in r["RoleName"]]
    trust = role["AssumeRolePolicyDocument"]
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": MEMBER_ACCOUNT}},
        }
    ]
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []
    [name] = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
    document = ast.literal_eval(document) if isinstance(document, str) else document  # moto: Python's repr
    assert document["Statement"] == [
        {"Sid": "PutOnTheCentralBus", "Effect": "Allow", "Action": "events:PutEvents", "Resource": CENTRAL_BUS_ARN}
    ]
    [target] = organization.member.client("events").list_targets_by_rule(
        Rule=organization.member_outputs["ForwarderRuleName"]
    )["Targets"]
    assert target["Arn"] == CENTRAL_BUS_ARN and target["RoleArn"] == role["Arn"]


def test_the_forwarder_does_not_forward_where_the_central_bus_lives(organization):
    """A StackSet over an OU that holds the central account would deploy it beside the central stack, whose own
    rule already routes the local denials."""
    outputs = _create(
        organization.central, "forwarder-home", FORWARDER.read_text(), {"CentralEventBusArn": CENTRAL_BUS_ARN}
    )
    assert outputs["Forwarding"] == "false"
    rule = organization.central.client("events").describe_rule(Name=outputs["ForwarderRuleName"])
    assert rule["State"] == "DISABLED"


def test_the_central_stack_without_an_organization_makes_no_bus(organization):
    parameters, region = {"TrailSource": "s3://org-trail"}, "eu-central-1"  # beside the fixture's stacks
    session = boto3.session.Session(region_name=region)
    outputs = _create(session, "auditor-alone", dumps(expanded_template(parameters, region)), parameters)
    assert "OrganizationDenialBusArn" not in outputs
    assert {b["Name"] for b in session.client("events").list_event_buses()["EventBuses"]} == {"default"}


# --- what the central bus does not take: retried, kept in a dead-letter queue, alarmed (review finding 13) -----

EVENTBRIDGE_RETRY_LIMITS = {  # EventBridge API reference, RetryPolicy: the valid ranges
    "MaximumRetryAttempts": (0, 185),
    "MaximumEventAgeInSeconds": (60, 86400),
}
SQS_MAX_RETENTION = 1209600  # SQS: MessageRetentionPeriod at most 14 days


def _forwarder_resources() -> dict[str, Any]:
    return forwarder_template()["Resources"]


def _target() -> dict[str, Any]:
    [target] = _forwarder_resources()["ForwarderRule"]["Properties"]["Targets"]
    return target


def test_the_central_bus_target_is_retried_within_eventbridges_limits_then_dead_lettered():
    target = _target()
    retry = target["RetryPolicy"]
    assert set(retry) == set(EVENTBRIDGE_RETRY_LIMITS)
    for name, (low, high) in EVENTBRIDGE_RETRY_LIMITS.items():
        assert isinstance(retry[name], int) and low <= retry[name] <= high, name
    # a forwarded denial is retried as a local one is: the central stack's rule targets have the same policy
    central = source_template()["Resources"]["DenialAlertRule"]["Properties"]["Targets"]
    assert [t["RetryPolicy"] for t in central] == [retry]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ForwarderDeadLetterQueue", "Arn"]}}


def test_the_dead_letter_queue_is_encrypted_kept_14_days_and_only_the_forwarder_rule_may_send():
    resources = _forwarder_resources()
    queue = resources["ForwarderDeadLetterQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"] == {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": SQS_MAX_RETENTION}
    [policy] = [r for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    assert policy["Properties"]["Queues"] == [{"Ref": "ForwarderDeadLetterQueue"}]
    queue_arn = {"Fn::GetAtt": ["ForwarderDeadLetterQueue", "Arn"]}
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "ForwarderRuleFailures",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["ForwarderRule", "Arn"]}}},
        },
    ]


def _alarms() -> dict[str, dict[str, Any]]:
    return {n: r["Properties"] for n, r in _forwarder_resources().items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def test_an_alarm_watches_the_rules_lost_invocations_and_one_the_dead_letter_queue():
    alarms = _alarms()
    assert set(alarms) == {"ForwardingFailedAlarm", "ForwarderDeadLetterAlarm"}
    for alarm in alarms.values():  # one lost denial is enough; no data (the usual case) is not an alarm
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
        assert (alarm["EvaluationPeriods"], alarm["TreatMissingData"]) == (1, "notBreaching")
    failed = {m["Id"]: m for m in alarms["ForwardingFailedAlarm"]["Metrics"]}
    # EventBridge user guide, metrics: FailedInvocations and InvocationsFailedToBeSentToDlq, dimension RuleName
    # (the default bus), sent only when not zero: hence FILL(.., 0) before adding them
    watched = {
        m["MetricStat"]["Metric"]["MetricName"]: m["MetricStat"]
        for m in failed.values()
        if "MetricStat" in m and m["ReturnData"] is False
    }
    assert set(watched) == {"FailedInvocations", "InvocationsFailedToBeSentToDlq"}
    for stat in watched.values():
        assert stat["Metric"]["Namespace"] == "AWS/Events" and stat["Stat"] == "Sum"
        assert stat["Metric"]["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": "ForwarderRule"}}]
    [expression] = [m for m in failed.values() if m.get("ReturnData") is True]
    ids = [i for i, m in failed.items() if "MetricStat" in m]
    assert all(f"FILL({i}, 0)" in expression["Expression"] for i in ids)
    queue = alarms["ForwarderDeadLetterAlarm"]
    assert (queue["Namespace"], queue["MetricName"], queue["Statistic"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
    )
    assert queue["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ForwarderDeadLetterQueue", "QueueName"]}}
    ]


def _resolved(value: Any, parameters: dict[str, str], conditions: dict[str, bool]) -> Any:
    """The few intrinsics the alarms' actions use, resolved as CloudFormation resolves them (NoValue: dropped)."""
    if isinstance(value, list):
        resolved = [_resolved(v, parameters, conditions) for v in value]
        return [v for v in resolved if v is not _NO_VALUE]
    if not isinstance(value, dict):
        return value
    if value == {"Ref": "AWS::NoValue"}:
        return _NO_VALUE
    if "Ref" in value:
        return parameters[value["Ref"]]
    if "Fn::If" in value:
        name, yes, no = value["Fn::If"]
        return _resolved(yes if conditions[name] else no, parameters, conditions)
    if "Fn::Sub" in value:
        text = value["Fn::Sub"]
        for name, given in parameters.items():
            text = text.replace("${" + name + "}", given)
        assert "${" not in text, text
        return text
    raise AssertionError(f"not resolved here: {value}")


_NO_VALUE = object()


@pytest.mark.parametrize(
    ("topic", "actions"),
    [
        ("", None),
        ("security-alerts", [f"arn:aws:sns:{MEMBER_REGION}:{MEMBER_ACCOUNT}:security-alerts"]),
    ],
    ids=["no topic: the alarms show in CloudWatch only", "a topic name: that topic in each account and region"],
)
def test_the_alarms_notify_the_named_topic_of_the_stacks_own_account_and_region(topic, actions):
    template = forwarder_template()
    condition = template["Conditions"]["NotifiesATopic"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicName"}, ""]}]}
    parameters = {
        "AlarmTopicName": topic,
        "AWS::Partition": "aws",
        "AWS::Region": MEMBER_REGION,
        "AWS::AccountId": MEMBER_ACCOUNT,
    }
    for name, alarm in _alarms().items():
        resolved = _resolved(alarm["AlarmActions"], parameters, {"NotifiesATopic": topic != ""})
        assert (None if resolved is _NO_VALUE else resolved) == actions, name


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("aws-controltower-SecurityNotifications", True),
        ("security_alerts-1", True),
        ("arn:aws:sns:eu-west-1:210987654321:security-alerts", False),  # a name: one value for every region
        ("two words", False),
    ],
)
def test_the_topic_parameter_takes_a_name_or_nothing(value, accepted):
    parameter = forwarder_template()["Parameters"]["AlarmTopicName"]
    assert parameter["Default"] == ""
    assert (re.fullmatch(parameter["AllowedPattern"], value) is not None) is accepted


def test_checkov_finds_nothing_unjustified_in_the_forwarder():
    checkov = ROOT / ".tools" / "checkov" / "bin" / "checkov"
    if not checkov.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{checkov} is missing: `make test` makes it with `make tools`")
        pytest.skip(f"{checkov} is missing: run `make tools`")
    done = subprocess.run(
        [str(checkov), "--file", str(FORWARDER), "--framework", "cloudformation", "--skip-download",
         "--output", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    result = json.loads(done.stdout)
    failed = [(c["check_id"], c["resource"]) for c in result["results"]["failed_checks"]]
    assert result["summary"]["failed"] == 0, failed
    skipped = result["results"]["skipped_checks"]
    assert [c["check_id"] for c in skipped] == ["CKV_AWS_27"]  # SSE-SQS, not a KMS key: said why in the template
    assert all(len(c["check_result"]["suppress_comment"]) > 40 for c in skipped)


def test_moto_creates_the_member_stack_with_the_dead_letter_queue_on_the_target(organization):
    member = organization.member
    queue_url = organization.member_outputs["DeadLetterQueueUrl"]
    attributes = member.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == str(SQS_MAX_RETENTION)
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert attributes["QueueArn"].startswith(f"arn:aws:sqs:{MEMBER_REGION}:{MEMBER_ACCOUNT}:")  # beside the rule
    [target] = member.client("events").list_targets_by_rule(Rule=organization.member_outputs["ForwarderRuleName"])[
        "Targets"
    ]
    assert target["DeadLetterConfig"] == {"Arn": attributes["QueueArn"]}
    assert target["RetryPolicy"] == _target()["RetryPolicy"]
