"""Public checks for beam_search: the worked example, exhaustive width against brute-force
enumeration of every sequence, and width 1 against greedy decoding.

The oracles live here so that the hidden checks can reuse them (this file ships with every
release): a brute-force enumeration, greedy decoding and a hypothesis-by-hypothesis beam search.
"""

import itertools
import math

import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, randn


def next_token_logprobs(prefixes, table, E, W):
    """The model, as in the stub: log_softmax(table[last] + (sum of E over the prefix) @ W)."""
    h = E[prefixes].sum(dim=1)
    return torch.log_softmax(table[prefixes[:, -1]] + h @ W, dim=-1)


def logprobs_after(prompt, tokens, model) -> torch.Tensor:
    """(V,) float64 log-probabilities after prompt + tokens, one prefix at a time."""
    prefix = torch.cat((prompt.cpu(), torch.tensor(tokens, dtype=torch.int64))).to(prompt.device)
    return next_token_logprobs(prefix[None, :], *model)[0].double().cpu()


def model_of(V: int, d: int, seed: int, dtype=torch.float64, device="cpu", sharpness=1.0, eos=None, eos_bias=0.0):
    """A seeded random model (table, E, W); ``eos_bias`` added to the EOS column makes ending likelier."""
    table = randn(V, V, seed=seed, dtype=torch.float64, scale=1.5 * sharpness)
    if eos is not None:
        table[:, eos] += eos_bias
    E = randn(V, d, seed=seed + 1, dtype=torch.float64, scale=0.7)
    W = randn(d, V, seed=seed + 2, dtype=torch.float64, scale=0.7 * sharpness)
    return tuple(t.to(dtype).to(device) for t in (table, E, W))


def penalised(total: float, length: int, alpha: float) -> float:
    return total / length ** alpha


def brute_force(prompt, model, eos: int, max_new_tokens: int, alpha: float):
    """Every hypothesis beam search can return: each EOS-free sequence followed by EOS (up to
    max_new_tokens tokens in all) and each EOS-free sequence of exactly max_new_tokens tokens;
    returned best first as (tokens, score) with score = sum of log-probs / length^alpha."""
    V = model[0].shape[0]
    others = [v for v in range(V) if v != eos]
    out = []
    for length in range(0, max_new_tokens):
        for body in itertools.product(others, repeat=length):
            total = sum(float(logprobs_after(prompt, list(body[:i]), model)[t]) for i, t in enumerate(body))
            tail = logprobs_after(prompt, list(body), model)
            out.append((list(body) + [eos], penalised(total + float(tail[eos]), length + 1, alpha)))
            if length + 1 == max_new_tokens:
                for t in others:
                    out.append((list(body) + [t], penalised(total + float(tail[t]), length + 1, alpha)))
    return sorted(out, key=lambda h: -h[1])


def greedy(prompt, model, eos: int, max_new_tokens: int, alpha: float):
    """Greedy decoding: the argmax token (the smallest id among equal maxima) until EOS or the end."""
    tokens, total = [], 0.0
    while len(tokens) < max_new_tokens:
        lp = logprobs_after(prompt, tokens, model)
        t = int(torch.argmax(lp))
        tokens.append(t)
        total += float(lp[t])
        if t == eos:
            break
    return [(tokens, penalised(total, len(tokens), alpha))]


def beam_oracle(prompt, model, eos: int, width: int, max_new_tokens: int, alpha: float, margin: float = 1e-9,
                keep_full_beam: bool = False):
    """The statement's beam search, one hypothesis at a time with Python sorts.

    ``margin``: the check's inputs are asserted to keep the candidates the pruning separates, and
    the final scores the ranking separates, more than this apart (relatively), so that rounding
    decides nothing; 0 turns this off (exact ties). ``keep_full_beam`` is the variant the
    statement rules out (transformers' way: the beam is refilled with the best unfinished
    candidates), for checks to show that they tell the two apart.
    """
    V = model[0].shape[0]
    live, done = [([], 0.0)], []
    for _ in range(max_new_tokens):
        cands = []
        for rank, (tokens, total) in enumerate(live):
            lp = logprobs_after(prompt, tokens, model)
            cands += [(total + float(lp[v]), rank, v, tokens + [v]) for v in range(V)]
        cands.sort(key=lambda c: (-c[0], c[1], c[2]))
        if margin and len(cands) > width and abs(cands[width - 1][0] - cands[width][0]) < margin * abs(cands[width][0]):
            raise AssertionError("check inputs too close to a pruning boundary")  # the check's bug
        kept = cands[:width]
        done += [(c[3], c[0], len(c[3])) for c in kept if c[2] == eos]
        if keep_full_beam:
            live = [(c[3], c[0]) for c in cands if c[2] != eos][:width]
        else:
            live = [(c[3], c[0]) for c in kept if c[2] != eos]
        if not live:
            break
    done += [(tokens, total, len(tokens)) for tokens, total in live]
    ranked = sorted(((t, penalised(s, n, alpha)) for t, s, n in done), key=lambda h: -h[1])  # stable
    return ranked[:width]


def call(submission, prompt, model, eos, width, max_new_tokens, alpha):
    """Call the submission and check the structure of (sequences, scores)."""
    seqs, scores = assert_tuple(submission.beam_search(prompt, *model, eos, width, max_new_tokens, alpha), 2)
    if type(seqs) not in (list, tuple) or not all(type(s) in (list, tuple) and all(type(t) is int for t in s)
                                                  for s in seqs):
        raise CheckFailure("sequences is not a list of lists of Python ints")
    if type(scores) is not torch.Tensor or scores.dim() != 1 or len(scores) != len(seqs):
        raise CheckFailure("scores is not a 1-d tensor with one score per sequence")
    return [list(s) for s in seqs], scores


def compare(submission, expected, prompt, model, eos, width, max_new_tokens, alpha, what="", rtol=1e-10,
            margin: float = 1e-9):
    """Sequences equal, in order; scores close (float64 sums in another order: 1e-10 relative)."""
    seqs, scores = call(submission, prompt, model, eos, width, max_new_tokens, alpha)
    exp_scores = torch.tensor([s for _, s in expected], dtype=model[0].dtype, device=model[0].device)
    for a, b in zip(expected, expected[1:]):
        if margin and abs(a[1] - b[1]) < margin * abs(b[1]):
            raise AssertionError("check inputs with two scores too close to rank")
    if len(seqs) != len(expected):
        raise CheckFailure(f"wrong number of hypotheses{what}", f"got {len(seqs)}, expected {len(expected)}")
    for i, (got, (exp, _)) in enumerate(zip(seqs, expected)):
        if got != exp:
            raise CheckFailure(f"wrong hypothesis at rank {i}{what}", f"got {got}, expected {exp}")
    assert_tensor(scores, exp_scores, rtol=rtol, atol=0, what=f"scores{what}")


# Checks ----------------------------------------------------------------------------------------

def worked_example_model(device):
    """V = 4, EOS = 0, prompt [3]; the table holds log-probabilities (E and W are zero)."""
    probs = torch.tensor([[0.25, 0.25, 0.25, 0.25],   # after 0 (EOS: never reached)
                          [0.30, 0.25, 0.25, 0.20],   # after 1
                          [0.90, 0.04, 0.03, 0.03],   # after 2
                          [0.05, 0.50, 0.40, 0.05]],  # after 3 (the prompt)
                         dtype=torch.float64)
    return tuple(t.to(device) for t in (probs.log(), torch.zeros(4, 2, dtype=torch.float64),
                                        torch.zeros(2, 4, dtype=torch.float64)))


@check(points=1)
def test_worked_example(submission, device):
    prompt, model = torch.tensor([3], device=device), worked_example_model(device)
    seqs, scores = call(submission, prompt, model, 0, 2, 2, 0.0)
    if seqs != [[2, 0], [1, 0]]:
        raise CheckFailure("wrong hypotheses for width 2", f"got {seqs}, expected [[2, 0], [1, 0]]")
    assert_tensor(scores, torch.tensor([math.log(0.36), math.log(0.15)], dtype=torch.float64, device=device),
                  rtol=1e-12, atol=0, what="scores for width 2 (log 0.36, log 0.15)")
    seqs, scores = call(submission, prompt, model, 0, 1, 2, 0.0)
    if seqs != [[1, 0]]:
        raise CheckFailure("wrong hypothesis for width 1 (greedy)", f"got {seqs}, expected [[1, 0]]")
    seqs, scores = call(submission, prompt, model, 0, 2, 2, 1.0)
    assert_tensor(scores, torch.tensor([math.log(0.36) / 2, math.log(0.15) / 2], dtype=torch.float64, device=device),
                  rtol=1e-12, atol=0, what="scores for width 2 and length_penalty 1")


@check(points=2)
def test_exhaustive_width_is_brute_force(submission, device):
    # V = 3 and 3 new tokens: width 3^3 = 27 prunes nothing, so every hypothesis is returned,
    # ranked as an enumeration of all of them ranks them.
    prompt, model = torch.tensor([1, 2], device=device), model_of(3, 4, seed=11, device=device)
    expected = brute_force(prompt, model, eos=0, max_new_tokens=3, alpha=1.0)
    compare(submission, expected, prompt, model, 0, 27, 3, 1.0)


@check(points=1)
def test_width_one_is_greedy(submission, device):
    prompt, model = torch.tensor([4], device=device), model_of(6, 3, seed=21, device=device)
    compare(submission, greedy(prompt, model, eos=5, max_new_tokens=6, alpha=1.0), prompt, model, 5, 1, 6, 1.0)
