"""Trail files in S3 (moto): only the needed prefixes are listed, late files are found, every layout reads."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from analysis import cli
from analysis.model import Window
from analysis.pipeline import Options, analyse
from analysis.records import Malformed, Skipped
from analysis.sources import SourceError, source_from_spec
from analysis.sources.s3trail import S3TrailSource, delivered_at, parse_spec, s3_source
from tests import factories as f

BUCKET = "org-trail-logs"
ORG = "o-a1b2c3d4e5"
DAY = datetime(2026, 11, 28, tzinfo=UTC)
WINDOW = Window(DAY, DAY + timedelta(days=1))
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def listed(client: Any) -> list[tuple[str, str | None]]:
    """Record the (Prefix, Delimiter) of every ListObjectsV2 call the client makes."""
    calls: list[tuple[str, str | None]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append((params.get("Prefix", ""), params.get("Delimiter")))

    client.meta.events.register("provide-client-params.s3.ListObjectsV2", record)
    return calls


def put_trail_file(
    client: Any,
    base: str,
    account: str,
    region: str,
    delivered: datetime,
    records: list[dict[str, Any]],
    *,
    pretty: bool = False,
) -> str:
    folder = f"{base}{account}/CloudTrail/{region}/{delivered:%Y/%m/%d}/"
    key = f"{folder}{account}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_{len(records)}{delivered:%H%M}abcdef.json.gz"
    document = {"Records": records}
    text = json.dumps(document, indent=2).encode() if pretty else orjson.dumps(document)
    client.put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(text), ContentEncoding="gzip")
    return key


def at(day_offset: int, hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(days=day_offset, hours=hour, minutes=minute)


def event(name: str, when: datetime, account: str = f.ACCOUNT, region: str = f.REGION, **kwargs: Any) -> dict:
    return f.record(name, event_time=when.strftime("%Y-%m-%dT%H:%M:%SZ"), recipient=account, region=region, **kwargs)


def ok(name: str, when: datetime, **kwargs: Any) -> dict:
    return event(name, when, error_code=None, **kwargs)


def source(client: Any, spec: str, window: Window = WINDOW) -> S3TrailSource:
    return S3TrailSource(client=client, spec=parse_spec(spec), window=window, name=spec, now=NOW)


# --- which prefixes are listed ------------------------------------------------------------------


def test_account_trail_with_a_prefix_lists_only_the_window_days_and_finds_a_late_file(s3):
    base = "logs/AWSLogs/"
    account = f.ACCOUNT
    put_trail_file(
        s3,
        base,
        account,
        "us-east-1",
        at(0, 0, 5),
        [event("DescribeService", at(-1, 23, 58)), ok("ListServices", at(0, 0, 2))],
    )
    put_trail_file(
        s3,
        base,
        account,
        "us-east-1",
        at(0, 12),
        [event("UpdateService", at(0, 11, 57)), ok("ListServices", at(0, 11, 58))],
    )
    put_trail_file(
        s3, base, account, "eu-west-1", at(0, 18), [event("PauseService", at(0, 17, 55), region="eu-west-1")]
    )
    late = put_trail_file(
        s3,
        base,
        account,
        "us-east-1",
        at(1, 1, 30),
        [event("DeleteService", at(0, 23, 59)), ok("ListServices", at(1, 1))],
    )
    too_late = put_trail_file(s3, base, account, "us-east-1", at(1, 9), [event("ResumeService", at(0, 23, 59))])
    put_trail_file(s3, base, account, "us-east-1", at(-1, 23, 55), [event("ListOperations", at(-1, 23, 50))])
    put_trail_file(s3, base, account, "us-east-1", at(2, 0, 5), [event("StartDeployment", at(2, 0))])
    s3.put_object(
        Bucket=BUCKET, Key=f"{base}{account}/CloudTrail-Digest/us-east-1/2026/11/28/digest.json.gz", Body=b"{}"
    )
    calls = listed(s3)

    result = analyse([source(s3, f"s3://{BUCKET}/logs")], WINDOW, Options())

    days = [f"2026/11/{d}/" for d in (28, 29)]
    trail = f"logs/AWSLogs/{account}/CloudTrail/"
    assert calls == [
        ("logs/AWSLogs/", "/"),
        (trail, "/"),
        *[(f"{trail}eu-west-1/{day}", None) for day in days],
        *[(f"{trail}us-east-1/{day}", None) for day in days],
    ]
    names = sorted(result.frame["event_name"])
    assert names == ["DeleteService", "PauseService", "UpdateService"], (
        "the late file is read, the one past the margin not"
    )
    status = result.report.document()["sources"][0]
    assert status["status"] == "ok" and status["records_read"] == 7  # every record of the 4 files read
    assert "DescribeService" not in names, "read (a straggler in the first file) but outside the window"
    assert delivered_at(late) == at(1, 1, 30) and delivered_at(too_late) == at(1, 9)


def test_organization_trail_lists_accounts_then_regions_then_days(s3):
    base = f"AWSLogs/{ORG}/"
    for account in (f.ACCOUNT, f.OTHER_ACCOUNT):
        put_trail_file(
            s3, base, account, "us-east-1", at(0, 10), [event("DescribeService", at(0, 9, 58), account=account)]
        )
    put_trail_file(
        s3, base, f.OTHER_ACCOUNT, "ap-south-1", at(0, 11), [ok("ListServices", at(0, 10, 58), region="ap-south-1")]
    )
    calls = listed(s3)
    one_day = Window(DAY, DAY + timedelta(hours=12))

    result = analyse([source(s3, f"s3://{BUCKET}", one_day)], one_day, Options())

    assert calls == [
        ("AWSLogs/", "/"),
        (base, "/"),
        (f"{base}{f.ACCOUNT}/CloudTrail/", "/"),
        (f"{base}{f.ACCOUNT}/CloudTrail/us-east-1/2026/11/28/", None),
        (f"{base}{f.OTHER_ACCOUNT}/CloudTrail/", "/"),
        (f"{base}{f.OTHER_ACCOUNT}/CloudTrail/ap-south-1/2026/11/28/", None),
        (f"{base}{f.OTHER_ACCOUNT}/CloudTrail/us-east-1/2026/11/28/", None),
    ]
    assert sorted(result.frame["recipient_account_id"]) == [f.ACCOUNT, f.OTHER_ACCOUNT]
    assert result.report.document()["sources"][0]["records_read"] == 3


def test_named_organization_account_and_regions_skip_discovery(s3):
    base = f"AWSLogs/{ORG}/"
    put_trail_file(s3, base, f.ACCOUNT, "us-east-1", at(0, 10), [event("DescribeService", at(0, 9))])
    put_trail_file(
        s3, base, f.ACCOUNT, "eu-west-1", at(0, 10), [event("DescribeService", at(0, 9), region="eu-west-1")]
    )
    calls = listed(s3)
    spec = f"s3://{BUCKET}/AWSLogs/{ORG}/{f.ACCOUNT}/?regions=us-east-1&margin_hours=0"

    items = list(source(s3, spec, Window(DAY, DAY + timedelta(hours=12))).read())

    assert calls == [(f"{base}{f.ACCOUNT}/CloudTrail/us-east-1/2026/11/28/", None)]
    assert [i["awsRegion"] for i in items if isinstance(i, dict)] == ["us-east-1"]


def test_account_and_organization_trails_in_one_bucket_are_both_read(s3):
    put_trail_file(s3, "AWSLogs/", f.ACCOUNT, "us-east-1", at(0, 10), [event("DescribeService", at(0, 9))])
    put_trail_file(s3, f"AWSLogs/{ORG}/", f.OTHER_ACCOUNT, "us-east-1", at(0, 10), [event("UpdateService", at(0, 9))])
    one_day = Window(DAY, DAY + timedelta(hours=12))
    result = analyse([source(s3, f"s3://{BUCKET}/", one_day)], one_day, Options())
    assert sorted(result.frame["event_name"]) == ["DescribeService", "UpdateService"]


# --- reading --------------------------------------------------------------------------------------


def test_compact_and_indented_trail_files_from_s3_are_read_alike(s3):
    base = "AWSLogs/"
    busy = [ok("ListServices", at(0, 9, m)) for m in range(40)] + [event("DescribeService", at(0, 9, 41))]
    put_trail_file(s3, base, f.ACCOUNT, "us-east-1", at(0, 9, 45), busy)
    put_trail_file(s3, base, f.ACCOUNT, "us-east-1", at(0, 10), [event("UpdateService", at(0, 9, 55))], pretty=True)
    window = Window(DAY, DAY + timedelta(hours=12))

    items = list(source(s3, f"s3://{BUCKET}?workers=3", window).read())

    assert Skipped(40) in items, "the compact file's non-denials are counted, not parsed"
    assert sorted(i["eventName"] for i in items if isinstance(i, dict)) == ["DescribeService", "UpdateService"]


def test_an_unreadable_object_is_reported_and_the_rest_read(s3):
    put_trail_file(s3, "AWSLogs/", f.ACCOUNT, "us-east-1", at(0, 10), [event("DescribeService", at(0, 9))])
    folder = f"AWSLogs/{f.ACCOUNT}/CloudTrail/us-east-1/2026/11/28/"
    bad = f"{folder}{f.ACCOUNT}_CloudTrail_us-east-1_20261128T1100Z_bad.json.gz"
    s3.put_object(Bucket=BUCKET, Key=bad, Body=b"\x1f\x8b\x08 not really gzip")
    window = Window(DAY, DAY + timedelta(hours=12))

    result = analyse([source(s3, f"s3://{BUCKET}", window)], window, Options())

    status = result.report.document()["sources"][0]
    assert status["status"] == "partial" and status["malformed_records"] == 1
    assert status["problems"][0].startswith(f"s3://{BUCKET}/{bad}: cannot decompress gzip")
    assert list(result.frame["event_name"]) == ["DescribeService"]


def test_a_missing_bucket_is_a_failed_source_named_with_its_prefix(s3):
    failing = source(s3, "s3://no-such-bucket/logs")
    result = analyse([failing], WINDOW, Options())
    status = result.report.document()["sources"][0]
    assert status["status"] == "failed"
    assert "cannot list s3://no-such-bucket/logs/AWSLogs/" in status["error"] and "NoSuchBucket" in status["error"]


def test_the_audited_service_leaves_other_denials_unparsed(s3):
    records = [event("DescribeService", at(0, 9)), event("RunInstances", at(0, 9), event_source="ec2.amazonaws.com")]
    put_trail_file(s3, "AWSLogs/", f.ACCOUNT, "us-east-1", at(0, 10), records)
    window = Window(DAY, DAY + timedelta(hours=12))
    hinted = s3_source(f"s3://{BUCKET}", window, client=s3, service="apprunner")
    items = list(hinted.read())
    assert items[0] == Skipped(1) and [i["eventName"] for i in items[1:]] == ["DescribeService"]
    everything = list(s3_source(f"s3://{BUCKET}", window, client=s3).read())
    assert sorted(i["eventName"] for i in everything) == ["DescribeService", "RunInstances"]


# --- the spec and the command line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "prefix", "organization", "accounts", "regions"),
    [
        (f"s3://{BUCKET}", "", None, (), ()),
        (f"s3://{BUCKET}/", "", None, (), ()),
        (f"s3://{BUCKET}/a/b", "a/b/", None, (), ()),
        (f"s3://{BUCKET}/a/AWSLogs/{ORG}", "a/", ORG, (), ()),
        (f"s3://{BUCKET}/AWSLogs/{f.ACCOUNT}/CloudTrail/eu-west-1/", "", None, (f.ACCOUNT,), ("eu-west-1",)),
        (
            f"s3://{BUCKET}/x?accounts={f.ACCOUNT},{f.OTHER_ACCOUNT}&regions=us-east-1",
            "x/",
            None,
            (f.ACCOUNT, f.OTHER_ACCOUNT),
            ("us-east-1",),
        ),
    ],
)
def test_spec_forms(spec, prefix, organization, accounts, regions):
    parsed = parse_spec(spec)
    assert (parsed.bucket, parsed.prefix, parsed.organization, parsed.accounts, parsed.regions) == (
        BUCKET,
        prefix,
        organization,
        accounts,
        regions,
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("s3://", "no bucket"),
        (f"s3://{BUCKET}?colour=red", "unknown option"),
        (f"s3://{BUCKET}?regions=mars", "not an AWS region"),
        (f"s3://{BUCKET}?margin_hours=soon", "must be a number"),
        (f"s3://{BUCKET}/AWSLogs/{f.ACCOUNT}/CloudTrail/us-east-1/2026", "at most"),
    ],
)
def test_bad_specs_are_refused_clearly(spec, message):
    with pytest.raises(SourceError, match=message):
        parse_spec(spec)


def test_a_window_without_a_start_is_refused(s3):
    with pytest.raises(SourceError, match="needs the window's start"):
        source_from_spec(f"s3://{BUCKET}", Window(None, DAY))


def test_the_command_line_reads_s3(s3, capsys):
    put_trail_file(s3, "logs/AWSLogs/", f.ACCOUNT, "us-east-1", at(0, 10), [event("DescribeService", at(0, 9))])
    put_trail_file(s3, "logs/AWSLogs/", f.ACCOUNT, "us-east-1", at(1, 0, 20), [event("UpdateService", at(0, 23, 59))])
    code = cli.main(["report", "--source", f"s3://{BUCKET}/logs", "--day", "2026-11-28", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["totals"]["records_read"] == 2 and report["totals"]["denials"] == 2
    assert report["sources"][0]["name"] == f"s3://{BUCKET}/logs" and report["sources"][0]["status"] == "ok"


def test_a_late_file_only_found_by_the_margin_is_not_an_error_when_absent(s3):
    window = Window(DAY, DAY + timedelta(days=1))
    items = list(source(s3, f"s3://{BUCKET}", window).read())
    assert items == [] and not any(isinstance(i, Malformed) for i in items)
