"""The report's files in S3 (``reports/YYYY/MM/DD/report.{json,html,md,csv}`` and ``report.details.csv``,
encrypted), and links to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from analysis.contract import Report
from analysis.identifiers import partition_for_region
from analysis.redact import mask_secrets
from analysis.render.common import report_day

FORMATS = ("json", "html", "md", "csv", "csv_details")
CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "csv_details": "text/csv; charset=utf-8",
}
FILE_NAMES = {fmt: f"report.{fmt}" for fmt in FORMATS} | {"csv_details": "report.details.csv"}


# The AWS Management Console of each partition with a public one.
CONSOLES = {
    "aws": "https://s3.console.aws.amazon.com",
    "aws-cn": "https://console.amazonaws.cn",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
}


@dataclass(frozen=True)
class Location:
    bucket: str
    key: str
    partition: str = "aws"  # of the bucket's region: aws-cn and aws-us-gov buckets have their own ARNs

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket}/{self.key}"


@dataclass(frozen=True)
class Link:
    """A link to the full report for a message, and how long it works (None: as long as the object exists).

    Never a presigned URL: one carries its signer's access key ID, session token and signature, and a message is
    read, forwarded and archived by many (issue 15)."""

    url: str
    expires_in_seconds: int | None
    words: str  # how a reader should understand the link, e.g. "needs read access to the bucket"

    def __post_init__(self) -> None:
        if mask_secrets(self.url) != self.url:
            raise ValueError("a link in a message must not carry credentials (a presigned URL's signing values)")


def report_prefix(report: Report, prefix: str = "reports/") -> str:
    """``reports/YYYY/MM/DD/`` for the day the report is about."""
    day = report_day(report)
    year, month, date = day[:4], day[5:7], day[8:10]
    return f"{prefix}{year}/{month}/{date}/"


def put_reports(
    s3: Any,
    bucket: str,
    report: Report,
    rendered: dict[str, str],
    *,
    prefix: str = "reports/",
    kms_key_id: str | None = None,
) -> dict[str, Location]:
    """Write every rendered format of the report; server-side encrypted (SSE-KMS with a key, else SSE-S3)."""
    folder = report_prefix(report, prefix)
    partition = partition_for_region(s3.meta.region_name)
    locations = {}
    for fmt in FORMATS:
        if fmt in rendered:
            location = Location(bucket, folder + FILE_NAMES[fmt], partition)
            locations[fmt] = put_text(s3, location, rendered[fmt], fmt, kms_key_id)
    return locations


def put_text(s3: Any, location: Location, text: str, fmt: str, kms_key_id: str | None = None) -> Location:
    encryption: dict[str, str] = {"ServerSideEncryption": "AES256"}
    if kms_key_id:
        encryption = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    s3.put_object(
        Bucket=location.bucket,
        Key=location.key,
        Body=text.encode("utf-8"),
        ContentType=CONTENT_TYPES[fmt],
        **encryption,
    )
    return location


def link_to(s3: Any, location: Location, mode: str) -> Link | None:
    """A link for people: the S3 console page of the object (``object``: the reader signs in, and it never
    expires), or none (``none``; also where the partition's console is not on the internet).

    ``presigned`` is refused: a presigned URL in mail or SNS would hand its signer's access key ID and session
    token, and a working GET of the report, to whoever reads the message."""
    if mode == "none":
        return None
    if mode != "object":
        raise ValueError(
            f"link mode {mode!r}: messages link the S3 console page (object) or nothing (none); "
            "presigned links are not sent, they carry the signer's credentials"
        )
    region = s3.meta.region_name or "us-east-1"
    console = CONSOLES.get(partition_for_region(region))
    if console is None:  # the isolated partitions' consoles are not on the internet
        return None
    url = f"{console}/s3/object/{quote(location.bucket)}?region={quote(region)}&prefix={quote(location.key, safe='')}"
    return Link(url, None, f"opens {location.uri} in the S3 console; needs read access to the bucket")
