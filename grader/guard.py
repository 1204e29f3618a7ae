"""Forbidden operations, enforced at run time inside the worker (never by reading source).

Three layers, each catching what the others miss:
- a ``TorchFunctionMode`` that refuses forbidden torch functions and methods by identity and by name;
- a ``TorchDispatchMode`` that refuses forbidden ATen operators however they were reached
  (``torch.ops.aten.sigmoid``, a composite that decomposes into one, a module's forward) and, where
  autograd is forbidden, any operation on a tensor that requires grad;
- patched Python entry points (classes, autograd and ``torch.func`` functions) that torch modes
  cannot see.

A violation is recorded before it is raised, so catching the exception hides nothing: the worker
reports every recorded violation after the call. ``intact()`` says whether the guard is still in
place, so that a submission that removes it is caught too.
"""

from __future__ import annotations

import importlib
import inspect
import types
from dataclasses import dataclass, field

import torch
from torch.overrides import TorchFunctionMode, _get_current_function_mode_stack
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode_stack

AUTOGRAD_ENTRY_POINTS = (
    "torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward",
    "torch.Tensor.requires_grad_", "torch.autograd.functional.jacobian",
    "torch.autograd.functional.hessian", "torch.autograd.functional.vjp",
    "torch.autograd.functional.jvp", "torch.autograd.functional.vhp", "torch.autograd.functional.hvp",
    "torch.func.grad", "torch.func.grad_and_value", "torch.func.vjp", "torch.func.jvp",
    "torch.func.jacrev", "torch.func.jacfwd", "torch.func.hessian", "torch.func.linearize",
)


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


def _resolve(dotted: str) -> object | None:
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


def _qualified(func: object) -> str:
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", "") or repr(func)
    return f"{module}.{name}" if module else name


@dataclass
class Guard:
    policy: Policy
    violations: list[str] = field(default_factory=list)
    _funcs: set = field(default_factory=set)
    _names: set = field(default_factory=set)
    _patched: list = field(default_factory=list)
    _fmode: object = None
    _dmode: object = None
    _active: bool = False

    def install(self) -> None:
        """Resolve the policy and patch entry points; called once, before the submission is imported."""
        p = self.policy
        targets = list(p.functions) + (list(AUTOGRAD_ENTRY_POINTS) if p.autograd else [])
        for dotted in targets:
            obj = _resolve(dotted)
            if obj is None:
                continue
            self._names.add(dotted.rsplit(".", 1)[-1])
            if inspect.isclass(obj):
                self._patch_class(obj, dotted)
            else:
                try:
                    self._funcs.add(obj)
                except TypeError:
                    pass
                self._patch_attr(dotted, obj)
        for dotted in p.modules:
            module = _resolve(dotted)
            if isinstance(module, types.ModuleType):
                for name, obj in list(vars(module).items()):
                    if inspect.isclass(obj) and (obj.__module__ or "").startswith(dotted):
                        self._patch_class(obj, f"{dotted}.{name}")
        self._fmode = _FunctionMode(self)
        self._dmode = _DispatchMode(self)

    def _deny(self, what: str) -> ForbiddenOperation:
        if self._active:
            self.violations.append(what)
        return ForbiddenOperation(f"{what} is forbidden in this exercise")

    def _patch_attr(self, dotted: str, original: object) -> None:
        owner_name, _, attr = dotted.rpartition(".")
        owner = _resolve(owner_name)
        if owner is None or not callable(original):
            return
        guard = self

        def forbidden(*args, **kwargs):
            if guard._active:
                raise guard._deny(dotted)
            return original(*args, **kwargs)

        forbidden.__name__ = getattr(original, "__name__", attr)
        forbidden.__qualname__ = getattr(original, "__qualname__", attr)
        forbidden.__original__ = original
        try:
            setattr(owner, attr, forbidden)
        except (AttributeError, TypeError):
            return
        self._patched.append((owner, attr, forbidden))

    def _patch_class(self, cls: type, dotted: str) -> None:
        original = cls.__init__
        guard = self

        def __init__(self, *args, **kwargs):
            if guard._active:
                raise guard._deny(dotted)
            original(self, *args, **kwargs)

        __init__.__original__ = original
        try:
            cls.__init__ = __init__
        except (AttributeError, TypeError):
            return
        self._patched.append((cls, "__init__", __init__))

    def uninstall(self) -> None:
        """Undo every patch (used only by the zygote after its warm-up)."""
        for owner, attr, fn in reversed(self._patched):
            original = getattr(fn, "__original__", None)
            if original is not None:
                setattr(owner, attr, original)
        self._patched.clear()

    def forbids(self, func: object) -> str | None:
        """The name under which ``func`` is forbidden, or None."""
        try:
            if func in self._funcs:
                return _qualified(func)
        except TypeError:
            pass
        name = getattr(func, "__name__", None)
        if name in self._names:
            return _qualified(func)
        if self.policy.modules:
            qual = _qualified(func)
            for prefix in self.policy.modules:
                if qual.startswith(prefix + ".") or qual.startswith(prefix.replace("torch.", "torch._C._") + "."):
                    return qual
        return None

    def __enter__(self) -> "Guard":
        self._active = True
        if not self.policy.empty:
            self._fmode.__enter__()
            self._dmode.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        try:
            if not self.policy.empty:
                for mode in (self._dmode, self._fmode):
                    try:
                        mode.__exit__(None, None, None)
                    except Exception:
                        self.violations.append("the grader's guard (its mode was removed)")
        finally:
            self._active = False

    def intact(self) -> bool:
        """Whether every patch is still in place and no mode was pushed or popped around ours."""
        for owner, attr, fn in self._patched:
            if owner.__dict__.get(attr) is not fn:
                return False
        if self._active and not self.policy.empty:
            if not _get_current_function_mode_stack() or _get_current_function_mode_stack()[-1] is not self._fmode:
                return False
            if self._dmode not in _get_current_dispatch_mode_stack():
                return False
        return True


class _FunctionMode(TorchFunctionMode):
    def __init__(self, guard: Guard):
        super().__init__()
        self.guard = guard

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = self.guard.forbids(func)
        if name is not None:
            raise self.guard._deny(name)
        return func(*args, **(kwargs or {}))


class _DispatchMode(TorchDispatchMode):
    def __init__(self, guard: Guard):
        super().__init__()
        self.guard = guard
        self.aten = frozenset(guard.policy.aten)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        packet = func.overloadpacket.__name__
        if packet in self.aten or packet.rstrip("_") in self.aten:
            raise self.guard._deny(f"aten.{packet}")
        if self.guard.policy.autograd:
            for a in args:
                if isinstance(a, torch.Tensor) and a.requires_grad:
                    raise self.guard._deny("autograd (a tensor that requires grad)")
        return func(*args, **(kwargs or {}))
