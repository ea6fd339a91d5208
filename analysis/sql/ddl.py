"""The Athena table over a trail bucket: ``CREATE EXTERNAL TABLE`` with account, region and date projected."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from analysis import sql
from analysis.identifiers import BUCKET, ORG_ID, parse_accounts, parse_regions

DEFAULT_TABLE = "cloudtrail_logs"
DEFAULT_PROJECTION_START = "2020/01/01"
FOLDER_FORMAT = "%Y/%m/%d"  # the delivery-date folders, projected as the ``timestamp`` partition
_PREFIX = re.compile(r"^[A-Za-z0-9._/-]*$")


def default_regions() -> tuple[str, ...]:
    """Every region of the ``aws`` partition where CloudTrail runs, per botocore's bundled endpoint data."""
    import botocore.session

    return tuple(sorted(botocore.session.get_session().get_available_regions("cloudtrail")))


def create_table_ddl(
    bucket: str,
    *,
    prefix: str = "",
    org_id: str | None = None,
    table: str = DEFAULT_TABLE,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    projection_start: str = DEFAULT_PROJECTION_START,
) -> str:
    """``CREATE EXTERNAL TABLE`` for a trail bucket, with account, region and date projected.

    Without ``accounts`` the account key is ``injected``: every query must then name its accounts
    (``athena:DB.TABLE?accounts=A,B``). Without ``regions``, every CloudTrail region is enumerated.
    """
    if not BUCKET.match(bucket):
        raise ValueError(f"not an S3 bucket name: {bucket!r}")
    if not _PREFIX.match(prefix):
        raise ValueError(f"not an S3 key prefix this DDL accepts (letters, digits, . _ - /): {prefix!r}")
    if org_id is not None and not ORG_ID.match(org_id):
        raise ValueError(f"not an organization ID (o-…): {org_id!r}")
    datetime.strptime(projection_start, FOLDER_FORMAT)  # ValueError unless yyyy/MM/dd
    accounts = tuple(sorted(parse_accounts(accounts)))
    regions = tuple(sorted(parse_regions(regions))) or default_regions()
    root = "/".join(part for part in (f"s3://{bucket}", prefix.strip("/"), "AWSLogs", org_id) if part)
    ddl = sql.render(
        "athena_ddl.sql",
        table=".".join(sql.identifier(part, quote="`") for part in table.split(".")),
        location=sql.literal(f"{root}/"),
        accounts=sql.literal(",".join(accounts)) if accounts else None,
        regions=sql.literal(",".join(regions)),
        date_range=sql.literal(f"{projection_start},NOW"),
        location_template=sql.literal(f"{root}/${{account}}/CloudTrail/${{region}}/${{timestamp}}"),
    )
    return _ddl_notes(accounts, org_id) + ddl


def _ddl_notes(accounts: Sequence[str], org_id: str | None) -> str:
    trail = f"organization trail {org_id}" if org_id else "trail"
    notes = [f"-- Athena table over the {trail}: partitions projected by account, region and delivery date."]
    if not accounts:
        notes.append("-- account is projected as 'injected': queries must name accounts (athena:DB.T?accounts=A,B).")
    return "\n".join(notes) + "\n"
