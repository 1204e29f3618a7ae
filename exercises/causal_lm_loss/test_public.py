"""Public checks for causal_lm_loss: the worked example and a padded batch, against torch's cross-entropy."""

import torch
import torch.nn.functional as F

from grader.checks import assert_tensor, assert_tuple, check, randn

HALF = (torch.float16, torch.bfloat16)


def oracle(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100):
    """torch's mean cross-entropy on the shifted, flattened tensors (half logits upcast), and its exp."""
    vocab = logits.shape[-1]
    scored = logits[:, :-1].reshape(-1, vocab)  # position t predicts label t + 1
    if scored.dtype in HALF:
        scored = scored.float()
    loss = F.cross_entropy(scored, labels[:, 1:].reshape(-1), ignore_index=ignore_index)  # NaN when nothing is real
    return loss, loss.exp()


def compare(result, expected, rtol: float, atol: float) -> None:
    """``result`` must be a (loss, perplexity) pair of 0-d tensors matching ``expected``; NaN where it is NaN."""
    loss, perplexity = assert_tuple(result, 2)
    assert_tensor(loss, expected[0], rtol=rtol, atol=atol, what="loss", equal_nan=True)
    assert_tensor(perplexity, expected[1], rtol=rtol, atol=atol, what="perplexity", equal_nan=True)


@check(points=1)
def test_worked_example(submission, device):
    logits = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [5.0, 5.0, 5.0]],
                           [[1.0, 0.0, 0.0], [0.0, 3.0, 0.0], [4.0, 1.0, 0.0]]], device=device)
    labels = torch.tensor([[2, 0, 1], [1, 2, -100]], device=device)
    # loss = 0.9632, perplexity = 2.6201. A log, an exp and a mean of three terms in float32: a few ulps.
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), rtol=1e-6, atol=1e-7)


@check(points=1)
def test_padded_batch(submission, device):
    # Three sequences of 6, 4 and 2 tokens, right-padded to T = 6; V = 10.
    logits = randn(3, 6, 10, seed=41, device=device, scale=2.0)
    g = torch.Generator().manual_seed(41)
    labels = torch.randint(0, 10, (3, 6), generator=g)
    labels[1, 4:] = -100
    labels[2, 2:] = -100
    labels = labels.to(device)
    # float32 log-sum-exp over 10 logits and a mean over 9 tokens: within ~1e-6 relative of torch.
    compare(submission.causal_lm_loss(logits, labels), oracle(logits, labels), rtol=1e-5, atol=1e-6)
