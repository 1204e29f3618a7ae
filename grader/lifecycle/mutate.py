"""Mutants of a reference solution: small plausible mistakes, made with ``ast``, that checks should catch.

Each mutant changes one place: a swapped binary operator (``+``→``-``), a changed constant
(``1``→``2``, ``1e-5``→``0``, ``True``→``False``), a dropped term (``a - b``→``a``), swapped call
arguments, an altered call (``exp``→``log``, ``sum``→``mean``, ``dim=-1``→``dim=-2``), an
off-by-one (``<``→``<=``, ``x[:n]``→``x[:n + 1]``), a dropped negation, ``and``↔``or``.
Docstrings, annotations, imports, decorators and ``raise``/``assert`` messages are left alone, and
mutants whose source reads the same as another's (or the original's) are dropped.
"""

from __future__ import annotations

import ast
import copy
import random
import zlib
from dataclasses import dataclass, field

BINOP_SWAPS = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div], ast.Div: [ast.Mult],
               ast.FloorDiv: [ast.Div], ast.Mod: [ast.FloorDiv], ast.Pow: [ast.Mult], ast.MatMult: [ast.Mult],
               ast.BitAnd: [ast.BitOr], ast.BitOr: [ast.BitAnd], ast.BitXor: [ast.BitOr],
               ast.LShift: [ast.RShift], ast.RShift: [ast.LShift]}
COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
# Calls that students confuse, as method or module attribute: x.sum() → x.mean(), torch.exp → torch.log.
CALL_SWAPS = {
    "exp": ["log"], "log": ["exp"], "expm1": ["exp"], "log1p": ["log"], "sum": ["mean"], "mean": ["sum"],
    "max": ["min"], "min": ["max"], "amax": ["amin"], "amin": ["amax"], "maximum": ["minimum"],
    "minimum": ["maximum"], "argmax": ["argmin"], "argmin": ["argmax"], "sqrt": ["rsqrt"], "rsqrt": ["sqrt"],
    "softmax": ["log_softmax"], "log_softmax": ["softmax"], "tanh": ["sigmoid"], "relu": ["gelu"],
    "gelu": ["relu"], "silu": ["relu"], "sin": ["cos"], "cos": ["sin"], "tril": ["triu"], "triu": ["tril"],
    "zeros_like": ["ones_like"], "ones_like": ["zeros_like"], "zeros": ["ones"], "ones": ["zeros"],
    "var": ["std"], "std": ["var"], "clamp_min": ["clamp_max"], "clamp_max": ["clamp_min"],
    "floor": ["ceil"], "ceil": ["floor"], "cumsum": ["cumprod"], "logsumexp": ["amax"], "square": ["abs"],
    "float": ["double"], "double": ["float"], "unsqueeze": ["squeeze"], "matmul": ["mul"], "bmm": ["mul"],
}
NAME_SWAPS = {"max": ["min"], "min": ["max"]}  # builtins
DIM_KEYWORDS = ("dim", "axis", "dims")
# Calls whose first two arguments commute: swapping them makes an equivalent mutant, not a mistake.
SYMMETRIC = {"transpose", "swapaxes", "swapdims", "add", "mul", "multiply", "maximum", "minimum", "fmax", "fmin",
             "eq", "ne", "hypot", "logical_and", "logical_or", "logical_xor", "isclose", "allclose", "equal"}
DROPPABLE = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


@dataclass(frozen=True)
class Mutant:
    """One changed place in the source: ``before`` became ``after`` on ``line``."""

    operator: str  # binop | compare | boolop | unary | constant | drop-term | swap-args | call | dim | off-by-one
    line: int
    column: int  # from 1
    before: str
    after: str
    source: str = field(repr=False)

    @property
    def description(self) -> str:
        return f"line {self.line}:{self.column}: {_short(self.before)} → {_short(self.after)} ({self.operator})"


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _left_alone(tree: ast.AST) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations, imports, decorators, messages."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body:
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                roots.append(body[0])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            roots += node.decorator_list + ([node.returns] if node.returns else [])
            a = node.args
            roots += [x.annotation for x in a.posonlyargs + a.args + a.kwonlyargs if x.annotation]
            roots += [x.annotation for x in (a.vararg, a.kwarg) if x is not None and x.annotation]
        elif isinstance(node, ast.ClassDef):
            roots += node.decorator_list
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Raise, ast.JoinedStr, ast.Global, ast.Nonlocal)):
            roots.append(node)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        elif isinstance(node, ast.Assert) and node.msg is not None:
            roots.append(node.msg)
        elif isinstance(node, ast.If) and _is_main_guard(node.test):
            roots.append(node)
    return {id(n) for root in roots for n in ast.walk(root)}


def _is_main_guard(test: ast.expr) -> bool:
    return isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"


def _int_dim(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) is int:
        return -node.operand.value
    return None


def _const(value: int) -> ast.expr:
    return ast.UnaryOp(ast.USub(), ast.Constant(-value)) if value < 0 else ast.Constant(value)


def _plus(node: ast.expr, k: int) -> ast.expr:
    return ast.BinOp(copy.deepcopy(node), ast.Add() if k > 0 else ast.Sub(), ast.Constant(abs(k)))


def _variants(node: ast.AST) -> list[tuple[str, object]]:
    """(operator, make) pairs: ``make(node)`` returns the node that replaces ``node``."""
    out: list[tuple[str, object]] = []
    if isinstance(node, ast.BinOp):
        for op in BINOP_SWAPS.get(type(node.op), []):
            out.append(("binop", lambda n, op=op: ast.BinOp(n.left, op(), n.right)))
        if isinstance(node.op, DROPPABLE):
            out.append(("drop-term", lambda n: n.left))
            if isinstance(node.op, (ast.Add, ast.Mult)):
                out.append(("drop-term", lambda n: n.right))
    elif isinstance(node, ast.AugAssign):
        for op in BINOP_SWAPS.get(type(node.op), []):
            out.append(("binop", lambda n, op=op: ast.AugAssign(n.target, op(), n.value)))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in COMPARE_SWAPS:
        kind = "off-by-one" if isinstance(node.ops[0], (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) else "compare"
        out.append((kind, lambda n: ast.Compare(n.left, [COMPARE_SWAPS[type(n.ops[0])]()], n.comparators)))
    elif isinstance(node, ast.BoolOp):
        out.append(("boolop", lambda n: ast.BoolOp(ast.Or() if isinstance(n.op, ast.And) else ast.And(), n.values)))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not, ast.Invert)):
        out.append(("unary", lambda n: n.operand))
    elif isinstance(node, ast.Constant):
        v = node.value
        if type(v) is bool:
            out.append(("constant", lambda n: ast.Constant(not n.value)))
        elif type(v) is int:
            out.append(("constant", lambda n: ast.Constant(n.value + 1)))
            if v != 0:
                out.append(("constant", lambda n: ast.Constant(n.value - 1)))
        elif type(v) is float:
            if v == 0:
                out.append(("constant", lambda n: ast.Constant(1.0)))
            elif abs(v) < 1e-3:  # an epsilon: does any check need it?
                out.append(("constant", lambda n: ast.Constant(0.0)))
            else:
                out.append(("constant", lambda n: ast.Constant(n.value * 2)))
    elif isinstance(node, ast.Call):
        out += _call_variants(node)
    elif isinstance(node, ast.Slice):
        for part in ("lower", "upper"):
            if getattr(node, part) is not None:
                for k in (1, -1):
                    out.append(("off-by-one", lambda n, part=part, k=k: ast.Slice(
                        **{**{p: getattr(n, p) for p in ("lower", "upper", "step")}, part: _plus(getattr(n, part), k)})))
    return out


def _call_variants(node: ast.Call) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    args = node.args
    func = node.func
    callee = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    for i in range(0 if callee not in SYMMETRIC else 1, len(args) - 1):
        if not isinstance(args[i], ast.Starred) and not isinstance(args[i + 1], ast.Starred) \
                and ast.dump(args[i]) != ast.dump(args[i + 1]):
            def swap(n, i=i):
                new = copy.copy(n)
                new.args = list(n.args)
                new.args[i], new.args[i + 1] = n.args[i + 1], n.args[i]
                return new
            out.append(("swap-args", swap))
    names = CALL_SWAPS.get(func.attr, []) if isinstance(func, ast.Attribute) else \
        NAME_SWAPS.get(func.id, []) if isinstance(func, ast.Name) else []
    for name in names:
        def rename(n, name=name):
            new = copy.copy(n)
            new.func = ast.Attribute(n.func.value, name, ast.Load()) if isinstance(n.func, ast.Attribute) \
                else ast.Name(name, ast.Load())
            return new
        out.append(("call", rename))
    for j, kw in enumerate(node.keywords):
        dim = _int_dim(kw.value) if kw.arg in DIM_KEYWORDS else None
        if dim is not None:
            changed = {-1: -2, -2: -1, 0: 1, 1: 0}.get(dim, dim - 1 if dim > 0 else dim + 1)

            def redim(n, j=j, changed=changed):
                new = copy.copy(n)
                new.keywords = list(n.keywords)
                new.keywords[j] = ast.keyword(n.keywords[j].arg, _const(changed))
                return new
            out.append(("dim", redim))
    if isinstance(func, ast.Name) and func.id == "range" and args:
        stop = 0 if len(args) == 1 else 1
        for k in (1, -1):
            def bound(n, stop=stop, k=k):
                new = copy.copy(n)
                new.args = list(n.args)
                new.args[stop] = _plus(n.args[stop], k)
                return new
            out.append(("off-by-one", bound))
    return out


def _replace(tree: ast.AST, target: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, name, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is target:
                        value[i] = new
                        return
    raise ValueError("mutation site not found")


def mutants(source: str) -> list[Mutant]:
    """Every distinct single-place mutant of ``source``, in source order."""
    tree = ast.parse(source)
    skip = _left_alone(tree)
    sites = [(i, op, make) for i, node in enumerate(ast.walk(tree)) if id(node) not in skip
             for op, make in _variants(node)]
    seen = {ast.unparse(tree)}
    out: list[Mutant] = []
    for index, operator, make in sites:
        fresh = ast.parse(source)  # walk order is the same for the same source
        target = next(n for i, n in enumerate(ast.walk(fresh)) if i == index)
        before = ast.unparse(target)
        new = make(target)
        _replace(fresh, target, new)
        ast.fix_missing_locations(fresh)
        try:
            text = ast.unparse(fresh)
            compile(text, "<mutant>", "exec")
        except (SyntaxError, ValueError, TypeError):
            continue
        if text in seen:
            continue
        seen.add(text)
        out.append(Mutant(operator, getattr(target, "lineno", 0), getattr(target, "col_offset", -1) + 1, before,
                          ast.unparse(new), text))
    out.sort(key=lambda m: (m.line, m.column))
    return out


def sample(found: list[Mutant], cap: int, seed: str) -> list[Mutant]:
    """At most ``cap`` mutants, taken in turn from each operator so that every kind is represented.

    Deterministic for a given ``seed`` (the exercise id), so that runs compare.
    """
    if cap <= 0 or len(found) <= cap:
        return list(found)
    rng = random.Random(zlib.crc32(seed.encode()))
    groups: dict[str, list[Mutant]] = {}
    for m in found:
        groups.setdefault(m.operator, []).append(m)
    for group in groups.values():
        rng.shuffle(group)
    chosen: list[Mutant] = []
    while len(chosen) < cap:
        for group in groups.values():
            if group and len(chosen) < cap:
                chosen.append(group.pop())
    return sorted(chosen, key=lambda m: (m.line, m.column, m.operator))
