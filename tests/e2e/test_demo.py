"""`make demo`'s command: the sample day written to files, and its terminal summary on screen."""

import json
import os
import pty
import re
import subprocess
import sys

from analysis.report import validate

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FILES = ("report.json", "report.md", "report.html", "report.csv", "report.details.csv")
# README and scripts/SAMPLE_DAY.md: the sample day's figures
SAMPLE_TOTALS = "4,739 records read · 82 denials · 20 principals · 20 findings · 0 malformed"
SEVERITIES = ("critical", "high", "medium", "low")


def _finding_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.split(" ", 1)[0] in SEVERITIES]


def test_demo_writes_every_format_and_ends_with_the_summary(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "demo", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    validate(report)
    assert report["totals"]["denials"] == 82
    for name in FILES:
        assert (tmp_path / name).stat().st_size > 0, name

    lines = done.stdout.splitlines()
    assert "\x1b" not in done.stdout, "no colour when standard output is not a terminal"
    assert "App Runner access report · 2026-11-28T00:00:00Z → 2026-11-29T00:00:00Z" in lines
    assert any(line.startswith(SAMPLE_TOTALS) for line in lines)
    findings = _finding_lines(done.stdout)
    assert len(findings) == 20, "one line per finding"
    ranks = [SEVERITIES.index(line.split()[0]) for line in findings]
    assert ranks == sorted(ranks), "most severe first"
    assert lines[-1 - len(FILES) :] == ["Full reports:", *(f"  {tmp_path / name}" for name in FILES)], (
        "it ends with the files"
    )
    assert len(lines) < 40 and max(len(line) for line in lines) <= 100, "a screen, not 775 lines of Markdown"
    assert not done.stdout.startswith("# "), "not the Markdown report"


def test_demo_on_a_terminal_is_in_colour_and_as_wide_as_the_terminal(tmp_path):
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "analysis", "demo", "--out", str(tmp_path)],
        stdout=follower,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "80", "TERM": "xterm-256color", "NO_COLOR": ""},
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end closed: the demo is done
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert process.wait(timeout=300) == 0, process.stderr.read() if process.stderr else ""

    text = output.decode().replace("\r\n", "\n")
    assert "\x1b[1;31mcritical" in text, "severities in colour"
    plain = ANSI.sub("", text)
    assert len(_finding_lines(plain)) == 20
    assert max(len(line) for line in plain.splitlines()) <= 80
