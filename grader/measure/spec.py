"""Argument specs of budget tables, checked on the trusted side and turned into the worker's template.

``[[timing]]`` and ``[[memory]]`` tables describe a call's arguments with sizes by name::

    args = [{randn = ["n", "d"], scale = 4.0}, {randint = [0, 10, ["n"]]}, 8]

``template`` resolves the names against a device's ``sizes`` and checks every spec; the worker
draws fresh tensors from the template (``grader.measure.draw``).
"""

from __future__ import annotations

from grader.errors import GraderError
from grader.measure.draw import GEN_KEY
from grader.sandbox.codec import DTYPES

GEN_KINDS = ("randn", "rand", "randint", "zeros", "ones")
DEVICES = ("cpu", "cuda")


def number(value, where: str, kind=float, positive: bool = True):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise GraderError(f"invalid value {value!r} in {where} (a number)")
    if positive and value <= 0:
        raise GraderError(f"invalid value {value!r} in {where} (a positive number)")
    return kind(value)


def device_tables(table: dict, required: str, keys: set[str], where: str) -> dict[str, tuple[dict, dict]]:
    """A budget table's per-device tables ("cpu", "cuda") that are present: device -> (spec, sizes).

    Each must be a table holding ``required``, with no key outside ``keys``, and its ``sizes`` (if
    any) must map names to non-negative integers; a bad one raises GraderError naming where it is.
    """
    found = {}
    for device in DEVICES:
        if device not in table:
            continue
        spec = table[device]
        if not isinstance(spec, dict) or required not in spec:
            raise GraderError(f"missing {required!r} in {where}.{device}")
        unknown = set(spec) - keys
        if unknown:
            raise GraderError(f"unknown key {sorted(unknown)[0]!r} in {where}.{device}")
        sizes = spec.get("sizes", {})
        if not isinstance(sizes, dict) or not all(isinstance(v, int) and v >= 0 for v in sizes.values()):
            raise GraderError(f"invalid sizes in {where}.{device} (names to non-negative integers)")
        found[device] = (spec, sizes)
    return found


def dims(dims, sizes: dict, where: str) -> list[int]:
    if not isinstance(dims, list):
        raise GraderError(f"invalid dimensions {dims!r} in {where} (a list)")
    out = []
    for d in dims:
        if isinstance(d, str):
            if d not in sizes:
                raise GraderError(f"unknown size {d!r} in {where} (sizes: {', '.join(sorted(sizes)) or 'none'})")
            d = sizes[d]
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise GraderError(f"invalid dimension {d!r} in {where}")
        out.append(d)
    return out


def draw_spec(value, sizes: dict, dtype: str, where: str):
    """An argument as the worker draws it: generated specs become {"$gen": {...}}, the rest stays."""
    if isinstance(value, dict):
        kinds = [k for k in GEN_KINDS if k in value]
        if len(kinds) == 1:
            kind = kinds[0]
            extra = set(value) - {kind, "dtype", "scale"}
            if extra:
                raise GraderError(f"unknown key {sorted(extra)[0]!r} in {where}")
            spec = {"kind": kind, "dtype": value.get("dtype", "int64" if kind == "randint" else dtype)}
            if spec["dtype"] not in DTYPES:
                raise GraderError(f"invalid dtype {spec['dtype']!r} in {where}")
            if kind == "randint":
                body = value[kind]
                if not (isinstance(body, list) and len(body) == 3 and all(isinstance(x, int) for x in body[:2])
                        and body[0] < body[1]):
                    raise GraderError(f"invalid randint {body!r} in {where} (low, high, [dims])")
                spec.update(low=body[0], high=body[1], shape=dims(body[2], sizes, where))
            else:
                spec["shape"] = dims(value[kind], sizes, where)
            if "scale" in value:
                spec["scale"] = number(value["scale"], f"{where}.scale")
            floating = DTYPES[spec["dtype"]].is_floating_point
            if kind in ("randn", "rand") and not floating:
                raise GraderError(f"invalid dtype {spec['dtype']!r} for {kind} in {where}")
            return {GEN_KEY: spec}
        return {k: draw_spec(v, sizes, dtype, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [draw_spec(v, sizes, dtype, where) for v in value]
    return value


def template(args, kwargs: dict, sizes: dict, dtype: str, where: str) -> dict:
    """The worker's template for one call: generated specs resolved against ``sizes``, the rest as written."""
    return {"args": [draw_spec(a, sizes, dtype, f"{where} args[{i}]") for i, a in enumerate(args)],
            "kwargs": {k: draw_spec(v, sizes, dtype, f"{where} kwargs.{k}") for k, v in kwargs.items()}}
