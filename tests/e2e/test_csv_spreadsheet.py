"""The CSV files opened in a real spreadsheet (LibreOffice Calc, headless): account IDs stay text with all 12 digits,
no cell from a log becomes a formula, even with the import's "evaluate formulas" and "detect special numbers" on.

Needs ``soffice`` (Debian: ``apt-get install libreoffice-calc-nogui``); without it these tests skip.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from analysis.render.csv import render_csv, render_csv_details
from tests import reports as r

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"),
]

# The CSV import filter's options (LibreOffice's "Filter Options for the CSV Filter"): comma, double quote, UTF-8,
# from line 1, standard cell format, default language, quoted fields not forced to text, special numbers detected,
# (export-only tokens), spaces kept, evaluate formulas on: the import most willing to turn text into something else.
CSV_IMPORT = "CSV:44,34,76,1,,0,false,true,true,false,false,-1,true"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
LEADING_ZERO = "012345678901"


def opened(text: str, tmp_path: Path) -> list[list[tuple[str, str, bool]]]:
    """The sheet LibreOffice makes of a CSV: per row, each cell's (value type, shown text, is a formula)."""
    source = tmp_path / "report.csv"
    source.write_text(text, encoding="utf-8", newline="")
    command = [
        "soffice",
        f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
        "--headless",
        "--convert-to",
        "fods",
        f"--infilter={CSV_IMPORT}",
        "--outdir",
        str(tmp_path),
        str(source),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    converted = tmp_path / "report.fods"
    assert done.returncode == 0 and converted.exists(), done.stderr[-2000:]
    rows = []
    for row in ET.parse(converted).iter(f"{{{TABLE}}}table-row"):
        cells = []
        for cell in row.iter(f"{{{TABLE}}}table-cell"):
            shown = "\n".join("".join(p.itertext()) for p in cell.iter(f"{{{TEXT}}}p"))
            kind = cell.get(f"{{{OFFICE}}}value-type", "")
            repeat = int(cell.get(f"{{{TABLE}}}number-columns-repeated", "1"))
            cells += [(kind, shown, cell.get(f"{{{TABLE}}}formula") is not None)] * min(repeat, 100)
        rows.append(cells)
    return rows


def test_account_ids_open_as_text_with_every_digit_and_no_cell_is_a_formula(tmp_path):
    report = r.report(
        [
            r.finding(
                f"arn:aws:iam::{LEADING_ZERO}:role/Deploy",
                type_="AssumedRole",
                account=LEADING_ZERO,
                target=LEADING_ZERO,
            ),
            *r.hostile()["findings"],
        ]
    )
    sheet = opened(render_csv(report), tmp_path)
    header = [shown for _, shown, _ in sheet[0]]
    first = next(row for row in sheet if row[header.index("principal")][1].startswith(f"arn:aws:iam::{LEADING_ZERO}"))
    for column in ("principal_account_id", "target_account_id"):
        kind, shown, _ = first[header.index(column)]
        assert (kind, shown) == ("string", "'" + LEADING_ZERO)  # the number would be 12345678901
    assert first[header.index("cross_account")][0] == "boolean"
    assert first[header.index("first_seen")][:2] == ("string", "2026-11-28T09:15:00Z")
    assert not any(formula for row in sheet for _, _, formula in row)


def test_no_cell_of_the_details_file_is_a_formula(tmp_path):
    sheet = opened(render_csv_details(r.hostile()), tmp_path)
    sessions = [row[4][1] for row in sheet[1:] if len(row) > 4 and row[3][1] == "sessions"]
    assert "'=1+1" in sessions and "'" + r.HYPERLINK in sessions
    assert not any(formula for row in sheet for _, _, formula in row)
