"""Hidden checks for causal_lm_loss: dtypes, the shift, the token mean, ignored positions, extremes, shapes.

The oracle is the public file's (test_public.py ships with every release): torch's
F.cross_entropy(ignore_index=...) on logits[:, :-1] and labels[:, 1:], flattened, half-precision
logits upcast to float32 first.
"""

import importlib.util
from pathlib import Path

import pytest
import torch

from grader.checks import CheckFailure, assert_tuple, check, randn

_spec = importlib.util.spec_from_file_location("causal_lm_loss_public_checks",
                                               Path(__file__).with_name("test_public.py"))
public = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(public)
oracle, compare = public.oracle, public.compare

# Tolerances. float32: a log-sum-exp over at most a few hundred logits and a mean over at most a
# few hundred tokens, in another order than torch's kernel: within ~1e-6 relative. float64: 1e-12.
# Half-precision logits are upcast, so the float32 tolerance applies to them too; computing in
# bfloat16 or float16 instead errs by 1e-4 to 1e-2 relative (measured), far outside it.
TOL = {torch.float32: dict(rtol=1e-5, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-13),
       torch.float16: dict(rtol=1e-5, atol=1e-6), torch.bfloat16: dict(rtol=1e-5, atol=1e-6)}


def labels_for(B: int, T: int, V: int, seed: int, lengths=None, ignore_index: int = -100,
               p_ignore: float = 0.0, device="cpu") -> torch.Tensor:
    """Seeded token ids in [0, V); positions at or past lengths[b] (right padding) and a random
    p_ignore fraction of the rest set to ignore_index."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, V, (B, T), generator=g)
    if ignore_index in range(V):  # the pad id is a real id: keep it out of the real tokens
        labels = torch.where(labels == ignore_index, (labels + 1) % V, labels)
    drop = torch.rand(B, T, generator=g) < p_ignore
    if lengths is not None:
        drop |= torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]
    return torch.where(drop, ignore_index, labels).to(device)


@check(points=1)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_values_match_torch(submission, device, dtype):
    # B, T, V all different; uneven right padding and a prompt-like scattering of ignored labels.
    logits = randn(3, 7, 11, seed=501, dtype=dtype, device=device, scale=3.0)
    labels = labels_for(3, 7, 11, seed=501, lengths=[7, 5, 3], p_ignore=0.2, device=device)
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[dtype])


@check(points=1)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
def test_half_precision_logits(submission, device, dtype):
    # The loss comes back in float32, computed from logits upcast to float32.
    logits = randn(2, 9, 257, seed=502, device=device, scale=3.0).to(dtype)
    labels = labels_for(2, 9, 257, seed=502, lengths=[9, 6], device=device)
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[dtype])


@check(points=1)
def test_mean_over_tokens_not_sequences(submission, device):
    # Lengths 13, 2, 9 and 5: a mean of per-sequence means weighs the one real token of the
    # second sequence like the twelve of the first.
    logits = randn(4, 13, 6, seed=503, dtype=torch.float64, device=device, scale=2.0)
    labels = labels_for(4, 13, 6, seed=503, lengths=[13, 2, 9, 5], device=device)
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[torch.float64])


@check(points=1)
def test_padding_not_counted(submission, device):
    # Mostly padding: dividing by B · (T − 1) instead of the real-token count shows at once.
    logits = randn(5, 12, 8, seed=504, dtype=torch.float64, device=device, scale=2.0)
    labels = labels_for(5, 12, 8, seed=504, lengths=[3, 12, 2, 4, 6], p_ignore=0.3, device=device)
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[torch.float64])


@check(points=1)
def test_sequence_without_real_target(submission, device):
    # The second sequence is all padding (and the third has only its first label, never a target):
    # they contribute nothing, and the loss is the mean over the others' tokens, finite.
    logits = randn(4, 6, 9, seed=505, dtype=torch.float64, device=device)
    labels = labels_for(4, 6, 9, seed=505, lengths=[6, 0, 1, 4], device=device)
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[torch.float64])


@check(points=1)
def test_no_real_target_at_all(submission, device):
    # N = 0: nothing to average, so loss and perplexity are NaN (0 / 0), as torch's mean gives.
    # Every label ignored except labels[:, 0], which is never a target; then T = 1.
    logits = randn(3, 5, 7, seed=506, device=device)
    labels = labels_for(3, 5, 7, seed=506, lengths=[1, 0, 1], device=device)
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[torch.float32])
    logits = randn(2, 1, 7, seed=507, device=device)
    labels = labels_for(2, 1, 7, seed=507, device=device)
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[torch.float32])


@check(points=1)
def test_other_ignore_index(submission, device):
    # A pad id inside the vocabulary as the ignore index, then another negative value.
    logits = randn(3, 8, 10, seed=508, dtype=torch.float64, device=device, scale=2.0)
    labels = labels_for(3, 8, 10, seed=508, lengths=[8, 5, 3], ignore_index=3, device=device)
    compare(submission.causal_lm_loss(logits, labels, 3), oracle(logits, labels, 3), **TOL[torch.float64])
    labels = labels_for(3, 8, 10, seed=509, lengths=[4, 8, 6], ignore_index=-1, device=device)
    compare(submission.causal_lm_loss(logits, labels, ignore_index=-1), oracle(logits, labels, -1),
            **TOL[torch.float64])


@check(points=2)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_large_logits_are_stable(submission, device, dtype):
    # Logits of ±1e4: exp overflows unless each position's maximum is taken out first.
    logits = randn(2, 5, 6, seed=510, dtype=dtype, device=device, scale=1e4)
    labels = labels_for(2, 5, 6, seed=510, lengths=[5, 4], device=device)
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[dtype])


@check(points=1)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["float32", "bfloat16"])
def test_confidently_wrong_targets(submission, device, dtype):
    # Each target's logit sits 2e4 below the maximum: its softmax probability underflows to 0, so
    # log(softmax) is -inf, while the loss is a finite ~2e4 (perplexity inf: exp overflows).
    V = 5
    logits = randn(2, 4, V, seed=511, device=device)
    labels = labels_for(2, 4, V, seed=511, device=device)
    nxt = labels[:, 1:]
    logits[:, :-1] = torch.where(torch.arange(V, device=device) == nxt[..., None], -1e4, logits[:, :-1])
    logits[:, :-1] = torch.where(torch.arange(V, device=device) == (nxt[..., None] + 1) % V, 1e4, logits[:, :-1])
    logits = logits.to(dtype)
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[dtype])


@check(points=1)
def test_next_token_is_the_target(submission, device):
    # A model that puts a large logit on the *next* token everywhere has a loss near 0; one that
    # predicted the current token, or the previous one, would be heavily penalised here.
    V = 7
    labels = labels_for(3, 10, V, seed=512, lengths=[10, 8, 6], device=device)
    nxt = labels[:, 1:].clamp(min=0)  # ignored positions: any column
    logits = randn(3, 10, V, seed=512, dtype=torch.float64, device=device)
    logits[:, :-1] += 12.0 * torch.nn.functional.one_hot(nxt, V).double()
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[torch.float64])
    loss, _ = assert_tuple(submission.causal_lm_loss(logits, labels), 2)
    if not float(loss) < 0.01:
        raise CheckFailure("a model that predicts every next token confidently gets a large loss")


@check(points=1)
def test_unused_entries_do_not_matter(submission, device):
    # labels[:, 0], the last position's logits and the logits at ignored positions are never used:
    # changing them must leave the result exactly as it was.
    logits = randn(3, 6, 8, seed=513, dtype=torch.float64, device=device, scale=2.0)
    labels = labels_for(3, 6, 8, seed=513, lengths=[6, 4, 5], device=device)
    first = assert_tuple(submission.causal_lm_loss(logits, labels), 2)
    compare(first, oracle(logits, labels), **TOL[torch.float64])
    changed_logits, changed_labels = logits.clone(), labels.clone()
    changed_labels[:, 0] = (labels[:, 0] + 3) % 8
    changed_logits[:, -1] = randn(3, 8, seed=514, dtype=torch.float64, device=device, scale=50.0)
    ignored = torch.cat([labels[:, 1:] == -100, torch.zeros(3, 1, dtype=torch.bool, device=device)], dim=1)
    changed_logits[ignored] = randn(int(ignored.sum()), 8, seed=515, dtype=torch.float64, device=device, scale=50.0)
    second = submission.causal_lm_loss(changed_logits, changed_labels)
    compare(second, oracle(changed_logits, changed_labels), **TOL[torch.float64])
    compare(second, first, rtol=1e-12, atol=1e-13)  # the same arithmetic on the same used entries


@check(points=1)
def test_small_shapes(submission, device):
    # A batch of one; T = 2 (one target per sequence); V = 1 (loss exactly 0, perplexity 1), with
    # one ignored label: whatever stands in for it before a gather must be a valid index, here 0.
    for B, T, V, lengths in [(1, 5, 6, None), (3, 2, 4, None), (2, 4, 1, [4, 3])]:
        logits = randn(B, T, V, seed=516 + V, device=device, scale=2.0)
        labels = labels_for(B, T, V, seed=516 + V, lengths=lengths, device=device)
        try:
            compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[torch.float32])
        except CheckFailure as exc:
            raise CheckFailure(f"{exc.summary} for B={B}, T={T}, V={V}", exc.detail) from None


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    logits = randn(3, 9, 5, seed=517, device=device, scale=2.0).permute(0, 2, 1)  # (3, 5, 9), strided
    labels = labels_for(5, 3, 9, seed=517, device=device).t()  # (3, 5), transposed
    labels[1, 3:] = -100
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), **TOL[torch.float32])


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares every tensor argument after the call with what was sent.
    logits = randn(2, 6, 4, seed=518, device=device)
    submission.causal_lm_loss(logits, labels_for(2, 6, 4, seed=518, lengths=[6, 3], device=device))
