"""Forbidden operations, enforced at run time inside the worker (never by reading source).

Four layers, each catching what the others miss:
- a ``TorchFunctionMode`` that refuses forbidden torch functions and methods by identity and by name;
- a ``TorchDispatchMode`` that refuses forbidden ATen operators however they were reached
  (``torch.ops.aten.sigmoid``, a composite that decomposes into one, a module's forward) and, where
  autograd is forbidden, any operation on a tensor that requires grad;
- backend kernels of the forbidden ATen operators (CPU, CUDA, quantized, sparse, nested) replaced
  while the guard is active, process-wide: this catches what the thread-local modes cannot see
  (another thread, a mode popped or disabled, ``OpOverload.redispatch``);
- patched Python entry points (classes, autograd and ``torch.func`` functions), and the torch
  functions that pop or disable modes, which count as tampering when a submission calls them.

A violation is recorded before it is raised and handed to ``on_violation`` (the worker sends it to
the trusted side at once), so catching the exception or clearing the record hides nothing; the
reporter is bound when the guard is installed, before any student code runs.
``intact()`` says whether the guard is still in place, so a submission that removes it is caught too.
Everything here runs in the submission's process: code written against this file can still undo
it; the README's threat model says what that leaves open.
"""

from __future__ import annotations

import _thread
import inspect
import os
import sys
import threading
import types
import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch.overrides import _get_current_function_mode_stack
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

from grader.sandbox.modes import Rules, _DispatchMode, _FunctionMode
from grader.sandbox.policy import AUTOGRAD_BREAKERS, AUTOGRAD_ENTRY_POINTS, MODE_BREAKERS, \
    TAMPER_KERNELS, TAMPER_MODE, ForbiddenOperation, Policy, resolve

# Dispatch keys whose kernels compute: replacing these catches every route to the computation.
BACKEND_KEYS = ("CPU", "CUDA", "QuantizedCPU", "QuantizedCUDA", "SparseCPU", "SparseCUDA", "SparseCsrCPU",
                "SparseCsrCUDA", "NestedTensorCPU", "NestedTensorCUDA", "MkldnnCPU")
_INHERITED = object()  # what a patched class had of its own ``__init__``: nothing
TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
GRADER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # the grader package
OPS_FILE = os.path.join(os.path.dirname(torch.__file__), "_ops.py")  # OpOverload.__call__ and redispatch


def _qualified(func: object) -> str:
    module = getattr(func, "__module__", None) or ""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", "") or repr(func)
    text = f"{module}.{name}" if module else str(name)
    return text[:120]


def _trusted_caller(depth: int = 2) -> bool:
    """Whether the Python code calling a wrapped function is torch's or the grader's own."""
    try:
        filename = sys._getframe(depth).f_code.co_filename
    except ValueError:
        return False
    return filename.startswith(TORCH_DIR) or filename.startswith(GRADER_DIR)


@dataclass
class Guard:
    """The forbidden operations of every exercise a worker serves; the selected one's are enforced.

    All patches are made by ``install``, before any student code runs; ``select`` names the exercise
    whose calls follow, and only its rules apply while the guard is entered.
    """

    policies: dict  # exercise id (or any key) -> Policy
    violations: list[str] = field(default_factory=list)
    on_violation: Callable[[str], None] | None = None
    rules: dict = field(default_factory=dict)  # key -> Rules
    current: Rules | None = None
    _patched: list = field(default_factory=list)
    _library: object = None
    _kernel_probe: tuple | None = None  # (op name, key, repr of our kernel) to see it is still ours
    _fmode: object = None
    _dmode: object = None
    _active: bool = False
    _depth: int = 0
    _deny_fn: Callable[[str], ForbiddenOperation] | None = None
    _grad_was: bool = True
    _code: dict = field(default_factory=dict)  # id(function) -> (function, its code) at install
    _entered: Rules | None = None
    # Whether the selected exercise's ATen kernels stay registered between calls (until another
    # exercise is selected) rather than being registered on every entry and removed on every exit,
    # which costs most of a millisecond per call. Outside a call they deny as they do inside: for a
    # worker whose own code between calls (decoding, encoding) uses none of the forbidden operators,
    # not one that runs trusted measurement code (baselines, references) beside the submission.
    keep_kernels: bool = False

    @classmethod
    def single(cls, policy: Policy) -> "Guard":
        """A guard for one policy, selected."""
        return cls({"": policy})

    @property
    def policy(self) -> Policy:
        return self.current.policy if self.current is not None else Policy()

    def select(self, key: str) -> None:
        """The exercise whose rules apply from now on (not while the guard is entered)."""
        if self._depth:
            raise RuntimeError("the guard's exercise cannot change while it is active")
        rules = self.rules[key]
        if rules is not self.current:
            self._unregister_kernels()  # the kernels registered are the selected exercise's
        self.current = rules

    def install(self) -> None:
        """Resolve every policy and patch entry points; called once, before the submission is imported."""
        self._bind_deny()
        patched_targets: set[str] = set()
        any_rules = any_autograd = False
        for key, p in self.policies.items():
            rules = Rules(p, aten=frozenset(p.aten))
            targets = list(p.functions) + (list(AUTOGRAD_ENTRY_POINTS) if p.autograd else [])
            for dotted in targets:
                obj = resolve(dotted)
                if obj is None:
                    continue
                rules.names.setdefault(dotted.rsplit(".", 1)[-1], dotted)
                try:
                    rules.funcs.setdefault(obj, dotted)
                except TypeError:
                    pass
                patched_targets.add(dotted)
            rules.targets = frozenset(targets)
            rules.kernels = self._find_kernels(p.aten)
            rules.function_mode = bool(rules.funcs or rules.names or p.modules)
            rules.dispatch_mode = bool(rules.aten or p.autograd)
            self.rules[key] = rules
            any_rules |= not p.empty
            any_autograd |= p.autograd
        for dotted in sorted(patched_targets):
            obj = resolve(dotted)
            if inspect.isclass(obj):
                self._patch_class(obj, dotted)
            elif obj is not None:
                self._patch_attr(dotted, obj)
        for dotted in sorted({m for p in self.policies.values() for m in p.modules}):
            self._patch_module(dotted)
        if any_rules:
            for dotted in MODE_BREAKERS + (AUTOGRAD_BREAKERS if any_autograd else ()):
                self._patch_breaker(dotted)
            self._patch_threads()
        if len(self.rules) == 1:
            self.current = next(iter(self.rules.values()))
        self._fmode = _FunctionMode(self)
        self._dmode = _DispatchMode(self)
        for cls in (Guard, Rules, _FunctionMode, _DispatchMode):
            for fn in vars(cls).values():
                if isinstance(fn, types.FunctionType):
                    self._code[id(fn)] = (fn, fn.__code__)
                    inner = inspect.unwrap(fn)
                    self._code[id(inner)] = (inner, inner.__code__)

    def _enforcing(self, dotted: str) -> bool:
        return self._active and self.current is not None and self.current.forbids_dotted(dotted)

    def _deny(self, what: str) -> ForbiddenOperation:
        return self._deny_fn(what)

    def _bind_deny(self) -> None:
        """The one function that records a violation, bound to the record and reporter of install time.

        The kernels hold it in their closures: replacing attributes of the guard later does not
        change where their violations go.
        """
        violations, report = self.violations, self.on_violation

        def deny(what: str) -> ForbiddenOperation:
            violations.append(what)
            if report is not None:
                try:
                    report(what)
                except Exception:  # noqa: BLE001 - the record above still holds it
                    pass
            return ForbiddenOperation(f"{what} is forbidden in this exercise")

        self._deny_fn = deny

    # Patching ----------------------------------------------------------------------------------

    def _set(self, owner: object, attr: str, replacement: object, original: object, expose: bool = True) -> None:
        # ``__original__`` lets the timing check see that a public function is only wrapped; the
        # guard's own tools (mode breakers, thread starters) keep their originals to themselves.
        if any(o is owner and a == attr for o, a, _, _ in self._patched):
            return  # named twice (a class in `functions` and under `modules`, or an alias): once is enough
        if expose:
            replacement.__original__ = original  # type: ignore[attr-defined]
        try:
            setattr(owner, attr, replacement)
        except (AttributeError, TypeError):
            return
        self._patched.append((owner, attr, replacement, original))

    def _patch_attr(self, dotted: str, original: object) -> None:
        owner_name, _, attr = dotted.rpartition(".")
        owner = resolve(owner_name)
        if owner is None or not callable(original):
            return
        guard = self

        def forbidden(*args, **kwargs):
            if guard._enforcing(dotted):
                raise guard._deny(dotted)
            return original(*args, **kwargs)

        forbidden.__name__ = getattr(original, "__name__", attr)
        forbidden.__qualname__ = getattr(original, "__qualname__", attr)
        try:  # what torch reads off its own functions (``__wrapped__`` of a context manager, say) stays readable
            forbidden.__dict__.update(vars(original))
        except TypeError:
            pass
        self._set(owner, attr, forbidden, original)

    def _patch_module(self, dotted: str) -> None:
        """Every class and Python function defined under ``dotted``, in each of its loaded submodules.

        A class or function exported under several names (a package re-exporting its submodules'
        names) is patched once, where it is defined: the others see the same object.
        """
        if not isinstance(resolve(dotted), types.ModuleType):
            return
        for mod_name in sorted(m for m in list(sys.modules) if m == dotted or m.startswith(dotted + ".")):
            module = sys.modules.get(mod_name)
            if not isinstance(module, types.ModuleType):
                continue
            for name, obj in list(vars(module).items()):
                defined = getattr(obj, "__module__", None) or ""
                if defined != mod_name:
                    continue  # patched where it is defined, not where it is re-exported
                if inspect.isclass(obj):
                    self._patch_class(obj, f"{mod_name}.{name}")
                elif isinstance(obj, types.FunctionType) and not name.startswith("__"):
                    self._patch_attr(f"{mod_name}.{name}", obj)

    def _patch_class(self, cls: type, dotted: str) -> None:
        """Refuse to build ``cls`` where forbidden; elsewhere its own ``__init__`` runs, or the next one
        up its MRO, looked up at each call (a class that only has ``__new__``, such as
        ``nn.Parameter``, must not reach ``object.__init__`` with arguments)."""
        own = cls.__dict__.get("__init__")
        guard = self

        def __init__(self, *args, **kwargs):
            if guard._enforcing(dotted):
                raise guard._deny(dotted)
            if own is not None:
                return own(self, *args, **kwargs)
            for base in cls.__mro__[1:]:
                inherited = base.__dict__.get("__init__")
                if inherited is not None:
                    if inherited is not object.__init__:
                        inherited(self, *args, **kwargs)
                    return None
            return None

        self._set(cls, "__init__", __init__, own if own is not None else _INHERITED)

    def _patch_breaker(self, dotted: str) -> None:
        owner_name, _, attr = dotted.rpartition(".")
        owner, original = resolve(owner_name), resolve(dotted)
        if owner is None or original is None:
            return
        guard = self

        autograd_only = dotted in AUTOGRAD_BREAKERS

        def breaker(*args, **kwargs):
            rules = guard.current
            if guard._active and rules is not None and not rules.policy.empty and \
                    (rules.policy.autograd or not autograd_only) and not _trusted_caller():
                raise guard._deny(f"disabling the grader's guard ({dotted})")
            return original(*args, **kwargs)

        breaker.__name__ = attr
        self._set(owner, attr, breaker, original, expose=dotted in AUTOGRAD_BREAKERS)

    def _patch_threads(self) -> None:
        """Threads started during a guarded call run under the guard's modes too."""
        guard = self
        for owner, attr in ((_thread, "start_new_thread"), (threading, "_start_new_thread"),
                            (_thread, "start_joinable_thread"), (threading, "_start_joinable_thread")):
            original = getattr(owner, attr, None)
            if original is None:
                continue

            def start(function, *args, __original=original, **kwargs):
                if guard._active and guard.current is not None and not guard.current.policy.empty \
                        and callable(function):
                    target = function

                    def function(*a, **k):
                        with _FunctionMode(guard), _DispatchMode(guard):
                            return target(*a, **k)
                return __original(function, *args, **kwargs)

            self._set(owner, attr, start, original, expose=False)

    @staticmethod
    def _find_kernels(aten: tuple[str, ...]) -> list:
        """The backend kernels of every overload of each forbidden ATen operator (and its in-place form)."""
        seen, found = set(), []
        for packet in aten:
            for name in (packet, packet + "_"):
                overloads = getattr(torch.ops.aten, name, None) if name.isidentifier() else None
                try:
                    names = overloads.overloads() if overloads is not None else []
                except (AttributeError, RuntimeError):
                    names = []
                for overload in names:
                    op = name if overload == "default" else f"{name}.{overload}"
                    for key in BACKEND_KEYS:
                        if (op, key) in seen or ("CUDA" in key and not torch.cuda.is_available()):
                            continue
                        try:
                            if not torch._C._dispatch_has_computed_kernel_for_dispatch_key(f"aten::{op}", key):
                                continue
                            original = torch._C._dispatch_get_computed_kernel_for_dispatch_key(f"aten::{op}", key)
                        except (RuntimeError, TypeError, AttributeError):
                            original = None
                        seen.add((op, key))
                        found.append((op, key, packet, original))
        return found

    def _register_kernels(self) -> None:
        kernels = self.current.kernels if self.current is not None else []
        if not kernels or self._library is not None:
            return
        library = torch.library.Library("aten", "IMPL")
        internal = inspect.unwrap(_DispatchMode.__torch_dispatch__).__code__  # torch wraps it once
        deny = self._deny_fn

        def kernel_for(packet: str, original):
            def kernel(keyset, *args, **kwargs):
                # Called from C++. When an allowed operator uses this one internally, the nearest
                # Python frame past torch's operator wrappers is our dispatch mode calling it;
                # anything else is the submission reaching the kernel some other way.
                frame = sys._getframe(1)
                while frame is not None and (frame.f_code.co_filename == OPS_FILE or frame.f_code is own):
                    frame = frame.f_back
                if original is not None and frame is not None and frame.f_code is internal:
                    return original.call_boxed(keyset, *args, **kwargs)
                raise deny(f"aten.{packet}")
            return kernel

        own = kernel_for("", None).__code__  # a kernel calling an original that calls another kernel

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "overriding a previously registered kernel" is the point
            for op, key, packet, original in kernels:
                try:
                    library.impl(op, kernel_for(packet, original), key, with_keyset=True)
                except (RuntimeError, ValueError):
                    continue
        self._library = library
        op, key = kernels[0][:2]
        try:
            self._kernel_probe = (op, key, repr(torch._C._dispatch_get_computed_kernel_for_dispatch_key(
                f"aten::{op}", key)))
        except (RuntimeError, TypeError):
            self._kernel_probe = None

    def _unregister_kernels(self) -> None:
        # The probe goes with the kernels: an exercise with no kernels of its own, selected next,
        # would otherwise find torch's kernel where the probe expects ours and report tampering.
        library, self._library, self._kernel_probe = self._library, None, None
        if library is not None:
            library._destroy()

    def uninstall(self) -> None:
        """Undo every patch (used only by the zygote after its warm-up)."""
        self._unregister_kernels()
        for owner, attr, _, original in reversed(self._patched):
            if original is _INHERITED:
                delattr(owner, attr)
            else:
                setattr(owner, attr, original)
        self._patched.clear()

    # Policy ------------------------------------------------------------------------------------

    def forbids(self, func: object) -> str | None:
        """The policy's name for what ``func`` is, if the selected policy forbids it (never a name ``func`` chose)."""
        rules = self.current
        if rules is None:
            return None
        try:
            if func in rules.funcs:
                return rules.funcs[func]
        except TypeError:
            pass
        name = getattr(func, "__name__", None)
        if isinstance(name, str) and name in rules.names:
            return rules.names[name]
        if rules.policy.modules:
            qual = _qualified(func)
            for prefix in rules.policy.modules:
                if qual.startswith(prefix + ".") or qual.startswith(prefix.replace("torch.", "torch._C._") + "."):
                    return prefix
        return None

    def __enter__(self) -> "Guard":
        self._depth += 1
        if self._depth > 1:  # nested: the outer guard is already in place
            return self
        if self.current is None:
            raise RuntimeError("no exercise is selected")
        self._entered = self.current  # what __exit__ undoes, whatever happens to `current` meanwhile
        self._active = True
        if not self._entered.policy.empty:
            self._register_kernels()
            if self._entered.policy.autograd:
                self._grad_was = torch.is_grad_enabled()
                torch._C._set_grad_enabled(False)
            if self._entered.function_mode:
                self._fmode.__enter__()
            if self._entered.dispatch_mode:
                self._dmode.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        self._depth = 0
        entered = self._entered
        try:
            if self.current is not entered:
                self._deny(TAMPER_MODE)  # the rules were switched while a call ran
            if not entered.policy.empty:
                for mode, used in ((self._dmode, entered.dispatch_mode), (self._fmode, entered.function_mode)):
                    if not used:
                        continue
                    try:
                        mode.__exit__(None, None, None)
                    except Exception:
                        self._deny(TAMPER_MODE)
                if not self._kernels_intact():
                    self._deny(TAMPER_KERNELS)
                if entered.policy.autograd:
                    torch._C._set_grad_enabled(self._grad_was)
        finally:
            self._active = False
            if not self.keep_kernels:
                self._unregister_kernels()

    def _kernels_intact(self) -> bool:
        if self._kernel_probe is None:
            return True
        op, key, expected = self._kernel_probe
        try:
            return repr(torch._C._dispatch_get_computed_kernel_for_dispatch_key(f"aten::{op}", key)) == expected
        except (RuntimeError, TypeError):
            return False

    def intact(self) -> bool:
        """Whether every patch, kernel and mode is still in place and the guard's code is unchanged."""
        for fn, code in self._code.values():
            if fn.__code__ is not code:
                return False
        for cls in (Guard, Rules, _FunctionMode, _DispatchMode):
            for name, fn in vars(cls).items():
                if isinstance(fn, types.FunctionType) and id(fn) not in self._code:
                    return False
        for owner, attr, fn, _ in self._patched:
            if owner.__dict__.get(attr) is not fn:
                return False
        if self._active and not self.policy.empty:
            rules = self._entered or self.current
            if rules.function_mode and (not _get_current_function_mode_stack()
                                        or _get_current_function_mode_stack()[-1] is not self._fmode):
                return False
            if rules.dispatch_mode and self._dmode not in _get_current_dispatch_mode_stack():
                return False
            if self.current.kernels and (self._library is None or not self._kernels_intact()):
                return False
        return True
