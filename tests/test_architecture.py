"""The package's layers: imports run one way, down the list below, and no modules import in a circle.

A part may import itself and the parts of lower layers; parts on the same layer are independent of
each other. The README's design section draws the same layers. Every import counts, including the
ones made inside functions (they run too), so a lazy import is no way around the rule.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from conftest import ROOT

# Lowest first. "grader" is the package's own top-level modules (errors, checks, units).
LAYERS = (
    ("grader",),
    ("course", "sandbox"),
    ("measure",),
    ("grading",),
    ("outputs",),
    ("certify",),
    ("batch", "lifecycle"),
    ("cli", "jupyter"),
    ("__main__",),
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
# The one import against the layers: ``%load_ext grader`` makes IPython call
# ``grader.load_ipython_extension``, so the package's face must reach the %grade magic. It imports
# the magic module inside that function only (importing grader stays light) and nothing else above.
EXCEPTIONS = {("grader", "grader.jupyter.magic")}
MAX_LINES = 500


def module_name(path: Path, package: Path) -> str:
    rel = path.relative_to(package.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def part_of(module: str) -> str:
    """``grader.sandbox.codec`` -> ``sandbox``; ``grader.errors`` -> ``grader``; ``grader.cli`` -> ``cli``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "grader"
    if parts[1] in ("cli", "__main__"):
        return parts[1]
    return parts[1] if len(parts) > 2 or parts[1] in RANK else "grader"


def imports(path: Path, modules: set[str]) -> set[str]:
    """The grader modules ``path`` imports (``from grader.x import y`` counts ``grader.x.y`` if a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "grader"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "grader":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return {m for m in found if m in modules}


def graph(package: Path) -> dict[str, set[str]]:
    files = {module_name(p, package): p for p in package.rglob("*.py")}
    modules = set(files)
    return {name: imports(path, modules) - {name} for name, path in files.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Import circles between modules (Tarjan's strongly connected components of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def violations(package: Path) -> list[str]:
    """Every import against the layers, every circle, and every module over MAX_LINES lines."""
    edges = graph(package)
    problems = []
    for module, targets in sorted(edges.items()):
        here = part_of(module)
        if here not in RANK:
            problems.append(f"{module} is in {here}/, which no layer names")
            continue
        for target in sorted(targets):
            there = part_of(target)
            if there == here or (module, target) in EXCEPTIONS:
                continue
            if there not in RANK or RANK[there] > RANK[here]:
                problems.append(f"{module} imports {target}: {here} may not import {there} (a higher layer)")
            elif RANK[there] == RANK[here]:
                problems.append(f"{module} imports {target}: {here} and {there} are independent parts")
    problems += [f"import circle: {' -> '.join(c)}" for c in cycles(edges)]
    for path in sorted(package.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            problems.append(f"{path.relative_to(package.parent)} has {lines} lines (at most {MAX_LINES})")
    return problems


def test_the_package_follows_its_layers():
    assert violations(ROOT / "grader") == []


def test_every_part_is_a_layer():
    parts = {p.name for p in (ROOT / "grader").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert parts <= set(RANK), f"parts without a layer: {sorted(parts - set(RANK))}"


def _copy(tmp_path: Path) -> Path:
    package = tmp_path / "grader"
    shutil.copytree(ROOT / "grader", package, ignore=shutil.ignore_patterns("__pycache__"))
    return package


def test_an_upward_import_is_found(tmp_path):
    package = _copy(tmp_path)
    codec = package / "sandbox" / "codec.py"
    # Inside a function: a lazy import counts as much as one at the top.
    codec.write_text(codec.read_text() + "\n\ndef _report():\n    from grader.batch.run import run_batch\n")
    found = violations(package)
    assert found[0] == "grader.sandbox.codec imports grader.batch.run: sandbox may not import batch (a higher layer)"
    assert all(p.startswith("import circle:") for p in found[1:]), found  # batch imports the sandbox back


def test_an_import_between_independent_parts_is_found(tmp_path):
    package = _copy(tmp_path)
    discover = package / "course" / "discover.py"
    discover.write_text(discover.read_text() + "\nfrom grader.sandbox import codec  # noqa\n")
    assert violations(package) == [
        "grader.course.discover imports grader.sandbox.codec: course and sandbox are independent parts"]


def test_an_import_circle_is_found(tmp_path):
    package = _copy(tmp_path)
    codec = package / "sandbox" / "codec.py"
    codec.write_text(codec.read_text() + "\nfrom grader.sandbox import handle  # noqa\n")
    found = violations(package)
    assert any(p.startswith("import circle:") and "grader.sandbox.codec" in p and "grader.sandbox.handle" in p
               for p in found), found


def test_a_long_module_is_found(tmp_path):
    package = _copy(tmp_path)
    (package / "units.py").write_text((package / "units.py").read_text() + "\n# filler\n" * MAX_LINES)
    assert [p for p in violations(package) if "lines" in p] == [
        f"grader/units.py has {len((package / 'units.py').read_text().splitlines())} lines (at most {MAX_LINES})"]


def test_the_extension_hook_is_the_only_exception(tmp_path):
    assert EXCEPTIONS == {("grader", "grader.jupyter.magic")}
    assert "grader.jupyter.magic" in graph(ROOT / "grader")["grader"]  # the exception is used, not stale
    package = _copy(tmp_path)
    face = package / "__init__.py"
    # The same face importing anything else above it is still found, and so is another module
    # importing the magic: the exception is one module importing one module.
    face.write_text(face.read_text() + "\n\ndef _late():\n    from grader.jupyter import magic  # noqa\n"
                    "    from grader.cli import app  # noqa\n")
    units = package / "units.py"
    units.write_text(units.read_text() + "\n\ndef _late():\n    from grader.jupyter.magic import register  # noqa\n")
    found = violations(package)
    assert "grader imports grader.cli: grader may not import cli (a higher layer)" in found
    assert "grader.units imports grader.jupyter.magic: grader may not import jupyter (a higher layer)" in found
    assert not any(p.startswith("grader imports grader.jupyter.magic") for p in found)
