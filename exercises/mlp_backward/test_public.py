"""Public checks for mlp_backward: the worked example and one random batch against torch autograd."""

import torch
import torch.nn.functional as F

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, rand, randn

NAMES = ("W1", "b1", "W2", "b2")


def _oracle(x, y, W1, b1, W2, b2):
    """Loss and gradients from torch autograd on leaf copies of the parameters."""
    params = [t.detach().clone().requires_grad_() for t in (W1, b1, W2, b2)]
    with torch.set_grad_enabled(True):
        p = torch.sigmoid(torch.sigmoid(x @ params[0] + params[1]) @ params[2] + params[3])
        loss = F.binary_cross_entropy(p, y)
        grads = torch.autograd.grad(loss, params)
    return loss.detach(), dict(zip(NAMES, grads))


def _compare(result, expected, rtol, atol):
    loss, grads = assert_tuple(result, 2)
    if type(grads) is not dict or set(grads) != set(NAMES):
        raise CheckFailure("grads has the wrong structure", f"expected a dict with keys {list(NAMES)}")
    assert_tensor(loss, expected[0], rtol=rtol, atol=atol, what="loss")
    for name in NAMES:
        assert_tensor(grads[name], expected[1][name], rtol=rtol, atol=atol, what=f"grads['{name}']")


@check(points=1)
def test_worked_example(submission, device):
    f64 = dict(dtype=torch.float64, device=device)
    x = torch.tensor([[1.0, 2.0], [0.0, -1.0]], **f64)
    y = torch.tensor([[1.0], [0.0]], **f64)
    W1 = torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, 2.0]], **f64)
    b1 = torch.tensor([0.0, 0.5, -1.0], **f64)
    W2 = torch.tensor([[1.0], [-2.0], [1.0]], **f64)
    b2 = torch.tensor([0.5], **f64)
    args = (x, y, W1, b1, W2, b2)
    # float64, tiny sizes: any correct derivation agrees with autograd to ~1e-15.
    _compare(submission.mlp_backward(*args), _oracle(*args), rtol=1e-9, atol=1e-12)


@check(points=1)
def test_random_batch_float32(submission, device):
    # batch 6, d_in 5, d_hidden 7, d_out 3: every product has one arrangement that fits.
    kw = dict(device=device)
    args = (randn(6, 5, seed=1, **kw), rand(6, 3, seed=2, **kw), randn(5, 7, seed=3, scale=0.45, **kw),
            randn(7, seed=4, **kw), randn(7, 3, seed=5, scale=0.38, **kw), randn(3, seed=6, **kw))
    # float32 sums in another order than autograd's: ~1e-6 relative on gradients of size ~1e-2.
    _compare(submission.mlp_backward(*args), _oracle(*args), rtol=1e-4, atol=1e-6)
