"""Strings from a log are written by whoever calls AWS: a principal, permission set, endpoint or encoded message
named to run code (``$(touch${IFS}INJECTED)``) must stay a value when a person pastes the suggested commands.
Each command runs here in bash with a stand-in ``aws`` that only prints its arguments; nothing may be created."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from analysis.model import Options
from tests.analysed import findings_of
from tests.conftest import DATA

HOSTILE = sorted(p.stem for p in (DATA / "edge").glob("hostile_*.json"))
STAND_IN = 'aws() { printf "%s\\n" "$@"; }; '


def finding_of(name: str) -> dict[str, Any]:
    [finding] = findings_of(json.loads((DATA / "edge" / f"{name}.json").read_text())["Records"], Options(service="all"))
    return finding


def pasted(command: str, cwd: Path) -> str:
    done = subprocess.run(
        ["bash", "-c", STAND_IN + command], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
    )
    return done.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("name", HOSTILE)
def test_no_pasted_command_runs_what_a_log_wrote(name, tmp_path):
    finding = finding_of(name)
    for command in finding["remedy"]["commands"]:
        pasted(command, tmp_path)
    assert list(tmp_path.iterdir()) == [], "a value from the log ran as a command"


def test_the_hostile_user_name_reaches_aws_as_the_name_it_is(tmp_path):
    finding = finding_of("hostile_user_name")
    [command] = finding["remedy"]["commands"]
    arguments = pasted(command, tmp_path).splitlines()
    assert arguments[:4] == ["iam", "put-user-policy", "--user-name", "Deploy$(touch${IFS}INJECTED)"]


def test_values_in_the_notes_commands_are_quoted_too():
    notes = "\n".join(finding_of("hostile_endpoint_and_encoded_message")["remedy"]["notes"])
    assert f"--vpc-endpoint-ids {shlex.quote('vpce-1$(touch${IFS}INJECTED)')} " in notes
    assert f"--encoded-message {shlex.quote('abc$(touch${IFS}INJECTED)')} " in notes


def test_the_hostile_files_are_there():
    assert HOSTILE == ["hostile_endpoint_and_encoded_message", "hostile_permission_set_name", "hostile_user_name"]
