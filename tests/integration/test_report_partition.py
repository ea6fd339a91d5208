"""Report objects stored in a China or GovCloud bucket are named with that partition's ARNs."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from analysis.contract import as_report
from analysis.delivery.s3 import put_reports
from tests import reports as r

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(("region", "partition"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_report_objects_get_the_arns_of_their_buckets_partition(region, partition):
    with mock_aws():
        s3 = boto3.client("s3", region_name=region)
        s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": region})
        report = as_report(r.every_kind())
        locations = put_reports(s3, "reports", report, {"json": report.dumps()})
    assert locations["json"].arn == f"arn:{partition}:s3:::reports/reports/2026/11/28/report.json"
