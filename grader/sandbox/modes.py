"""The guard's two torch modes: one refuses forbidden functions, the other forbidden ATen operators.

Each asks its guard's selected rules (``grader.sandbox.guard``) about every call it sees.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from grader.sandbox.policy import AUTOGRAD_TENSOR


class _FunctionMode(TorchFunctionMode):
    def __init__(self, guard):
        super().__init__()
        self.guard = guard

    def __torch_function__(self, func, types, args=(), kwargs=None):
        rules = self.guard.current
        try:
            known = func in rules.allowed  # a function once allowed stays allowed under the same rules
        except (TypeError, AttributeError):  # unhashable, or no rules selected
            known = False
        if not known:
            name = self.guard.forbids(func)
            if name is not None:
                raise self.guard._deny(name)
            if rules is not None:
                rules.remember_allowed(func)
        return func(*args, **(kwargs or {}))


class _DispatchMode(TorchDispatchMode):
    def __init__(self, guard):
        super().__init__()
        self.guard = guard

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Nothing here is ever compiled: without this, torch wraps __torch_dispatch__ in a function
        # that looks up its dynamo-disabled form (importing torch._dynamo the first time) on every operator.
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        rules = self.guard.current
        denied = rules.operators.get(func)
        if denied is None:
            denied = rules.operator_verdict(func)
        if denied:
            raise self.guard._deny(denied)
        if rules.policy.autograd:
            for a in args:
                if isinstance(a, torch.Tensor) and a.requires_grad:
                    raise self.guard._deny(AUTOGRAD_TENSOR)
        return func(*args, **(kwargs or {}))


def without_dynamo(cls: type) -> type:
    """Let a dispatch mode run without importing torch._dynamo (about a second) on its first call.

    ``TorchDispatchMode`` subclasses get their ``__torch_dispatch__`` wrapped so that TorchDynamo
    skips them, and the wrapper imports torch._dynamo the first time it runs. Nothing here is ever
    compiled, so the wrapper is told that the function is its own disabled form.
    """
    raw = getattr(cls.__dict__.get("__torch_dispatch__"), "__wrapped__", None)
    if raw is not None:
        setattr(raw, "__dynamo_disable", raw)
    return cls

