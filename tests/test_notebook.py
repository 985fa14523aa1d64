"""examples/tutorial.ipynb runs top to bottom, so it never rots."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "tutorial.ipynb"


def test_tutorial_notebook_runs(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    progress = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert progress.count("[carbs I") >= 40  # live progress: a line per observation
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3  # the front, the scaling laws, the history
