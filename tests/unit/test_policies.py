"""Scoping refused resources and checking proposed policies against the catalog, in every partition.

Expected ARNs are written from the IAM ARN format (arn:partition:iam::account:role/name-with-path) and the
Service Authorization Reference (sts:AssumeRole takes the IAM role resource type; s3:ListBucket the bucket).
"""

import pytest

from analysis.policies import assume_role_policy, catalog_problems, scope_resources

ACCOUNT = "111122223333"


def test_the_callers_own_session_is_not_a_resource_to_grant():
    session = f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/Deploy/jane"
    scoped = scope_resources("sts:TagSession", [session], principal_arn=session)
    assert scoped.resources == [] and scoped.notes == []


def test_resources_of_another_type_are_left_out_with_a_note():
    obj = "arn:aws-cn:s3:::reports/2026/11/report.json"
    scoped = scope_resources("s3:ListBucket", [obj, "arn:aws-cn:s3:::reports"])
    assert scoped.resources == ["arn:aws-cn:s3:::reports"]
    assert scoped.notes == [f"s3:ListBucket: '{obj}' is not a resource this action takes; left out."]


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_assume_role_policies_pass_the_catalog_check(partition):
    assert catalog_problems(assume_role_policy(f"arn:{partition}:iam::{ACCOUNT}:role/Cross/AppRunnerAccess")) == []


def test_assume_role_on_something_other_than_a_role_is_a_problem():
    policy = assume_role_policy(f"arn:aws:iam::{ACCOUNT}:user/dev-alice")
    assert catalog_problems(policy) == [
        f"sts:AssumeRole: arn:aws:iam::{ACCOUNT}:user/dev-alice matches none of the action's resource types"
    ]


def test_catalog_problems_of_a_hand_written_policy():
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": "apprunner:Describe*", "Resource": "*"},
            {"Sid": "B", "Effect": "Allow", "Action": "apprunner:describeservice", "Resource": "*"},
            {"Sid": "C", "Effect": "Allow", "Action": "apprunner:DescribeService", "Resource": "*"},
            {"Sid": "D", "Effect": "Allow", "Action": "apprunner:ListServices", "Resource": "*"},
            {"Sid": "E", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        ],
    }
    assert catalog_problems(policy) == [
        "apprunner:Describe*: wildcard action",
        "apprunner:describeservice: not an action of the IAM catalog (or not spelled as it is)",
        "apprunner:DescribeService: '*' although the action takes a resource",
        "E: uses NotAction",
    ]
