"""The exploration notebook runs top to bottom on the real data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import HEART_DATA


def heart_data() -> Path:
    """The real UCI file; skip without it unless REQUIRE_HEART_DATA=1."""
    path = Path(os.environ.get("HEART_DATA", HEART_DATA))
    if not path.is_file():
        if os.environ.get("REQUIRE_HEART_DATA") == "1":
            pytest.fail(f"the heart data is required but {path} does not exist")
        pytest.skip(f"{path} does not exist; set HEART_DATA to the UCI CSV")
    return path


def _text(cell) -> str:
    return "".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "")
        for output in cell.get("outputs", [])
    )


@pytest.mark.slow
def test_notebook_runs_top_to_bottom_on_the_real_data(
    default_project, tmp_path, monkeypatch
):
    data = heart_data()
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    project = shutil.copytree(default_project, tmp_path / "project")
    monkeypatch.setenv("HEART_DATA", str(data))
    monkeypatch.setenv("PYTHONPATH", str(project / "src"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = project / "notebooks" / "explore.ipynb"
    notebook = nbformat.read(path, as_version=4)

    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(_text(cell) for cell in code), "every code cell shows a result"
    assert "(920, 16)" in _text(code[0])
    drift = _text(code[3]).splitlines()
    assert next(line for line in drift if line.startswith("hold-out")).endswith("-")
    assert next(line for line in drift if line.startswith("age + 15")).endswith("age")
    assert "Switzerland" in _text(code[4])
