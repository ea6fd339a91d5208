"""The report's files in S3 (``reports/YYYY/MM/DD/report.{json,html,md,csv}``, encrypted), and links to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from analysis.contract import Report
from analysis.identifiers import partition_for_region
from analysis.render.common import report_day

FORMATS = ("json", "html", "md", "csv")
CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}


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
    """A link to the full report, and how long it works (None: as long as the object exists)."""

    url: str
    expires_in_seconds: int | None
    words: str  # how a reader should understand the link, e.g. "valid for up to 24 hours"


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
            location = Location(bucket, f"{folder}report.{fmt}", partition)
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


def link_to(s3: Any, location: Location, mode: str, expiry_seconds: int) -> Link | None:
    """A link for people: the S3 console page of the object, or a presigned URL, or none.

    A presigned URL works for ``expiry_seconds`` at most, and stops when the credentials that signed it
    expire (a Lambda's role session); it also carries the signer's access key ID, as every presigned URL
    does. Give an S3 client made with ``Config(signature_version="s3v4")`` for SigV4 links."""
    if mode == "none":
        return None
    if mode == "presigned":
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": location.bucket, "Key": location.key}, ExpiresIn=expiry_seconds
        )
        words = (
            f"valid for up to {_duration(expiry_seconds)} from sending, less if the credentials that signed "
            "it expire first"
        )
        return Link(url, expiry_seconds, words)
    region = s3.meta.region_name or "us-east-1"
    console = CONSOLES.get(partition_for_region(region))
    if console is None:  # the isolated partitions' consoles are not on the internet
        return None
    url = f"{console}/s3/object/{quote(location.bucket)}?region={quote(region)}&prefix={quote(location.key, safe='')}"
    return Link(url, None, f"opens {location.uri} in the S3 console; needs read access to the bucket")


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} day(s)"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    return f"{seconds // 60} minute(s)" if seconds >= 60 else f"{seconds} second(s)"
