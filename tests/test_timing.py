"""Timing checks: budgets parsed, inputs fresh, verdicts steady on a noisy machine, cheats unrewarded.

Verdict tests use answers far from their budget (a Python loop is hundreds of times slower than
torch.sigmoid, the budget is 25x), so two busy cores cannot flip them. The answers that cheat live
in tests/slow_answers/sigmoid/, each with a docstring naming its trick.
"""

from __future__ import annotations

import shutil
import statistics
import time
import types
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from conftest import ROOT, make_settings, requires_cuda
from grader.measure import timing
from grader.measure import draw, timing_worker as tw
from grader.course.discover import Exercise
from grader.errors import GraderError
from grader.outputs.console import timing_text
from grader.grading.runner import Grader
from grader.sandbox.staging import stage
from grader.measure.host import worker_tasks
from grader.measure.timing_session import GUARD_NS, Measurement, Plan, Round, Session, correction
from grader.measure.stats import median_ci, mismatch

SLOW = ROOT / "tests" / "slow_answers"
SIGMOID_TABLE = {"function": "sigmoid", "baseline": "torch.sigmoid", "args": [{"randn": ["n", "d"]}],
                 "points": 1, "cpu": {"budget": 15.0, "sizes": {"n": 3, "d": 5}}}


def _exercise(*tables, forbidden=None) -> Exercise:
    return Exercise(id="sigmoid", title="Sigmoid", track="foundations", order=1, path=ROOT / "exercises" / "sigmoid",
                    functions=("sigmoid",), forbidden=forbidden or {}, timing=tuple(tables))


def _gen(kind: str, shape: list[int], dtype: str = "float32", **extra) -> dict:
    return {draw.GEN_KEY: {"kind": kind, "shape": shape, "dtype": dtype, **extra}}


# Tables ----------------------------------------------------------------------------------------

def test_a_table_resolves_sizes_dtypes_and_generated_arguments():
    table = {"function": "sigmoid", "baseline": "torch.nn.functional.cross_entropy", "points": 2,
             "args": [{"randn": ["n", 7], "dtype": "float64"}, {"randint": [0, 7, ["n"]]}, 0.5, "mean"],
             "kwargs": {"weight": {"rand": [7]}, "reduction": "sum"}, "rounds": 6, "check_every": 0,
             "cpu": {"budget": 4.0, "sizes": {"n": 11}}, "cuda": {"budget": 6.0, "sizes": {"n": 13}, "rounds": 8}}
    (budget,) = timing.parse_tables(_exercise(table))
    assert (budget.name, budget.points, set(budget.devices)) == ("timing_sigmoid", 2.0, {"cpu", "cuda"})
    plan = timing.plan_for(budget, "cpu")
    assert plan.template["args"] == [_gen("randn", [11, 7], "float64"), _gen("randint", [11], "int64", low=0, high=7),
                                     0.5, "mean"]
    assert plan.template["kwargs"] == {"weight": _gen("rand", [7]), "reduction": "sum"}
    assert (plan.budget, plan.min_rounds, plan.max_rounds, plan.check_every) == (4.0, 6, 24, 0)
    cuda = timing.plan_for(budget, "cuda:1")
    assert (cuda.device, cuda.budget, cuda.min_rounds, cuda.template["args"][1][draw.GEN_KEY]["shape"]) == \
        ("cuda:1", 6.0, 8, [13])


def test_every_table_of_the_course_parses(course):
    for exercise in course.exercises:
        for budget in timing.parse_tables(exercise):
            assert any(timing.plan_for(budget, d) for d in ("cpu", "cuda")), f"{exercise.id}: no device"


@pytest.mark.parametrize("change, words", [
    ({"speed": 1}, "unknown key 'speed'"),
    ({"function": "tanh"}, "invalid function 'tanh'"),
    ({"baseline": "torch.no_such_op"}, "invalid baseline"),
    ({"args": [{"randn": ["n", "q"]}]}, "unknown size 'q'"),
    ({"args": [{"randint": [5, 1, ["n"]]}]}, "invalid randint"),
    ({"args": [{"rand": ["n"], "dtype": "int64"}]}, "invalid dtype 'int64' for rand"),
    ({"cpu": {"sizes": {"n": 3, "d": 5}}}, "missing 'budget'"),
    ({"cpu": {"budget": -1.0, "sizes": {"n": 3, "d": 5}}}, "a positive number"),
    ({"cpu": None}, "missing 'budget'"),
])
def test_a_bad_table_says_what_is_wrong_and_where(change, words):
    table = {**SIGMOID_TABLE, **change}
    if table.get("cpu") is None:
        table.pop("cpu")
        table["cuda"] = {"sizes": {}}
    with pytest.raises(GraderError, match=words) as info:
        timing.parse_tables(_exercise(table))
    assert "[[timing]] #1" in str(info.value)


def test_a_table_may_not_forbid_the_operations_that_draw_its_inputs():
    with pytest.raises(GraderError, match="normal_"):
        timing.parse_tables(_exercise(SIGMOID_TABLE, forbidden={"aten": ["normal_"]}))


# Inputs ----------------------------------------------------------------------------------------

def test_every_call_draws_new_tensors_with_new_values():
    template = {"args": [_gen("randn", [5, 7]), _gen("randint", [3], "int64", low=0, high=1000), 2.0],
                "kwargs": {"w": _gen("rand", [7])}}
    first = draw.make_calls(template, seed=11, calls=4, device="cpu")
    second = draw.make_calls(template, seed=12, calls=4, device="cpu")
    tensors = [t for calls in (first, second) for args, kwargs in calls for t in (args[0], args[1], kwargs["w"])]
    assert len({t.data_ptr() for t in tensors}) == len(tensors), "a tensor was handed out twice"
    xs = [args[0] for calls in (first, second) for args, _ in calls]
    assert all(not torch.equal(a, b) for i, a in enumerate(xs) for b in xs[i + 1:]), "values repeated"
    assert all(args[2] == 2.0 and args[1].dtype == torch.int64 for args, _ in first)
    # Any one call can be drawn again on its own, which is how outputs are re-checked here.
    args, kwargs = draw.make_call(template, seed=11, index=2, device="cpu")
    assert torch.equal(args[0], first[2][0][0]) and torch.equal(kwargs["w"], first[2][1]["w"])


# Statistics and verdicts (no worker) ----------------------------------------------------------

def test_the_median_interval_holds_the_median_and_narrows_with_rounds():
    xs = [1.0 + 0.01 * ((i * 37) % 21) for i in range(40)]
    lo10, hi10 = median_ci(xs[:10])
    lo40, hi40 = median_ci(xs)
    assert lo10 <= statistics.median(xs[:10]) <= hi10 and lo40 <= statistics.median(xs) <= hi40
    assert hi40 - lo40 < hi10 - lo10
    assert median_ci([3.0, 1.0, 2.0]) == (1.0, 3.0)  # too few rounds: the whole range


def _rounds(student_ms, base_ms=5.0, anchor_ms=5.0, prepare_ms=30.0, draw_ms=30.0, n=10):
    # Block times vary by ±10% from round to round, as on a busy machine.
    wobble = [1.0 + 0.1 * ((i * 7) % 5 - 2) / 2 for i in range(n)]
    return [Round(base_ms * 1e6 * w, anchor_ms * 1e6, student_ms * 1e6 * w, (prepare_ms * 1e6, prepare_ms * 1e6),
                  draw_ms * 1e6) for w in wobble]


def _offline(plan_budget=4.0, **plan) -> Session:
    """A session whose verdict logic can run on made-up rounds (it sends no request)."""
    p = Plan("sigmoid", "torch.sigmoid", {"args": [], "kwargs": {}}, "cpu", plan_budget, **plan)
    worker = types.SimpleNamespace(hello={"tasks": 1})
    return Session(worker, worker, p, remaining=lambda: 60.0)


def test_a_baseline_slowed_inside_the_worker_buys_nothing():
    honest = _offline()._ratios(_rounds(student_ms=30.0))
    # The same answer with the worker's baseline made 30x slower (a patched kernel, a mode, a timer):
    slowed = _offline()._ratios(_rounds(student_ms=30.0, base_ms=150.0))
    assert statistics.median(honest) == pytest.approx(6.0, rel=0.05)
    assert statistics.median(slowed) >= statistics.median(honest) / 1.11  # only the 10% slack helps
    assert correction(_rounds(30.0, base_ms=150.0)) == pytest.approx(1.1 / 30, rel=0.01)


def test_work_done_while_the_inputs_are_prepared_is_charged_to_the_student():
    session = _offline()
    # Computing ahead: each student block looks free (0.1 ms) but drawing its inputs took 60 ms more
    # than the anchor worker took to draw the same kind of set.
    ahead = session._ratios(_rounds(student_ms=0.1, prepare_ms=90.0))
    assert statistics.median(ahead) > (60e6 - 0.05 * 30e6) / 5e6 * 0.95
    assert session._charge(_rounds(student_ms=20.0)) == 0.0  # honest preparing costs nothing


@pytest.mark.parametrize("student_ms, verdict", [(10.0, "passed"), (60.0, "over-budget"), (0.5, "flagged")])
def test_clear_results_get_their_verdict(student_ms, verdict):
    result = _offline()._decide(_rounds(student_ms=student_ms), attempt=1)
    assert result.verdict == verdict
    assert result.to_dict()["budget"] == 4.0 and result.rounds == 10
    if verdict == "flagged":
        assert "flagged for review" in result.message and "implausibly fast" in result.message


def test_a_noisy_result_near_the_budget_is_reported_as_noisy():
    rounds = _rounds(student_ms=20.0)
    noisy = [replace(r, student_ns=r.student_ns * f) for r, f in zip(rounds, [0.5, 1.6, 0.6, 1.5, 0.7, 1.4,
                                                                               0.55, 1.55, 0.65, 1.45])]
    result = _offline()._decide(noisy, attempt=2)
    assert result.verdict == "noisy" and "too noisy" in result.message


def test_outputs_are_compared_with_per_dtype_tolerances():
    x = torch.linspace(-3, 3, 11, dtype=torch.float64)
    assert mismatch(x.sigmoid(), x.sigmoid() * (1 + 1e-9), 1e-7, 1e-9) is None
    assert "wrong values" in mismatch(x.sigmoid() + 1e-3, x.sigmoid(), 1e-7, 1e-9)
    assert "shape" in mismatch(x[:5], x, 1e-7, 1e-9)
    assert "structure" in mismatch((x,), (x, x), 1e-7, 1e-9)


class _ScriptedWorker:
    """Stands in for a worker that forges what it reports; the round trips are real sleeps."""

    def __init__(self, run_seconds: float, ns: int, ms: list[float] | None):
        self.run_seconds, self.ns, self.ms = run_seconds, ns, ms
        self.hello, self.dead = {"tasks": 1}, None

    def request(self, message: dict, timeout: float) -> dict:
        if message["op"] == "timing_run":
            time.sleep(self.run_seconds)
            return {"ok": True, "value": {"ns": self.ns, "ms": self.ms, "problems": []}}
        return {"ok": True, "value": None}


def test_a_worker_cannot_report_a_block_longer_than_its_round_trip():
    session = _offline()
    session.handle = _ScriptedWorker(0.01, ns=10**9, ms=None)
    with pytest.raises(Exception) as info:
        session._block("student", "student")
    assert "longer than its round trip" in str(info.value)


def test_forged_cuda_events_cannot_undercut_the_host_clock():
    session = _offline()
    session.cuda, session.calls, session.harness_ns, session.ipc_ns = True, 4, 1e5, 1e5
    session.handle = _ScriptedWorker(0.05, ns=1000, ms=[0.0] * 4)  # "each call took no time at all"
    _, _, block, rtt = session._block("student", "student")
    assert block >= rtt - 4 * 1e5 - 1e5 - GUARD_NS and block > 0.03e9


def test_the_report_shows_ratio_budget_and_rounds():
    measured = Measurement("passed", "", 2.346, 4.0, 12, {"ci": [2.1, 2.6]}).to_dict()
    assert measured["ratio"] == 2.346 and measured["rounds"] == 12
    assert timing_text(measured) == "2.35× (budget 4×, 12 rounds)"
    cut_off = Measurement("too-slow", "too slow", 250.0, 25.0, 0, {"lower_bound": True}).to_dict()
    assert timing_text(cut_off) == "≥250.00× (budget 25×)"


# Grading with timing on -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def timing_grader(course):
    with Grader(course, make_settings(course, timing=True, exercises=["sigmoid"])) as g:
        yield g


def _submission(tmp_path: Path, answer: Path) -> Path:
    (tmp_path / "sigmoid").mkdir(parents=True)
    shutil.copy(answer, tmp_path / "sigmoid" / "sigmoid.py")
    return tmp_path


def _checks(report):
    result = report.exercise("sigmoid")
    correctness = [c for c in result.checks if c.kind == "correctness"]
    (timed,) = [c for c in result.checks if c.kind == "timing"]
    return correctness, timed


def test_the_reference_answer_passes_its_budget(timing_grader):
    report = timing_grader.grade(ROOT / "solutions", name="solutions")
    correctness, timed = _checks(report)
    assert all(c.status == "passed" for c in correctness)
    assert timed.status == "passed", timed.message
    assert timed.score == timed.max_score == 1.0
    assert timed.timing["ratio"] < timed.timing["budget"] and timed.timing["rounds"] >= 10
    d = report.to_dict()["exercises"][0]["checks"][-1]
    assert d["kind"] == "timing" and set(d["timing"]) >= {"ratio", "budget", "rounds", "ci", "noise"}


# (answer, message fragment of its failed timing check); every one passes every correctness check.
CHEATS = [
    ("python_loop", "too slow"),
    ("memoizes", "too slow"),  # fresh values every call: the cache never hits
    ("patches_clocks", "time.perf_counter was replaced"),
    ("background_thread", "flagged for review"),
    ("slows_baseline", "over budget"),
    ("library_when_timed", "forbidden operation: torch.sigmoid"),
    ("wrong_when_large", "wrong result"),
]


@pytest.mark.parametrize("answer, words", CHEATS, ids=[c[0] for c in CHEATS])
def test_a_slow_or_cheating_answer_keeps_its_correctness_points_and_fails_timing(timing_grader, tmp_path,
                                                                                  answer, words):
    report = timing_grader.grade(_submission(tmp_path, SLOW / "sigmoid" / f"{answer}.py"), name=answer)
    correctness, timed = _checks(report)
    assert [c.name for c in correctness if c.status != "passed"] == []
    assert timed.status == "failed" and timed.score == 0 and timed.max_score == 1.0
    assert words in timed.message, timed.message
    if answer == "slows_baseline":  # the worker's baseline ran far slower than the grader's own
        assert timed.timing["worker_baseline"] > 5 and timed.timing["ratio"] > timed.timing["budget"]


def test_patching_the_timing_code_is_tampering(timing_grader, tmp_path):
    report = timing_grader.grade(_submission(tmp_path, SLOW / "sigmoid" / "computes_ahead.py"), name="ahead")
    result = report.exercise("sigmoid")  # it patches at import: the import is what fails, and nothing runs
    assert result.checks == () and result.score == 0 and result.max_score > 0
    assert "altered the grader" in result.error


def test_timing_waits_for_every_correctness_check(timing_grader, tmp_path):
    report = timing_grader.grade(_submission(tmp_path, ROOT / "tests" / "wrong_answers" / "sigmoid" /
                                             "clamps_extremes.py"), name="wrong")
    _, timed = _checks(report)
    assert timed.status == "skipped" and timed.score == 0 and timed.max_score == 1.0
    assert "speed counts only for a correct answer" in timed.message


def test_no_timing_leaves_the_timing_check_out_of_the_score(grader):
    report = grader.grade(ROOT / "solutions", name="solutions", only=["sigmoid"])
    _, timed = _checks(report)
    assert timed.status == "skipped" and timed.max_score == 0 and "--no-timing" in timed.message
    assert report.exercise("sigmoid").score == report.exercise("sigmoid").max_score


# Measurements on one worker ------------------------------------------------------------------

def _worker(timing_grader, tmp_path: Path, answer: Path):
    exercise = timing_grader.course.get("sigmoid")
    staged = stage(_submission(tmp_path / "in", answer), ["sigmoid"], tmp_path / "staged")
    handle = timing_grader.sandbox.open(staged.root, "sigmoid", exercise.forbidden,
                                         extra=timing.worker_config(exercise, timing_grader.settings))
    return handle


def test_fresh_values_are_what_defeats_a_memoizing_answer(timing_grader, tmp_path):
    # The same memoizing answer, timed on 512 zeros (new tensors, same values) and on fresh values.
    def plan(kind):
        return Plan("sigmoid", "torch.sigmoid", {"args": [_gen(kind, [16, 32])], "kwargs": {}}, "cpu",
                    budget=150.0, min_rounds=6, max_rounds=6, check_every=2)

    handle = _worker(timing_grader, tmp_path, SLOW / "sigmoid" / "memoizes.py")
    exercise = timing_grader.course.get("sigmoid")
    try:
        with timing.anchor_worker(timing_grader.sandbox, exercise, timing_grader.settings) as anchor:
            repeated = Session(handle, anchor, plan("zeros"), remaining=lambda: 120.0).run()
            fresh = Session(handle, anchor, plan("randn"), remaining=lambda: 120.0).run()
    finally:
        handle.close()
    assert repeated.verdict == "passed", repeated.message  # the cache answers every call
    assert fresh.verdict in ("too-slow", "over-budget") and fresh.ratio > 150, fresh.message


def test_the_worker_threads_and_processes_are_counted_from_proc(timing_grader, tmp_path):
    counts = {}
    for answer in (ROOT / "solutions" / "sigmoid" / "sigmoid.py", SLOW / "sigmoid" / "background_thread.py"):
        handle = _worker(timing_grader, tmp_path / answer.stem, answer)
        try:
            counts[answer.stem] = worker_tasks(handle)
            assert handle.hello.get("tasks") == 1  # counted before the submission was imported
        finally:
            handle.close()
    assert counts == {"sigmoid": (1, 1), "background_thread": (1, 2)}


# CUDA ----------------------------------------------------------------------------------------

@pytest.mark.cuda
@requires_cuda
def test_cuda_blocks_flush_l2_and_time_each_call_with_events():
    device = "cuda"
    kit = tw.CudaKit(device, 3)
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    assert kit.flush_buffer.numel() * 4 >= 2 * l2
    calls = draw.make_calls({"args": [_gen("randn", [2048, 2048])], "kwargs": {}}, seed=5, calls=3, device=device)
    outs, ns, ms = tw.run_block(torch.sigmoid, calls, kit)
    assert len(ms) == 3 and all(m > 0 for m in ms) and ns >= sum(ms) * 1e6
    assert all(o.device.type == "cuda" and torch.allclose(o, torch.sigmoid(a[0])) for o, (a, _) in zip(outs, calls))


@pytest.mark.cuda
@requires_cuda
def test_cuda_verdicts_for_the_reference_and_a_plainly_slow_answer(course, tmp_path):
    with Grader(course, make_settings(course, timing=True, exercises=["sigmoid"], device="cuda")) as g:
        _, good = _checks(g.grade(ROOT / "solutions", name="solutions"))
        _, slow = _checks(g.grade(_submission(tmp_path, SLOW / "sigmoid" / "python_loop.py"), name="slow"))
    assert good.status == "passed" and good.timing["device"] == "cuda", good.message
    assert slow.status == "failed" and "too slow" in slow.message
