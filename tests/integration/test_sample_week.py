"""The sample week (scripts/sample_day/week.py): seven days of trail files and their stored daily reports.

Expected figures come from the documents, not from the generator's objects: which scenarios play on which day from
scripts/SAMPLE_WEEK.md's schedule table, each scenario's App Runner denial records from the "refused calls" column
of scripts/SAMPLE_DAY.md (and SAMPLE_WEEK.md's table of the week-only scenarios), parsed here.
"""

from __future__ import annotations

import json
import re
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from analysis.ledger_stores import FileLedger
from analysis.report import validate
from analysis.sources.files import bundled_sample_path
from scripts.sample_day.week import build_sample_week, render_week, store_day, week_days, write_trail

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DAY_MD = ROOT / "scripts" / "SAMPLE_DAY.md"
SAMPLE_WEEK_MD = ROOT / "scripts" / "SAMPLE_WEEK.md"
FIRST_DAY = date(2026, 11, 22)
DAY_COLUMNS = [str(number) for number in range(1, 8)]


# --- the documents, read as an engineer reads them ----------------------------------------------


def _tables(markdown: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of the document, as rows keyed by the header's cells."""
    tables: list[list[dict[str, str]]] = []
    lines = markdown.splitlines()
    for index, line in enumerate(lines):
        is_header = line.startswith("|") and index + 1 < len(lines) and lines[index + 1].startswith("| ---")
        if not is_header:
            continue
        header = [cell.strip() for cell in line.strip("|").split("|")]
        rows = []
        for row in lines[index + 2 :]:
            if not row.startswith("|"):
                break
            rows.append(dict(zip(header, (cell.strip() for cell in row.strip().strip("|").split(" | ")), strict=True)))
        tables.append(rows)
    return tables


def _records(refused_calls: str) -> int:
    """The App Runner denial records of a "refused calls" cell: the sum of its ``×N``."""
    return sum(int(n) for n in re.findall(r"×(\d+)", refused_calls))


def _scenario_records(markdown: str) -> dict[str, int]:
    return {row["#"]: _records(row["refused calls"]) for table in _tables(markdown) for row in table if "#" in row}


def _canonical(principal_cell: str) -> str | None:
    """The principal's canonical ARN (the first backticked ``arn:``), or None for an AWS service."""
    match = re.match(r"`(arn:[^`]+)`", principal_cell)
    return match.group(1) if match else None


@pytest.fixture(scope="module")
def schedule() -> list[dict[str, str]]:
    (grid,) = [table for table in _tables(SAMPLE_WEEK_MD.read_text(encoding="utf-8")) if "days present" in table[0]]
    return grid


@pytest.fixture(scope="module")
def records_per_scenario() -> dict[str, int]:
    day = _scenario_records(SAMPLE_DAY_MD.read_text(encoding="utf-8"))
    week = _scenario_records(SAMPLE_WEEK_MD.read_text(encoding="utf-8"))
    assert not set(day) & set(week), "a week-only scenario has a bundled scenario's key"
    return {**day, **week}


def _expected(schedule: list[dict[str, str]], records: dict[str, int], number: int) -> tuple[int, set[str | None]]:
    """Day ``number``'s App Runner denials and principals, from the schedule and the per-scenario records."""
    present = [row for row in schedule if row[str(number)] == "x"]
    return sum(records[row["scenario"]] for row in present), {_canonical(row["principal"]) for row in present}


# --- the week ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_week(tmp_path_factory.mktemp("sample-week"))


def _files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def _report(week: Path, day: date) -> dict[str, Any]:
    return json.loads((week / "reports" / f"{day:%Y/%m/%d}" / "report.json").read_text(encoding="utf-8"))


def test_sample_day_md_accounts_for_every_app_runner_denial_by_its_scenarios(records_per_scenario):
    """The background traffic has no App Runner denial of its own: the day's total is the scenarios' sum."""
    text = SAMPLE_DAY_MD.read_text(encoding="utf-8")
    total = int(re.search(r"(\d+) App Runner denials in total", text).group(1))
    bundled = {key: count for key, count in records_per_scenario.items() if not key.startswith("w")}
    assert total == sum(bundled.values()) == 82
    assert records_per_scenario["w1"] == 3 and records_per_scenario["w2"] == 2  # counted by hand in week.py


def test_the_schedule_tells_the_weeks_story(schedule):
    days = {row["scenario"]: [n for n in range(1, 8) if row[str(n)] == "x"] for row in schedule}
    assert all(7 in present for key, present in days.items() if not key.startswith("w")), "day 7 has them all"
    assert days["1"] == days["2"] == days["3"] == list(range(1, 8))
    assert days["w1"] == [1, 2, 3, 4] and days["w2"] == [1, 2, 3]
    assert days["4b"] == [5, 6, 7] and days["6"] == [4, 5, 6, 7] and days["10"] == [7]


def test_sample_week_md_is_rendered_from_the_schedule():
    assert SAMPLE_WEEK_MD.read_text(encoding="utf-8") == render_week()


def test_day_7_trail_files_are_the_bundled_sample_byte_for_byte(week):
    day_7 = _files(week / "trail" / "2026-11-28" / "AWSLogs")
    assert day_7 == _files(bundled_sample_path() / "AWSLogs")
    assert len(day_7) == 874  # SAMPLE_DAY.md's "files" row


def test_every_day_has_its_trail_folder_and_its_stored_report(week):
    days = [FIRST_DAY + timedelta(days=n) for n in range(7)]
    assert sorted(p.name for p in (week / "trail").iterdir()) == [d.isoformat() for d in days]
    stored = sorted(p.relative_to(week).as_posix() for p in (week / "reports").rglob("*") if p.is_file())
    assert stored == [f"reports/{d:%Y/%m/%d}/report.json" for d in days]


@pytest.mark.parametrize("number", range(1, 8))
def test_each_days_report_has_the_scheduled_denials_and_principals(week, schedule, records_per_scenario, number):
    day = FIRST_DAY + timedelta(days=number - 1)
    report = _report(week, day)
    validate(report)
    denials, principals = _expected(schedule, records_per_scenario, number)
    assert report["totals"]["denials"] == denials
    assert {f["principal"]["arn"] for f in report["findings"]} == principals
    assert report["totals"]["findings"] == len(principals)
    assert report["window"] == {"start": f"{day}T00:00:00Z", "end": f"{day + timedelta(days=1)}T00:00:00Z"}
    assert report["daily"]["key"] == day.isoformat()
    assert report["generated_at"] == f"{day + timedelta(days=1)}T01:00:00Z"
    assert report["totals"]["late_denials"] == 0 and report["totals"]["malformed_records"] == 0


def test_the_week_totals_add_up(week, schedule, records_per_scenario):
    per_day = [_report(week, FIRST_DAY + timedelta(days=n))["totals"]["denials"] for n in range(7)]
    assert per_day == [45, 49, 45, 48, 44, 48, 82]  # by hand from the two tables: e.g. day 1 is 1, 2, 3, 7a, 7c,
    # 9, 11a, 11b, 11f, w1, w2: 12 + 7 + 8 + 3 + 3 + 2 + 2 + 2 + 1 + 3 + 2 = 45


def test_a_day_is_the_same_bytes_when_built_again(week, tmp_path):
    day_1 = week_days()[0]
    write_trail(tmp_path, day_1)
    assert _files(tmp_path / "trail" / "2026-11-22") == _files(week / "trail" / "2026-11-22")
    stored = week / "reports" / "2026" / "11" / "22" / "report.json"
    before = stored.read_bytes()
    with tempfile.TemporaryDirectory() as ledger:
        store_day(week, day_1, FileLedger(Path(ledger)))
    assert stored.read_bytes() == before
