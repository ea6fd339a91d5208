"""ARNs the auditor writes itself take the partition of their region (arn:PARTITION:service:region:account:…).

Partitions per the AWS General Reference: ``aws`` (commercial), ``aws-cn`` (Beijing, Ningxia),
``aws-us-gov`` (GovCloud).
"""

from __future__ import annotations

import functools

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


@functools.cache
def _endpoint_resolver():
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    return EndpointResolver(create_loader().load_data("endpoints"))


def _botocore_endpoint_partition(region: str) -> str:
    """The second method: botocore's endpoint resolver over its 1.2 MB endpoint data, as this module used to."""
    from botocore.exceptions import UnknownRegionError

    try:
        return _endpoint_resolver().get_partition_for_region(region)
    except UnknownRegionError:
        return "aws"


# Regions no table lists, each matching one partition's regionRegex only (a region newer than this botocore).
_UNLISTED = ["us-west-9", "eu-south-9", "mx-central-9", "cn-south-9", "us-gov-north-9", "us-iso-north-9"]
_UNLISTED += ["us-isob-west-9", "eu-isoe-north-9", "us-isof-north-9", "eusc-de-west-9"]


def _every_listed_region() -> list[str]:
    import json
    from pathlib import Path

    import botocore
    from botocore.loaders import create_loader

    data = Path(botocore.__file__).parent / "data"
    partitions = json.loads((data / "partitions.json").read_text())["partitions"]
    endpoints = create_loader().load_data("endpoints")["partitions"]
    return sorted({region for table in (partitions, endpoints) for entry in table for region in entry["regions"]})


def test_every_region_botocore_knows_gets_the_partition_its_endpoint_data_gives():
    """partitions.json against the endpoint resolver, on every region either table lists and on unlisted ones;
    the only differences allowed are the SDKs' global pseudo-regions (``aws-cn-global``…), which partitions.json
    places in their partition and the endpoint data in none."""
    regions = _every_listed_region() + _UNLISTED
    assert len(regions) > 40
    differ = {r: (partition_for_region(r), _botocore_endpoint_partition(r)) for r in regions}
    differ = {r: pair for r, pair in differ.items() if pair[0] != pair[1]}
    assert all(region.endswith("-global") for region in differ), differ
    assert all(region == f"{ours}-global" for region, (ours, _) in differ.items()), differ


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("eusc-de-east-1", "aws-eusc"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("cn-south-9", "aws-cn"),
        ("us-gov-north-9", "aws-us-gov"),
        ("aws-cn-global", "aws-cn"),
        ("not-a-region", "aws"),
        ("", "aws"),
    ],
)
def test_partitions_beyond_the_three_main_ones_and_regions_no_table_lists(region, partition):
    assert partition_for_region(region) == partition


def test_the_partition_table_is_read_without_botocores_endpoint_data(monkeypatch):
    import botocore.loaders

    from analysis import identifiers

    def refuse(*args, **kwargs):
        raise AssertionError("endpoint data loaded")

    monkeypatch.setattr(botocore.loaders.Loader, "load_data", refuse)
    identifiers._partitions.cache_clear()
    partition_for_region.cache_clear()
    try:
        assert partition_for_region("cn-northwest-1") == "aws-cn"
    finally:
        identifiers._partitions.cache_clear()
        partition_for_region.cache_clear()
