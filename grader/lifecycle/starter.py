"""Starter notebooks for a release: one per track, with each exercise's stub in a marked cell.

``grade release --notebooks`` writes ``notebooks/<track>.ipynb``: a cell that loads ``%grade``, then
for each exercise of the track, in order, its statement (``README.md``) as markdown, its stub in a
code cell whose first line is ``# exercise: <id>`` (the marker ``course/notebook.py`` reads) and a
``%grade <id>`` cell. Notebooks are written with nbformat and validated; cell ids are fixed, so two
releases of one course write the same files.
"""

from __future__ import annotations

from pathlib import Path

from grader.course.discover import Course, Exercise
from grader.course.notebook import marker, require_nbformat

FOLDER = "notebooks"


def _intro(course: Course, track: str) -> str:
    return f"""# {course.title}: {track}

Write each answer in the code cell whose first line is `# exercise: <id>` (keep that line), run the
cell, then run the `%grade <id>` cell under it; `%grade` alone grades every marked cell. The grader
judges your answers outside this kernel, in a sandbox, with the same checks as `grade` in a terminal.

- `%grade` grades the notebook **as saved**: save it first (Ctrl+S).
- What is graded: the marked cells only. A helper function goes in a cell whose first line is
  `# exercise: <id> helper`; an `import` in any unmarked cell comes along where a marked cell uses
  the name it binds. Other cells (your experiments, plots) are never graded.
- A marked cell is plain Python: keep magics (`%timeit`) and shell commands (`!pip`) in other cells.
- To hand in, from the course folder: `grade submit -s {FOLDER}/{track}.ipynb --out submission.zip`.

`%grade` needs the grader's notebook extra: `pip install -c constraints.txt -e '.[notebook]'`.
"""


def _dependency_note(exercise: Exercise, course: Course) -> str:
    names = ", ".join(f"`{n}`" for d in exercise.depends for n in course.get(d).functions)
    exercises = ", ".join(exercise.depends)
    return (f"This exercise builds on your answers to {exercises}: call {names} directly, as their cells "
            f"define them (an `import` of them would fail in this kernel); grading imports them for you.")


def starter_notebook(course: Course, track: str) -> str:
    """The starter notebook of ``track``, as the JSON text of a valid nbformat 4 notebook."""
    nbformat = require_nbformat()
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(_intro(course, track), id="intro"),
             v4.new_code_cell("%load_ext grader", id="load-grader")]
    for e in (e for e in course.exercises if e.track == track):
        statement = (e.path / "README.md").read_text(encoding="utf-8") if (e.path / "README.md").is_file() \
            else f"# {e.title}\n\n{e.summary}"
        cells.append(v4.new_markdown_cell(statement.rstrip("\n"), id=f"{e.id}-statement"))
        if e.depends:
            cells.append(v4.new_markdown_cell(_dependency_note(e, course), id=f"{e.id}-depends"))
        stub = e.stub.read_text(encoding="utf-8")
        cells.append(v4.new_code_cell(f"{marker(e.id)}\n{stub.rstrip()}", id=f"{e.id}-answer"))
        cells.append(v4.new_code_cell(f"%grade {e.id}", id=f"{e.id}-grade"))
    notebook = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(notebook)
    return nbformat.writes(notebook)


def write_starters(course: Course, dest: Path) -> tuple[str, ...]:
    """``dest/<track>.ipynb`` for every track with exercises; the tracks written."""
    require_nbformat()
    tracks = [t for t in course.tracks if any(e.track == t for e in course.exercises)]
    dest.mkdir(parents=True, exist_ok=True)
    for track in tracks:
        (dest / f"{track}.ipynb").write_text(starter_notebook(course, track), encoding="utf-8")
    return tuple(tracks)
