"""`make demo`'s command: the sample day reported on screen and written to files."""

import json
import subprocess
import sys

from analysis.report import validate


def test_demo_prints_markdown_and_writes_the_report(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "demo", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# App Runner access report")
    for kind in ("grant", "cross\\_account\\_role", "permission\\_set", "review\\_deny", "org\\_policy", "investigate"):
        assert f"**Fix ({kind}):**" in done.stdout, kind
    report = json.loads((tmp_path / "report.json").read_text())
    validate(report)
    assert str(tmp_path / "report.json") in done.stdout
    assert report["totals"]["denials"] == 82
