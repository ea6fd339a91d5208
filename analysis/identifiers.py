"""AWS identifiers, each checked by one rule: account IDs, regions, partitions, source prefixes (a leaf module)."""

from __future__ import annotations

import re
from functools import cache

ACCOUNT_ID = re.compile(r"^\d{12}$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
SERVICE_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")  # an IAM service prefix: apprunner, iam, s3, sso-directory…
# The source specs that read AWS rather than local files.
AWS_PREFIXES = ("lookup:", "s3://", "athena:", "lake:")


class InvalidIdentifier(ValueError):
    """A value that is not the identifier it claims to be."""


def invalid_accounts(accounts: frozenset[str] | list[str] | tuple[str, ...]) -> list[str]:
    """The values that are not 12-digit AWS account IDs, sorted."""
    return sorted(a for a in accounts if not ACCOUNT_ID.match(a))


def invalid_regions(regions: frozenset[str] | list[str] | tuple[str, ...]) -> list[str]:
    """The values that are not region codes such as ``eu-west-1`` or ``us-gov-west-1``, sorted."""
    return sorted(r for r in regions if not REGION.match(r))


def split_list(value: str) -> list[str]:
    """``'a, b,,c'`` -> ``['a', 'b', 'c']``: the comma-separated lists of flags and environment variables."""
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_accounts(value: str) -> frozenset[str]:
    """``'111122223333, 444455556666'`` -> frozenset; anything that is not a 12-digit account is refused."""
    accounts = frozenset(split_list(value))
    bad = invalid_accounts(accounts)
    if bad:
        raise InvalidIdentifier(f"not a 12-digit AWS account ID: {', '.join(bad)}")
    return accounts


@cache
def partition_for_region(region: str | None) -> str:
    """The ARN partition of a region (``aws``, ``aws-cn``, ``aws-us-gov``, …) from botocore's endpoint data."""
    if not region:
        return "aws"
    from botocore.exceptions import UnknownRegionError
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(create_loader().load_data("endpoints"))
    try:
        return resolver.get_partition_for_region(region)
    except UnknownRegionError:  # a region newer than this botocore and outside every partition's pattern
        return "aws"
