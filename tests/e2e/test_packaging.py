"""The functions' artefacts as Lambda runs them (arm64, Python 3.12), built without Docker by the Makefile
from PyPI's wheels: within Lambda's size limit, native code only for the target, and nothing of the test tools."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.stack import FUNCTIONS, ROOT

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function and layers, unzipped (Lambda quotas)
ELF_MACHINE_AARCH64 = 183
NOT_IN_THE_ALERT = {"pandas", "numpy", "jinja2", "markupsafe"}
TEST_TOOLS = {"moto", "duckdb", "jupyter_client", "ipykernel", "nbclient", "pytest", "hypothesis", "sqlglot"}


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory) -> dict[str, Path]:
    built = {}
    for name, function in FUNCTIONS.items():
        target = tmp_path_factory.mktemp("lambda") / name
        done = subprocess.run(
            ["make", "--no-print-directory", "lambda-artifact", f"FUNCTION={function}", f"ARTIFACTS_DIR={target}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        built[name] = target
    return built


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _requirements(function: str) -> list[str]:
    lines = (ROOT / "functions" / function / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def _name(requirement: str) -> str:
    return re.split(r"[<>=\[]", requirement)[0].lower().replace("-", "_")


def test_the_requirements_are_the_projects_run_time_dependencies_and_the_lambda_extra():
    project = _project()
    for_lambda = project["dependencies"] + project["optional-dependencies"]["lambda"]
    assert _requirements("daily_report") == for_lambda
    alert = [d for d in for_lambda if _name(d) not in NOT_IN_THE_ALERT]
    assert _requirements("denial_alert") == alert


def test_installing_the_project_pulls_no_test_tool_and_no_lambda_or_notebook_library():
    project = _project()
    names = {_name(d) for d in project["dependencies"]}
    assert not names & TEST_TOOLS
    assert "aws_lambda_powertools" not in names
    assert not names & {"matplotlib", "ipykernel", "nbclient", "jupyterlab"}
    assert {_name(d) for d in project["optional-dependencies"]["lambda"]} == {"aws_lambda_powertools"}


def test_the_dev_extra_holds_what_the_tests_import_from_the_other_extras():
    extras = _project()["optional-dependencies"]
    assert "apprunner-access-auditor[lambda,verify]" in extras["dev"]
    notebook_runner = {_name(d) for d in extras["notebook"]} - {"jupyterlab"}
    assert notebook_runner <= {_name(d) for d in extras["dev"]}


def test_each_artefact_fits_lambda_unzipped(artefacts):
    for name, folder in artefacts.items():
        assert _size(folder) < LAMBDA_UNZIPPED_LIMIT, f"{name}: {_size(folder) / 2**20:.0f} MiB"


def test_every_native_library_is_built_for_arm64(artefacts):
    for folder in artefacts.values():
        libraries = [p for p in folder.rglob("*") if p.is_file() and re.search(r"\.so(\.\d+)*$", p.name)]
        assert libraries, "the artefact holds native code (orjson, pydantic_core, simdjson...)"
        for library in libraries:
            header = library.read_bytes()[:20]
            assert header[:4] == b"\x7fELF", library
            assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64, f"{library} is not aarch64"


def test_every_wheel_is_pure_or_for_cpython_312_on_arm64(artefacts):
    for folder in artefacts.values():
        for wheel in folder.glob("*.dist-info/WHEEL"):
            tags = [line.split(": ", 1)[1] for line in wheel.read_text().splitlines() if line.startswith("Tag: ")]
            assert tags, wheel
            assert any(_runs_on_lambda(tag) for tag in tags), (wheel, tags)


def _runs_on_lambda(tag: str) -> bool:
    """A tag Lambda's python3.12 on arm64 takes: pure Python 3, or CPython 3.12 (or abi3) for manylinux aarch64."""
    python, abi, platform = tag.split("-")
    if platform == "any":
        return "py3" in python.split(".") and abi == "none"
    for_cpython_312 = "cp312" in python.split(".") or abi == "abi3"
    return for_cpython_312 and "aarch64" in platform and "manylinux" in platform


def test_the_artefacts_hold_the_handler_and_the_library_but_no_sample_or_tools(artefacts):
    for name, folder in artefacts.items():
        assert (folder / "app.py").read_text() == (ROOT / "functions" / FUNCTIONS[name] / "app.py").read_text()
        assert (folder / "analysis" / "service.py").is_file()
        assert (folder / "analysis" / "data" / "message_patterns.json").is_file()
        assert not (folder / "analysis" / "data" / "sample").exists()
        present = {p.name for p in folder.iterdir()}
        assert not present & TEST_TOOLS, present & TEST_TOOLS
    alert = {p.name for p in artefacts["DenialAlertFunction"].iterdir()}
    assert not alert & NOT_IN_THE_ALERT
    assert {"pandas", "numpy", "jinja2"} <= {p.name for p in artefacts["DailyReportFunction"].iterdir()}


def test_the_template_builds_what_the_makefile_builds():
    from tests.stack import source_template

    for name, function in FUNCTIONS.items():
        resource = source_template()["Resources"][name]
        assert resource["Metadata"]["BuildMethod"] == "makefile"
        assert resource["Properties"]["CodeUri"] == f"functions/{function}/"
        makefile = (ROOT / "functions" / function / "Makefile").read_text()
        assert f"build-{name}:" in makefile and f"FUNCTION={function}" in makefile
    globals_ = source_template()["Globals"]["Function"]
    assert (globals_["Runtime"], globals_["Architectures"]) == ("python3.12", ["arm64"])
    assert "--python-version $(LAMBDA_PYTHON)" in (ROOT / "Makefile").read_text()
    assert "LAMBDA_PYTHON := 3.12" in (ROOT / "Makefile").read_text()


# The wheel as a user installs it (pip or pipx: a fresh environment, the runtime set only).


@pytest.fixture(scope="module")
def installed_tool(tmp_path_factory) -> Path:
    """A fresh virtual environment holding the project's wheel and its runtime dependencies, nothing else."""
    work = tmp_path_factory.mktemp("installed")
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(work / "probe"), "rich>=13,<16"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if probe.returncode != 0:
        pytest.skip(f"the package registry is unreachable: {probe.stderr.strip()[-300:]}")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(work / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr
    return venv


def _distributions(venv: Path) -> set[str]:
    listed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {_name(entry["name"]) for entry in json.loads(listed.stdout)}


def test_the_installed_tool_holds_the_runtime_set_but_no_lambda_notebook_or_test_library(installed_tool):
    present = _distributions(installed_tool)
    assert {_name(d) for d in _project()["dependencies"]} <= present
    assert "apprunner_access_auditor" in present
    absent = {"aws_lambda_powertools", "aws_xray_sdk", "matplotlib", "ipykernel", "jupyterlab", "iamprover"}
    assert not present & (absent | TEST_TOOLS), present & (absent | TEST_TOOLS)


def test_the_installed_tool_runs_the_demo_without_the_lambda_extra(installed_tool, tmp_path):
    done = subprocess.run(
        [str(installed_tool / "bin" / "apprunner-audit"), "demo", "--out", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # not the source tree: the installed package is the one imported
    )
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert report["totals"]["denials"] == 82  # the bundled sample day (tests/e2e/test_demo.py)
    assert {p.name for p in (tmp_path / "demo").iterdir()} >= {"report.json", "report.html", "report.md", "report.csv"}


def test_the_installed_tool_says_its_version(installed_tool, tmp_path):
    expected = _project()["version"]
    module = subprocess.run(
        [str(installed_tool / "bin" / "python"), "-c", "import analysis; print(analysis.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert module.stdout.strip() == expected, module.stderr
    done = subprocess.run(
        [str(installed_tool / "bin" / "apprunner-audit"), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
