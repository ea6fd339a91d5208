"""Notebooks are runnable documentation: each is executed, and must run without error."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
# What each notebook saves, relative to the folder it runs in (a new notebook says what it writes here).
WRITES = {"explore_denials.ipynb": ["out/denials-per-hour.png"]}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), "commit notebooks without outputs"
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    for written in WRITES[path.name]:
        assert (tmp_path / written).read_bytes().startswith(PNG), written


def test_every_notebook_says_what_it_writes():
    assert sorted(WRITES) == [path.name for path in NOTEBOOKS]
