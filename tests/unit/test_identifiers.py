"""One rule per AWS identifier, and every entry point refuses the same values with the same words."""

from __future__ import annotations

import pytest
from botocore.loaders import create_loader

from analysis.identifiers import (
    BUCKET,
    ORG_ID,
    REGION,
    TABLE,
    InvalidIdentifier,
    parse_accounts,
    parse_list,
    parse_regions,
)
from analysis.model import Window
from analysis.settings import load_settings
from analysis.sources import sources_from_spec
from analysis.sources.base import SourceError
from analysis.sql.ddl import create_table_ddl

pytestmark = pytest.mark.unit


def test_lists_keep_the_given_order_drop_blanks_and_repeats():
    assert parse_regions(" eu-west-1, us-east-1,,eu-west-1 ") == ("eu-west-1", "us-east-1")
    assert parse_accounts(["111122223333", " 444455556666 ", "111122223333"]) == {"111122223333", "444455556666"}
    assert parse_list("", ORG_ID, "an organization ID") == ()


@pytest.mark.parametrize(
    ("parse", "value", "message"),
    [
        (parse_accounts, "111122223333,1111", "not a 12-digit AWS account ID: 1111"),
        (parse_accounts, "1111222233334", "not a 12-digit AWS account ID: 1111222233334"),
        (parse_regions, "us-east-1,mars,eu_west_1", "not an AWS region: mars, eu_west_1"),
    ],
)
def test_every_refused_value_is_named(parse, value, message):
    with pytest.raises(InvalidIdentifier, match=f"^{message}$"):
        parse(value)


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        # Organizations: "o-" then 10 to 32 lower-case letters or digits.
        (ORG_ID, ["o-a1b2c3d4e5", "o-" + "a" * 32], ["o-short", "o-A1B2C3D4E5", "org-a1b2c3d4e5", "o-" + "a" * 33]),
        # S3 bucket names: 3 to 63 characters, lower-case letters, digits, dots and hyphens, letter or digit at ends.
        (BUCKET, ["abc", "my.reports-1", "a" * 63], ["ab", "Reports", "-reports", "reports-", "a" * 64]),
        # DynamoDB: 3 to 255 of [A-Za-z0-9_.-], or the table's ARN in any partition.
        (
            TABLE,
            ["state", "App.State-1", "arn:aws-us-gov:dynamodb:us-gov-west-1:111122223333:table/state"],
            ["ab", "state table", "arn:aws:dynamodb:us-east-1:1111:table/state"],
        ),
    ],
)
def test_the_identifier_rules(pattern, good, bad):
    assert [value for value in good if not pattern.match(value)] == []
    assert [value for value in bad if pattern.match(value)] == []


def _botocore_regions() -> set[str]:
    """Every region of every partition in botocore's endpoint data and its partitions file, but the pseudo-regions
    of global endpoints (``aws-global``, described "aws global region"), which no event or trail names."""
    loader = create_loader()
    endpoints = {region for p in loader.load_data("endpoints")["partitions"] for region in p["regions"]}
    partitions = {
        region
        for p in loader.load_data("partitions")["partitions"]
        for region, about in p["regions"].items()
        if not about.get("description", "").endswith(" global region")
    }
    return endpoints | partitions


def test_every_region_botocore_knows_is_a_region():
    regions = _botocore_regions()
    assert {"us-east-1", "cn-north-1", "us-gov-west-1", "us-isob-east-1", "eusc-de-east-1"} <= regions
    assert sorted(region for region in regions if not REGION.match(region)) == []


@pytest.mark.parametrize(
    "value",
    # a name, underscores, capitals, an Availability Zone, a Local Zone group, a global endpoint's pseudo-region,
    # no number, a one-letter area, a trailing hyphen, a space
    [
        "mars",
        "eu_west_1",
        "US-EAST-1",
        "us-east-1a",
        "us-west-2-lax-1",
        "aws-global",
        "us-east",
        "e-west-1",
        "us-east-1-",
        "us-east- 1",
    ],
)
def test_what_is_not_a_region_is_refused(value):
    assert not REGION.match(value)


def test_lookup_refuses_what_is_not_a_region_like_every_other_source():
    with pytest.raises(SourceError, match="lookup:us-east-1,not-a-region: not an AWS region: not-a-region"):
        sources_from_spec("lookup:us-east-1,not-a-region", Window())
    with pytest.raises(SourceError, match="not an AWS region: not-a-region"):
        sources_from_spec("s3://trail?regions=not-a-region", Window())


def test_the_ddl_and_the_settings_refuse_the_same_accounts():
    with pytest.raises(ValueError, match="not a 12-digit AWS account ID: 1111"):
        create_table_ddl("trail", accounts=["1111"])
    with pytest.raises(ValueError, match="not a 12-digit AWS account ID: 1111"):
        load_settings({"TRUSTED_ACCOUNTS": "1111"})


def test_the_state_table_may_be_named_by_arn_as_the_idempotency_table_may():
    arn = "arn:aws:dynamodb:us-east-1:111122223333:table/state"
    assert load_settings({"STATE_TABLE": arn}).state_table == arn
