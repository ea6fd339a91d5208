"""analysis.explore.history reading the reports bucket (moto): the hand-built week of the unit tests, uploaded
under ``reports/YYYY/MM/DD/report.json``, loads as its local copy does; a key that cannot be read is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.explore import history as h
from tests.unit.test_explore_history import day_report, week, write

pytestmark = pytest.mark.integration

BUCKET = "access-reports"


def upload(s3: Any, files: dict[str, Any], **extra: Any) -> None:
    for key, content in files.items():
        body = content if isinstance(content, str) else json.dumps(content)
        s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode("utf-8"), **extra)


def test_the_bucket_loads_as_its_local_copy(s3, tmp_path: Path):
    upload(s3, week())
    s3.put_object(Bucket=BUCKET, Key="reports/2026/11/28/report.html", Body=b"<html></html>")  # not read
    from_bucket, from_folder = h.load_history_s3(s3, BUCKET), h.load_history(write(tmp_path, week()))
    assert from_bucket.problems == from_folder.problems == ["2026-11-26: no report stored for this day"]
    assert [(s.day, s.report) for s in from_bucket.reports] == [(s.day, s.report) for s in from_folder.reports]
    assert [s.location for s in from_bucket.reports] == [
        f"s3://{BUCKET}/reports/2026/11/{day}/report.json" for day in (24, 25, 27, 28)
    ]
    pd.testing.assert_frame_equal(h.history_frame(from_bucket), h.history_frame(from_folder))


def test_load_reads_an_s3_uri_with_the_client_given(s3):
    upload(s3, week())
    upload(s3, {"elsewhere/2026/11/23/report.json": day_report(23, [])})
    history = h.load(f"s3://{BUCKET}/reports/", s3=s3)
    assert [d.isoformat() for d in history.days] == ["2026-11-24", "2026-11-25", "2026-11-27", "2026-11-28"]


def test_reports_beyond_the_first_page_of_the_listing_are_read(s3):
    for n in range(1000):  # a page of list_objects_v2 holds 1000 keys: these come first, the reports after
        s3.put_object(Bucket=BUCKET, Key=f"reports/0-other/{n:04d}.txt", Body=b"x")
    upload(s3, week())
    history = h.load_history_s3(s3, BUCKET)
    assert history.problems == ["2026-11-26: no report stored for this day"]
    assert [d.day for d in history.days] == [24, 25, 27, 28]


def test_an_unreadable_key_and_a_malformed_one_are_named_and_the_rest_loads(s3):
    upload(s3, week())
    upload(s3, {"reports/2026/11/26/report.json": day_report(26, [])}, StorageClass="GLACIER")  # archived
    upload(s3, {"reports/2026/11/23/report.json": "not json"})
    history = h.load_history_s3(s3, BUCKET)
    assert len(history.problems) == 2  # the 26th is named for its key, not also as a day without a report
    assert history.problems[0].startswith(f"s3://{BUCKET}/reports/2026/11/23/report.json: not a report (not valid")
    assert history.problems[1].startswith(f"s3://{BUCKET}/reports/2026/11/26/report.json: cannot be read (")
    assert "InvalidObjectState" in history.problems[1]
    assert [d.day for d in history.days] == [24, 25, 27, 28]


def test_an_empty_prefix_says_nothing_was_found(s3):
    history = h.load_history_s3(s3, BUCKET, "reports/")
    assert history.reports == []
    assert history.problems == [f"no report found under s3://{BUCKET}/reports/ (expected …/YYYY/MM/DD/report.json)"]


# --- the sample week (scripts/SAMPLE_WEEK.md) ---------------------------------------------------

# SAMPLE_WEEK.md's schedule, by hand: each principal's canonical key and the days (of November 2026) it is played.
EVERY_DAY = [22, 23, 24, 25, 26, 27, 28]
SCHEDULE = {
    "arn:aws:iam::111122223333:user/dev-alice": EVERY_DAY,  # 1
    "arn:aws:iam::111122223333:role/GitHubActionsDeploy": EVERY_DAY,  # 2
    "arn:aws:iam::444455556666:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Developer_Access_0a1b2c3d4e5f6789": (
        EVERY_DAY  # 3
    ),
    "arn:aws:iam::123456789012:role/PartnerReadOnly": [23, 25, 27, 28],  # 4a
    "arn:aws:iam::999988887777:role/ExternalAuditor": [26, 27, 28],  # 4b
    "arn:aws:iam::111122223333:user/contractor-bob": [24, 28],  # 5
    "arn:aws:iam::444455556666:role/DataScience": [25, 26, 27, 28],  # 6
    "arn:aws:iam::111122223333:role/ServiceOperator": [22, 25, 28],  # 7a
    "arn:aws:iam::111122223333:role/SupportAccess": [23, 26, 28],  # 7b
    "arn:aws:iam::444455556666:role/BatchReporter": EVERY_DAY,  # 7c
    "arn:aws:iam::444455556666:root": [28],  # 8
    "service:apprunner.amazonaws.com": EVERY_DAY,  # 9
    "arn:aws:iam::777788889999:user/svc-legacy": [28],  # 10
    "arn:aws:iam::444455556666:user/ops-intern": [22, 23, 24, 28],  # 11a
    "arn:aws:iam::111122223333:role/LegacyJenkins": EVERY_DAY,  # 11b
    "arn:aws:iam::444455556666:user/dev-carol": [26, 28],  # 11c
    "arn:aws:iam::111122223333:role/PlatformTerraformApplyRole-AppRunnerProvisioning-prod-use1": [27, 28],  # 11d
    "arn:aws:iam::111122223333:user/bob": [24, 28],  # 11e
    "arn:aws:iam::444455556666:role/ADFS-ReadOnly": [22, 25, 28],  # 11f
    "arn:aws:iam::777788889999:role/GitHubDocsPreview": [23, 27, 28],  # 11g
    "arn:aws:iam::444455556666:role/QAAutomation": [22, 23, 24, 25],  # w1
    "arn:aws:iam::111122223333:user/dev-dan": [22, 23, 24],  # w2
}


@pytest.fixture(scope="module")
def sample_week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scripts.sample_day.week import build_sample_week

    return build_sample_week(tmp_path_factory.mktemp("sample-week"))


def test_the_sample_week_as_its_schedule_says(sample_week):
    history = h.load(sample_week)
    assert history.problems == []
    assert [d.day for d in history.days] == EVERY_DAY
    frame = h.history_frame(history)
    played = {key: sorted(day.day for day in days) for key, days in frame.groupby("principal_key")["day"]}
    assert played == SCHEDULE

    by_key = frame.drop_duplicates("principal_key").set_index("principal")["principal_key"]
    first_days = {key: days[0] for key, days in SCHEDULE.items()}
    new = h.new_principals(frame)
    assert {by_key[label]: day.day for label, day in zip(new["principal"], new["first_day"], strict=True)} == {
        key: first for key, first in first_days.items() if first > 22
    }
    recurring = h.recurring_principals(frame).set_index("principal")
    still = {by_key[label]: on for label, on in recurring["on_latest_day"].items()}
    assert still == {key: 28 in days for key, days in SCHEDULE.items() if len(days) >= 2}
    # w1: DescribeService ×2 + ListOperations ×1 on 4 days; w2: StartDeployment ×2 on 3 days; fixes both grants
    fixes = h.fixes_by_impact(frame).set_index("principal")
    assert fixes.loc["role/QAAutomation @444455556666", ["denials", "days"]].tolist() == [12, 4]
    assert fixes.loc["user/dev-dan @111122223333", ["denials", "days"]].tolist() == [6, 3]
    # 4a: a trusted partner (medium), 4b: outside the organization (critical); the only cross-account callers
    outside = h.outside_accounts(frame).set_index("caller_account")
    assert outside[["days", "severity", "caller"]].to_dict("index") == {
        "123456789012": {"days": 4, "severity": "medium", "caller": "trusted or organization"},
        "999988887777": {"days": 3, "severity": "critical", "caller": "outside: confirm the owner first"},
    }
    # the fixes of 4a and 4b are their cross-account roles: ranked by denials, each with its caveat
    fixes = h.fixes_by_impact(frame).set_index("principal")
    auditor = fixes.loc["role/ExternalAuditor @999988887777 → 111122223333"]
    partner = fixes.loc["role/PartnerReadOnly @123456789012 → 111122223333"]
    assert (auditor["remedy"], auditor["severity"], auditor["caller"]) == (
        "cross_account_role",
        "critical",
        "outside: confirm the owner first",
    )
    assert (partner["remedy"], partner["severity"], partner["caller"]) == (
        "cross_account_role",
        "medium",
        "trusted or organization",
    )
    # one row per identity (principal key, owning account), whatever its label on each day
    assert len(h.principal_days(frame)) == len(frame.drop_duplicates(["principal_key", "target_account"]))
    assert frame.groupby(["principal_key", "target_account"], dropna=False)["principal"].nunique().max() == 1


def test_the_sample_week_loads_from_the_bucket_as_from_the_folder(s3, sample_week):
    reports = sample_week / "reports"
    upload(s3, {f"reports/{p.relative_to(reports).as_posix()}": p.read_text() for p in reports.rglob("report.json")})
    from_bucket, from_folder = h.load_history_s3(s3, BUCKET), h.load_history(sample_week)
    assert from_bucket.problems == []
    assert [(s.day, s.report) for s in from_bucket.reports] == [(s.day, s.report) for s in from_folder.reports]
