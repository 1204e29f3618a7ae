"""One timing measurement, run from the trusted side: every number that decides comes from its clock.

A round is four requests to the worker and one measurement here, in random order of the two roles:

    prepare(set of k fresh calls) -> run the baseline on it      (round trip timed here)
    prepare(set of k fresh calls) -> run the student on it       (round trip timed here)
    this process draws a set and runs the baseline on it          (the anchor, timed here)

The worker is untrusted, so nothing it reports is believed on its own:

- the student's block time is this process's round trip (on CUDA the worker's events, but never
  less than the round trip minus what flushing and synchronising is measured to cost here);
- the worker's baseline is paired with the student's block round by round, but scaled down when
  its median runs more than ``ANCHOR_SLACK`` slower than the anchor, so slowing the baseline inside
  the worker (a patched op, a mode, a thread, a timer) buys at most that slack;
- preparing a set takes as long as this process takes to draw one; any excess is work done outside
  the timed region (a hook computing ahead) and is charged to the student's blocks;
- the worker's own numbers must fit inside the round trips, its threads and processes are counted
  from ``/proc`` here, and some outputs of timed calls are fetched and compared with the library.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from grader import timing_worker as tw
from grader.checks import StudentError
from grader.errors import GraderError
from grader.sandbox import WorkerFailure, WorkerHandle, _pids_of_uid

CPU_TARGET_MS = 6.0  # a block of calls lasts about this long for the baseline
CUDA_TARGET_MS = 2.0
MAX_CALLS = 256
SET_BYTES = {"cpu": 128 * 2**20, "cuda": 2**30}  # inputs of one block, at most
ANCHOR_SLACK = 0.10  # the worker's baseline may run up to 10% slower than this process's and count
CLEAR_FACTOR = 2.0  # three rounds all above twice the budget end the measurement
NOISE_LIMIT = 0.25  # a confidence interval wider than this (relative) that straddles the budget is noisy
SLOW_FLOOR_S = 2.0  # a student block may take at least this long before it counts as too slow
SLOW_FACTOR = 20.0  # ... or this many times the budget times the baseline's block
IPC_CAP_NS = 500_000
MAX_SECONDS = 30.0  # no more rounds are added after this long (the minimum always runs)
UNTIMED_ALLOWANCE = 0.05  # preparing may exceed drawing here by this fraction (plus a round trip) free
GUARD_NS = 2_000_000  # entering and leaving the worker's guard once, at most (host-side allowances)


class TimingInconclusive(Exception):
    """The grader could not judge the speed (a noisy machine, a broken baseline): status ``error``."""

    grade_status = "error"


@dataclass(frozen=True)
class Plan:
    """One timing check resolved for one device: what to call, on what, against which budget."""

    function: str
    baseline: str
    template: dict  # {"args": [...], "kwargs": {...}}; generated values are {"$gen": spec}
    device: str
    budget: float
    min_rounds: int = 10
    max_rounds: int = 40
    check_every: int = 3
    min_ratio: float = 0.2
    rtol: float | None = None
    atol: float | None = None
    mutates: bool = False
    target_ms: float | None = None


@dataclass(frozen=True)
class Measurement:
    """The outcome: a verdict, a message for the report and the numbers behind it."""

    verdict: str  # passed | over-budget | too-slow | flagged | wrong-result | noisy
    message: str
    ratio: float | None
    budget: float
    rounds: int
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        ratio = None if self.ratio is None else round(self.ratio, 4)
        return {"ratio": ratio, "budget": self.budget, "rounds": self.rounds, "verdict": self.verdict,
                **self.extra}


@dataclass(frozen=True)
class Round:
    base_ns: float  # the worker's baseline block
    anchor_ns: float  # this process's baseline block
    student_ns: float  # the student's block
    prepare_ns: tuple[float, float]  # the worker preparing the baseline's set and the student's
    draw_ns: float  # this process drawing one set


def drift(rounds: list[Round]) -> float:
    """How much slower the worker ran the baseline than this process did (median ratio; 1 = same)."""
    return statistics.median(r.base_ns / r.anchor_ns for r in rounds) if rounds else 1.0


def correction(rounds: list[Round]) -> float:
    """The factor applied to the worker's baseline blocks: 1 unless it ran slower than the slack allows."""
    return min(1.0, (1.0 + ANCHOR_SLACK) / drift(rounds))


class _Stop(Exception):
    """Ends a measurement early with a final Measurement (flagged, wrong result, too slow)."""

    def __init__(self, measurement: Measurement):
        super().__init__(measurement.message)
        self.measurement = measurement


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

def tolerances(expected, plan: Plan) -> tuple[float, float]:
    dtype = next(_tensors(expected), torch.zeros(())).dtype
    rtol, atol = {torch.float64: (1e-7, 1e-9), torch.float16: (1e-2, 1e-3),
                  torch.bfloat16: (2e-2, 1e-2)}.get(dtype, (1e-4, 1e-5))  # float32: a few hundred ulps
    return (plan.rtol if plan.rtol is not None else rtol), (plan.atol if plan.atol is not None else atol)


def _tensors(value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _tensors(v)


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
    if isinstance(expected, float) and isinstance(actual, (int, float)):
        return None if math.isclose(actual, expected, rel_tol=rtol, abs_tol=atol) else f"{what} has the wrong value"
    return None if actual == expected else f"{what} has the wrong value"


# The worker's processes, counted here --------------------------------------------------------

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def worker_pids(handle: WorkerHandle) -> list[int]:
    """Every process the worker runs: those of its own uid, or else its process tree."""
    if handle.uid is not None:
        return _pids_of_uid(handle.uid)
    tree, out, todo = _children(), [], [handle.pid]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += tree.get(pid, [])
    return out


def worker_tasks(handle: WorkerHandle) -> tuple[int, int]:
    """(processes, threads) of the worker, read from /proc by this process."""
    pids, threads = worker_pids(handle), 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    threads += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return len(pids), threads


@contextlib.contextmanager
def pinned(handle: WorkerHandle, device: str):
    """Run this process and the worker on one core of their own while a check is timed; yield it.

    A process already pinned to one core (a batch's trusted process) keeps it; otherwise a core is
    claimed through the batch's machine-wide locks, so timed checks never share a core.
    """
    from grader.backends import LOCK_DIR, claim_core

    own = os.sched_getaffinity(0)
    core, lock = (next(iter(own)), None) if len(own) == 1 else (None, None)
    if core is None:
        try:
            core, lock = claim_core(LOCK_DIR, wait_s=10.0)
        except (GraderError, OSError):
            core = None
    saved: dict[int, set] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if core is not None:
            for pid in worker_pids(handle):
                try:
                    saved[pid] = os.sched_getaffinity(pid)
                    os.sched_setaffinity(pid, {core})
                except OSError:
                    pass
        yield core
    finally:
        torch.set_num_threads(threads)
        for pid, cpus in saved.items():
            try:
                os.sched_setaffinity(pid, cpus)
            except OSError:
                pass
        if lock is not None:
            os.sched_setaffinity(0, own)
            os.close(lock)


# The session -----------------------------------------------------------------------------------

def resolve(dotted: str):
    """Import a dotted path (a library op or a function of grader.baselines) in this process."""
    module, attrs = tw._locate(dotted)
    return tw._follow(module, attrs)


def _nbytes(value) -> int:
    return sum(t.numel() * t.element_size() for t in _tensors(list(value[0]) + list(value[1].values())))


def _noop(*args, **kwargs):
    return None


class Session:
    """Measures one student function against its baseline in one worker; ``run`` returns the verdict.

    ``remaining`` gives the seconds left for the submission; ``aa`` times the baseline against
    itself (the A/A test of benchmarks/timing.py).
    """

    def __init__(self, handle: WorkerHandle, plan: Plan, remaining, aa: bool = False,
                 rng: random.Random | None = None):
        self.handle = handle
        self.plan = plan
        self.remaining = remaining
        self.cuda = plan.device.startswith("cuda")
        self.rng = rng or random.SystemRandom()
        self.student_role = "baseline" if aa else "student"
        self.baseline = resolve(plan.baseline)
        self.expected_threads = int(handle.hello.get("tasks", 1)) + (tw.CUDA_EXTRA_THREADS if self.cuda else 0)
        self.calls = 1
        self.kit: tw.CudaKit | None = None
        self.harness_ns = 0.0  # CUDA: flushing and synchronising around one call, measured here
        self.ipc_ns = 0.0
        self.block_est_ns = 1.0
        self.core: int | None = None
        self.rounds: list[Round] = []  # the last attempt's rounds, for benchmarks and tests

    # Requests ------------------------------------------------------------------------------

    def _timeout(self, seconds: float) -> float:
        return max(0.01, min(seconds, self.remaining()))

    def _student_limit(self) -> float:
        return max(SLOW_FLOOR_S, SLOW_FACTOR * self.plan.budget * self.block_est_ns / 1e9)

    def _request(self, message: dict, who: str, timeout: float | None = None) -> tuple[int, object]:
        """Send one request; (round trip in ns by this process's clock, the reply's value)."""
        limit = timeout if timeout is not None else max(10.0, 100 * self.block_est_ns / 1e9)
        effective = self._timeout(limit)
        t0 = time.perf_counter_ns()
        try:
            reply = self.handle.request(message, timeout=effective)
        except WorkerFailure as failure:
            if failure.kind == "timeout" and effective >= limit:  # the request's own limit ran out
                if who == "student":
                    raise _Stop(self._too_slow(limit)) from None
                raise _Stop(self._flag(f"a timing request ({message.get('op')}) took over {limit:.3g} s in the "
                                       f"worker, far longer than here")) from None
            raise
        ns = time.perf_counter_ns() - t0
        if not reply["ok"]:
            error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
            if who == "student" or error.get("kind") == "forbidden":
                raise StudentError(self.plan.function, error)
            if who == "setup":
                raise TimingInconclusive(f"the worker could not set up timing: {error.get('message', '')}"[:300])
            raise _Stop(self._flag(f"the worker failed a timing request ({error.get('type', 'error')}: "
                                   f"{str(error.get('message', ''))[:120]})"))
        return ns, reply.get("value")

    # Verdicts ------------------------------------------------------------------------------

    def _extra(self, **more) -> dict:
        return {"device": self.plan.device, "calls_per_block": self.calls, "cpu": self.core, **more}

    def _flag(self, reason: str, rounds: int = 0, ratio: float | None = None) -> Measurement:
        return Measurement("flagged", f"flagged for review: {reason}; no timing points are given", ratio,
                           self.plan.budget, rounds, self._extra())

    def _too_slow(self, limit_s: float) -> Measurement:
        bound = limit_s * 1e9 / self.block_est_ns
        return Measurement("too-slow", f"too slow: a block of {self.calls} call(s) ran over {limit_s:.2g} s, "
                                       f"over {bound:.0f}× the library's time (budget {self.plan.budget:g}×)",
                           bound, self.plan.budget, 0, self._extra(lower_bound=True))

    # Steps -------------------------------------------------------------------------------------

    def run(self) -> Measurement:
        """Calibrate, warm up, measure (once more if the machine was too noisy), verify; the outcome."""
        with pinned(self.handle, self.plan.device) as self.core:
            try:
                self._setup()
                result = None
                t0 = time.monotonic()
                for attempt in (1, 2):
                    result = self._decide(self._measure(), attempt)
                    if result.verdict != "noisy" or time.monotonic() - t0 > MAX_SECONDS:
                        break  # a noisy first attempt is measured once more, time allowing
                self._verify(result)
                return result
            except _Stop as stop:
                return stop.measurement
            finally:
                self._release()

    def _time_calls(self, fn, calls: list) -> float:
        _, ns, ms = tw.run_block(fn, calls, self.kit)
        return (sum(ms) * 1e6 if ms is not None else ns) / len(calls)

    def _setup(self) -> None:
        plan, device = self.plan, self.plan.device
        if self.cuda:
            self.kit = tw.CudaKit(device, 8)
        call = tw.make_call(plan.template, self.rng.getrandbits(62), 0, device)
        for _ in range(2):
            self._time_calls(self.baseline, [call])
        per_call = statistics.median(self._time_calls(self.baseline, [call]) for _ in range(5))
        target = (plan.target_ms or (CUDA_TARGET_MS if self.cuda else CPU_TARGET_MS)) * 1e6
        by_memory = max(1, SET_BYTES["cuda" if self.cuda else "cpu"] // max(1, _nbytes(call)))
        self.calls = int(max(1, min(math.ceil(target / max(per_call, 1.0)), MAX_CALLS, by_memory)))
        self.block_est_ns = self.calls * max(per_call, 1.0)
        del call
        if self.cuda:
            self.kit = tw.CudaKit(device, self.calls)
            empty = [((), {})] * self.calls
            self.harness_ns = statistics.median(self._time_harness(empty) for _ in range(3))
        self._request({"op": "timing_setup", "function": plan.function, "baseline": plan.baseline,
                       "calls": self.calls}, "setup")
        pings = [self._request({"op": "ping"}, "setup")[0] for _ in range(5)]
        self.ipc_ns = min(statistics.median(pings), IPC_CAP_NS)
        # Warm-up: one block each way, then the anchor. The baseline's block, timed as the machine
        # runs now, sets how long the student's may take.
        warm = self._block("baseline", "baseline")
        self.block_est_ns = max(self.block_est_ns, float(warm[3]))
        self._block(self.student_role, "student")
        self._anchor()

    def _time_harness(self, empty: list) -> float:
        _, ns, _ = tw.run_block(_noop, empty, self.kit)
        return ns / len(empty)

    def _block(self, role: str, set_name: str) -> tuple[int, int, float, int]:
        """Prepare a fresh set and run one role on it: (seed, prepare ns, block ns, round trip ns)."""
        seed = self.rng.getrandbits(62)
        prepare_ns, _ = self._request({"op": "timing_prepare", "set": set_name, "seed": seed,
                                       "calls": self.calls, "template": self.plan.template}, "grader")
        who = "student" if set_name == "student" and role == "student" else "baseline"
        timeout = self._student_limit() if set_name == "student" else None
        rtt, value = self._request({"op": "timing_run", "role": role, "set": set_name}, who, timeout)
        if not isinstance(value, dict):
            raise _Stop(self._flag("the worker sent a malformed timing reply"))
        problems = value.get("problems") or []
        if problems:
            raise _Stop(self._flag("; ".join(str(p) for p in problems[:3])))
        worker_ns = value.get("ns")
        if not isinstance(worker_ns, int) or worker_ns > rtt:
            raise _Stop(self._flag("the worker reported a block longer than its round trip"))
        block = float(rtt)
        if self.cuda:
            ms = value.get("ms")
            if not isinstance(ms, list) or len(ms) != self.calls:
                raise _Stop(self._flag("the worker sent malformed CUDA event times"))
            events = sum(float(x) for x in ms) * 1e6
            if events > rtt:
                raise _Stop(self._flag("the worker's CUDA events add up to more than its round trip"))
            # What the host clock leaves for the calls: a lower bound that forged events cannot undercut.
            host = rtt - self.calls * self.harness_ns - self.ipc_ns - GUARD_NS
            block = max(events, host) if set_name == "student" else min(events, rtt)
        return seed, prepare_ns, block, rtt

    def _anchor(self) -> tuple[float, float]:
        """Draw a set here and time the baseline on it: (draw ns, block ns)."""
        t0 = time.perf_counter_ns()
        calls = tw.make_calls(self.plan.template, self.rng.getrandbits(62), self.calls, self.plan.device)
        draw = time.perf_counter_ns() - t0
        _, ns, ms = tw.run_block(self.baseline, calls, self.kit)
        return float(draw), (sum(ms) * 1e6 if ms is not None else float(ns))

    def _round(self, index: int) -> Round:
        first_student = self.rng.random() < 0.5
        base = student = None
        for set_name in (("student", "baseline") if first_student else ("baseline", "student")):
            if set_name == "baseline":
                base = self._block("baseline", "baseline")
            else:
                student = self._block(self.student_role, "student")
                if self.plan.check_every and index % self.plan.check_every == 0:
                    self._recheck(student[0], index)
        draw, anchor = self._anchor()
        processes, threads = worker_tasks(self.handle)
        if processes > 1 or threads > self.expected_threads:
            raise _Stop(self._flag(f"the worker ran {processes} process(es) and {threads} thread(s) during "
                                   f"timing (1 and {self.expected_threads} allowed)", index))
        return Round(base[2], anchor, student[2], (float(base[1]), float(student[1])), draw)

    def _recheck(self, seed: int, index: int) -> None:
        """Fetch one output of the block just timed and compare it with the library's, here."""
        j = self.rng.randrange(self.calls)
        _, value = self._request({"op": "timing_fetch", "role": self.student_role, "index": j,
                                  "args": self.plan.mutates}, "grader")
        args, kwargs = tw.make_call(self.plan.template, seed, j, self.plan.device)
        expected = self.baseline(*args, **kwargs)
        rtol, atol = tolerances(expected, self.plan)
        problem = mismatch(value.get("value") if isinstance(value, dict) else None, expected, rtol, atol)
        if problem is None and self.plan.mutates:
            problem = mismatch(value.get("args"), list(args), rtol, atol, "the arguments after the call")
        if problem:
            raise _Stop(Measurement("wrong-result", f"a timed call returned a wrong result (round {index + 1}): "
                                                    f"{problem}", None, self.plan.budget, index + 1,
                                    self._extra()))

    def _charge(self, rounds: list[Round]) -> float:
        """Time spent preparing the student's sets beyond what drawing costs here: work outside
        the timed region (the set prepared just before the student's block is the one to use)."""
        diffs = [r.prepare_ns[1] - r.draw_ns for r in rounds]
        allowance = self.ipc_ns + GUARD_NS + UNTIMED_ALLOWANCE * statistics.median(r.draw_ns for r in rounds)
        return max(0.0, statistics.median(diffs) - allowance)

    def _ratios(self, rounds: list[Round]) -> list[float]:
        charge, scale = self._charge(rounds), correction(rounds)
        return [(r.student_ns + charge) / (r.base_ns * scale) for r in rounds]

    def _measure(self) -> list[Round]:
        plan, rounds, t0 = self.plan, [], time.monotonic()
        for i in range(plan.max_rounds):
            if i >= plan.min_rounds and time.monotonic() - t0 > MAX_SECONDS:
                break
            rounds.append(self._round(i))
            ratios = self._ratios(rounds)
            if len(ratios) >= 3 and min(ratios) > CLEAR_FACTOR * plan.budget:
                break
            if len(ratios) >= plan.min_rounds:
                lo, hi = median_ci(ratios)
                if hi < plan.budget or lo > plan.budget:
                    break
        return rounds

    def _decide(self, rounds: list[Round], attempt: int) -> Measurement:
        plan = self.plan
        self.rounds = rounds
        ratios = self._ratios(rounds)
        m = statistics.median(ratios)
        lo, hi = median_ci(ratios)
        scale = correction(rounds)
        extra = self._extra(
            ci=[round(lo, 4), round(hi, 4)], attempts=attempt,
            baseline_ms=round(statistics.median(r.base_ns * scale for r in rounds) / self.calls / 1e6, 5),
            student_ms=round(statistics.median(r.student_ns for r in rounds) / self.calls / 1e6, 5),
            untimed_ms=round(self._charge(rounds) / self.calls / 1e6, 5),
            noise=round(spread([r.base_ns / r.anchor_ns for r in rounds]), 4),
            worker_baseline=round(drift(rounds), 4))
        n = len(rounds)
        if m < plan.min_ratio:
            return Measurement("flagged", f"flagged for review: {m:.2f}× the library's time is implausibly fast "
                                          f"(under {plan.min_ratio:g}×); no timing points are given",
                               m, plan.budget, n, extra)
        if lo > plan.budget or (n < plan.min_rounds and min(ratios) > CLEAR_FACTOR * plan.budget):
            verdict = "over-budget"
        elif hi < plan.budget:
            verdict = "passed"
        elif (hi - lo) / m <= NOISE_LIMIT:
            verdict = "passed" if m <= plan.budget else "over-budget"
        else:
            return Measurement("noisy", f"timing too noisy to judge: the ratio lies between {lo:.2f}× and "
                                        f"{hi:.2f}×, around the budget {plan.budget:g}× (rerun on a quieter "
                                        f"machine)", m, plan.budget, n, extra)
        if verdict == "passed":
            return Measurement("passed", "", m, plan.budget, n, extra)
        return Measurement("over-budget", f"over budget: {m:.2f}× the library's time, budget {plan.budget:g}×",
                           m, plan.budget, n, extra)

    def _verify(self, result: Measurement | None) -> None:
        _, value = self._request({"op": "timing_verify"}, "grader")
        problems = value.get("problems") if isinstance(value, dict) else ["the worker sent a malformed reply"]
        if problems:
            rounds = result.rounds if result else 0
            raise _Stop(self._flag("; ".join(str(p) for p in problems[:3]), rounds))

    def _release(self) -> None:
        if self.handle.dead is None:
            with contextlib.suppress(WorkerFailure):
                self.handle.request({"op": "timing_release"}, timeout=self._timeout(10.0))
