"""The details CSV is stored beside the report: ``reports/YYYY/MM/DD/report.details.csv``, as text/csv, encrypted."""

from __future__ import annotations

import pytest

from analysis.contract import as_report
from analysis.delivery.s3 import FORMATS, put_reports
from analysis.render import render
from tests import reports as r

pytestmark = pytest.mark.integration

BUCKET = "reports"


def test_every_format_and_the_details_csv_are_stored_side_by_side(s3):
    report = as_report(r.every_kind())
    rendered = {fmt: render(report, fmt) for fmt in FORMATS}
    locations = put_reports(s3, BUCKET, report, rendered)
    folder = "reports/2026/11/28/"
    assert {fmt: location.key for fmt, location in locations.items()} == {
        "json": folder + "report.json",
        "html": folder + "report.html",
        "md": folder + "report.md",
        "csv": folder + "report.csv",
        "csv_details": folder + "report.details.csv",
    }
    stored = s3.get_object(Bucket=BUCKET, Key=folder + "report.details.csv")
    assert stored["ContentType"] == "text/csv; charset=utf-8" and stored["ServerSideEncryption"] == "AES256"
    text = stored["Body"].read().decode("utf-8")
    assert text.startswith("day,finding_id,action,field,value\r\n") and text == rendered["csv_details"]
