"""ARNs the auditor writes itself take the partition of their region (arn:PARTITION:service:region:account:…).

Partitions per the AWS General Reference: ``aws`` (commercial), ``aws-cn`` (Beijing, Ningxia),
``aws-us-gov`` (GovCloud).
"""

from __future__ import annotations

import pytest

from analysis.delivery.s3 import Location
from analysis.identifiers import partition_for_region
from analysis.model import Options
from tests import factories as f
from tests.analysed import findings_of

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-east-1", "aws"),
        ("eu-west-1", "aws"),
        ("cn-north-1", "aws-cn"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-gov-east-1", "aws-us-gov"),
        (None, "aws"),
    ],
)
def test_the_partition_of_a_region(region, partition):
    assert partition_for_region(region) == partition


@pytest.mark.parametrize(("region", "partition"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_a_root_user_named_only_by_its_account_gets_its_partitions_arn(region, partition):
    record = f.record(identity={"type": "Root", "accountId": f.ACCOUNT}, region=region, error_message=None)
    [finding] = findings_of([record])
    assert finding["principal"]["arn"] == f"arn:{partition}:iam::{f.ACCOUNT}:root"


def test_the_resource_policy_alternative_names_a_govcloud_caller_by_its_partition():
    caller = {"type": "AWSAccount", "accountId": f.OTHER_ACCOUNT, "principalId": "AROAEXAMPLE:s"}
    record = f.record(
        "SendMessage",
        event_source="sqs.amazonaws.com",
        identity=caller,
        error_message=None,
        region="us-gov-west-1",
        request={"queueUrl": f"https://sqs.us-gov-west-1.amazonaws.com/{f.ACCOUNT}/jobs"},
    )
    [finding] = findings_of([record], Options(service="all"))
    assert finding["remedy"]["kind"] == "cross_account_role"
    notes = " ".join(finding["remedy"]["notes"])
    assert f'"Principal": {{"AWS": "arn:aws-us-gov:iam::{f.OTHER_ACCOUNT}:root"}}' in notes
    assert "arn:aws:iam" not in notes


def test_a_location_without_a_partition_is_commercial():
    assert Location("b", "k").arn == "arn:aws:s3:::b/k"
