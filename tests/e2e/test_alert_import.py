"""The alert handler's cold import stays free of pandas (issue 9): ``python -X importtime`` in a fresh interpreter.

CPython's ``-X importtime`` writes one line per module imported to standard error, ``import time: SELF | CUMULATIVE |
NAME`` (microseconds; NAME indented two spaces per level of nesting), the first import of each module only. So a
module that is not in those lines was not loaded by the import. The handler is imported with the settings the stack
gives it (the state table, the topic, Security Hub on with the account's default product, a suppression document)
so that its module-level code (settings, clients, the suppression cache) runs as in a cold start; and the paths an
event then takes (the suppressions read, the message, the Security Hub finding) are imported too.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HANDLER = "functions.denial_alert.app"
HEAVY = ("pandas", "numpy", "jinja2")  # the report's frame and templates: the alert path needs none of them
SUPPRESSIONS = ROOT / "tests" / "data" / "suppressions" / "example.json"  # the CLI's form: a local file
ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "STATE_TABLE": "apprunner-audit-state",
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:apprunner-audit-alerts",
    "ALERT_SUPPRESSIONS": str(SUPPRESSIONS),
    "ALERT_SECURITY_HUB": "true",
    "ALERT_SECURITY_HUB_PRODUCT_ARN": "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default",
}
# What an event then loads: the suppressions read (at the first event, then every few minutes), the SNS message
# and the Security Hub finding (imported when the first alert is published).
FIRST_EVENT = (
    f"import {HANDLER} as app; app.SUPPRESSIONS.current(); "
    "import analysis.alert_delivery, analysis.alerting.message, analysis.alerting.asff"
)
LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)$")


@dataclass(frozen=True)
class Imported:
    self_us: int
    cumulative_us: int
    depth: int
    name: str


def import_times(stderr: str) -> list[Imported]:
    """The ``-X importtime`` lines of ``stderr`` (the header line and any other output skipped)."""
    found = []
    for line in stderr.splitlines():
        match = LINE.match(line)
        if match:
            self_us, cumulative_us, indent, name = match.groups()
            found.append(Imported(int(self_us), int(cumulative_us), len(indent) // 2, name))
    return found


def cold_import(module: str = HANDLER, code: str | None = None) -> list[Imported]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code or f"import {module}"],
        cwd=ROOT,
        env=ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return import_times(done.stderr)


def test_the_parser_reads_importtimes_lines():
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       120 |        120 |     _io\n"
        "import time:      2005 |      10500 | analysis.alert_service\n"
        "a warning line\n"
    )
    assert import_times(stderr) == [Imported(120, 120, 2, "_io"), Imported(2005, 10500, 0, "analysis.alert_service")]


def test_the_alert_handlers_cold_import_loads_no_pandas_numpy_or_jinja2():
    imported = cold_import()
    names = {module.name for module in imported}
    assert HANDLER in names and "analysis.alert_service" in names  # the lines were read: the handler is there
    [handler] = [module for module in imported if module.name == HANDLER]
    assert handler.depth == 0 and handler.cumulative_us >= max(m.cumulative_us for m in imported if m.depth > 0)
    loaded_heavy = sorted(name for name in names if name.split(".")[0] in HEAVY)
    assert loaded_heavy == []


def first_event_modules() -> set[str]:
    """The handler with suppressions and Security Hub switched on: the cache built at import, the document read
    (as at the first event), the message's and the ASFF finding's modules imported (as at the first alert)."""
    names = {module.name for module in cold_import(code=FIRST_EVENT)}
    assert {  # the lines prove each path was loaded
        "analysis.suppression_config",
        "analysis.alerting.suppressions",
        "analysis.alerting.message",
        "analysis.alerting.asff",
        "analysis.alert_delivery",
    } <= names
    return names


def test_the_handlers_suppression_and_security_hub_paths_load_no_pandas_or_numpy():
    assert SUPPRESSIONS.is_file()
    names = first_event_modules()
    assert sorted(name for name in names if name.split(".")[0] in {"pandas", "numpy"}) == []


def test_the_first_alert_loads_no_jinja2():
    names = first_event_modules()
    assert sorted(name for name in names if name.split(".")[0] == "jinja2") == []


def test_the_check_would_see_pandas_where_it_is_loaded():
    """The same measure on the notebooks' frame module, which needs pandas: the check is not blind."""
    names = {module.name for module in cold_import("analysis.findings")}
    assert {"pandas", "numpy"} <= names
