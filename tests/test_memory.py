"""Memory budgets: the tracker's arithmetic, the worker-side measurement, the outside cross-check,
tampering, and the exercises whose answers must (or must not) hold a W-sized or T×T-sized tensor."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import torch

from conftest import ROOT, make_settings, requires_cuda
from grader.grading.runner import Grader
from grader.measure import memory, memory_worker
from grader.checks import StudentError
from grader.course.discover import Exercise
from grader.errors import GraderError
from grader.outputs.console import memory_text

MiB = 2**20


# The tracker, in this process ---------------------------------------------------------------------

def tracked(fn, *args) -> int:
    """Peak bytes the tracker counts while ``fn(*args)`` runs (its result included)."""
    tracker = memory_worker.StorageTracker(frozenset({"cpu"}))
    with tracker:
        result = fn(*args)
    del result
    return tracker.peak


def test_tracker_sees_one_allocation_as_its_size():
    for k in (1, 3, 8):
        assert tracked(lambda: torch.empty(k * MiB, dtype=torch.uint8)) == k * MiB


def test_tracker_peak_is_the_most_alive_at_once():
    def pattern():
        a = torch.empty(4 * MiB, dtype=torch.uint8)
        b = torch.empty(2 * MiB, dtype=torch.uint8)
        del a  # 2 MiB alive
        c = torch.empty(3 * MiB, dtype=torch.uint8)  # 5 MiB alive
        del b, c
        return torch.empty(1 * MiB, dtype=torch.uint8)

    assert tracked(pattern) == 6 * MiB  # a and b together


def test_tracker_ignores_views_of_inputs_and_counts_copies():
    w = torch.randn(512, 1024)  # 2 MiB, made before the call
    assert tracked(lambda: (w.T, w[3:], w.view(-1), w.reshape(1024, 512), w.split(100))) == 0
    assert tracked(lambda: w.T.contiguous()) == 2 * MiB
    assert tracked(lambda: w.clone().mul_(2).add_(1)) == 2 * MiB  # in-place results add nothing
    assert tracked(lambda: w.double()) == 4 * MiB


def test_tracker_counts_growth_through_out_and_resize():
    w = torch.randn(512, 1024)
    buffer = torch.empty(0)
    assert tracked(lambda: torch.add(w, 1, out=buffer)) == 2 * MiB
    assert tracked(lambda: torch.empty(0).resize_(MiB)) == 4 * MiB  # float32


def test_tracker_counts_every_new_result_and_torch_tensor():
    w = torch.randn(256, 1024)  # 1 MiB
    assert tracked(lambda: w.sort(dim=-1)) == 3 * MiB  # values (1 MiB) and int64 indices (2 MiB)
    assert tracked(lambda: torch.tensor([0.0] * (MiB // 4))) == MiB


def test_tracker_subtracts_frees():
    tracker = memory_worker.StorageTracker(frozenset({"cpu"}))
    with tracker:
        for _ in range(10):
            block = torch.ones(MiB, dtype=torch.uint8)
            del block
    assert tracker.peak == MiB and tracker.live == 0


# Tables ------------------------------------------------------------------------------------------

def exercise_with(tables: list, functions=("f",)) -> Exercise:
    return Exercise(id="demo", title="Demo", track="efficiency", order=1, path=Path("/nowhere/demo"),
                    functions=tuple(functions), memory=tuple(tables))


TABLE = {"function": "f", "args": [{"randn": ["n", "d"]}], "kwargs": {"flag": True}, "points": 2,
         "cpu": {"budget_bytes": "16MiB", "sizes": {"n": 64, "d": 32}}}


def test_table_parses_into_a_plan():
    (budget,) = memory.parse_tables(exercise_with([TABLE]))
    assert budget.name == "memory_f" and budget.points == 2.0
    plan = memory.plan_for(budget, "cpu")
    assert plan.budget_bytes == 16 * MiB and plan.slack_bytes == memory.SLACK_FLOOR
    assert plan.template["args"][0] == {"$gen": {"kind": "randn", "dtype": "float32", "shape": [64, 32]}}
    assert plan.template["kwargs"] == {"flag": True}
    assert memory.plan_for(budget, "cuda") is None  # no cuda table: the check is skipped there, uncounted


@pytest.mark.parametrize("change, words", [
    ({"budget": 1}, "unknown key 'budget'"),
    ({"cpu": {"sizes": {"n": 1}}}, "missing 'budget_bytes'"),
    ({"cpu": {"budget_bytes": "lots", "sizes": {"n": 64, "d": 32}}}, "invalid size"),
    ({"cpu": {"budget_bytes": "1MiB", "sizes": {"n": 64}}}, "unknown size 'd'"),
    ({"function": "g"}, "invalid function 'g'"),
    ({"cpu": None}, "no budget"),
    ({"reference": "nodots"}, "invalid reference"),
])
def test_bad_tables_name_the_problem(change, words):
    table = {**TABLE, **change}
    if table.get("cpu") is None:
        del table["cpu"]
    with pytest.raises(GraderError, match=words):
        memory.parse_tables(exercise_with([table]))


def test_probe_reads_a_v1_cgroup(tmp_path):
    # The files a v1 memory cgroup has; the probe resets the peak and reports peak minus usage before.
    (tmp_path / "memory.usage_in_bytes").write_text(str(100 * MiB))
    (tmp_path / "memory.max_usage_in_bytes").write_text(str(500 * MiB))

    class Handle:
        cgroup, pid, layers = str(tmp_path), 1, ["pid-ns"]

    probe = memory.Probe(Handle())
    probe.start()
    assert probe.source == "cgroup" and (tmp_path / "memory.max_usage_in_bytes").read_text() == "0"
    (tmp_path / "memory.max_usage_in_bytes").write_text(str(130 * MiB))  # what the kernel would show
    assert probe.stop() == 30 * MiB


def test_an_unimportable_reference_is_skipped_only_in_a_release():
    # A student release leaves grader/measure/baselines/ out; in the course itself a bad path is the grader's error.
    plan = memory.MemoryPlan(function="f", template={"args": [], "kwargs": {}}, device="cpu", budget_bytes=MiB,
                             slack_bytes=MiB, reference="grader.no_such_module.f")
    unused = lambda *a, **k: pytest.fail("nothing should be fetched")  # noqa: E731
    assert memory._verify(unused, plan, release=True) is None
    with pytest.raises(GraderError, match="cannot be imported"):
        memory._verify(unused, plan, release=False)


def test_memory_text_renders_peak_and_budget():
    assert memory_text({"peak_bytes": 3 * MiB, "budget_bytes": 16 * MiB}) == "3.0 MiB (budget 16.0 MiB)"


# The measurement, through a real worker -------------------------------------------------------------

PROBE_MODULE = '''
import numpy as np
import torch
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack, _pop_mode

MiB = 2 ** 20


def alloc(mib):
    block = torch.empty(mib * MiB, dtype=torch.uint8)
    block.fill_(1)  # touched, so that the cgroup is charged too
    return torch.zeros(4)


def two_at_once(mib):
    a = torch.ones(mib * MiB, dtype=torch.uint8)
    b = torch.ones(mib * MiB, dtype=torch.uint8)
    del a
    c = torch.ones(mib * MiB, dtype=torch.uint8)
    return torch.zeros(4) + int(b[0]) + int(c[0])


def numpy_alloc(mib):
    block = np.ones(mib * MiB, dtype=np.uint8)
    return torch.zeros(4) + float(block[-1])


def pop_tracker(mib):
    if _get_current_dispatch_mode_stack():  # none during the unmeasured warm-up call
        _pop_mode()
    return torch.zeros(4)


def forge(mib):
    block = torch.ones(mib * MiB, dtype=torch.uint8)
    out = torch.zeros(4) + float(block[0])
    del block
    for mode in _get_current_dispatch_mode_stack():  # none during the unmeasured warm-up call
        mode.peak = mode.live = 0
    return out


def zeros_like(x):
    return torch.zeros_like(x)
'''


@pytest.fixture(scope="module")
def probe_worker(grader, tmp_path_factory):
    """A worker serving the functions above (no forbidden operations)."""
    root = tmp_path_factory.mktemp("memprobe")
    (root / "memprobe").mkdir()
    (root / "memprobe" / "memprobe.py").write_text(textwrap.dedent(PROBE_MODULE))
    handle = grader.sandbox.open(root, "memprobe", {})
    yield handle
    handle.close()


def run(handle, function: str, arg, budget_mib: int = 16, reference: str | None = None) -> memory.MemoryResult:
    template = {"args": [arg], "kwargs": {}}
    plan = memory.MemoryPlan(function=function, template=template, device="cpu", budget_bytes=budget_mib * MiB,
                             slack_bytes=memory.SLACK_FLOOR, reference=reference)
    return memory.measure(handle, plan, lambda: 60.0)


@pytest.mark.parametrize("mib", [4, 24])
def test_worker_sees_k_mib_as_k_mib(probe_worker, mib):
    result = run(probe_worker, "alloc", mib)
    # The block plus the 16-byte result: exactly what the call allocated.
    assert mib * MiB <= result.peak_bytes <= mib * MiB + 1024
    assert result.verdict == ("passed" if mib < 16 else "over-budget")
    cross = result.extra["cross_check"]
    if cross is not None:  # the cgroup (or VmHWM) saw the touched pages too, give or take noise
        assert mib * MiB * 0.9 <= cross["grown_bytes"] <= mib * MiB + memory.SLACK_FLOOR


def test_worker_peak_counts_what_is_alive_together(probe_worker):
    result = run(probe_worker, "two_at_once", 6)
    assert 12 * MiB <= result.peak_bytes <= 12 * MiB + 1024 and result.verdict == "passed"


def test_memory_outside_torch_is_caught_from_outside(probe_worker):
    result = run(probe_worker, "numpy_alloc", 96)
    if result.extra["cross_check"] is None:
        pytest.skip("no memory cgroup or VmHWM to read here")
    assert result.peak_bytes < MiB  # the tracker never saw numpy's block
    assert result.verdict == "outside-tracker", result.message


def test_forged_numbers_are_caught_from_outside(probe_worker):
    result = run(probe_worker, "forge", 96)
    if result.extra["cross_check"] is None:
        pytest.skip("no memory cgroup or VmHWM to read here")
    assert result.peak_bytes == 0 and result.verdict == "outside-tracker", result.message


def test_removing_the_tracker_is_tampering(probe_worker):
    result = run(probe_worker, "pop_tracker", 1)
    assert result.verdict == "tampered" and "removed" in result.message


def test_the_measured_result_is_checked_against_the_reference(probe_worker):
    spec = {"$gen": {"kind": "randn", "dtype": "float32", "shape": [64, 48]}}
    result = run(probe_worker, "zeros_like", spec, reference="torch.clone")
    assert result.verdict == "wrong-result" and result.extra["verified"] is False


def test_a_worker_that_measured_memory_is_not_reused_for_the_next_exercise(grader, tmp_path):
    # The measurement fixes glibc's mmap threshold for the rest of the process: a later exercise's
    # timing in that worker ran several times slower than in a fresh one. The worker says it changed.
    (tmp_path / "memprobe").mkdir()
    (tmp_path / "memprobe" / "memprobe.py").write_text(textwrap.dedent(PROBE_MODULE))
    handle = grader.sandbox.open(tmp_path, "memprobe", {})
    try:
        assert handle.switch("memprobe", 30) is True
        assert run(handle, "alloc", 4).verdict == "passed"
        assert handle.switch("memprobe", 30) is False
    finally:
        handle.close()


def test_an_exception_in_the_measured_call_is_the_students(probe_worker):
    with pytest.raises(StudentError):
        run(probe_worker, "alloc", "not a number")


# The exercises ----------------------------------------------------------------------------------------

def grade_case(grader, course, tmp_path, exercise: str, case: Path | None):
    """Grade the reference answer (case None) or a wrong answer of ``exercise``; its ExerciseResult."""
    if case is None:
        return grader.grade(ROOT / "solutions", name="solutions", only=[exercise]).exercise(exercise)
    (tmp_path / exercise).mkdir(parents=True)
    shutil.copy(case, tmp_path / exercise / f"{exercise}.py")
    return grader.grade(tmp_path, name=case.name, only=[exercise]).exercise(exercise)


def split(result):
    correctness = [c for c in result.checks if c.kind == "correctness"]
    return correctness, [c for c in result.checks if c.kind == "memory"]


@pytest.mark.parametrize("exercise", ["lora_linear", "flash_attention"])
def test_solutions_pass_their_memory_budgets(grader, course, tmp_path, exercise):
    result = grade_case(grader, course, tmp_path, exercise, None)
    _, checks = split(result)
    assert checks and all(c.status == "passed" for c in checks), [(c.name, c.message) for c in checks]
    for c in checks:  # measured even though timing is off in this grader
        assert 0 < c.memory["peak_bytes"] <= c.memory["budget_bytes"] / 2, c.memory  # a clear margin
        assert c.memory["verified"] is True
        if c.memory["cross_check"] is not None:
            assert c.memory["cross_check"]["grown_bytes"] <= c.memory["cross_check"]["limit_bytes"]


@pytest.mark.parametrize("exercise, case", [
    ("flash_attention", "full_score_matrix.py"),  # the T×T scores: right values, 64 MiB and more
    ("lora_linear", "merged_weight.py"),  # W + BA: right values, W-sized temporaries
    ("lora_linear", "transposed_weight_copy.py"),  # one W-sized copy
])
def test_right_values_with_too_much_memory_fail_only_memory(grader, course, tmp_path, exercise, case):
    result = grade_case(grader, course, tmp_path, exercise, ROOT / "tests" / "wrong_answers" / exercise / case)
    correctness, checks = split(result)
    assert all(c.status == "passed" for c in correctness), [(c.name, c.message) for c in correctness
                                                            if c.status != "passed"]
    assert checks and all(c.status == "failed" for c in checks)
    for c in checks:
        assert c.memory["peak_bytes"] > c.memory["budget_bytes"] and "over the budget" in c.message
    assert result.score == result.max_score - sum(c.max_score for c in checks)


def test_memory_points_need_correct_answers(grader, course, tmp_path):
    result = grader.grade(ROOT / "exercises", name="stubs", only=["lora_linear"], attempt_all=True).exercise("lora_linear")
    (check,) = split(result)[1]
    assert check.status == "skipped" and check.max_score == 1.0 and check.score == 0.0
    assert "correctness" in check.message


def test_memory_dict_reaches_the_json_report(grader):
    report = grader.grade(ROOT / "solutions", name="solutions", only=["lora_linear"])
    checks = report.to_dict()["exercises"][0]["checks"]
    (entry,) = [c for c in checks if c["kind"] == "memory"]
    assert set(entry["memory"]) >= {"peak_bytes", "budget_bytes", "verdict", "cross_check"}
    assert all("memory" not in c for c in checks if c["kind"] == "correctness")


@pytest.fixture(scope="module")
def cuda_grader(course):
    """A grader on the GPU, timing off: the memory checks read the caching allocator's peak there."""
    with Grader(course, make_settings(course, device="cuda")) as g:
        yield g


@pytest.mark.cuda
@requires_cuda
@pytest.mark.parametrize("exercise, case", [
    ("flash_attention", None), ("lora_linear", None),
    ("flash_attention", "full_score_matrix.py"), ("lora_linear", "merged_weight.py"),
])
def test_memory_budgets_on_cuda_read_the_allocator(cuda_grader, course, tmp_path, exercise, case):
    wrong = case and ROOT / "tests" / "wrong_answers" / exercise / case
    result = grade_case(cuda_grader, course, tmp_path, exercise, wrong)
    correctness, checks = split(result)
    assert all(c.status == "passed" for c in correctness), [(c.name, c.message) for c in correctness]
    assert checks
    for c in checks:
        assert c.memory["allocator_bytes"] is not None and c.memory["allocator_bytes"] > 0, c.memory
        if case is None:
            assert c.status == "passed" and c.memory["peak_bytes"] <= c.memory["budget_bytes"], c.memory
        else:
            assert c.status == "failed" and c.memory["peak_bytes"] > c.memory["budget_bytes"], c.memory
