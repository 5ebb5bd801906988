"""The notebooks in notebooks/: each .ipynb (what a user opens) agrees with its jupytext
script (what a reviewer reads), carries no outputs, and runs top to bottom on tiny synthetic
data, its parameters overridden in a cell after the one tagged "parameters"."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="notebook tests need the dev extra (pip install -e '.[dev]')")
jupytext = pytest.importorskip("jupytext", reason="notebook tests need the dev extra (pip install -e '.[dev]')")
from nbclient import NotebookClient  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SCRIPTS = sorted(NOTEBOOKS.glob("*.py"))
# what each notebook is given instead of the real data's parameters
TINY = {
    "01_numpy_engine": {"STEPS": 20},
    "02_batch_norm_three_ways": {"STEPS": 12},
    "03_fast_convnet": {"OPTIONS": {"widths": (8, 16, 16), "batch_size": 100, "micro_batch_size": 50,
                                    "train_eval_size": 0, "epochs": 2.0}},
}


def code_and_text(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_the_three_notebooks_are_there():
    assert [script.stem for script in SCRIPTS] == sorted(TINY)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_notebook_matches_its_script_and_has_no_outputs(script):
    stored = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
    assert code_and_text(stored) == code_and_text(jupytext.read(script)), \
        f"{script.name} and its .ipynb differ: run `jupytext --sync {script.relative_to(NOTEBOOKS.parent)}`"
    for cell in stored.cells:
        assert not cell.get("outputs") and not cell.get("execution_count"), f"{script.stem}: committed outputs"


def with_parameters(notebook, values: dict):
    """The notebook with a cell that sets `values`, after its "parameters" cell."""
    tagged = [index for index, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, "a notebook has exactly one cell tagged 'parameters'"
    cell = nbformat.v4.new_code_cell("\n".join(f"{name} = {value!r}" for name, value in values.items()))
    notebook.cells.insert(tagged[0] + 1, cell)
    return notebook


def outputs(notebook, output_type: str) -> list:
    return [output for cell in notebook.cells for output in cell.get("outputs", [])
            if output.output_type == output_type or output_type in output.get("data", {})]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom_on_tiny_data(script, tmp_path, learnable_folder):
    notebook = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
    with_parameters(notebook, {"DATA": str(learnable_folder), **TINY[script.stem]})
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on a failing cell
    assert outputs(notebook, "image/png"), "the notebook drew no figure"
    printed = "".join(output.get("text", "") for output in outputs(notebook, "stream"))
    assert "training: 100%" in printed and "Warning" not in printed  # a progress bar, and no warning about it
    runs = sorted((tmp_path / "runs").iterdir())
    assert runs and all((run / "metrics.json").is_file() for run in runs)
    if script.stem == "03_fast_convnet":
        assert {"first_layer.png", "saliency.png"} <= {path.name for path in runs[0].iterdir()}


def test_the_issue_cell_shows_the_figure_once_and_the_metrics(tmp_path, learnable_folder):
    """`run = cifarlab.train("mlp", ...); run.plot(); run.metrics` in one cell, then `run.plot()` alone,
    in a notebook that has imported pyplot and one that has not."""
    for with_pyplot in (False, True):
        cells = [f"import cifarlab{'; import matplotlib.pyplot' if with_pyplot else ''}",
                 f"run = cifarlab.train('mlp', data={str(learnable_folder)!r}, steps=20, batch_size=20, eval_every=10); "
                 f"run.plot(); run.metrics",
                 "run.plot()"]
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        for cell in notebook.cells[1:]:
            pictures = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert len(pictures) == 1, f"{len(pictures)} pictures for {cell.source!r} (pyplot: {with_pyplot})"
        value = notebook.cells[1].outputs[-1]
        assert value.output_type == "execute_result" and "'test_accuracy'" in value.data["text/plain"]
