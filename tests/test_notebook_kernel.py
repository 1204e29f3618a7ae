"""``%load_ext grader`` and ``%grade`` in a real Jupyter kernel, executed by nbclient.

The kernel is ipykernel on this checkout's own interpreter (checked from inside it). The notebook
is the one a student writes (test_notebook.student_notebook); the scores ``%grade`` shows must be
those of ``grade -s work.ipynb`` and of the same answers laid out as a folder.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell
from typer.testing import CliRunner

from conftest import ROOT
from grader.cli import app
from test_notebook import equivalent_folder, scores, student_notebook

pytestmark = pytest.mark.slow


def run_notebook(nb, cwd: Path) -> None:
    """Execute ``nb`` in place in a python3 kernel started in ``cwd`` (jupyter_client runs the kernel
    spec's ``python`` as ``sys.executable``: this interpreter, whatever kernels are installed)."""
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()


def outputs(cell) -> list:
    return [o for o in cell.outputs if o.output_type in ("display_data", "stream", "execute_result")]


def test_grade_magic_in_a_kernel_scores_as_the_shell_and_the_folder_do(tmp_path, monkeypatch):
    work = student_notebook(tmp_path / "work.ipynb")
    # Jupyter's server tells the kernel which notebook it runs this way; the kernel runs in the course.
    monkeypatch.setenv("JPY_SESSION_NAME", str(work))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    nb = nbformat.read(work, as_version=4)
    nb.cells.insert(1, new_code_cell("%load_ext grader\nimport sys\nprint(sys.executable)"))
    softmax = next(c for c in nb.cells if c.source.startswith("# exercise: softmax"))
    softmax.source += "\n# an edit the student has run but not saved"
    nb.cells.append(new_code_cell("%grade sigmoid --no-timing"))
    nb.cells.append(new_code_cell("%grade no_such_exercise"))
    run_notebook(nb, ROOT)

    load, every, one, unknown = nb.cells[1], nb.cells[-3], nb.cells[-2], nb.cells[-1]
    assert Path(outputs(load)[0].text.strip()).resolve() == Path(sys.executable).resolve()
    assert every.source == "%grade --no-timing" and one.source == "%grade sigmoid --no-timing"
    (shown_all,), (shown_one,), (shown_unknown,) = outputs(every), outputs(one), outputs(unknown)
    in_kernel = shown_all.metadata["grade"]
    assert in_kernel["notebook"] == str(work) and in_kernel["returncode"] == 0

    # The same notebook from the shell, and the same answers as a folder.
    reports = {}
    for name, submission in (("notebook", work), ("folder", equivalent_folder(tmp_path / "folder"))):
        out = tmp_path / f"{name}.json"
        result = CliRunner().invoke(app, ["--course", str(ROOT), "-s", str(submission), "-e", "sigmoid", "-e",
                                          "softmax", "--no-timing", "--json", str(out)])
        assert result.exit_code == 0, result.output
        reports[name] = scores(json.loads(out.read_text()))
    kernel_scores = {k: (v["score"], v["max_score"]) for k, v in in_kernel["exercises"].items()}
    assert kernel_scores == reports["notebook"] == reports["folder"]
    assert 0 < kernel_scores["sigmoid"][0] < kernel_scores["sigmoid"][1]  # the clamped sigmoid loses points
    assert shown_one.metadata["grade"]["exercises"] == {"sigmoid": in_kernel["exercises"]["sigmoid"]}

    # What the student sees: the console report, rendered as HTML by rich, with the unsaved edit noted.
    text, html = shown_all.data["text/plain"], shown_all.data["text/html"]
    flat = "".join(text.split())  # the heading wraps where the temporary path is long
    assert "".join(f"Grading {work} on cpu: 2 exercises".split()) in flat and "Total " in text and "\x1b[" not in text
    assert html.startswith("<pre style=") and "<span style=" in html and "Softmax" in html
    assert "note: cell 6 (softmax) as saved is not code this kernel has run" in text  # cell 6 in the file
    assert "(sigmoid) as saved" not in text
    assert "grade: unknown exercise 'no_such_exercise'" in shown_unknown.data["text/plain"]
    assert shown_unknown.metadata["grade"]["returncode"] == 2 and "error" in shown_unknown.metadata["grade"]
