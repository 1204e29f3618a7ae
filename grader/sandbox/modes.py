"""The guard's two torch modes, one refusing forbidden functions, the other forbidden ATen operators,
and the rules they ask.

Each asks its guard's selected :class:`Rules` (``grader.sandbox.guard``) about every call it sees,
and remembers the answer where it cannot change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from grader.sandbox.policy import AUTOGRAD_TENSOR, Policy

MAX_VERDICTS = 8192  # functions and operators whose verdict the rules remember, per exercise


@dataclass
class Rules:
    """One exercise's policy, resolved once: what its calls may not reach."""

    policy: Policy
    funcs: dict = field(default_factory=dict)  # forbidden object -> its dotted name in the policy
    names: dict = field(default_factory=dict)  # last part of a dotted name -> the dotted name
    targets: frozenset = frozenset()  # dotted names of the patched entry points it forbids
    aten: frozenset = frozenset()
    kernels: list = field(default_factory=list)  # (op name, dispatch key, packet, original kernel)
    # Verdicts the modes reuse: the functions found allowed (torch's functions and methods, a fixed
    # set), and per ATen operator overload the name it is denied under, or "".
    allowed: dict = field(default_factory=dict)
    operators: dict = field(default_factory=dict)
    # Which modes these rules need: a mode with nothing to refuse is not entered (it would only slow
    # every operator down). The function mode refuses functions and modules, the dispatch mode ATen
    # operators and, where autograd is forbidden, tensors that require grad.
    function_mode: bool = True
    dispatch_mode: bool = True

    def remember_allowed(self, func: object) -> None:
        if len(self.allowed) < MAX_VERDICTS:
            try:
                self.allowed[func] = True
            except TypeError:  # unhashable: asked again next time
                pass

    def operator_verdict(self, func) -> str:
        packet = func.overloadpacket.__name__
        denied = f"aten.{packet}" if packet in self.aten or packet.rstrip("_") in self.aten else ""
        if len(self.operators) < MAX_VERDICTS:
            self.operators[func] = denied
        return denied

    def forbids_dotted(self, dotted: str) -> bool:
        return dotted in self.targets or any(dotted == m or dotted.startswith(m + ".") for m in self.policy.modules)


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
