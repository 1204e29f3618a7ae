"""Public checks for grad_accumulation: the worked example and two uneven steps, against full-batch autograd.

Each check first judges causal_lm_loss (the exercise this one builds on) on its own, so that a
wrong loss is named rather than reported as a wrong accumulation.
"""

import torch
import torch.nn.functional as F

from grader.checks import CheckFailure, MissingExercise, StudentError, WorkerFailure, assert_tensor, assert_tuple, \
    check, randn

NAMES = ("embed", "unembed", "bias")


# Oracles ---------------------------------------------------------------------------------------

def lm_logits(params: dict, input_ids: torch.Tensor) -> torch.Tensor:
    """The stub's tiny language model, the same formula."""
    return torch.tanh(params["embed"][input_ids]) @ params["unembed"].T + params["bias"]


def full_batch(batch: list, ignore_index: int):
    """The micro-batches as one batch: each right-padded to the longest (input id 0, label ignored), stacked."""
    T = max(mb["input_ids"].shape[1] for mb in batch)
    ids, labels = [], []
    for mb in batch:
        pad = T - mb["input_ids"].shape[1]
        ids.append(F.pad(mb["input_ids"], (0, pad), value=0))
        labels.append(F.pad(mb["labels"], (0, pad), value=ignore_index))
    return torch.cat(ids), torch.cat(labels)


def full_batch_loss(params: dict, batch: list, ignore_index: int) -> torch.Tensor:
    """torch's mean cross-entropy over every real target of the whole batch, position t predicting label t + 1."""
    ids, labels = full_batch(batch, ignore_index)
    logits = lm_logits(params, ids)
    vocab = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, vocab), labels[:, 1:].reshape(-1), ignore_index=ignore_index)


def full_batch_gradients(params: dict, batch: list, ignore_index: int = -100):
    """(loss, {name: gradient}) of the full-batch loss at ``params``, by torch autograd."""
    leaves = {n: params[n].detach().clone().requires_grad_() for n in NAMES}
    loss = full_batch_loss(leaves, batch, ignore_index)
    grads = torch.autograd.grad(loss, [leaves[n] for n in NAMES])
    return loss.detach(), dict(zip(NAMES, grads))


def reference_training(params: dict, batches: list, lr: float, ignore_index: int = -100):
    """The full-batch loss before each SGD step, and the parameters after the last one."""
    step_losses = []
    for batch in batches:
        loss, grads = full_batch_gradients(params, batch, ignore_index)
        step_losses += [loss]
        params = {n: params[n] - lr * grads[n] for n in NAMES}
    return torch.stack(step_losses), dict(params)


# Dependency ------------------------------------------------------------------------------------

def check_dependency(submission, device) -> None:
    """A quick oracle check of causal_lm_loss (float64, padded, every size different), naming it if wrong."""
    logits = randn(3, 6, 5, seed=951, dtype=torch.float64, device=device, scale=2.0)
    labels = torch.tensor([[1, 0, 4, 2, 3, 1], [2, 2, 0, -100, -100, -100], [4, 1, -100, -100, -100, -100]],
                          device=device)
    expected = F.cross_entropy(logits[:, :-1].reshape(-1, 5), labels[:, 1:].reshape(-1))
    try:
        loss, perplexity = assert_tuple(submission.of("causal_lm_loss").causal_lm_loss(logits, labels), 2)
        assert_tensor(loss, expected, rtol=1e-10, atol=1e-12, what="its loss")  # float64, a dozen terms
    except CheckFailure as exc:
        raise CheckFailure(f"depends on causal_lm_loss, which is wrong: {exc.summary}", exc.detail) from None
    except StudentError as exc:
        if exc.kind == "not-implemented":
            raise CheckFailure("depends on causal_lm_loss, which is not implemented yet") from None
        raise CheckFailure(f"depends on causal_lm_loss, which is wrong: {exc.hidden_message()}",
                           exc.public_message()) from None
    except MissingExercise as exc:
        raise CheckFailure("depends on causal_lm_loss, which is missing from the submission", str(exc)) from None
    except WorkerFailure as exc:
        raise CheckFailure("depends on causal_lm_loss, which crashed its worker", str(exc)) from None


# Calling and comparing -------------------------------------------------------------------------

def train(submission, device, params: dict, batches: list, lr: float, *ignore):
    """Check the dependency, then call train_with_accumulation; return (losses, params) checked for structure."""
    check_dependency(submission, device)
    losses, new = assert_tuple(submission.train_with_accumulation(params, batches, lr, *ignore), 2)
    if type(new) is not dict or set(new) != set(NAMES):
        got = sorted(map(str, new)) if type(new) is dict else type(new).__qualname__
        raise CheckFailure("params is not a dict with exactly the keys embed, unembed, bias", f"got {got}")
    return losses, new


def compare_training(submission, device, params: dict, batches: list, lr: float, rtol: float, atol: float,
                     ignore_index: int | None = None) -> None:
    """The losses and final parameters of train_with_accumulation against full-batch SGD."""
    ignore = () if ignore_index is None else (ignore_index,)
    losses, new = train(submission, device, params, batches, lr, *ignore)
    expected_losses, expected = reference_training(params, batches, lr, *ignore)
    assert_tensor(losses, expected_losses, rtol=rtol, atol=atol, what="losses")
    for n in NAMES:
        assert_tensor(new[n], expected[n], rtol=rtol, atol=atol, what=f"trained {n}")


def micro_batch(B: int, T: int, V: int, seed: int, lengths=None, ignore_index: int = -100, device="cpu",
                pad_id: int = 0) -> dict:
    """Seeded sequences of ids in [0, V), right-padded after lengths[b] (input pad_id, label ignore_index)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, V, (B, T), generator=g)
    if ignore_index in range(V):  # the pad id is a real id: keep it out of the real tokens
        ids = torch.where(ids == ignore_index, (ids + 1) % V, ids)
    pad = torch.zeros(B, T, dtype=torch.bool)
    if lengths is not None:
        pad = torch.arange(T)[None, :] >= torch.tensor(lengths)[:, None]
    return {"input_ids": torch.where(pad, pad_id, ids).to(device), "labels": torch.where(pad, ignore_index, ids).to(device)}


def model(V: int, d: int, seed: int, dtype=torch.float64, device="cpu") -> dict:
    kw = dict(dtype=dtype, device=device)
    return {"embed": randn(V, d, seed=seed, **kw), "unembed": randn(V, d, seed=seed + 1, scale=0.5, **kw),
            "bias": randn(V, seed=seed + 2, scale=0.1, **kw)}


# Checks ----------------------------------------------------------------------------------------

@check(points=2)
def test_worked_example(submission, device):
    f64 = dict(dtype=torch.float64, device=device)
    params = {"embed": torch.zeros(3, 2, **f64), "unembed": torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], **f64),
              "bias": torch.zeros(3, **f64)}
    a = {"input_ids": torch.tensor([[0, 0, 1], [2, 0, 0]], device=device),
         "labels": torch.tensor([[0, 0, 1], [2, 0, -100]], device=device)}
    b = {"input_ids": torch.tensor([[1, 2]], device=device), "labels": torch.tensor([[1, 2]], device=device)}
    # losses = [log 3]; bias after the step = [1/6, -1/12, -1/12]. float64, a handful of terms.
    compare_training(submission, device, params, [[a, b]], 1.0, rtol=1e-10, atol=1e-12)


@check(points=2)
def test_two_steps_uneven_micro_batches(submission, device):
    V, d = 7, 4
    params = model(V, d, seed=960, device=device)
    step1 = [micro_batch(2, 6, V, seed=961, lengths=[6, 3], device=device),
             micro_batch(3, 4, V, seed=962, lengths=[4, 4, 2], device=device)]
    step2 = [micro_batch(1, 9, V, seed=963, device=device),
             micro_batch(2, 5, V, seed=964, lengths=[2, 5], device=device),
             micro_batch(4, 3, V, seed=965, lengths=[3, 1, 2, 3], device=device)]
    # float64: the same sums in another order, two steps: ~1e-15; 1e-10 leaves room.
    compare_training(submission, device, params, [step1, step2], 0.5, rtol=1e-10, atol=1e-12)
