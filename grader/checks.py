"""What check authors use: the ``check`` marker, comparisons that explain themselves, seeded inputs.

Checks run in the trusted process. They reach the submission only through the ``submission``
fixture (a proxy to the sandboxed worker) and compare what comes back against torch oracles::

    @check(points=2)
    def test_matches_torch(submission, device):
        x = randn(4, 5, seed=1, device=device)
        assert_tensor(submission.sigmoid(x), torch.sigmoid(x), rtol=1e-6, atol=1e-7)

A failed hidden check shows only a ``CheckFailure``'s summary, never its detail or the inputs.
"""

from __future__ import annotations

import builtins
import math

import pytest
import torch

from grader.errors import WorkerFailure
from grader.messages import Message

__all__ = ["CheckFailure", "StudentError", "MissingExercise", "WorkerFailure", "PLUGIN_KEY", "check", "generator",
           "randn", "rand", "assert_tensor", "assert_scalar", "assert_tuple", "skip_unless_timed"]


class CheckFailure(AssertionError):
    """A wrong answer: ``summary`` is safe to show for hidden checks, ``detail`` only for public ones."""

    def __init__(self, summary: str, detail: str = ""):
        super().__init__(f"{summary}: {detail}" if detail else summary)  # a Message summary keeps its key
        self.summary = summary
        self.detail = detail


class StudentError(Exception):
    """The submission's function raised, used a forbidden operation, or returned an unsendable value."""

    def __init__(self, function: str, error: dict):
        self.function = function
        self.kind = str(error.get("kind", "exception"))
        self.type = str(error.get("type", "Exception"))
        self.text = str(error.get("message", ""))
        self.where = str(error.get("where", "") or "")
        super().__init__(self.public_message())

    # A grader.messages.Message where the grader writes the whole message; the submission's own
    # text (its exception's message, an import error) is shown as it is.
    def public_message(self) -> "Message | str":
        if self.kind == "not-implemented":
            return Message("check.not_implemented", {"function": self.function})
        at = f" (at {self.where})" if self.where else ""
        if self.kind in ("import", "forbidden", "type", "missing", "tamper", "memory", "codec"):
            return f"{self.function}: {self.text}{at}"
        return f"{self.function} raised {self.text}{at}"

    def hidden_message(self) -> "Message | str":
        if self.kind == "not-implemented":
            return self.public_message()
        if self.kind in ("import", "forbidden", "missing", "tamper"):
            return f"{self.function}: {self.text}"
        if self.kind == "type":
            return Message("check.hidden_unsupported_type", {"function": self.function})
        if self.kind == "memory":
            return Message("check.hidden_out_of_memory", {"function": self.function})
        # The class name is the submission's to choose: only a built-in one is shown, so that no
        # hidden input can travel out in it.
        if self.type in BUILTIN_EXCEPTIONS:
            return Message("check.hidden_raised", {"function": self.function, "type": self.type})
        return Message("check.hidden_raised_own_class", {"function": self.function})


class MissingExercise(Exception):
    """The submission has no usable ``<id>/<id>.py`` for an exercise (e.g. one a check depends on)."""


BUILTIN_EXCEPTIONS = frozenset(name for name, value in vars(builtins).items()
                               if isinstance(value, type) and issubclass(value, BaseException))


# Where the grading plugin puts itself in pytest's config: ``request.config.stash[PLUGIN_KEY]``.
PLUGIN_KEY = pytest.StashKey()


def skip_unless_timed(request: pytest.FixtureRequest, exercise: str) -> None:
    """For a timing check written as a test: skip it, out of the score, when timing is off (``--no-timing``),
    and skip it (worth nothing) until every correctness check of ``exercise`` passed."""
    plugin = request.config.stash[PLUGIN_KEY]
    if not plugin.settings.timing:
        request.node.uncounted = True
        pytest.skip(Message("check.timing_off"))
    passed, failed = plugin.correctness_passed(exercise)
    if not passed:
        pytest.skip(Message("check.not_timed", {"failed": failed}))


def check(points: float = 1.0, kind: str = "correctness"):
    """Mark a test as a scored check worth ``points``."""
    if points <= 0:
        raise ValueError(f"invalid points {points!r}: a check is worth a positive number of points")
    return pytest.mark.check(points=float(points), kind=kind)


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(seed)
    return g


def randn(*shape: int, seed: int, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
          scale: float = 1.0) -> torch.Tensor:
    """Seeded normal values, drawn on the CPU so that every device sees the same numbers."""
    return (torch.randn(*shape, generator=generator(seed), dtype=torch.float64) * scale).to(dtype).to(device)


def rand(*shape: int, seed: int, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
         low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """Seeded uniform values in [low, high)."""
    u = torch.rand(*shape, generator=generator(seed), dtype=torch.float64)
    return (low + (high - low) * u).to(dtype).to(device)


def _describe(t: torch.Tensor) -> str:
    return f"Tensor(shape={tuple(t.shape)}, dtype={str(t.dtype).removeprefix('torch.')}, device={t.device})"


def assert_tensor(actual: object, expected: torch.Tensor, *, rtol: float, atol: float, what: str = "result",
                  equal_nan: bool = False) -> None:
    """Fail unless ``actual`` is a plain tensor of ``expected``'s dtype, device and shape, close in value."""
    if type(actual) is not torch.Tensor:
        raise CheckFailure(f"{what} has the wrong type",
                           f"got {type(actual).__module__}.{type(actual).__qualname__}, expected torch.Tensor")
    if actual.dtype != expected.dtype:
        raise CheckFailure(f"{what} has the wrong dtype",
                           f"got {actual.dtype}, expected {expected.dtype}")
    if actual.device.type != expected.device.type:
        raise CheckFailure(f"{what} is on the wrong device", f"got {actual.device}, expected {expected.device}")
    if tuple(actual.shape) != tuple(expected.shape):
        raise CheckFailure(f"{what} has the wrong shape",
                           f"got {tuple(actual.shape)}, expected {tuple(expected.shape)}")
    if actual.requires_grad:
        raise CheckFailure(f"{what} still requires grad", "return plain values, detached from any graph")
    a, e = actual.detach(), expected.detach()
    if a.dtype == torch.bool or not (a.is_floating_point() or a.is_complex()):
        if not torch.equal(a.cpu(), e.cpu()):
            bad = int((a != e).sum())
            raise CheckFailure(f"{what} has wrong values", f"{bad} of {a.numel()} entries differ")
        return
    a64, e64 = a.to(torch.float64).cpu(), e.to(torch.float64).cpu()
    nan_a, nan_e = torch.isnan(a64), torch.isnan(e64)
    if (nan_a & ~nan_e).any():
        raise CheckFailure(f"{what} contains NaN", f"{int((nan_a & ~nan_e).sum())} entries are NaN")
    inf_a = torch.isinf(a64) & ~torch.isinf(e64)
    if inf_a.any():
        raise CheckFailure(f"{what} contains inf", f"{int(inf_a.sum())} entries are infinite")
    if not equal_nan and (nan_e & ~nan_a).any():
        raise CheckFailure(f"{what} has wrong values", "NaN expected where a number was returned")
    ok = torch.isclose(a64, e64, rtol=rtol, atol=atol, equal_nan=True)
    if not bool(ok.all()):
        diff = (a64 - e64).abs().nan_to_num(posinf=math.inf)
        idx = int(torch.argmax(torch.where(ok, torch.zeros_like(diff), diff + 1)).item())
        flat_a, flat_e = a64.reshape(-1), e64.reshape(-1)
        raise CheckFailure(
            f"{what} has wrong values",
            f"{int((~ok).sum())} of {a.numel()} entries outside rtol={rtol:g}, atol={atol:g}; e.g. at flat index "
            f"{idx}: got {flat_a[idx].item():.10g}, expected {flat_e[idx].item():.10g} "
            f"(difference {abs(flat_a[idx].item() - flat_e[idx].item()):.3g})")


def assert_scalar(actual: object, expected: float, *, rtol: float, atol: float, what: str = "result") -> None:
    """Fail unless ``actual`` is a Python number close to ``expected``."""
    if type(actual) not in (int, float):
        raise CheckFailure(f"{what} has the wrong type",
                           f"got {type(actual).__qualname__}, expected a Python float")
    if not math.isclose(float(actual), expected, rel_tol=rtol, abs_tol=atol):
        raise CheckFailure(f"{what} has the wrong value", f"got {actual!r}, expected {expected!r}")


def assert_tuple(actual: object, length: int, what: str = "result") -> tuple:
    """Fail unless ``actual`` is a tuple (or list) of ``length`` items; return it as a tuple."""
    if type(actual) not in (tuple, list) or len(actual) != length:
        got = f"{type(actual).__qualname__} of length {len(actual)}" if type(actual) in (tuple, list) else \
            type(actual).__qualname__
        raise CheckFailure(f"{what} has the wrong structure", f"expected a tuple of {length} items, got {got}")
    return tuple(actual)
