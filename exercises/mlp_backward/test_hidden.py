"""Hidden checks for mlp_backward: the loss mean, layouts, degenerate sizes, dtypes, modified inputs."""

import pytest
import torch
import torch.nn.functional as F

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check, rand, randn

NAMES = ("W1", "b1", "W2", "b2")
DTYPES = [torch.float32, torch.float64]
# float32: matrix products summed in another order than autograd's, ~1e-6 relative on gradients of
# size 1e-3..1e-1 (1e-4 relative, 1e-6 absolute leaves room); a wrong factor (batch, d_out) is >= 2x.
# float64: the same differences are ~1e-15; 1e-9 still catches a float32 detour.
TOL = {torch.float32: dict(rtol=1e-4, atol=1e-6), torch.float64: dict(rtol=1e-9, atol=1e-12)}


def _net(batch, d_in, d_hidden, d_out, seed, dtype=torch.float64, device="cpu", soft=True):
    """Seeded (x, y, W1, b1, W2, b2); weights scaled by 1/sqrt(fan-in) so p stays well inside (0, 1)."""
    kw = dict(dtype=dtype, device=device)
    y = rand(batch, d_out, seed=seed + 1, **kw)
    if not soft:
        y = (y > 0.5).to(dtype)
    return (randn(batch, d_in, seed=seed, **kw), y,
            randn(d_in, d_hidden, seed=seed + 2, scale=d_in ** -0.5, **kw), randn(d_hidden, seed=seed + 3, **kw),
            randn(d_hidden, d_out, seed=seed + 4, scale=d_hidden ** -0.5, **kw), randn(d_out, seed=seed + 5, **kw))


def _oracle(x, y, W1, b1, W2, b2):
    """Loss and gradients from torch autograd on leaf copies of the parameters."""
    params = [t.detach().clone().requires_grad_() for t in (W1, b1, W2, b2)]
    with torch.enable_grad():
        p = torch.sigmoid(torch.sigmoid(x @ params[0] + params[1]) @ params[2] + params[3])
        assert float(p.min()) > 1e-6 and float(p.max()) < 1 - 1e-6, "check inputs saturate the output"
        loss = F.binary_cross_entropy(p, y)
        grads = torch.autograd.grad(loss, params)
    return loss.detach(), dict(zip(NAMES, grads))


def _compare(result, expected, tol, only=NAMES):
    loss, grads = assert_tuple(result, 2)
    if type(grads) is not dict or set(grads) != set(NAMES):
        raise CheckFailure("grads has the wrong structure", f"expected a dict with keys {list(NAMES)}")
    assert_tensor(loss, expected[0], **tol, what="loss")
    for name in only:
        assert_tensor(grads[name], expected[1][name], **tol, what=f"grads['{name}']")


@check(points=2)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_gradients_match_autograd(submission, device, dtype):
    # batch 8, d_in 5, d_hidden 9, d_out 4, soft labels.
    args = _net(8, 5, 9, 4, seed=400, dtype=dtype, device=device)
    _compare(submission.mlp_backward(*args), _oracle(*args), TOL[dtype])


@check(points=1)
def test_hard_labels(submission, device):
    args = _net(10, 6, 4, 3, seed=410, device=device, soft=False)
    _compare(submission.mlp_backward(*args), _oracle(*args), TOL[torch.float64])


@check(points=1)
def test_loss_value(submission, device):
    # The loss alone, so that a wrong loss is named even when the gradients are right.
    args = _net(7, 3, 5, 2, seed=420, device=device)
    loss, _ = assert_tuple(submission.mlp_backward(*args), 2)
    assert_tensor(loss, _oracle(*args)[0], **TOL[torch.float64], what="loss")


@check(points=1)
def test_output_layer_gradients(submission, device):
    # W2 and b2 only: names which half of the chain rule goes wrong.
    args = _net(9, 4, 6, 3, seed=430, device=device)
    _compare(submission.mlp_backward(*args), _oracle(*args), TOL[torch.float64], only=("W2", "b2"))


@check(points=1)
def test_single_output_unit(submission, device):
    # d_out = 1: dividing by the batch alone happens to be right here, and must not break anything else.
    args = _net(7, 4, 6, 1, seed=440, device=device)
    _compare(submission.mlp_backward(*args), _oracle(*args), TOL[torch.float64])


@check(points=1)
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_batch_of_one(submission, device, dtype):
    args = _net(1, 5, 7, 3, seed=450, dtype=dtype, device=device)
    _compare(submission.mlp_backward(*args), _oracle(*args), TOL[dtype])


@check(points=1)
def test_square_layers(submission, device):
    # batch = d_in = d_hidden = d_out: a missing transpose or a bias gradient summed over the wrong
    # axis no longer fails on shapes, it silently gives other numbers.
    args = _net(5, 5, 5, 5, seed=460, device=device)
    _compare(submission.mlp_backward(*args), _oracle(*args), TOL[torch.float64])


@check(points=1)
def test_non_contiguous_inputs(submission, device):
    kw = dict(dtype=torch.float32, device=device)
    x = randn(6, 9, seed=470, **kw).t()                         # (9, 6), transposed
    y = rand(9, 8, seed=471, **kw)[:, ::2]                      # (9, 4), stride 2
    W1 = randn(7, 6, seed=472, scale=0.4, **kw).t()             # (6, 7)
    b1 = randn(14, seed=473, **kw)[::2]                         # (7,), stride 2
    W2 = randn(4, 7, seed=474, scale=0.38, **kw).t()            # (7, 4)
    b2 = randn(8, seed=475, **kw)[1::2]                         # (4,), stride 2
    args = (x, y, W1, b1, W2, b2)
    _compare(submission.mlp_backward(*args), _oracle(*args), TOL[torch.float32])


@check(points=1)
def test_structure(submission, device):
    # A (loss, dict) pair, the dict keyed exactly W1, b1, W2, b2, each value shaped like its parameter.
    args = _net(4, 3, 6, 2, seed=480, device=device)
    loss, grads = assert_tuple(submission.mlp_backward(*args), 2)
    if type(grads) is not dict or set(grads) != set(NAMES):
        got = sorted(map(str, grads)) if type(grads) is dict else type(grads).__qualname__
        raise CheckFailure("grads has the wrong structure", f"expected keys {list(NAMES)}, got {got}")
    for name, param in zip(NAMES, args[2:]):
        g = grads[name]
        if type(g) is not torch.Tensor or tuple(g.shape) != tuple(param.shape):
            raise CheckFailure(f"grads['{name}'] is not shaped like {name}")
    if type(loss) is not torch.Tensor or loss.dim() != 0:
        raise CheckFailure("loss is not a 0-d tensor")


@check(points=1)
def test_inputs_not_modified(submission, device):
    # The proxy compares all six arguments after the call with what was sent.
    args = _net(5, 4, 3, 2, seed=490, device=device)
    _compare(submission.mlp_backward(*args), _oracle(*args), TOL[torch.float64])
