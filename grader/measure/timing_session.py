"""One timing measurement, run from the trusted side: every number that decides comes from its clock.

Two workers take part: the student's, and an anchor forked from the same zygote into the same
sandbox that never imports the submission. A round is, in random order of the first two blocks:

    student's worker: draw k fresh calls -> run the baseline on them     (round trips timed here)
    student's worker: draw k fresh calls -> run the student on them      (round trips timed here)
    anchor worker:    draw k fresh calls -> run the baseline on them     (round trips timed here)

The student's worker runs student code, so nothing it reports is believed on its own:

- the student's block time is this process's round trip (on CUDA the worker's events, but never
  less than the round trip minus what flushing and synchronising is measured to cost here);
- the student's worker's baseline is paired with the student's block round by round, but scaled
  down when its median runs more than ``ANCHOR_SLACK`` slower than the anchor's, so slowing the
  baseline there (a patched kernel, a mode, a timer, a hook) buys at most that slack;
- drawing the student's set takes as long as the anchor takes to draw one; any excess is work done
  outside the timed region (something computing ahead) and is charged to the student's blocks;
- the worker's own numbers must fit inside the round trips, its threads and processes are counted
  from ``/proc`` here, and some outputs of timed calls are fetched and compared, here, with the
  baseline run on the same inputs drawn again.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from dataclasses import dataclass, field

from grader.measure import draw, timing_worker as tw
from grader.checks import StudentError
from grader.errors import WorkerFailure
from grader.messages import Message
from grader.sandbox.handle import WorkerHandle
from grader.measure.host import pinned, worker_tasks
from grader.measure.stats import median_ci, mismatch, spread, tensors, tolerances

CPU_TARGET_MS = 6.0  # a block of calls lasts about this long for the baseline
CUDA_TARGET_MS = 2.0
MAX_CALLS = 256
SET_BYTES = {"cpu": 128 * 2**20, "cuda": 2**30}  # inputs of one block, at most
ANCHOR_SLACK = 0.10  # the student's worker may run the baseline up to 10% slower than the anchor and count
CLEAR_FACTOR = 2.0  # three rounds all above twice the budget end the measurement
NOISE_LIMIT = 0.25  # a confidence interval wider than this (relative) that straddles the budget is noisy
SLOW_FLOOR_S = 2.0  # a student block may take at least this long before it counts as too slow
SLOW_FACTOR = 8.0  # ... or this many times the budget times the baseline's block
IPC_CAP_NS = 500_000
MAX_SECONDS = 30.0  # no more rounds are added after this long (the minimum always runs)
UNTIMED_ALLOWANCE = 0.05  # drawing may exceed the anchor's by this fraction (plus a round trip) free
GUARD_NS = 2_000_000  # entering and leaving the worker's guard once, at most (host-side allowance)


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
    message: str  # a Message where the grader's words are the whole of it
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
    base_ns: float  # the student's worker's baseline block
    anchor_ns: float  # the anchor worker's baseline block
    student_ns: float  # the student's block
    prepare_ns: tuple[float, float]  # the student's worker drawing the baseline's set and the student's
    draw_ns: float  # the anchor worker drawing its set


def drift(rounds: list[Round]) -> float:
    """How much slower the student's worker ran the baseline than the anchor (median; 1 = same)."""
    return statistics.median(r.base_ns / r.anchor_ns for r in rounds) if rounds else 1.0


def correction(rounds: list[Round]) -> float:
    """The factor applied to the worker's baseline blocks: 1 unless it ran slower than the slack allows."""
    return min(1.0, (1.0 + ANCHOR_SLACK) / drift(rounds))


class _Stop(Exception):
    """Ends a measurement early with a final Measurement (flagged, wrong result, too slow)."""

    def __init__(self, measurement: Measurement):
        super().__init__(measurement.message)
        self.measurement = measurement


def _nbytes(call) -> int:
    return sum(t.numel() * t.element_size() for t in tensors(list(call[0]) + list(call[1].values())))


def _noop(*args, **kwargs):
    return None


class Session:
    """Measures one student function against its baseline; ``run`` returns the verdict.

    ``handle`` is the student's worker and ``anchor`` a worker of the same exercise that never
    imported the submission; ``remaining`` gives the seconds left for the submission; ``aa`` times
    the baseline against itself (the A/A test of benchmarks/timing.py).
    """

    def __init__(self, handle: WorkerHandle, anchor: WorkerHandle, plan: Plan, remaining, aa: bool = False,
                 rng: random.Random | None = None):
        self.handle = handle
        self.anchor = anchor
        self.plan = plan
        self.remaining = remaining
        self.cuda = plan.device.startswith("cuda")
        self.rng = rng or random.SystemRandom()
        self.student_role = "baseline" if aa else "student"
        self.baseline = draw.resolve(plan.baseline)
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

    def _request(self, message: dict, who: str, timeout: float | None = None,
                 handle: WorkerHandle | None = None) -> tuple[int, object]:
        """Send one request; (round trip in ns by this process's clock, the reply's value)."""
        limit = timeout if timeout is not None else max(10.0, 100 * self.block_est_ns / 1e9)
        effective = self._timeout(limit)
        t0 = time.perf_counter_ns()
        try:
            reply = (handle or self.handle).request(message, timeout=effective)
        except WorkerFailure as failure:
            if handle is self.anchor:
                raise TimingInconclusive(f"the grader's own timing worker failed: {failure}") from None
            if failure.kind == "timeout" and effective >= limit:  # the request's own limit ran out
                if who == "student":
                    raise _Stop(self._too_slow(limit)) from None
                raise _Stop(self._flag(f"a timing request ({message.get('op')}) took over {limit:.3g} s in the "
                                       f"worker, far longer than in the grader's own")) from None
            raise
        ns = time.perf_counter_ns() - t0
        if not reply["ok"]:
            error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
            if handle is self.anchor or who == "setup":
                raise TimingInconclusive(f"the worker could not time the baseline: {error.get('message', '')}"[:300])
            if who == "student" or error.get("kind") == "forbidden":
                raise StudentError(self.plan.function, error)
            raise _Stop(self._flag(f"the worker failed a timing request ({error.get('type', 'error')}: "
                                   f"{str(error.get('message', ''))[:120]})"))
        return ns, reply.get("value")

    # Verdicts ------------------------------------------------------------------------------

    def _extra(self, **more) -> dict:
        return {"device": self.plan.device, "calls_per_block": self.calls, "cpu": self.core, **more}

    def _flag(self, reason: str, rounds: int = 0, ratio: float | None = None) -> Measurement:
        return Measurement("flagged", Message("timing.flagged", {"reason": reason}), ratio,
                           self.plan.budget, rounds, self._extra())

    def _too_slow(self, limit_s: float) -> Measurement:
        bound = limit_s * 1e9 / self.block_est_ns
        return Measurement("too-slow", Message("timing.too_slow", {"calls": self.calls, "seconds": limit_s,
                                                                   "ratio": bound, "budget": self.plan.budget}),
                           bound, self.plan.budget, 0, self._extra(lower_bound=True))

    # Steps -------------------------------------------------------------------------------------

    def run(self) -> Measurement:
        """Calibrate, warm up, measure (once more if the machine was too noisy), verify; the outcome."""
        with pinned(self.handle, self.anchor) as self.core:
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
            self.kit = tw.CudaKit(device, 1)
        call = draw.make_call(plan.template, self.rng.getrandbits(62), 0, device)
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
            self.kit = None  # the flush buffer is the workers' to fill from here on
        for handle, function in ((self.handle, plan.function), (self.anchor, None)):
            self._request({"op": "timing_setup", "function": function, "baseline": plan.baseline,
                           "calls": self.calls}, "setup", handle=handle)
        pings = [self._request({"op": "ping"}, "setup")[0] for _ in range(5)]
        self.ipc_ns = min(statistics.median(pings), IPC_CAP_NS)
        # Warm-up: one block each way, then the anchor's. The anchor's block, timed as the machine
        # runs now, sets how long the student's may take.
        self._block("baseline", "baseline")
        self._anchor()
        self.block_est_ns = max(self.block_est_ns, self._anchor()[1])
        self._block(self.student_role, "student")

    def _time_harness(self, empty: list) -> float:
        _, ns, _ = tw.run_block(_noop, empty, self.kit)
        return ns / len(empty)

    def _block(self, role: str, set_name: str) -> tuple[int, int, float, int]:
        """Draw a fresh set in the student's worker and run one role on it: (seed, draw ns, block ns, rtt)."""
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
        """The anchor worker draws a set and runs the baseline on it: (draw ns, block ns)."""
        seed = self.rng.getrandbits(62)
        draw, _ = self._request({"op": "timing_prepare", "set": "baseline", "seed": seed, "calls": self.calls,
                                 "template": self.plan.template}, "anchor", handle=self.anchor)
        rtt, value = self._request({"op": "timing_run", "role": "baseline", "set": "baseline"}, "anchor",
                                   handle=self.anchor)
        if self.cuda and isinstance(value, dict) and isinstance(value.get("ms"), list):
            return float(draw), sum(float(x) for x in value["ms"]) * 1e6  # a worker without student code
        return float(draw), float(rtt)

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
        args, kwargs = draw.make_call(self.plan.template, seed, j, self.plan.device)
        expected = self.baseline(*args, **kwargs)
        rtol, atol = tolerances(expected, self.plan.rtol, self.plan.atol)
        problem = mismatch(value.get("value") if isinstance(value, dict) else None, expected, rtol, atol)
        if problem is None and self.plan.mutates:
            problem = mismatch(value.get("args"), list(args), rtol, atol, "the arguments after the call")
        if problem:
            raise _Stop(Measurement("wrong-result", f"a timed call returned a wrong result (round {index + 1}): "
                                                    f"{problem}", None, self.plan.budget, index + 1,
                                    self._extra()))

    def _charge(self, rounds: list[Round]) -> float:
        """Time spent drawing the student's sets beyond the anchor's drawing: work outside the timed
        region (the set drawn just before the student's block is the one that could hide it)."""
        diffs = [r.prepare_ns[1] - r.draw_ns for r in rounds]
        allowance = self.ipc_ns + UNTIMED_ALLOWANCE * statistics.median(r.draw_ns for r in rounds)
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
            return Measurement("flagged", Message("timing.implausibly_fast", {"ratio": m, "min_ratio": plan.min_ratio}),
                               m, plan.budget, n, extra)
        if lo > plan.budget or (n < plan.min_rounds and min(ratios) > CLEAR_FACTOR * plan.budget):
            verdict = "over-budget"
        elif hi < plan.budget:
            verdict = "passed"
        elif (hi - lo) / m <= NOISE_LIMIT:
            verdict = "passed" if m <= plan.budget else "over-budget"
        else:
            return Measurement("noisy", Message("timing.noisy", {"low": lo, "high": hi, "budget": plan.budget}),
                               m, plan.budget, n, extra)
        if verdict == "passed":
            return Measurement("passed", "", m, plan.budget, n, extra)
        return Measurement("over-budget", Message("timing.over_budget", {"ratio": m, "budget": plan.budget}),
                           m, plan.budget, n, extra)

    def _verify(self, result: Measurement | None) -> None:
        _, value = self._request({"op": "timing_verify"}, "grader")
        problems = value.get("problems") if isinstance(value, dict) else ["the worker sent a malformed reply"]
        if problems:
            rounds = result.rounds if result else 0
            raise _Stop(self._flag("; ".join(str(p) for p in problems[:3]), rounds))

    def _release(self) -> None:
        for handle in (self.handle, self.anchor):
            if handle.dead is None:
                try:
                    handle.request({"op": "timing_release"}, timeout=self._timeout(10.0))
                except WorkerFailure:
                    pass
