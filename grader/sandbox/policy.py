"""What an exercise forbids (``[forbidden]`` in ``exercise.toml``), and the names a violation can carry.

Both sides use it: the worker's guard (``grader.sandbox.guard``) enforces a :class:`Policy`; the
trusted side rebuilds violation texts from its ``vocabulary`` only, so that a submission cannot
print through them. Importing this module does not import torch.
"""

from __future__ import annotations

import importlib
import inspect
import types
from dataclasses import dataclass

AUTOGRAD_ENTRY_POINTS = (
    "torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward",
    "torch.Tensor.requires_grad_", "torch.autograd.functional.jacobian",
    "torch.autograd.functional.hessian", "torch.autograd.functional.vjp",
    "torch.autograd.functional.jvp", "torch.autograd.functional.vhp", "torch.autograd.functional.hvp",
    "torch.func.grad", "torch.func.grad_and_value", "torch.func.vjp", "torch.func.jvp",
    "torch.func.jacrev", "torch.func.jacfwd", "torch.func.hessian", "torch.func.linearize",
    "torch.autograd.graph._engine_run_backward", "torch.autograd._engine_run_backward",
)
# Where autograd is forbidden, guarded calls run with grad mode off; turning it back on is tampering.
AUTOGRAD_BREAKERS = ("torch._C._set_grad_enabled", "torch.enable_grad", "torch.set_grad_enabled", "torch.autograd.enable_grad",
                     "torch.autograd.set_grad_enabled", "torch.autograd.grad_mode.enable_grad",
                     "torch.autograd.grad_mode.set_grad_enabled")
# Torch functions that pop, disable or bypass the modes. Torch's own code may call them; a call
# whose caller is not torch's code is tampering.
MODE_BREAKERS = (
    "torch._C._DisableTorchDispatch", "torch._C.DisableTorchFunction", "torch._C._ExcludeDispatchKeyGuard",
    "torch._C._dispatch_tls_set_dispatch_key_excluded", "torch._C._pop_torch_function_stack",
    "torch._C._pop_torch_dispatch_stack", "torch._C._unset_dispatch_mode", "torch._C._ForceDispatchKeyGuard",
    "torch._C._RestorePythonTLSSnapshot", "torch._C._AutoDispatchBelowAutograd",
    "torch._C._AutoDispatchBelowADInplaceOrView",
    "torch.utils._python_dispatch._disable_current_modes", "torch.utils._python_dispatch._pop_mode",
    "torch.utils._python_dispatch._pop_mode_temporarily", "torch.overrides._pop_mode",
    "torch.overrides._pop_mode_temporarily",
)
TAMPER_MODE = "tampering with the grader's guard (its mode was removed)"
TAMPER_KERNELS = "tampering with the grader's guard (its kernels were replaced)"
AUTOGRAD_TENSOR = "autograd (a tensor that requires grad)"


class ForbiddenOperation(RuntimeError):
    """Raised inside the worker when a submission reaches an operation its exercise forbids."""


@dataclass
class Policy:
    """What one exercise forbids, as written in the ``[forbidden]`` table of ``exercise.toml``."""

    functions: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    aten: tuple[str, ...] = ()
    autograd: bool = False

    @classmethod
    def from_dict(cls, d: dict | None) -> "Policy":
        d = d or {}
        return cls(tuple(d.get("functions", ())), tuple(d.get("modules", ())),
                   tuple(d.get("aten", ())), bool(d.get("autograd", False)))

    def to_dict(self) -> dict:
        return {"functions": list(self.functions), "modules": list(self.modules),
                "aten": list(self.aten), "autograd": self.autograd}

    @property
    def empty(self) -> bool:
        return not (self.functions or self.modules or self.aten or self.autograd)

    def vocabulary(self) -> frozenset[str]:
        """Every name a violation of this policy can carry: the trusted side shows no other."""
        names = set(self.functions) | set(self.modules) | {TAMPER_MODE, TAMPER_KERNELS, AUTOGRAD_TENSOR}
        names |= {f"aten.{p}" for p in self.aten} | {f"aten.{p}_" for p in self.aten}
        for dotted in self.modules:
            module = resolve(dotted)
            if isinstance(module, types.ModuleType):
                names |= {f"{dotted}.{name}" for name, obj in vars(module).items() if inspect.isclass(obj)}
        names |= {f"disabling the grader's guard ({b})" for b in MODE_BREAKERS + AUTOGRAD_BREAKERS}
        if self.autograd:
            names |= set(AUTOGRAD_ENTRY_POINTS)
        return frozenset(names)


def resolve(dotted: str) -> object | None:
    """The object a dotted path names (importing its module), or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None
