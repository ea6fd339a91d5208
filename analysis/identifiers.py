"""AWS identifiers, each checked by one rule: account IDs, regions, partitions, source prefixes (a leaf module)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

ACCOUNT_ID = re.compile(r"^\d{12}$")
# A region code as botocore's partitions hold them: us-east-1, us-gov-west-1, us-isob-east-1, eusc-de-east-1…
REGION = re.compile(r"^[a-z]{2,}(-[a-z]+)+-\d+$")
ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# A DynamoDB table by name or by ARN (any partition).
TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$|^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]{3,255}$")
SERVICE_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")  # an IAM service prefix: apprunner, iam, s3, sso-directory…
# The source specs that read AWS rather than local files.
AWS_PREFIXES = ("lookup:", "s3://", "athena:", "lake:")


class InvalidIdentifier(ValueError):
    """A value that is not the identifier it claims to be."""


def invalid_accounts(accounts: frozenset[str] | list[str] | tuple[str, ...]) -> list[str]:
    """The values that are not 12-digit AWS account IDs, sorted."""
    return sorted(a for a in accounts if not ACCOUNT_ID.match(a))


def invalid_regions(regions: frozenset[str] | list[str] | tuple[str, ...]) -> list[str]:
    """The values that are not region codes such as ``eu-west-1``, ``us-gov-west-1`` or ``eusc-de-east-1``, sorted."""
    return sorted(r for r in regions if not REGION.match(r))


def split_list(value: str) -> list[str]:
    """``'a, b,,c'`` -> ``['a', 'b', 'c']``: the comma-separated lists of flags and environment variables."""
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_list(value: str | Iterable[Any], pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    """A comma-separated string (or the values given), each value once, in order; ``InvalidIdentifier``
    names every value ``pattern`` refuses (``what``: e.g. "a 12-digit AWS account ID")."""
    items = split_list(value) if isinstance(value, str) else [str(item).strip() for item in value]
    unique = tuple(dict.fromkeys(item for item in items if item))
    bad = [item for item in unique if not pattern.match(item)]
    if bad:
        raise InvalidIdentifier(f"not {what}: {', '.join(bad)}")
    return unique


def parse_accounts(value: str | Iterable[Any]) -> frozenset[str]:
    """``'111122223333, 444455556666'`` -> frozenset; anything that is not a 12-digit account is refused."""
    return frozenset(parse_list(value, ACCOUNT_ID, "a 12-digit AWS account ID"))


def parse_regions(value: str | Iterable[Any]) -> tuple[str, ...]:
    """``'us-east-1,eu-west-1'`` -> each region once, in order; anything that is not a region code is refused."""
    return parse_list(value, REGION, "an AWS region")


@cache
def partition_for_region(region: str | None) -> str:
    """The ARN partition of a region (``aws``, ``aws-cn``, ``aws-us-gov``, …): the first of botocore's
    partitions (``data/partitions.json``, the SDKs' partition table) that lists the region or whose
    ``regionRegex`` matches it; ``aws`` for none, or no region."""
    if not region:
        return "aws"
    for partition, regions, pattern in _partitions():
        if region in regions or pattern.match(region):
            return partition
    return "aws"  # a region newer than this botocore and outside every partition's pattern


@cache
def _partitions() -> tuple[tuple[str, frozenset[str], re.Pattern[str]], ...]:
    """botocore's partition table (7 KB), read once; its endpoint data (1.2 MB, 70 ms to load) is not needed."""
    import json
    from pathlib import Path

    import botocore

    table = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text(encoding="utf-8"))
    return tuple(
        (entry["id"], frozenset(entry.get("regions", {})), re.compile(entry["regionRegex"]))
        for entry in table["partitions"]
    )


def finding_id(principal_key: str, target_account_id: str | None) -> str:
    """A finding's id, stable across runs: a digest of the principal's grouping key and the owning account."""
    digest = hashlib.sha256(f"{principal_key}\n{target_account_id or 'unknown'}".encode()).hexdigest()
    return f"f-{digest[:16]}"
