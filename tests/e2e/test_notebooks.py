"""Notebooks are runnable documentation: each runs headless in a fresh kernel, as committed, and shows what it
promises (a figure where a cell is tagged ``figure``, a table where it is tagged ``table``) without an error.

The history notebook reads the sample week, made here with the sample generator (scripts/sample_day/week.py).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from analysis.demo import run_demo
from scripts.notebook_figures import PARAMETERS_TAG, images, readme_figures, run_notebook
from scripts.sample_day.week import build_sample_week

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NAMES = [path.name for path in NOTEBOOKS]
PNG = b"\x89PNG\r\n\x1a\n"
# The README's figures, by the notebook that draws them (docs/figures/NAME.png, `make figures`).
README_FIGURES = {
    "explore_denials.ipynb": {"denials-over-time", "principal-action-heatmap"},
    "report_history.ipynb": {"principals-by-day"},
}


STORED = "explore_denials.ipynb over a stored report"  # the same notebook with SOURCE a report.json
TRAIL = "explore_denials.ipynb over a trail folder"  # the sample week's first day, as a folder of trail files
EMPTY = "explore_denials.ipynb over an empty folder"  # nothing to find: every cell still runs
RUNS = [*NAMES, STORED, TRAIL]


class Runs:
    """Each run executed once for the module, with the notebook's parameters pointed at a scratch folder."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.done: dict[str, nbformat.NotebookNode] = {}
        self.seconds: dict[str, float] = {}

    def parameters(self, run: str) -> dict[str, str]:
        if run == "report_history.ipynb":
            return {"REPORTS": str(build_sample_week(self.scratch / "week"))}
        if run == TRAIL:
            week = build_sample_week(self.scratch / "week")
            return {"SOURCE": str(week / "trail" / "2026-11-22"), "EXPORT_TO": str(self.scratch / "trail")}
        if run == EMPTY:
            (self.scratch / "empty").mkdir(exist_ok=True)
            return {"SOURCE": str(self.scratch / "empty"), "EXPORT_TO": str(self.scratch / "empty-out")}
        if run == STORED:
            run_demo(self.scratch / "stored", quiet=True)  # the sample day's report.json, as `make demo` writes it
            return {"SOURCE": str(self.scratch / "stored" / "report.json"), "EXPORT_TO": str(self.scratch / "stored")}
        return {"EXPORT_TO": str(self.scratch / "remedies")}

    def __getitem__(self, run: str) -> nbformat.NotebookNode:
        if run not in self.done:
            parameters = self.parameters(run)
            started = time.perf_counter()
            self.done[run] = run_notebook(ROOT / "notebooks" / run.split(" ")[0], parameters, cwd=self.scratch)
            self.seconds[run] = time.perf_counter() - started
            print(f"{run}: {self.seconds[run]:.1f} s")
        return self.done[run]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return Runs(tmp_path_factory.mktemp("notebooks"))


def _tagged(notebook: nbformat.NotebookNode, tag: str) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]


def test_the_notebooks_are_the_two_the_readme_names():
    assert NAMES == ["explore_denials.ipynb", "report_history.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [i for i, cell in enumerate(notebook.cells) if cell.get("outputs") or cell.get("execution_count")]
    assert not dirty, f"cells {dirty} hold outputs: run `.venv/bin/nbstripout {path.relative_to(ROOT)}`"


def test_nbstripout_would_change_nothing():
    nbstripout = Path(sys.executable).with_name("nbstripout")
    verified = subprocess.run([nbstripout, "--verify", *NOTEBOOKS], capture_output=True, text=True, check=False)
    assert verified.returncode == 0, f"run `make strip-notebooks`: {verified.stdout}{verified.stderr}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_imports_only_from_analysis_and_the_standard_library(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
        for node in ast.walk(ast.parse(code)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top == "analysis" or top in sys.stdlib_module_names, f"{path.name} imports {name}"
        assert "matplotlib.use" not in code, "figures show inline: choose no backend"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_settings_are_in_one_parameters_cell(path):
    notebook = nbformat.read(path, as_version=4)
    assert len(_tagged(notebook, PARAMETERS_TAG)) == 1


@pytest.mark.parametrize("name", [*RUNS, EMPTY])
def test_runs_without_an_error(runs, name):
    notebook = runs[name]
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
            if output.output_type == "stream" and output.name == "stderr":
                pytest.fail(f"cell {index} wrote to stderr: {output.text[:500]}")


@pytest.mark.parametrize("name", RUNS)
def test_each_figure_cell_shows_one_image(runs, name):
    notebook = runs[name]
    figures = _tagged(notebook, "figure")
    assert len(figures) >= 3
    for cell in figures:
        shown = images(cell)
        assert len(shown) == 1, f"{cell.source[:80]!r} showed {len(shown)} images"
        assert shown[0].startswith(PNG)
    untagged = [c for c in notebook.cells if c.cell_type == "code" and images(c) and c not in figures]
    assert not untagged, "every cell that shows a figure is tagged 'figure'"


@pytest.mark.parametrize("name", RUNS)
def test_each_table_cell_shows_a_table(runs, name):
    notebook = runs[name]
    tables = _tagged(notebook, "table")
    assert len(tables) >= 4
    for cell in tables:
        html = [o["data"]["text/html"] for o in cell.outputs if "text/html" in o.get("data", {})]
        assert html and "<table" in html[-1], f"{cell.source[:80]!r} showed no table"
        assert "<td" in html[-1], f"{cell.source[:80]!r} showed an empty table"


def _text(cell: nbformat.NotebookNode) -> str:
    parts = [o.get("text", "") for o in cell.outputs if o.output_type == "stream"]
    parts += [o["data"].get("text/plain", "") for o in cell.outputs if "data" in o]
    return "\n".join(parts)


def test_explore_shows_the_sample_day_and_exports_the_fix(runs):
    notebook = runs["explore_denials.ipynb"]
    numbers = _text(_tagged(notebook, "table")[0])
    # scripts/SAMPLE_DAY.md: 82 App Runner denials by 20 principals on 2026-11-28
    figures = dict(re.findall(r"^\d+\s+(\w[\w ]*?)\s{2,}(\S+)$", numbers, re.MULTILINE))
    assert (figures["denials"], figures["principals"]) == ("82", "20")
    exported = sorted((runs.scratch / "remedies").rglob("*.json"))
    assert exported, "the fix's policy was not exported"
    policy = json.loads(exported[0].read_text())
    assert policy["Version"] == "2012-10-17"
    # scripts/SAMPLE_DAY.md: the busiest finding that proposes access is dev-alice's (scenario 1, 12 denials, a
    # grant of DescribeService ×8 and ListOperations ×4 on the web service)
    actions = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"apprunner:DescribeService", "apprunner:ListOperations"}


def test_a_stored_report_gives_the_same_tables_as_the_run(runs):
    fresh, stored = runs["explore_denials.ipynb"], runs[STORED]
    assert "report.json" in _text(stored.cells[3])  # the source it says it read
    for run_table, stored_table in zip(_tagged(fresh, "table")[:6], _tagged(stored, "table")[:6], strict=True):
        assert _text(run_table) == _text(stored_table)
    # the policy exported from the stored report is the one exported from the run
    [from_run] = (runs.scratch / "remedies").rglob("policy.json")
    [from_stored] = (runs.scratch / "stored").rglob("policy.json")
    assert from_run.read_text() == from_stored.read_text()


def test_an_empty_source_says_so_and_exports_nothing(runs):
    notebook = runs[EMPTY]
    printed = "\n".join(_text(cell) for cell in notebook.cells if cell.cell_type == "code")
    assert "the report has no finding to drill into" in printed
    assert "no finding in this report proposes access" in printed
    assert not (runs.scratch / "empty-out").exists()


def test_history_reads_the_seven_days(runs):
    notebook = runs["report_history.ipynb"]
    loaded = next(c for c in notebook.cells if "history.load(" in c.source)
    assert "reports of 7 day(s)" in _text(loaded)
    assert "problem:" not in _text(loaded)


@pytest.mark.parametrize("name", NAMES)
def test_readme_figures_come_from_the_notebooks(runs, name):
    figures = readme_figures(runs[name])
    assert set(figures) == README_FIGURES[name]
    readme = (ROOT / "README.md").read_text()
    for figure, png in figures.items():
        assert png.startswith(PNG)
        committed = ROOT / "docs" / "figures" / f"{figure}.png"
        assert committed.read_bytes().startswith(PNG), f"run `make figures` to write {committed.name}"
        assert f"docs/figures/{figure}.png" in readme
