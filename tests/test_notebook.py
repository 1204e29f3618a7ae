"""Notebooks: marked cells read and exported as ``<id>/<id>.py``, and every way a notebook reaches grading.

The rule (course/notebook.py) is judged on notebooks built here: answers, helpers, imports, tags,
dependencies, and each malformed case with its message. Grading from a notebook is proved equal to
grading the equivalent folder, by ``grade -s work.ipynb`` and by ``%grade`` in a real kernel that
nbclient runs (tests/test_notebook_kernel.py); batch, submit and release take notebooks too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from typer.testing import CliRunner

from conftest import ROOT
from grader.batch.roster import find_students
from grader.cli import app
from grader.course.notebook import (INSTALL_HINT, export_notebook, read_notebook, refusals)
from grader.errors import GraderError
from grader.jupyter.magic import find_notebook, grade_command, summary, unsaved_notes, Outcome
from grader.lifecycle.leaks import find_leaks
from grader.lifecycle.submit import read_manifest

runner = CliRunner()
SOFTMAX = (ROOT / "solutions" / "softmax" / "softmax.py").read_text()
SIGMOID = (ROOT / "solutions" / "sigmoid" / "sigmoid.py").read_text()
HELPER = "def _exp_neg(x):\n    return torch.exp(-x)\n"
CLAMPED = "def sigmoid(x):\n    return 1 / (1 + _exp_neg(x.clamp(-20, 20)))\n"  # wrong in float64's tails


def write(path: Path, *cells) -> Path:
    """A notebook of ``cells``: a string is a code cell, ``("md", text)`` markdown, ``(source, [tags])`` tagged."""
    made = []
    for cell in cells:
        if isinstance(cell, str):
            made.append(new_code_cell(cell))
        elif cell[0] == "md":
            made.append(new_markdown_cell(cell[1]))
        else:
            made.append(new_code_cell(cell[0], metadata={"tags": cell[1]}))
    nbformat.write(new_notebook(cells=made), path)
    return path


def student_notebook(path: Path) -> Path:
    """A notebook as a student writes one: imports at the top, a helper, an experiment, two answers."""
    return write(path, ("md", "# My work"), "%matplotlib inline\nimport math\nimport torch",
                 f"# exercise: sigmoid helper\n{HELPER}", f"# exercise: sigmoid\n{CLAMPED}",
                 "sigmoid(torch.tensor([0.0, 1.0]))  # trying it out", f"# exercise: softmax\n{SOFTMAX}",
                 "%grade --no-timing")


def equivalent_folder(path: Path) -> Path:
    """The same answers as student_notebook, as a folder laid out as <id>/<id>.py."""
    (path / "sigmoid").mkdir(parents=True)
    (path / "sigmoid" / "sigmoid.py").write_text(f"import torch\n\n\n{HELPER}\n\n{CLAMPED}")
    (path / "softmax").mkdir()
    (path / "softmax" / "softmax.py").write_text(SOFTMAX)
    return path


def scores(report: dict) -> dict[str, tuple[float, float]]:
    return {e["id"]: (e["score"], e["max_score"]) for e in report["exercises"]}


# Reading and exporting -------------------------------------------------------------------------

def test_marked_cells_export_with_the_imports_they_use(tmp_path, course):
    nb = read_notebook(student_notebook(tmp_path / "work.ipynb"), course)
    assert nb.named == ("sigmoid", "softmax") and nb.problems == {} and nb.unknown == ()
    exported = export_notebook(nb, course, ["sigmoid", "softmax", "gelu"], tmp_path / "out")
    assert exported.found == ("sigmoid", "softmax") and exported.warnings == ()
    text = (tmp_path / "out" / "sigmoid" / "sigmoid.py").read_text()
    assert "import torch\n" in text and "import math" not in text  # only the imports it uses
    assert text.index("# cell 3\n# exercise: sigmoid helper") < text.index("# cell 4\n# exercise: sigmoid\n")
    assert "trying it out" not in text and "%" not in text  # unmarked cells stay behind
    assert not (tmp_path / "out" / "gelu").exists()
    compile(text, "sigmoid.py", "exec")


def test_tags_mark_cells_as_first_lines_do(tmp_path, course):
    path = write(tmp_path / "t.ipynb", "import torch", (HELPER, ["exercise:sigmoid:helper"]),
                 (CLAMPED, ["exercise:sigmoid", "other-tag"]))
    nb = read_notebook(path, course)
    assert [(c.number, c.exercise, c.helper) for c in nb.marked] == [(2, "sigmoid", True), (3, "sigmoid", False)]
    assert export_notebook(nb, course, ["sigmoid"], tmp_path / "out").found == ("sigmoid",)


def test_an_answer_gets_the_names_it_uses_from_the_answers_it_builds_on(tmp_path, course):
    cells = [f"# exercise: {e}\n" + (ROOT / "solutions" / e / f"{e}.py").read_text()
             for e in ("mlp_forward", "mlp_backward", "adam")]
    train = (ROOT / "solutions" / "train_mlp" / "train_mlp.py").read_text()
    train = "\n".join(line for line in train.splitlines() if not line.startswith(("from adam", "from mlp_")))
    nb = read_notebook(write(tmp_path / "t.ipynb", *cells, f"# exercise: train_mlp\n{train}"), course)
    export_notebook(nb, course, ["train_mlp"], tmp_path / "out")
    text = (tmp_path / "out" / "train_mlp" / "train_mlp.py").read_text()
    assert "from mlp_backward import mlp_backward\nfrom adam import adam_step\n" in text
    assert "from mlp_forward" not in text  # train_mlp's cell never says mlp_forward


def test_a_stub_left_alone_is_not_attempted_and_an_answer_is_graded(tmp_path, grader):
    stub = (ROOT / "exercises" / "sigmoid" / "sigmoid.py").read_text()
    untouched = write(tmp_path / "stub.ipynb", f"# exercise: sigmoid\n{stub}")
    (sigmoid,) = grader.grade(untouched, only=["sigmoid"]).exercises
    assert sigmoid.attempted is False and sigmoid.score == 0
    answered = write(tmp_path / "done.ipynb", f"# exercise: sigmoid\n{SIGMOID}")
    (sigmoid,) = grader.grade(answered, only=["sigmoid"]).exercises
    assert sigmoid.score == sigmoid.max_score > 0


@pytest.mark.parametrize("line, reason", [
    ("%timeit sigmoid(torch.zeros(3))", "line 3: `%timeit sigmoid(torch.zeros(3))` is a magic"),
    ("!pip install torch", "line 3: `!pip install torch` is a shell escape"),
    ("torch.sigmoid?", "line 3: `torch.sigmoid?` is a help query"),
    ("def broken(:", "line 3: SyntaxError"),
])
def test_a_marked_cell_must_be_plain_python(tmp_path, course, grader, line, reason):
    path = write(tmp_path / "t.ipynb", "import torch", f"# exercise: sigmoid\n{SIGMOID.splitlines()[2]}\n{line}\n")
    nb = read_notebook(path, course)
    assert nb.problems["sigmoid"].startswith(f"cell 2 {reason}")
    (result,) = grader.grade(path, only=["sigmoid"]).exercises
    assert result.attempted and result.score == 0 and result.error.startswith(f"cell 2 {reason}")


def test_a_modulo_at_the_start_of_a_continued_line_is_python(tmp_path, course):
    path = write(tmp_path / "t.ipynb", "# exercise: sigmoid\nimport torch\ndef sigmoid(x):\n    return (x\n"
                 "     % 1)\n")
    assert read_notebook(path, course).problems == {}


def test_two_answers_to_one_exercise_and_a_helper_without_answer(tmp_path, course):
    path = write(tmp_path / "t.ipynb", f"# exercise: sigmoid\n{SIGMOID}", f"#   Exercise:  sigmoid\n{SIGMOID}",
                 f"# exercise: softmax helper\n{HELPER}", ("pass", ["exercise:gelu", "exercise:relu_x", "exercise:swiglu"]))
    nb = read_notebook(path, course)
    assert nb.problems["sigmoid"].startswith("cells 1 and 2 are all marked as the answer to sigmoid: keep one")
    assert nb.problems["softmax"].startswith("cell 3 is a helper of softmax, but no cell is its answer")
    assert nb.problems["gelu"] == "cell 4 is marked as the answer to gelu and swiglu; an answer cell answers one exercise"
    exported = export_notebook(nb, course, ["sigmoid", "softmax", "gelu", "swiglu"], tmp_path / "out")
    assert exported.found == () and set(exported.problems) == {"sigmoid", "softmax", "gelu", "swiglu"}


def test_markers_for_no_exercise_are_named_with_a_suggestion(tmp_path, course):
    path = write(tmp_path / "t.ipynb", f"# exercise: sigmod\n{SIGMOID}", "# exercise: softmax answer\npass",
                 ("pass", ["exercise:homework_one"]))
    nb = read_notebook(path, course)
    assert nb.marked == ()
    assert nb.unknown == (
        "cell 1 is marked `# exercise: sigmod`, but 'sigmod' is no exercise of this course (did you mean sigmoid?)",
        "cell 2: `# exercise: softmax answer` is not a marker; the first line of a marked cell is "
        "`# exercise: <id>` (its answer) or `# exercise: <id> helper`",
        "cell 3 is marked the tag `exercise:homework_one`, but 'homework_one' is no exercise of this course")
    assert refusals(nb) == list(nb.unknown)


def test_refusals_for_an_unmarked_notebook_and_an_exercise_no_cell_names(tmp_path, course):
    bare = read_notebook(write(tmp_path / "bare.ipynb", "x = 1"), course)
    assert refusals(bare)[0].startswith("bare.ipynb has no marked cells: an answer cell's first line is")
    nb = read_notebook(write(tmp_path / "t.ipynb", f"# exercise: sigmoid\n{SIGMOID}"), course)
    assert refusals(nb, ["sigmoid"]) == []
    assert refusals(nb, ["softmax"]) == ["no cell of t.ipynb is marked for softmax (an answer cell's first "
                                         "line is `# exercise: softmax`)"]


def test_warnings_name_what_the_export_lacks(tmp_path, course):
    path = write(tmp_path / "t.ipynb", "import torch\ndef _exp_neg(x):\n    return torch.exp(-x)",
                 f"# exercise: sigmoid\n{CLAMPED}display(sigmoid)\n",
                 "# exercise: train_mlp\ndef train_mlp(x):\n    return mlp_backward(x)\n")
    exported = export_notebook(read_notebook(path, course), course, ["sigmoid", "train_mlp"], tmp_path / "out")
    assert exported.warnings == (
        "sigmoid uses `_exp_neg`, which unmarked cell 1 defines: mark that cell `# exercise: sigmoid helper` "
        "to grade it with sigmoid",
        "sigmoid uses `display`, which exists only in a notebook's kernel",
        "train_mlp uses `mlp_backward` from mlp_backward, which no cell of the notebook answers (its answer "
        "cell's first line is `# exercise: mlp_backward`)")


def test_unmarked_cells_with_ipython_syntax_still_give_their_imports(tmp_path, course):
    path = write(tmp_path / "t.ipynb", "%%time\nimport torch as T\nfor i in range(2):\n    !echo hi",
                 "import math\nfrom torch import nn\nprint(1 +", f"# exercise: sigmoid\nnn, math\n{CLAMPED}")
    nb = read_notebook(path, course)
    assert [(i.cell, i.source) for i in nb.imports] == [(1, "import torch as T"), (2, "import math"),
                                                        (2, "from torch import nn")]


@pytest.mark.parametrize("content, message", [
    (b"{ not json", "is not a notebook: it is not JSON (Expecting property name"),
    (b"[1, 2]", "is not a notebook: its JSON is a list, not an object"),
    (b"\xff\xfe\x00", "is not a notebook: it is not UTF-8 text"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "code"}]}).encode(),
     "is not a valid notebook (The notebook is invalid and is missing an expected key"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "id": "a", "source": "", "metadata": {}, "outputs": [], "execution_count": None,
         "bogus": 1}]}).encode(), "is not a valid notebook (Additional properties are not allowed"),
    (json.dumps({"nbformat": 4}).encode(), "is not a valid notebook (The notebook is invalid and is missing an "
                                           "expected key: cells"),
    (json.dumps({"nbformat": "four", "cells": []}).encode(), "is not a readable notebook"),
    (b"[" * 100_000, "is not a notebook: it is not JSON"),
])
def test_a_malformed_notebook_is_refused_with_a_reason(tmp_path, course, grader, content, message):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(content)
    with pytest.raises(GraderError, match=r"bad\.ipynb " + message.replace("(", r"\(")):
        read_notebook(path, course)
    (result,) = grader.grade(path, only=["sigmoid"]).exercises  # the runner records it, never raises
    assert result.score == 0 and message in result.error


def test_an_enormous_notebook_is_refused(tmp_path, course, monkeypatch):
    import grader.course.notebook as notebook

    monkeypatch.setattr(notebook, "MAX_NOTEBOOK_BYTES", 100)
    with pytest.raises(GraderError, match="too large to grade .* clear its outputs"):
        read_notebook(write(tmp_path / "big.ipynb", "x = 1\n" * 50), course)


# The magic's pieces (the kernel itself: test_notebook_kernel.py) ---------------------------------

def test_find_notebook_asks_the_front_end_then_the_folder(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    assert find_notebook({"__vsc_ipynb_file__": str(tmp_path / "a.ipynb")}, {}, Path("/")) == tmp_path / "a.ipynb"
    # Jupyter names the notebook relative to its server's root; the kernel runs in the notebook's folder.
    assert find_notebook({}, {"JPY_SESSION_NAME": "course/notebooks/a.ipynb"}, tmp_path) == tmp_path / "a.ipynb"
    assert find_notebook({"__session__": "gone.ipynb"}, {}, tmp_path) == tmp_path / "a.ipynb"  # the only one here
    (tmp_path / "b.ipynb").write_text("{}")
    with pytest.raises(GraderError, match="cannot tell which notebook .* %grade --notebook work.ipynb"):
        find_notebook({"__session__": "a-session-id"}, {}, tmp_path)


def test_the_magic_runs_grade_on_the_kernels_interpreter_and_reads_its_report(tmp_path, course):
    command = grade_command(tmp_path / "w.ipynb", ["sigmoid"], tmp_path / "r.json", timing=False, course="c")
    assert command[:3] == [sys.executable, "-m", "grader"]
    assert command[3:] == ["-s", str(tmp_path / "w.ipynb"), "--json", str(tmp_path / "r.json"), "-e", "sigmoid",
                           "--course", "c", "--no-timing"]
    failed = summary(Outcome(2, "", "\x1b[31mgrade: unknown exercise 'x'\x1b[0m\n", None), tmp_path / "w.ipynb")
    assert failed["error"] == "grade: unknown exercise 'x'" and failed["returncode"] == 2
    nb = read_notebook(student_notebook(tmp_path / "w.ipynb"), course)
    notes = unsaved_notes(nb, ["sigmoid"], [f"# exercise: sigmoid helper\n{HELPER}"])
    assert notes == ["note: cell 4 (sigmoid) as saved is not code this kernel has run; %grade grades the saved "
                     "file, so save the notebook first if you changed it"]


# From the shell: grade -s, batch, submit, release ------------------------------------------------

def test_grade_a_notebook_scores_as_its_folder_does(tmp_path):
    work = student_notebook(tmp_path / "work.ipynb")
    folder = equivalent_folder(tmp_path / "folder")
    reports = {}
    for name, submission in (("notebook", work), ("folder", folder)):
        out = tmp_path / f"{name}.json"
        result = runner.invoke(app, ["--course", str(ROOT), "-s", str(submission), "-e", "sigmoid", "-e", "softmax",
                                     "--no-timing", "--json", str(out)], env={"COLUMNS": "120"})
        assert result.exit_code == 0, result.output
        reports[name] = json.loads(out.read_text())
    assert scores(reports["notebook"]) == scores(reports["folder"])
    sigmoid, softmax = scores(reports["notebook"])["sigmoid"], scores(reports["notebook"])["softmax"]
    assert 0 < sigmoid[0] < sigmoid[1] and softmax[0] == softmax[1] > 0  # a partial score, and a full one
    checks = {name: [(c["name"], c["status"]) for e in r["exercises"] for c in e["checks"]] for name, r in reports.items()}
    assert checks["notebook"] == checks["folder"]


def test_grade_refuses_a_notebook_it_cannot_grade_before_grading(tmp_path):
    path = write(tmp_path / "work.ipynb", f"# exercise: sigmod\n{SIGMOID}")
    result = runner.invoke(app, ["--course", str(ROOT), "-s", str(path), "--no-timing"])
    assert result.exit_code == 2 and "'sigmod' is no exercise of this course (did you mean sigmoid?)" in result.output
    path = write(tmp_path / "work.ipynb", f"# exercise: sigmoid\n{SIGMOID}")
    result = runner.invoke(app, ["--course", str(ROOT), "-s", str(path), "-e", "softmax", "--no-timing"])
    assert result.exit_code == 2 and "no cell of work.ipynb is marked for softmax" in result.output


def test_grade_prints_the_exports_warnings(tmp_path):
    path = write(tmp_path / "work.ipynb", "import torch\ndef _exp_neg(x):\n    return torch.exp(-x)",
                 f"# exercise: sigmoid\n{CLAMPED}")
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["--course", str(ROOT), "-s", str(path), "-e", "sigmoid", "--no-timing", "--json",
                                 str(out)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "note: sigmoid uses `_exp_neg`, which unmarked cell 1 defines" in result.output
    (sigmoid,) = json.loads(out.read_text())["exercises"]
    assert sigmoid["score"] == 0 and "NameError" in json.dumps(sigmoid)  # what the note warned of


def test_without_nbformat_grade_runs_and_says_what_to_install_for_a_notebook(tmp_path):
    path = write(tmp_path / "work.ipynb", f"# exercise: sigmoid\n{SIGMOID}")
    # A python whose nbformat (and IPython) cannot be imported, as in an install without the extra.
    prelude = "import sys; sys.modules.update(nbformat=None, IPython=None); from grader.cli import run; run()"
    base = [sys.executable, "-c", prelude, "--course", str(ROOT), "-e", "sigmoid", "--no-timing"]
    plain = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0 and "Total 0/" in plain.stdout, plain.stderr
    notebook = subprocess.run([*base, "-s", str(path)], capture_output=True, text=True, timeout=120,
                              env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"})
    assert notebook.returncode == 2
    assert "reading a notebook needs nbformat" in notebook.stderr and INSTALL_HINT in notebook.stderr
    release = subprocess.run([sys.executable, "-c", prelude, "release", "--course", str(ROOT), "-e", "sigmoid",
                              "--out", str(tmp_path / "r"), "--notebooks"], capture_output=True, text=True,
                             timeout=120, env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"})
    assert release.returncode == 2 and INSTALL_HINT in release.stderr and not (tmp_path / "r").exists()
    light = subprocess.run([sys.executable, "-c", "import sys, grader, grader.cli, grader.grading.runner, "
                            "grader.batch.run; print(sorted(m for m in ('nbformat', 'IPython') if m in sys.modules))"],
                           capture_output=True, text=True, timeout=120)
    assert light.stdout.strip() == "[]", light.stderr  # the extra is imported only for a notebook


def test_a_class_with_notebooks_needs_nbformat(tmp_path, monkeypatch):
    write(tmp_path / "cal.ipynb", f"# exercise: sigmoid\n{SIGMOID}")
    (tmp_path / "ann").mkdir()
    assert [s.name for s in find_students(tmp_path, tmp_path / "out")[0]] == ["ann", "cal"]
    monkeypatch.setitem(sys.modules, "nbformat", None)  # as without the notebook extra
    with pytest.raises(GraderError, match=r"holds notebooks \(cal.ipynb\); reading a notebook needs nbformat"):
        find_students(tmp_path, tmp_path / "out")


def test_batch_grades_notebooks_beside_folders_and_zips(tmp_path):
    root = tmp_path / "class"
    equivalent_folder(root / "ann")
    with zipfile.ZipFile(root / "bea.zip", "w") as z:
        z.write(root / "ann" / "sigmoid" / "sigmoid.py", "sigmoid/sigmoid.py")
    student_notebook(root / "cal.ipynb")
    (root / "dee.ipynb").write_text("{ not a notebook")
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(root), "--out", str(out), "-e", "sigmoid", "--no-timing",
                                 "--workers", "1"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    reports = {p.stem: json.loads(p.read_text()) for p in (out / "reports").glob("*.json")}
    assert sorted(reports) == ["ann", "bea", "cal", "dee"]
    assert scores(reports["cal"]) == scores(reports["ann"]) == scores(reports["bea"])
    (dee,) = reports["dee"]["exercises"]
    assert dee["score"] == 0 and "dee.ipynb is not a notebook: it is not JSON" in dee["error"]


def test_submit_packs_a_notebooks_marked_cells(tmp_path, grader):
    work = student_notebook(tmp_path / "work.ipynb")
    result = runner.invoke(app, ["submit", "--course", str(ROOT), "-s", str(work), "--out", str(tmp_path / "s.zip")],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "2 file(s) for 2 exercise(s)" in result.output
    manifest = read_manifest(tmp_path / "s.zip")
    assert manifest["notebook"]["name"] == "work.ipynb" and manifest["notebook"]["cells"] == {"sigmoid": [3, 4],
                                                                                               "softmax": [6]}
    with zipfile.ZipFile(tmp_path / "s.zip") as z:
        assert sorted(z.namelist()) == ["grade-submission.json", "sigmoid/sigmoid.py", "softmax/softmax.py"]
    packed = grader.grade(tmp_path / "s.zip", only=["sigmoid", "softmax"])
    direct = grader.grade(work, only=["sigmoid", "softmax"])
    assert [(e.id, e.score) for e in packed.exercises] == [(e.id, e.score) for e in direct.exercises]


def test_submit_refuses_a_notebook_that_would_lose_an_exercise(tmp_path):
    work = write(tmp_path / "work.ipynb", f"# exercise: sigmoid\n{SIGMOID}%timeit sigmoid(1)\n",
                 f"# exercise: softmax\n{SOFTMAX}", "# exercise: sofmax\npass")
    result = runner.invoke(app, ["submit", "--course", str(ROOT), "-s", str(work), "--out", str(tmp_path / "s.zip")],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 2 and not (tmp_path / "s.zip").exists()
    assert "work.ipynb cannot be packed as it stands" in result.output
    assert "'sofmax' is no exercise of this course (did you mean softmax?)" in result.output
    assert "sigmoid: cell 1 line 11: `%timeit sigmoid(1)` is a magic" in result.output


def test_release_writes_a_starter_notebook_per_track(tmp_path, course):
    out = tmp_path / "release"
    result = runner.invoke(app, ["release", "--course", str(ROOT), "--out", str(out), "-e", "sigmoid", "-e",
                                 "softmax", "-e", "train_mlp", "--notebooks"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == ["foundations.ipynb", "large-models.ipynb"]
    nb = nbformat.read(out / "notebooks" / "foundations.ipynb", as_version=4)
    nbformat.validate(nb)
    ids = [c.id for c in nb.cells]
    assert ids[:4] == ["intro", "load-grader", "sigmoid-statement", "sigmoid-answer"]
    cells = {c.id: c for c in nb.cells}
    assert cells["sigmoid-statement"].source == (ROOT / "exercises" / "sigmoid" / "README.md").read_text().rstrip()
    assert cells["sigmoid-answer"].source == "# exercise: sigmoid\n" + (ROOT / "exercises" / "sigmoid" / "sigmoid.py").read_text().rstrip()
    assert cells["sigmoid-grade"].source == "%grade sigmoid" and cells["load-grader"].source == "%load_ext grader"
    assert "call `mlp_forward`, `mlp_backward`, `adam_step` directly" in cells["train_mlp-depends"].source.replace(" and", ",")
    assert "notebooks/foundations.ipynb" in (out / "README.md").read_text()
    # Untouched, the starter earns nothing and starts no worker; the release's own grade reads it.
    report = tmp_path / "r.json"
    result = runner.invoke(app, ["--course", str(out), "-s", str(out / "notebooks" / "foundations.ipynb"),
                                 "--no-timing", "--json", str(report)])
    assert result.exit_code == 0, result.output
    exercises = json.loads(report.read_text())["exercises"]
    assert [e["id"] for e in exercises] == ["sigmoid", "mlp_forward", "mlp_backward", "adam", "train_mlp", "softmax"]
    assert all(not e["attempted"] and e["score"] == 0 and e["error"] is None for e in exercises)


def test_release_without_notebooks_writes_none(tmp_path):
    result = runner.invoke(app, ["release", "--course", str(ROOT), "--out", str(tmp_path / "r"), "-e", "sigmoid"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "r" / "notebooks").exists() and "notebook" not in (tmp_path / "r" / "README.md").read_text()


def test_a_solution_line_in_a_notebook_is_a_leak(tmp_path):
    tree = tmp_path / "tree"
    (tree / "exercises" / "mixed_precision").mkdir(parents=True)
    (tree / "exercises" / "mixed_precision" / "mixed_precision.py").write_text("def f():\n    raise NotImplementedError\n")
    secret = 'h = torch.relu(x @ weights["W1"].T + weights["b1"])'  # its quotes are escaped in the JSON
    assert secret in (ROOT / "solutions" / "mixed_precision" / "mixed_precision.py").read_text()
    write(tree / "notebooks.ipynb", f"# exercise: mixed_precision\n{secret}")
    assert secret not in (tree / "notebooks.ipynb").read_text()
    leaks = find_leaks(ROOT / "solutions", ["mixed_precision"], tree)
    assert [(leak.line, leak.where) for leak in leaks] == [(secret, "notebooks.ipynb:2")]  # the line among the cells'
