"""The HTML report opened in a real headless browser (Debian's chromium): no script runs, the findings'
tables are there, and a screenshot is written under the test output folder (out/test/, or
$TEST_OUTPUT_DIR). `make browser` (run by .ci/run) installs chromium; without it these tests skip locally and
fail under CI=true, where a skipped browser test would hide that the HTML report was never opened."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from analysis.render.html import CSP, render_html
from tests import reports as r

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("TEST_OUTPUT_DIR") or ROOT / "out" / "test")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PNG = b"\x89PNG\r\n\x1a\n"

MISSING = "chromium is not installed: run `make browser` (apt-get install chromium) to run the headless-browser tests"


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{MISSING} (CI=true: these tests must run, not skip)", pytrace=False)
        pytest.skip(MISSING)


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [CHROMIUM or "chromium", *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def dom_after_scripts(page: Path, profile: Path) -> BeautifulSoup:
    """The DOM once the page loaded and had time to run whatever scripts it has."""
    done = chromium(page, profile, "--virtual-time-budget=3000", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return BeautifulSoup(done.stdout, "html.parser")


def without_csp(html: str) -> str:
    """The page without its Content-Security-Policy, so what is tested is the escaping alone."""
    line = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'.replace("'", "&#39;")
    assert line in html
    return html.replace(line, "")


def hostile_report() -> dict:
    report = r.hostile()
    report["findings"] += r.every_kind()["findings"]  # every kind of finding, and the hostile strings
    return report


@pytest.fixture
def hostile_page(tmp_path: Path) -> Path:
    report = hostile_report()
    page = tmp_path / "report.html"
    page.write_text(without_csp(render_html(report)), encoding="utf-8")
    return page


def test_scripts_do_run_in_this_browser(tmp_path: Path):
    """The control: the same check on a page with a real script sees it run, so a clean result means something."""
    page = tmp_path / "control.html"
    page.write_text(
        "<html><body><script>document.documentElement.setAttribute('data-pwned','control')</script></body></html>",
        encoding="utf-8",
    )
    dom = dom_after_scripts(page, tmp_path / "profile")
    assert dom.find("html")["data-pwned"] == "control"


def test_no_script_from_the_logs_runs_and_the_findings_tables_are_there(hostile_page: Path, tmp_path: Path):
    dom = dom_after_scripts(hostile_page, tmp_path / "profile")
    assert dom.find("html").get("data-pwned") is None
    assert dom.find("script") is None and dom.find("img") is None
    findings = dom.select("[data-finding]")
    expected = hostile_report()["findings"]
    assert len(findings) == len(expected)
    # Each finding's actions table: a header row, then one row per refused action.
    rows = sorted(len(finding.select_one("table.actions").find_all("tr")) for finding in findings)
    assert rows == sorted(1 + len(finding["actions"]) for finding in expected)
    assert r.SCRIPT in dom.get_text()  # shown to the reader as the text the log holds


@pytest.mark.parametrize(("name", "report"), [("every-kind", r.every_kind), ("hostile", r.hostile)])
def test_a_screenshot_is_written(name: str, report, tmp_path: Path):
    page = tmp_path / f"{name}.html"
    page.write_text(render_html(report()), encoding="utf-8")
    taken = tmp_path / f"report-{name}.png"
    done = chromium(page, tmp_path / "profile", f"--screenshot={taken}", "--window-size=1000,3000", "--hide-scrollbars")
    assert done.returncode == 0, done.stderr[-2000:]
    data = taken.read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000
    OUTPUT.mkdir(parents=True, exist_ok=True)
    staged = OUTPUT / f".report-{name}.png.part"
    shutil.copyfile(taken, staged)
    os.replace(staged, OUTPUT / taken.name)  # whole files only, even with another run writing beside this one


def test_the_content_security_policy_blocks_a_script_even_if_one_got_in(tmp_path: Path):
    html = render_html(r.every_kind()).replace("</body>", f"{r.SCRIPT}</body>")  # as if escaping had failed
    page = tmp_path / "forced.html"
    page.write_text(html, encoding="utf-8")
    dom = dom_after_scripts(page, tmp_path / "profile")
    assert dom.find("script") is not None and dom.find("html").get("data-pwned") is None
