"""The numbers behind a timing verdict: a median's confidence interval, spread, and result comparison."""

from __future__ import annotations

import math
import statistics

import torch


# Statistics ----------------------------------------------------------------------------------

def median_ci(xs: list[float], level: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval for the median (binomial order statistics)."""
    s = sorted(xs)
    n = len(s)
    if n < 6:
        return s[0], s[-1]
    alpha = (1.0 - level) / 2
    cdf, lower = 0.0, 1
    for i in range(n + 1):  # the largest l with P(Bin(n, 1/2) <= l - 1) <= alpha
        cdf += math.comb(n, i) / 2**n
        if cdf > alpha:
            lower = max(1, i)
            break
    return s[lower - 1], s[n - lower]


def spread(xs: list[float]) -> float:
    """Interquartile range relative to the median."""
    if len(xs) < 4:
        return 0.0
    q = statistics.quantiles(xs, n=4)
    m = statistics.median(xs)
    return (q[2] - q[0]) / m if m > 0 else 0.0


# Comparing results -----------------------------------------------------------------------------

def tolerances(expected, rtol: float | None, atol: float | None) -> tuple[float, float]:
    """The tolerances of a re-check: the table's, else by the expected result's dtype."""
    dtype = next(tensors(expected), torch.zeros(())).dtype
    default = {torch.float64: (1e-7, 1e-9), torch.float16: (1e-2, 1e-3),
               torch.bfloat16: (2e-2, 1e-2)}.get(dtype, (1e-4, 1e-5))  # float32: a few hundred ulps
    return (rtol if rtol is not None else default[0]), (atol if atol is not None else default[1])


def tensors(value):
    """Every tensor in a result (nested tuples, lists and dicts)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list, dict)):
        for v in (value.values() if isinstance(value, dict) else value):
            yield from tensors(v)


def mismatch(actual, expected, rtol: float, atol: float, what: str = "result") -> str | None:
    """How ``actual`` differs from ``expected`` beyond the tolerances, or None."""
    if isinstance(expected, torch.Tensor):
        if type(actual) is not torch.Tensor:
            return f"{what} is a {type(actual).__qualname__}, not a tensor"
        if actual.shape != expected.shape or actual.dtype != expected.dtype:
            return f"{what} has shape {tuple(actual.shape)} and dtype {actual.dtype}, expected " \
                   f"{tuple(expected.shape)} and {expected.dtype}"
        a, e = actual.detach().cpu(), expected.detach().cpu()
        if not (a.is_floating_point() or a.is_complex()):
            return None if torch.equal(a, e) else f"{what} has wrong values"
        ok = torch.isclose(a.double(), e.double(), rtol=rtol, atol=atol, equal_nan=True)
        return None if bool(ok.all()) else f"{what} has wrong values ({int((~ok).sum())} of {ok.numel()})"
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            return f"{what} has the wrong structure"
        for i, (a, e) in enumerate(zip(actual, expected)):
            problem = mismatch(a, e, rtol, atol, f"{what}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return f"{what} has the wrong keys"
        for key in expected:
            problem = mismatch(actual[key], expected[key], rtol, atol, f"{what}[{key!r}]")
            if problem:
                return problem
        return None
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return None if math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol) else f"{what} has the wrong value"
    return None if actual == expected else f"{what} has the wrong value"
