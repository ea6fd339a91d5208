"""Report objects stored in a China or GovCloud bucket are named with that partition's ARNs."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from analysis.contract import as_report
from analysis.delivery.s3 import Location, link_to, put_reports
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


@pytest.mark.parametrize(
    ("region", "console"),
    [
        ("eu-west-1", "https://s3.console.aws.amazon.com/s3/object/reports?region=eu-west-1&prefix="),
        ("cn-north-1", "https://console.amazonaws.cn/s3/object/reports?region=cn-north-1&prefix="),
        ("us-gov-west-1", "https://console.amazonaws-us-gov.com/s3/object/reports?region=us-gov-west-1&prefix="),
    ],
)
def test_the_console_link_opens_the_console_of_the_buckets_partition(region, console):
    s3 = boto3.client("s3", region_name=region)
    link = link_to(s3, Location("reports", "reports/2026/11/28/report.html"), "object")
    assert link is not None and link.url == console + "reports%2F2026%2F11%2F28%2Freport.html"


def test_a_bucket_in_an_isolated_partition_gets_no_link():
    s3 = boto3.client("s3", region_name="us-iso-east-1")
    assert link_to(s3, Location("reports", "report.html"), "object") is None
