"""Credentials stay out of messages (issue 15).

A presigned URL carries its signer's credentials in the query (S3 API Reference, "Authenticating Requests: Using
Query Parameters (AWS Signature Version 4)"): ``X-Amz-Credential`` starts with the access key ID,
``X-Amz-Security-Token`` is the whole session token of temporary credentials (a Lambda's role session), and
``X-Amz-Signature`` lets anyone holding the URL make that request. Signature Version 2 URLs carry
``AWSAccessKeyId``, ``Signature`` and ``x-amz-security-token``. Mail and SNS are read, forwarded and archived by
many: they link the S3 console page of the report (which asks the reader to sign in), never a presigned URL; and
``mask_secrets`` masks these query values wherever they appear in text, URL-encoded or not.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.config import Config

from analysis.contract import as_report
from analysis.delivery import sns
from analysis.delivery.s3 import Link, Location, link_to
from analysis.redact import mask_secrets
from tests import reports as r

KEY_ID = "ASIAY34FZKBOKMUTVV7A"
# Shaped like an STS session token (base64 with + / =), written for this test; not a real one.
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+test/token+with/slashes=="
SIGNATURE = "3f7c2b1a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b"
# A SigV4 presigned URL as the S3 documentation shows one, with our values (URL-encoded, as a client writes them).
PRESIGNED_V4 = (
    "https://access-reports.s3.amazonaws.com/reports/2026/11/28/report.html?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    f"&X-Amz-Credential={KEY_ID}%2F20261128%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261128T060000Z"
    "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
    "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaCXVzLWVhc3QtMSJHMEUCIQD%2Btest%2Ftoken"
    f"%2Bwith%2Fslashes%3D%3D&X-Amz-Signature={SIGNATURE}"
)
PRESIGNED_V2 = (
    "https://access-reports.s3.amazonaws.com/reports/2026/11/28/report.html?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE"
    "&Signature=vjbyPxybdZaNmGa%2ByT272YEAiv4%3D&x-amz-security-token=FQoDYXdzEJr%2F%2Fsome%2Btoken%3D"
    "&Expires=1796000000"
)


CREDENTIAL_NAMES = ("x-amz-credential", "x-amz-security-token", "x-amz-signature", "awsaccesskeyid", "signature")


def secrets_of(url: str) -> list[str]:
    """The credential-bearing query values of a presigned URL, both as written (URL-encoded) and decoded."""
    written = [pair.split("=", 1) for pair in urlsplit(url).query.split("&")]
    values = [value for name, value in written if name.lower() in CREDENTIAL_NAMES]
    return values + [unquote(value) for value in values]


def shown_pieces(value: str) -> list[str]:
    """Pieces of a secret long enough to matter (8 characters)."""
    return [value[i : i + 8] for i in range(0, max(1, len(value) - 7), 4)]


@pytest.mark.parametrize("url", [PRESIGNED_V4, PRESIGNED_V2], ids=["sigv4", "sigv2"])
@pytest.mark.parametrize("around", ["{}", "Full report: {} (link)", "see<{}>", "x{}y", "'{}'"])
def test_no_part_of_a_presigned_urls_credentials_survives_masking(url, around):
    masked = mask_secrets(around.format(url))
    assert secrets_of(url), "the URL carries credentials to mask"
    for secret in secrets_of(url):
        leaked = [piece for piece in shown_pieces(secret) if piece in masked]
        assert leaked == [], (secret, leaked)
    assert "report.html?" in masked and "Expires=" in masked  # the rest is still readable


def test_masking_covers_the_header_form_and_lower_case_names():
    text = f"x-amz-security-token: {TOKEN} and X-AMZ-SIGNATURE={SIGNATURE}"
    masked = mask_secrets(text)
    assert TOKEN[12:20] not in masked and SIGNATURE[:8] not in masked
    assert masked.startswith("x-amz-security-token: ")


def test_a_url_botocore_presigns_loses_its_credentials_to_masking():
    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key="not-a-real-secret",
        aws_session_token=TOKEN,
        config=Config(signature_version="s3v4"),
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "report.html"}, ExpiresIn=3600)
    masked = mask_secrets(url)
    assert KEY_ID in url and secrets_of(url)
    for secret in secrets_of(url):
        assert [piece for piece in shown_pieces(secret) if piece in masked] == []


# --- links in messages ----------------------------------------------------------------------------------------


class OfflineS3:
    """Only what link_to reads of an S3 client; presigning would need generate_presigned_url, which it lacks."""

    class meta:
        region_name = "eu-west-1"


LOCATION = Location("access-reports", "reports/2026/11/28/report.html")


def test_the_link_in_messages_is_the_console_page_and_never_expires():
    link = link_to(OfflineS3(), LOCATION, "object")
    assert link == Link(
        "https://s3.console.aws.amazon.com/s3/object/access-reports?region=eu-west-1"
        "&prefix=reports%2F2026%2F11%2F28%2Freport.html",
        None,
        "opens s3://access-reports/reports/2026/11/28/report.html in the S3 console; needs read access to the bucket",
    )
    assert link_to(OfflineS3(), LOCATION, "none") is None


def test_no_presigned_link_is_made_for_a_message():
    with pytest.raises(ValueError, match="presigned"):
        link_to(OfflineS3(), LOCATION, "presigned")


@pytest.mark.parametrize("url", [PRESIGNED_V4, PRESIGNED_V2], ids=["sigv4", "sigv2"])
def test_a_link_cannot_carry_credentials(url):
    """Defence in depth: whatever makes a Link, mail and SNS (which print link.url) never get a presigned URL."""
    with pytest.raises(ValueError, match="credentials"):
        Link(url, 86400, "valid for up to 1 day(s)")


def test_the_notices_carry_the_console_link():
    report = as_report(r.every_kind())
    link = link_to(OfflineS3(), LOCATION, "object")
    assert link is not None
    for message in (sns.text_message(report, link), sns.chatbot_message(report, link)):
        assert "https://s3.console.aws.amazon.com/s3/object/access-reports?region=eu-west-1" in message
        assert "X-Amz-" not in message
