"""Hidden checks for beam_search: brute force at exhaustive width for several sizes and length
penalties, greedy at width one, narrower widths against a hypothesis-by-hypothesis oracle, a case
where greedy and beam differ, finished hypotheses leaving the beam, an empty beam stopping early,
the length that the penalty divides by, ties, float32, strided weights, unchanged inputs."""

import importlib.util
import math
from pathlib import Path

import pytest
import torch

from grader.checks import CheckFailure, check

_spec = importlib.util.spec_from_file_location("beam_search_public_checks", Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)

# float64 sums of a few log-probabilities, added in another order: 1e-10 relative. float32: the
# oracle works in float64 from the same float32 log-probabilities, so 1e-5 relative, and it
# asserts that every pruning and ranking decision is separated by more than that.
F32 = dict(rtol=1e-5, margin=1e-5)


@check(points=2)
@pytest.mark.parametrize("V, max_new, alpha", [(3, 3, 0.0), (4, 3, 1.0), (3, 4, 2.0), (2, 6, -0.5)],
                         ids=["V3-L3-alpha0", "V4-L3-alpha1", "V3-L4-alpha2", "V2-L6-alpha-0.5"])
def test_exhaustive_width_is_brute_force(submission, device, V, max_new, alpha):
    prompt = torch.tensor([V - 1, 0, 1][: 1 + max_new % 3], device=device) % V
    model = public.model_of(V, 3, seed=100 + 10 * V + max_new, device=device, eos=1, eos_bias=0.5)
    expected = public.brute_force(prompt, model, eos=1, max_new_tokens=max_new, alpha=alpha)
    compare_all = V ** max_new
    public.compare(submission, expected[:compare_all], prompt, model, 1, compare_all, max_new, alpha,
                   what=f" (width {compare_all})")


@check(points=1)
def test_wider_than_exhaustive(submission, device):
    # A width beyond V^L changes nothing: every hypothesis, and no more, comes back.
    prompt, model = torch.tensor([2], device=device), public.model_of(3, 2, seed=131, device=device)
    expected = public.brute_force(prompt, model, eos=0, max_new_tokens=3, alpha=1.0)
    public.compare(submission, expected, prompt, model, 0, 100, 3, 1.0, what=" (width 100)")


@check(points=1)
@pytest.mark.parametrize("seed", [141, 145, 147, 149])
def test_width_one_is_greedy(submission, device, seed):
    # Greedy runs to the end (141), stops at an early EOS (145, 149: a refilled beam of one would
    # go on past it and return a longer hypothesis), or at an EOS first (147).
    prompt, model = torch.tensor([0, 3], device=device), public.model_of(7, 4, seed=seed, device=device, eos=2,
                                                                         eos_bias=1.0)
    expected = public.greedy(prompt, model, eos=2, max_new_tokens=8, alpha=1.0)
    public.compare(submission, expected, prompt, model, 2, 1, 8, 1.0, what=" (width 1)")


@check(points=2)
@pytest.mark.parametrize("width", [2, 3, 5])
def test_narrow_width_matches_oracle(submission, device, width):
    prompt, model = torch.tensor([4, 1, 5], device=device), public.model_of(6, 3, seed=150 + width, device=device,
                                                                            eos=0, eos_bias=0.8)
    expected = public.beam_oracle(prompt, model, eos=0, width=width, max_new_tokens=7, alpha=1.0)
    public.compare(submission, expected, prompt, model, 0, width, 7, 1.0, what=f" (width {width})")


@check(points=2)
def test_beam_beats_greedy(submission, device):
    # The worked example's trap, one step longer: the greedy first token leads to a flat row; the
    # second-best first token leads to a sure EOS.
    probs = torch.tensor([[0.2, 0.2, 0.2, 0.2, 0.2],
                          [0.22, 0.2, 0.2, 0.19, 0.19],
                          [0.85, 0.05, 0.04, 0.03, 0.03],
                          [0.1, 0.45, 0.35, 0.05, 0.05],
                          [0.2, 0.2, 0.2, 0.2, 0.2]], dtype=torch.float64)
    model = (probs.log().to(device), torch.zeros(5, 2, dtype=torch.float64, device=device),
             torch.zeros(2, 5, dtype=torch.float64, device=device))
    prompt = torch.tensor([3], device=device)
    greedy = public.greedy(prompt, model, eos=0, max_new_tokens=3, alpha=0.0)
    beam = public.beam_oracle(prompt, model, eos=0, width=2, max_new_tokens=3, alpha=0.0)
    assert greedy[0][0] != beam[0][0] and beam[0][1] > greedy[0][1]
    public.compare(submission, greedy, prompt, model, 0, 1, 3, 0.0, what=" (width 1)")
    public.compare(submission, beam, prompt, model, 0, 2, 3, 0.0, what=" (width 2)")


@check(points=2)
def test_finished_hypotheses_leave_the_beam(submission, device):
    # EOS is likely: kept candidates that end with EOS take places in the beam and leave it; the
    # beam is not refilled with the next unfinished candidates (that would explore more).
    prompt = torch.tensor([1], device=device)
    model = public.model_of(5, 3, seed=161, device=device, eos=4, eos_bias=1.8)
    expected = public.beam_oracle(prompt, model, eos=4, width=3, max_new_tokens=6, alpha=1.0)
    refilled = public.beam_oracle(prompt, model, eos=4, width=3, max_new_tokens=6, alpha=1.0, keep_full_beam=True)
    assert [s for s, _ in expected] != [s for s, _ in refilled]
    public.compare(submission, expected, prompt, model, 4, 3, 6, 1.0)


@check(points=1)
def test_beam_empties_before_max_new_tokens(submission, device):
    # After two steps every kept candidate ends with EOS: the search stops there, max_new_tokens
    # far away. (Going on is impossible; stopping earlier, at the first finished one, is wrong.)
    prompt = torch.tensor([2], device=device)
    model = public.model_of(4, 2, seed=171, device=device, eos=0, eos_bias=2.5)
    expected = public.beam_oracle(prompt, model, eos=0, width=2, max_new_tokens=20, alpha=0.0)
    assert max(len(s) for s, _ in expected) < 6
    public.compare(submission, expected, prompt, model, 0, 2, 20, 0.0)


@check(points=2)
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 3.0, -1.0])
def test_length_penalty(submission, device, alpha):
    # Hypotheses of many lengths compete: the penalty divides each sum by its length^alpha, the
    # length counting the generated tokens with EOS and without the 4-token prompt.
    prompt = torch.tensor([3, 3, 0, 2], device=device)
    model = public.model_of(5, 3, seed=182, device=device)
    expected = public.beam_oracle(prompt, model, eos=1, width=4, max_new_tokens=6, alpha=alpha)
    public.compare(submission, expected, prompt, model, 1, 4, 6, alpha, what=f" (length_penalty {alpha})")


@check(points=1)
def test_length_penalty_changes_the_winner(submission, device):
    prompt = torch.tensor([3, 3, 0, 2], device=device)
    model = public.model_of(5, 3, seed=182, device=device)
    best = {alpha: public.beam_oracle(prompt, model, eos=1, width=4, max_new_tokens=6, alpha=alpha)[0][0]
            for alpha in (0.0, 1.0, 3.0)}
    assert len({tuple(b) for b in best.values()}) == 3  # three lengths win: 2, 4 and 6 tokens
    for alpha, expected in best.items():
        seqs, _ = public.call(submission, prompt, model, 1, 4, 6, alpha)
        if not seqs or seqs[0] != expected:
            raise CheckFailure(f"wrong best hypothesis for length_penalty {alpha}",
                               f"got {seqs[:1]}, expected {[expected]}")


@check(points=1)
def test_one_new_token(submission, device):
    prompt, model = torch.tensor([1, 2], device=device), public.model_of(6, 3, seed=191, device=device)
    expected = public.brute_force(prompt, model, eos=3, max_new_tokens=1, alpha=1.0)
    public.compare(submission, expected[:4], prompt, model, 3, 4, 1, 1.0, what=" (max_new_tokens 1)")


@check(points=1)
def test_ties_follow_the_stated_order(submission, device):
    # A uniform model: every candidate of a step has the same sum. Pruning then keeps candidates
    # by beam rank and token id, and equal final scores keep the order of finishing.
    V = 4
    model = (torch.zeros(V, V, dtype=torch.float64, device=device), torch.zeros(V, 2, dtype=torch.float64, device=device),
             torch.zeros(2, V, dtype=torch.float64, device=device))
    prompt = torch.tensor([3], device=device)
    for eos, width, alpha in ((2, 3, 0.0), (0, 3, 1.0), (3, 5, 1.0)):
        expected = public.beam_oracle(prompt, model, eos=eos, width=width, max_new_tokens=3, alpha=alpha, margin=0)
        public.compare(submission, expected, prompt, model, eos, width, 3, alpha, margin=0,
                       what=f" (uniform model, eos {eos}, width {width}, length_penalty {alpha})")


@check(points=1)
def test_float32_weights(submission, device):
    prompt = torch.tensor([0], device=device)
    model = public.model_of(6, 4, seed=201, dtype=torch.float32, device=device, eos=5, eos_bias=0.7)
    expected = public.beam_oracle(prompt, model, eos=5, width=3, max_new_tokens=6, alpha=1.0, margin=1e-5)
    public.compare(submission, expected, prompt, model, 5, 3, 6, 1.0, what=" (float32)", **F32)


@check(points=1)
def test_non_contiguous_weights(submission, device):
    table, E, W = public.model_of(5, 3, seed=211, device=device, eos=0, eos_bias=0.5)
    model = (table.t().contiguous().t(), E.t().contiguous().t(), W.t().contiguous().t())
    assert not any(t.is_contiguous() for t in model)
    prompt = torch.tensor([4, 4, 1], device=device)
    expected = public.beam_oracle(prompt, model, eos=0, width=3, max_new_tokens=5, alpha=1.0)
    public.compare(submission, expected, prompt, model, 0, 3, 5, 1.0, what=" (strided weights)")


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    model = public.model_of(4, 2, seed=221, device=device)
    public.call(submission, torch.tensor([1, 3], device=device), model, 0, 3, 4, 1.0)
