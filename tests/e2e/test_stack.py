"""The deployed service, end to end on a moto server (loopback): template.yaml expanded with
aws-sam-translator, created in moto's CloudFormation with only TrailSource and the email parameters,
the sample day's trail files in the trail bucket, and each handler called as Lambda would call it
(environment from the created function's configuration, a Lambda context, imported from its code folder).

Every AWS call a handler makes is recorded through botocore's event hooks and checked against the
function's role as moto created it; every action the role allows must be one the code called, or be
listed with its reason in ``NOT_CALLED_BY_THE_CODE``.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib.util
import io
import json
import sys
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.ses.models import ses_backends

from analysis.sources.files import bundled_sample_path
from tests import factories as f
from tests.stack import CODE_BUCKET, FUNCTIONS, ROOT, dumps, expanded_template

REGION = "us-east-1"
TRAIL_BUCKET = "org-trail"
SENDER = "reports@example.com"
PARAMETERS = {"TrailSource": f"s3://{TRAIL_BUCKET}", "ReportEmailFrom": SENDER, "ReportEmailTo": "platform@example.com"}
OUTPUTS = {
    "ReportsBucketName",
    "ReportTopicArn",
    "AlertTopicArn",
    "StateTableName",
    "DailyReportFunctionName",
    "DenialAlertFunctionName",
    "DenialAlertRuleName",
}

# Actions a role allows that no handler code calls, each with the reason it is there.
NOT_CALLED_BY_THE_CODE = {
    "logs:CreateLogStream": "the Lambda service writes the function's logs with its role",
    "logs:PutLogEvents": "the Lambda service writes the function's logs with its role",
    "xray:PutTraceSegments": "the X-Ray daemon Lambda runs beside the function sends traces (Tracing: Active)",
    "xray:PutTelemetryRecords": "the X-Ray daemon Lambda runs beside the function",
    "sqs:SendMessage": "Lambda sends failed asynchronous invocations to the dead-letter queue with the role",
    "kms:GenerateDataKey": "SNS encrypts a message published to a KMS-encrypted topic with the publisher's rights",
    "kms:Decrypt": "SNS needs it with GenerateDataKey for a KMS-encrypted topic",
    "ses:SendRawEmail": "SES v2 SendEmail with Raw content is authorised as SendRawEmail too (as AWS CDK grants)",
}


# --- the stack -----------------------------------------------------------------------------------


@dataclass
class Stack:
    endpoint: str
    session: boto3.session.Session
    outputs: dict[str, str]
    inboxes: dict[str, str]

    def client(self, name: str) -> Any:
        return self.session.client(name, endpoint_url=self.endpoint)

    def role_policy(self, function_output: str) -> list[dict[str, Any]]:
        """The Allow statements of a function's role, as moto created them (references resolved)."""
        iam, lam = self.client("iam"), self.client("lambda")
        role_arn = lam.get_function_configuration(FunctionName=self.outputs[function_output])["Role"]
        role = role_arn.rsplit("/", 1)[1]
        statements = []
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            if isinstance(document, str):  # moto returns the document as Python's repr
                document = ast.literal_eval(document)
            statements += [s for s in document["Statement"] if s]  # moto leaves AWS::NoValue as None
        return statements


def _zip_of(function: str) -> bytes:
    """The function's code as Lambda would hold it (moto runs none of it: the tests call the handler)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(ROOT / "functions" / function / "app.py", "app.py")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def stack() -> Stack:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint)

    s3 = client("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    for name, function in FUNCTIONS.items():
        s3.put_object(Bucket=CODE_BUCKET, Key=f"{name}.zip", Body=_zip_of(function))
    s3.create_bucket(Bucket=TRAIL_BUCKET)
    root = bundled_sample_path()
    for path in sorted(root.rglob("*.json.gz")):
        s3.put_object(Bucket=TRAIL_BUCKET, Key=str(path.relative_to(root)), Body=path.read_bytes())
    client("sesv2").create_email_identity(EmailIdentity=SENDER)

    cloudformation = client("cloudformation")
    cloudformation.create_stack(
        StackName="auditor",
        TemplateBody=dumps(expanded_template(PARAMETERS, REGION)),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    described = cloudformation.describe_stacks(StackName="auditor")["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    yield Stack(endpoint, session, outputs, _inboxes(client, outputs))
    server.stop()


def _inboxes(client: Any, outputs: dict[str, str]) -> dict[str, str]:
    """SQS queues receiving the report topic, the alert topic and the report's EventBridge event."""
    sqs, sns, events = client("sqs"), client("sns"), client("events")
    urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("reports", "alerts", "report-events")}
    arns = {n: sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            for n, u in urls.items()}  # fmt: skip
    for queue, topic in (("reports", "ReportTopicArn"), ("alerts", "AlertTopicArn")):
        sns.subscribe(
            TopicArn=outputs[topic], Protocol="sqs", Endpoint=arns[queue], Attributes={"RawMessageDelivery": "true"}
        )
    events.put_rule(
        Name="report-published", EventPattern=json.dumps({"detail-type": ["App Runner Access Report Published"]})
    )
    events.put_targets(Rule="report-published", Targets=[{"Id": "q", "Arn": arns["report-events"]}])
    return urls


# --- calling a handler as Lambda would -------------------------------------------------------------


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 1769
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 900_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]


def _lambda_environment(stack: Stack, function_output: str) -> dict[str, str]:
    configuration = stack.client("lambda").get_function_configuration(FunctionName=stack.outputs[function_output])
    variables = {k: str(v) for k, v in configuration["Environment"]["Variables"].items()}
    return {
        **variables,
        "AWS_ENDPOINT_URL": stack.endpoint,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": configuration["FunctionName"],
        "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    }


def invoke(stack: Stack, function_output: str, event: dict[str, Any], monkeypatch) -> tuple[Any, list[Call]]:
    """Import the handler from its code folder in the function's environment and call it; the AWS calls made."""
    name = {"DailyReportFunctionName": "daily_report", "DenialAlertFunctionName": "denial_alert"}[function_output]
    for variable, value in _lambda_environment(stack, function_output).items():
        monkeypatch.setenv(variable, value)
    calls: list[Call] = []
    recording = _record_calls(monkeypatch, calls)
    try:
        spec = importlib.util.spec_from_file_location(
            f"app_{name}_{uuid.uuid4().hex}", ROOT / "functions" / name / "app.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.handler(event, LambdaContext(stack.outputs[function_output])), calls
    finally:
        recording["on"] = False


def _record_calls(monkeypatch, calls: list[Call]) -> dict[str, bool]:
    """Every client made from now on reports each call's parameters (botocore's before-parameter-build
    event) while the returned switch is on."""
    create_client = botocore.session.Session.create_client
    switch = {"on": True}

    def recording(self, *args, **kwargs):
        made = create_client(self, *args, **kwargs)

        def before_parameter_build(model, params, **_):
            if switch["on"]:
                calls.append(Call(model.service_model.service_name, model.name, dict(params)))

        made.meta.events.register("before-parameter-build.*.*", before_parameter_build)
        return made

    monkeypatch.setattr(botocore.session.Session, "create_client", recording)
    return switch


# --- what each call needs from IAM ---------------------------------------------------------------


def required(call: Call) -> list[tuple[str, str]]:
    """(IAM action, resource ARN) pairs a call is authorised against (Service Authorization Reference)."""
    account, p = DEFAULT_ACCOUNT_ID, call.params
    match call.service, call.operation:
        case "s3", "ListObjectsV2":
            return [("s3:ListBucket", f"arn:aws:s3:::{p['Bucket']}")]
        case "s3", ("GetObject" | "PutObject") as operation:
            return [(f"s3:{operation}", f"arn:aws:s3:::{p['Bucket']}/{p['Key']}")]
        case "dynamodb", "BatchGetItem":
            return [
                ("dynamodb:BatchGetItem", f"arn:aws:dynamodb:{REGION}:{account}:table/{t}") for t in p["RequestItems"]
            ]
        case "dynamodb", operation:
            return [(f"dynamodb:{operation}", f"arn:aws:dynamodb:{REGION}:{account}:table/{p['TableName']}")]
        case "sns", "Publish":
            return [("sns:Publish", p["TopicArn"])]
        case "events", "PutEvents":
            buses = {entry.get("EventBusName", "default") for entry in p["Entries"]}
            arn = f"arn:aws:events:{REGION}:{account}:event-bus/"
            return [("events:PutEvents", bus if bus.startswith("arn:") else arn + bus) for bus in buses]
        case "securityhub", "BatchImportFindings":  # authorised on the product the findings are imported to
            return [("securityhub:BatchImportFindings", arn) for arn in {x["ProductArn"] for x in p["Findings"]}]
        case "ssm", "GetParameter":  # a name /a/b is the ARN parameter/a/b (SSM API reference, "Parameter" ARN)
            return [("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{account}:parameter/{p['Name'].lstrip('/')}")]
        case "sesv2", "SendEmail":
            return [("ses:SendEmail", f"arn:aws:ses:{REGION}:{account}:identity/{p['FromEmailAddress']}")]
    raise AssertionError(f"no IAM mapping for {call.service}.{call.operation}: add it to required()")


def allowed(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions) and any(
            fnmatch.fnmatchcase(resource, r) for r in resources
        ):
            return True
    return False


def granted_actions(statements: list[dict[str, Any]]) -> set[str]:
    found = set()
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        found |= set(actions)
    return found


def check_least_privilege(statements: list[dict[str, Any]], calls: list[Call]) -> None:
    needed = [pair for call in calls for pair in required(call)]
    refused = sorted({pair for pair in needed if not allowed(statements, *pair)})
    assert not refused, f"the role refuses calls the code makes: {refused}"
    unused = granted_actions(statements) - {action for action, _ in needed} - set(NOT_CALLED_BY_THE_CODE)
    assert not unused, f"the role allows actions the code never calls: {sorted(unused)}"
    for statement in statements:
        assert "*" not in str(statement["Action"]), "no wildcard actions"
        if statement["Resource"] == "*":
            assert statement["Sid"].endswith("TakeNoResource"), statement


# --- the tests -----------------------------------------------------------------------------------


def test_the_stack_has_every_output_of_the_contract(stack):
    # the contract's (docs/CONTRACT.md), and the dead-letter queue README's redrive reads
    assert set(stack.outputs) == OUTPUTS | {"DeadLetterQueueUrl"}
    assert stack.outputs["DeadLetterQueueUrl"].startswith("https://")
    assert all(stack.outputs.values())


def _mail_count() -> int:
    """Mail sent so far by this process's moto (other test modules share its backends)."""
    return len(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def test_the_daily_function_reports_the_day_stores_and_sends_once(stack, monkeypatch):
    mailed = _mail_count()
    summary, calls = invoke(stack, "DailyReportFunctionName", {"day": "2026-11-28"}, monkeypatch)

    # scripts/SAMPLE_DAY.md: 82 App Runner denials on 2026-11-28, 20 principals
    assert summary["day"] == "2026-11-28"
    assert summary["denials"] == 82
    assert summary["findings"] == 20
    assert summary["delivered"] == {"email": "sent", "sns": "sent", "events": "sent"}
    s3 = stack.client("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=stack.outputs["ReportsBucketName"])["Contents"]}
    assert keys == {f"reports/2026/11/28/report.{ext}" for ext in ("json", "html", "md", "csv", "details.csv")}
    stored = json.loads(
        s3.get_object(Bucket=stack.outputs["ReportsBucketName"], Key="reports/2026/11/28/report.json")["Body"].read()
    )
    assert stored["totals"]["denials"] == 82
    assert _mail_count() == mailed + 1
    assert len(_drain(stack, "reports")) == 1
    [event] = _drain(stack, "report-events")
    assert json.loads(event)["detail"]["totals"]["denials"] == 82

    check_least_privilege(stack.role_policy("DailyReportFunctionName"), calls)

    again, _ = invoke(stack, "DailyReportFunctionName", {"day": "2026-11-28"}, monkeypatch)
    assert again["delivered"] == {"email": "already_sent", "sns": "already_sent", "events": "already_sent"}
    assert again["denials"] == 82, "a re-run rebuilds the same day from its own claims in the ledger"
    assert _mail_count() == mailed + 1
    assert _drain(stack, "reports") == [] and _drain(stack, "report-events") == []


def test_a_scheduled_call_reports_the_day_that_just_ended(stack, monkeypatch):
    summary, _ = invoke(stack, "DailyReportFunctionName", {"source": "scheduler"}, monkeypatch)
    assert summary["day"] == (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert summary["time_zone"] == "UTC"
    assert summary["sources"] == [{"name": f"s3://{TRAIL_BUCKET}", "status": "ok"}]


def test_a_bad_day_is_refused(stack, monkeypatch):
    from analysis.service import RequestError

    with pytest.raises(RequestError, match="YYYY-MM-DD"):
        invoke(stack, "DailyReportFunctionName", {"day": "28/11/2026"}, monkeypatch)


def test_the_alert_function_publishes_each_denial_with_its_remedy(stack, monkeypatch):
    envelope = f.eventbridge_envelope(f.record("DescribeService", error_code="AccessDeniedException"))
    summary, calls = invoke(stack, "DenialAlertFunctionName", envelope, monkeypatch)
    assert summary["denials"] == 1 and summary["alerts"] == 1
    [body] = _drain(stack, "alerts")
    alert = json.loads(body)
    assert alert["finding"]["actions"][0]["action"] == "apprunner:DescribeService"
    assert alert["finding"]["remedy"]["kind"] == "grant"
    assert alert["finding"]["remedy"]["policy"]["Statement"][0]["Resource"] == f.service_arn()
    assert alert["finding"]["principal"]["arn"] == f.iam_user()["arn"]
    check_least_privilege(stack.role_policy("DenialAlertFunctionName"), calls)
    assert _alert_loads_no_pandas()


def test_the_alert_function_alerts_once_per_key_through_the_stacks_state_table(stack, monkeypatch):
    # a principal of its own: the stack (and its table) is shared by this module's tests
    identity = f.iam_user("dev-dedup")
    first, calls = invoke(stack, "DenialAlertFunctionName", _update_denial(identity, 0), monkeypatch)
    second, more = invoke(stack, "DenialAlertFunctionName", _update_denial(identity, 30), monkeypatch)
    assert (first["alerts"], second["alerts"], second["deduplicated"]) == (1, 0, 1)
    [body] = _drain(stack, "alerts")
    alert = json.loads(body)
    assert [rule["name"] for rule in alert["rules"]] == ["first_seen", "sensitive_action"]  # UpdateService: Write
    assert alert["events_since_last_alert"] == 0
    updates = [call for call in calls + more if call.service == "dynamodb"]
    assert {call.operation for call in updates} == {"UpdateItem"}
    # the role's AlertState statement allows only items whose key starts alert# (dynamodb:LeadingKeys)
    assert all(call.params["Key"]["id"]["S"].startswith("alert#") for call in updates)
    [statement] = [s for s in stack.role_policy("DenialAlertFunctionName") if s.get("Sid") == "AlertState"]
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["alert#*"]}}
    check_least_privilege(stack.role_policy("DenialAlertFunctionName"), calls + more)


def _security_hub_grant(parameters: dict[str, str]) -> list[dict[str, Any]]:
    """DenialAlertRole's ImportFindings statement as template.yaml writes it with ``parameters`` (none: absent)."""
    role = expanded_template(parameters)["Resources"]["DenialAlertRole"]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    found = []
    for statement in statements:
        if isinstance(statement, dict) and "Fn::If" in statement:
            condition, then, _ = statement["Fn::If"]
            if condition == "ImportsToSecurityHub" and parameters.get("AlertSecurityHub") == "true":
                found.append(then)
        elif isinstance(statement, dict) and statement.get("Sid") == "ImportFindings":
            found.append(statement)
    return found


def test_the_security_hub_grant_is_the_product_the_function_imports_to():
    product = "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default"
    variables = expanded_template(PARAMETERS)["Resources"]["DenialAlertFunction"]["Properties"]["Environment"]
    # the default product of the function's own account and region: BatchImportFindings accepts findings of the
    # calling account only (AwsAccountId), on that account's default product (Security Hub API reference)
    assert variables["Variables"]["ALERT_SECURITY_HUB_PRODUCT_ARN"] == {"Fn::Sub": product}
    assert _security_hub_grant(PARAMETERS) == []  # AlertSecurityHub false (the default): no grant
    [grant] = _security_hub_grant({**PARAMETERS, "AlertSecurityHub": "true"})
    assert grant == {
        "Sid": "ImportFindings",
        "Effect": "Allow",
        "Action": "securityhub:BatchImportFindings",
        "Resource": {"Fn::Sub": product},
    }


def test_the_alert_function_imports_one_security_hub_finding_per_key(stack, monkeypatch):
    stack.client("securityhub").enable_security_hub()
    monkeypatch.setattr(sys.modules[__name__], "_lambda_environment", _with_security_hub(_lambda_environment))
    identity = f.iam_user("dev-hub")
    first, calls = invoke(stack, "DenialAlertFunctionName", _update_denial(identity, 0), monkeypatch)
    later = f.eventbridge_envelope(
        f.record("UpdateService", identity=identity, event_time="2026-11-29T10:00:01Z")  # the next period
    )
    second, more = invoke(stack, "DenialAlertFunctionName", later, monkeypatch)
    assert first["problems"] == second["problems"] == []
    assert first["security_hub_findings"] == second["security_hub_findings"] != []
    [finding] = [
        x
        for x in stack.client("securityhub").get_findings()["Findings"]
        if x["Id"] == first["security_hub_findings"][0]
    ]
    assert finding["AwsAccountId"] == DEFAULT_ACCOUNT_ID and finding["Severity"]["Label"] == "MEDIUM"  # a Write
    assert finding["LastObservedAt"] == "2026-11-29T10:00:01.000Z"  # updated by the second alert
    _drain(stack, "alerts")
    # the role as template.yaml makes it with AlertSecurityHub=true: the stack's, plus the grant resolved by hand
    [grant] = _security_hub_grant({**PARAMETERS, "AlertSecurityHub": "true"})
    product = f"arn:aws:securityhub:{REGION}:{DEFAULT_ACCOUNT_ID}:product/{DEFAULT_ACCOUNT_ID}/default"
    statements = [*stack.role_policy("DenialAlertFunctionName"), {**grant, "Resource": product}]
    check_least_privilege(statements, calls + more)


def _with_security_hub(environment: Any) -> Any:
    def switched_on(stack: Stack, function_output: str) -> dict[str, str]:
        return {**environment(stack, function_output), "ALERT_SECURITY_HUB": "true"}

    return switched_on


def _update_denial(identity: dict[str, Any], seconds: int) -> dict[str, Any]:
    when = f"2026-11-28T10:00:{seconds:02d}Z"
    return f.eventbridge_envelope(f.record("UpdateService", identity=identity, event_time=when))


def _alert_loads_no_pandas() -> bool:
    """The alert handler's import and one call, in a fresh interpreter, without pandas."""
    import subprocess

    code = (
        "import sys, json; sys.path.insert(0, 'functions/denial_alert'); import app; "
        "from analysis.alert_service import alert_on_event; from analysis.settings import load_settings; "
        "alert_on_event({'eventSource': 'apprunner.amazonaws.com', 'errorCode': 'AccessDenied', "
        "'eventName': 'ListServices'}, load_settings({})); print(json.dumps('pandas' in sys.modules))"
    )
    env = {"AWS_DEFAULT_REGION": REGION, "PATH": "/usr/bin:/bin", "POWERTOOLS_TRACE_DISABLED": "true"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]) is False


def _drain(stack: Stack, inbox: str) -> list[str]:
    sqs = stack.client("sqs")
    found = sqs.receive_message(QueueUrl=stack.inboxes[inbox], MaxNumberOfMessages=10).get("Messages", [])
    for message in found:
        sqs.delete_message(QueueUrl=stack.inboxes[inbox], ReceiptHandle=message["ReceiptHandle"])
    return [m["Body"] for m in found]


def test_the_code_folders_hold_the_handlers_the_template_names():
    for name, function in FUNCTIONS.items():
        properties = expanded_template(PARAMETERS)["Resources"][name]["Properties"]
        assert properties["Handler"] == "app.handler"
        assert (Path(ROOT) / "functions" / function / "app.py").is_file()


# --- the alert rule's pattern ---------------------------------------------------------------------

EVENTS = {  # name -> (EventBridge source, CloudTrail record), and whether the rule must route it
    "write denied": ("aws.apprunner", f.record("UpdateService", error_code="AccessDenied"), True),
    "read-only denied": ("aws.apprunner", f.record("DescribeService", error_code="AccessDeniedException"), True),
    "list denied": ("aws.apprunner", f.record("ListServices", error_code="AccessDeniedException", request={}), True),
    "success": ("aws.apprunner", f.record("DescribeService", error_code=None), False),
    "throttled": ("aws.apprunner", f.record("DescribeService", error_code="ThrottlingException"), False),
    "not found": ("aws.apprunner", f.record("DescribeService", error_code="ResourceNotFoundException"), False),
    "invalid": ("aws.apprunner", f.record("CreateService", error_code="InvalidRequestException"), False),
    "validation": ("aws.apprunner", f.record("CreateService", error_code="ValidationException"), False),
    "other service denied": (
        "aws.ecs",
        f.record("DescribeServices", error_code="AccessDeniedException", event_source="ecs.amazonaws.com"),
        False,
    ),
}


def test_the_rule_routes_the_audited_service_denials_and_nothing_else(stack):
    """The stack's rule pattern on a bus of its own with an SQS target (moto cannot put events to a
    Lambda target): App Runner denials arrive, read-only ones included; nothing else does."""
    events, sqs = stack.client("events"), stack.client("sqs")
    pattern = events.describe_rule(Name=stack.outputs["DenialAlertRuleName"])["EventPattern"]
    queue = sqs.create_queue(QueueName="rule-pattern")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="pattern-test")
    events.put_rule(Name="pattern", EventBusName="pattern-test", EventPattern=pattern)
    events.put_targets(Rule="pattern", EventBusName="pattern-test", Targets=[{"Id": "q", "Arn": queue_arn}])
    entries = [
        {
            "Source": source,
            "DetailType": "AWS API Call via CloudTrail",
            "Detail": json.dumps(record),
            "EventBusName": "pattern-test",
        }
        for source, record, _ in EVENTS.values()
    ]
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
    routed = set()
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            routed.add(json.loads(message["Body"])["detail"]["eventID"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    expected = {record["eventID"] for _, record, wanted in EVENTS.values() if wanted}
    assert routed == expected


def test_the_rule_receives_read_only_management_events():
    """moto ignores a rule's state, so it is read from the template: Describe*/List* denials reach a rule
    only in ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS."""
    rule = expanded_template(PARAMETERS)["Resources"]["DenialAlertRule"]["Properties"]
    assert rule["State"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["DenialAlertFunction", "Arn"]}


# --- alert suppressions: the grant each AlertSuppressions value makes (review finding 6) ---------------------------

SUPPRESSIONS_BUCKET = "auditor-e2e-suppressions"
SUPPRESS_ALICE = {
    "suppressions": [
        {
            "principal": f.iam_user()["arn"],
            "action": "apprunner:DescribeService",
            "reason": "stack test",
            "expires": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
        }
    ]
}


def _stack_with(stack: Stack, name: str, parameters: dict[str, str]) -> Stack:
    """Another stack of template.yaml in the same moto server, with ``parameters`` added."""
    every = {**PARAMETERS, **parameters}
    cloudformation = stack.client("cloudformation")
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=dumps(expanded_template(every, REGION)),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in every.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    described = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    return Stack(stack.endpoint, stack.session, {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}, {})


def _suppression_grants(stack: Stack) -> list[dict[str, Any]]:
    return [s for s in stack.role_policy("DenialAlertFunctionName") if s.get("Sid", "").startswith("ReadSuppressions")]


@pytest.mark.parametrize(
    ("name", "value", "environment", "grants"),
    [
        (
            "s3-suppressions",
            "s3://audit-config/k/x.json",
            f"s3://audit-config/k/x.json?owner={DEFAULT_ACCOUNT_ID}",  # the stack's own account, appended
            [
                {
                    "Sid": "ReadSuppressions",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::audit-config/k/x.json",  # that object only, ?owner= not in it
                    "Condition": {"StringEquals": {"s3:ResourceAccount": DEFAULT_ACCOUNT_ID}},
                }
            ],
        ),
        (
            "s3-owned-elsewhere",
            "s3://audit-config/k/x.json?owner=210987654321",
            "s3://audit-config/k/x.json?owner=210987654321",
            [
                {
                    "Sid": "ReadSuppressions",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::audit-config/k/x.json",
                    "Condition": {"StringEquals": {"s3:ResourceAccount": "210987654321"}},
                }
            ],
        ),
        (
            "ssm-suppressions",
            "ssm:/a/b",
            "ssm:/a/b",
            [
                {
                    "Sid": "ReadSuppressionsParameter",
                    "Effect": "Allow",
                    "Action": "ssm:GetParameter",
                    "Resource": f"arn:aws:ssm:{REGION}:{DEFAULT_ACCOUNT_ID}:parameter/a/b",  # not parameter//a/b
                }
            ],
        ),
        ("no-suppressions", "", "", []),
    ],
)
def test_each_suppression_location_gets_exactly_its_grant(stack, name, value, environment, grants):
    made = _stack_with(stack, name, {"AlertSuppressions": value})
    assert _suppression_grants(made) == grants
    assert _lambda_environment(made, "DenialAlertFunctionName").get("ALERT_SUPPRESSIONS", "") == environment


@pytest.mark.parametrize("location", ["s3", "ssm"])
def test_the_alert_function_reads_its_suppressions_within_its_grant(stack, monkeypatch, location):
    """The real handler in a stack with AlertSuppressions set: one denial suppressed, one alerted; every call it
    made (GetObject with ExpectedBucketOwner, or GetParameter) is within that stack's role."""
    document = json.dumps(SUPPRESS_ALICE)
    if location == "s3":
        stack.client("s3").create_bucket(Bucket=SUPPRESSIONS_BUCKET)
        stack.client("s3").put_object(Bucket=SUPPRESSIONS_BUCKET, Key="alerts/s.json", Body=document.encode())
        value = f"s3://{SUPPRESSIONS_BUCKET}/alerts/s.json"
    else:
        stack.client("ssm").put_parameter(Name="/auditor-e2e/s", Value=document, Type="SecureString", Overwrite=True)
        value = "ssm:/auditor-e2e/s"
    made = _stack_with(stack, f"reads-{location}", {"AlertSuppressions": value})
    suppressed, calls = invoke(made, "DenialAlertFunctionName", f.eventbridge_envelope(f.record()), monkeypatch)
    alerted, more = invoke(made, "DenialAlertFunctionName", _update_denial(f.iam_user("dev-bob"), 0), monkeypatch)
    assert (suppressed["suppressed"], suppressed["alerts"], suppressed["problems"]) == (1, 0, [])
    assert (alerted["suppressed"], alerted["alerts"]) == (0, 1)
    reads = [call for call in calls + more if call.operation in ("GetObject", "GetParameter")]
    assert len(reads) == 2  # each invocation imported the handler anew: a cold start each, one read each
    if location == "s3":
        # the role's condition s3:ResourceAccount holds only when the bucket is the stack's account's: the code pins it
        assert {call.params.get("ExpectedBucketOwner") for call in reads} == {DEFAULT_ACCOUNT_ID}
    check_least_privilege(made.role_policy("DenialAlertFunctionName"), calls + more)


# --- the alert function's own alarms (review finding 7) -------------------------------------------------------------

OWN_ALARMS = {
    "SuppressionsExpiredAlarm": "SuppressionsExpired",
    "SuppressionProblemsAlarm": "SuppressionProblems",
    "PublishProblemsAlarm": "PublishProblems",
    "StateErrorsAlarm": "StateErrors",
}


def test_the_alert_functions_problems_alarm_the_alert_topic_at_most_daily():
    from analysis.alert_service import AlertRun
    from analysis.observability import NAMESPACE, SERVICE

    template = expanded_template(PARAMETERS)
    resources = template["Resources"]
    emitted = set(AlertRun().metrics())  # the metrics the handler publishes (analysis.alert_service)
    # the SAM transform has put the Globals' Powertools variables in each function
    variables = resources["DenialAlertFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE
    assert variables["POWERTOOLS_SERVICE_NAME"] == SERVICE
    for alarm, metric in OWN_ALARMS.items():
        properties = resources[alarm]["Properties"]
        assert metric in emitted
        assert (properties["Namespace"], properties["MetricName"]) == (NAMESPACE, metric)
        # Powertools' Metrics(service=...) dimension: {"Dimensions": [["service"]]} in each EMF line
        assert properties["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
        assert (properties["Statistic"], properties["Threshold"], properties["ComparisonOperator"]) == (
            "Sum",
            1,
            "GreaterThanOrEqualToThreshold",
        )
        # one day per period: CloudWatch notifies on entering ALARM, and a day's sum stays breaching for 24 hours
        assert properties["Period"] * properties["EvaluationPeriods"] == 86400
        assert properties["TreatMissingData"] == "notBreaching"
        assert properties["AlarmActions"] == [{"Ref": "AlertTopic"}]
        assert "OKActions" not in properties and "InsufficientDataActions" not in properties
