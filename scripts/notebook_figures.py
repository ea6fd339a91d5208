#!/usr/bin/env python3
"""Run the notebooks headless, as a reader would, and write the README's figures from their outputs.

A notebook's first cell tagged ``parameters`` holds its settings (the papermill convention); :func:`run_notebook`
adds a cell after it that sets new values, so the notebooks need no editing to run elsewhere. A cell tagged
``readme-figure:NAME`` gives ``docs/figures/NAME.png``: the image the notebook showed, byte for byte.

    python scripts/notebook_figures.py [--out docs/figures] [--week out/sample-week]

The week of stored reports (``scripts/generate_sample_week.py``) is made first when ``--week`` holds none.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FIGURE_TAG = "readme-figure:"
PARAMETERS_TAG = "parameters"


def run_notebook(
    path: Path, parameters: Mapping[str, Any] | None = None, *, cwd: Path | None = None, timeout: int = 300
) -> NotebookNode:
    """Execute the notebook at ``path`` in a fresh kernel (working folder ``cwd``, default the notebook's) with
    ``parameters`` set after its ``parameters`` cell; returns it with its outputs. A failing cell raises
    ``nbclient.exceptions.CellExecutionError`` naming the cell."""
    notebook = nbformat.read(path, as_version=4)
    if parameters:
        _inject(notebook, parameters)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd or path.parent)}}
    )
    client.execute()
    return notebook


def _inject(notebook: NotebookNode, parameters: Mapping[str, Any]) -> None:
    where = next((i for i, cell in enumerate(notebook.cells) if PARAMETERS_TAG in cell.metadata.get("tags", [])), None)
    if where is None:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    cell.pop("id", None)  # nbformat 4.5 ids: the executed copy is never written back, so none is needed
    notebook.cells.insert(where + 1, cell)


def images(cell: NotebookNode) -> list[bytes]:
    """The PNG images a code cell showed, in order."""
    return [
        base64.b64decode(output["data"]["image/png"])
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]


def readme_figures(notebook: NotebookNode) -> dict[str, bytes]:
    """``NAME -> PNG`` for each cell tagged ``readme-figure:NAME`` (its first image)."""
    found: dict[str, bytes] = {}
    for cell in notebook.cells:
        for tag in cell.metadata.get("tags", []):
            if tag.startswith(FIGURE_TAG):
                shown = images(cell)
                if not shown:
                    raise ValueError(f"cell tagged {tag} showed no image")
                found[tag.removeprefix(FIGURE_TAG)] = shown[0]
    return found


def ensure_week(folder: Path) -> Path:
    """The sample week's stored reports under ``folder`` (made when there are none)."""
    if not (folder / "reports").is_dir():
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from scripts.sample_day.week import build_sample_week

        build_sample_week(folder)
    return folder


def write_figures(out: Path, week: Path) -> list[Path]:
    """Run both notebooks (the history one over ``week``) and write every README figure into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        runs = {
            "explore_denials.ipynb": {"EXPORT_TO": str(Path(scratch) / "remedies")},
            "report_history.ipynb": {"REPORTS": str(ensure_week(week).resolve())},
        }
        for name, parameters in runs.items():
            started = time.perf_counter()
            notebook = run_notebook(NOTEBOOKS / name, parameters, cwd=Path(scratch))
            print(f"{name}: ran in {time.perf_counter() - started:.1f} s")
            for figure, png in readme_figures(notebook).items():
                target = out / f"{figure}.png"
                target.write_bytes(png)
                written.append(target)
                print(f"  {target} ({len(png) / 1024:.0f} KiB)")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures", help="default: docs/figures")
    parser.add_argument("--week", type=Path, default=ROOT / "out" / "sample-week", help="default: out/sample-week")
    args = parser.parse_args(argv)
    write_figures(args.out, args.week)
    return 0


if __name__ == "__main__":
    sys.exit(main())
