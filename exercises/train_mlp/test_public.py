"""Public checks for train_mlp: the toy problem, against torch autograd and torch.optim.Adam.

Each check first judges the three exercises train_mlp builds on (mlp_forward, mlp_backward, adam)
on their own, so that a wrong dependency is named rather than reported as a wrong training loop.
"""

import torch
import torch.nn.functional as F

from grader.checks import CheckFailure, MissingExercise, StudentError, WorkerFailure, assert_tensor, assert_tuple, \
    check, rand, randn

NAMES = ("W1", "b1", "W2", "b2")


# Oracles ---------------------------------------------------------------------------------------

def forward(x, W1, b1, W2, b2):
    return torch.sigmoid(torch.sigmoid(x @ W1 + b1) @ W2 + b2)


def reference_training(x, y, start, steps: int, lr: float):
    """The loss before each step and the final parameters, by autograd and torch.optim.Adam."""
    params = [p.detach().clone().requires_grad_() for p in start]
    opt = torch.optim.Adam(params, lr=lr)  # default betas (0.9, 0.999), eps 1e-8
    losses = []
    for _ in range(steps):
        loss = F.binary_cross_entropy(forward(x, *params), y)
        losses.append(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return torch.stack(losses), {n: p.detach() for n, p in zip(NAMES, params)}


# Dependencies ----------------------------------------------------------------------------------

def judge_dependency(name: str, run) -> None:
    """Run ``run()``; turn any way it fails into a CheckFailure that names the dependency."""
    try:
        run()
    except CheckFailure as exc:
        raise CheckFailure(f"depends on {name}, which is wrong: {exc.summary}", exc.detail) from None
    except StudentError as exc:
        if exc.kind == "not-implemented":
            raise CheckFailure(f"depends on {name}, which is not implemented yet") from None
        raise CheckFailure(f"depends on {name}, which is wrong: {exc.hidden_message()}", exc.public_message()) from None
    except MissingExercise as exc:
        raise CheckFailure(f"depends on {name}, which is missing from the submission", str(exc)) from None
    except WorkerFailure as exc:
        raise CheckFailure(f"depends on {name}, which crashed its worker", str(exc)) from None


def check_dependencies(submission, device) -> None:
    """Quick oracle checks of mlp_forward, mlp_backward and adam_step (float64, every size different)."""
    f64 = dict(dtype=torch.float64, device=device)
    x, y = randn(5, 3, seed=901, **f64), rand(5, 2, seed=902, low=0.1, high=0.9, **f64)
    start = (randn(3, 4, seed=903, **f64), randn(4, seed=904, **f64), randn(4, 2, seed=905, **f64),
             randn(2, seed=906, **f64))
    tol = dict(rtol=1e-9, atol=1e-12)  # float64, a few dozen operations: far below any real mistake

    def forward_is_right():
        got = submission.of("mlp_forward").mlp_forward(x, *start)
        assert_tensor(got, forward(x, *start), **tol, what="its output")

    def backward_is_right():
        params = [p.clone().requires_grad_() for p in start]
        loss = F.binary_cross_entropy(forward(x, *params), y)
        grads = torch.autograd.grad(loss, params)
        got_loss, got_grads = assert_tuple(submission.of("mlp_backward").mlp_backward(x, y, *start), 2)
        assert_tensor(got_loss, loss.detach(), **tol, what="its loss")
        if type(got_grads) is not dict or set(got_grads) != set(NAMES):
            raise CheckFailure("its gradients are not a dict with keys W1, b1, W2, b2")
        for n, g in zip(NAMES, grads):
            assert_tensor(got_grads[n], g, **tol, what=f"its gradient for {n}")

    def adam_is_right():
        param, grads = randn(3, 4, seed=907, **f64), [randn(3, 4, seed=908 + k, **f64) for k in range(2)]
        p = torch.nn.Parameter(param.clone())
        opt = torch.optim.Adam([p], lr=0.05)
        m, v = torch.zeros_like(param), torch.zeros_like(param)
        for t, g in enumerate(grads, start=1):
            p.grad = g.clone()
            opt.step()
            param, m, v = assert_tuple(submission.of("adam").adam_step(param, g, m, v, t, 0.05), 3)
            assert_tensor(param, p.detach(), **tol, what=f"its parameter after step {t}")

    judge_dependency("mlp_forward", forward_is_right)
    judge_dependency("mlp_backward", backward_is_right)
    judge_dependency("adam", adam_is_right)


# The trained network ---------------------------------------------------------------------------

def train(submission, device, x, y, start, steps: int, lr: float):
    """Check the dependencies, then call train_mlp; return (losses, params) checked for structure."""
    check_dependencies(submission, device)
    losses, params = assert_tuple(submission.train_mlp(x, y, *start, steps, lr), 2)
    if type(params) is not dict or set(params) != set(NAMES):
        got = sorted(map(str, params)) if type(params) is dict else type(params).__qualname__
        raise CheckFailure("params is not a dict with exactly the keys W1, b1, W2, b2", f"got {got}")
    return losses, params


def compare_history(losses, expected: torch.Tensor, rtol: float, atol: float) -> None:
    """Like assert_tensor, but a wrong history names the first step that differs."""
    try:
        assert_tensor(losses, expected, rtol=rtol, atol=atol, what="losses")
    except CheckFailure as exc:
        if "wrong values" not in exc.summary and "NaN" not in exc.summary and "inf" not in exc.summary:
            raise
        got = losses.detach().cpu().double()
        bad = ~torch.isclose(got, expected.cpu().double(), rtol=rtol, atol=atol)
        step = int(bad.nonzero()[0, 0]) + 1
        raise CheckFailure(f"the loss history differs from Adam's, first at step {step}",
                           f"got {got[step - 1].item():.8g}, expected {expected[step - 1].item():.8g} "
                           f"({int(bad.sum())} of {len(got)} steps differ)") from None


def compare_params(params: dict, expected: dict, rtol: float, atol: float) -> None:
    for n in NAMES:
        assert_tensor(params[n], expected[n], rtol=rtol, atol=atol, what=f"trained {n}")


def check_classifies(submission, x, y, params) -> None:
    """Run the trained parameters through the submission's own mlp_forward: every label on its side of 0.5."""
    p = submission.of("mlp_forward").mlp_forward(x, *(params[n] for n in NAMES))
    wrong = int(((p > 0.5) != (y > 0.5)).sum())
    if wrong:
        raise CheckFailure("the trained network misclassifies the training data",
                           f"{wrong} of {y.numel()} outputs are on the wrong side of 0.5")


def toy_problem(dtype, device):
    """The course's toy problem: three points, min-max normalised per column; the middle one is positive."""
    x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]], dtype=dtype, device=device)
    x = (x - x.amin(dim=0)) / (x.amax(dim=0) - x.amin(dim=0))  # [[0, 0, 0], [.5, .5, .5], [1, 1, 1]]
    y = torch.tensor([[0.0], [1.0], [0.0]], dtype=dtype, device=device)
    start = (randn(3, 4, seed=501, dtype=dtype, device=device), torch.zeros(4, dtype=dtype, device=device),
             randn(4, 1, seed=502, dtype=dtype, device=device), torch.zeros(1, dtype=dtype, device=device))
    return x, y, start


# Checks ----------------------------------------------------------------------------------------

@check(points=2)
def test_toy_problem_loss_history(submission, device):
    x, y, start = toy_problem(torch.float64, device)
    losses, params = train(submission, device, x, y, start, steps=200, lr=0.1)
    expected_losses, expected_params = reference_training(x, y, start, 200, 0.1)
    # float64: 200 steps of the same arithmetic in another order agree to ~1e-14; 1e-9 leaves room.
    compare_history(losses, expected_losses, rtol=1e-9, atol=1e-12)
    compare_params(params, expected_params, rtol=1e-9, atol=1e-12)


@check(points=1)
def test_toy_problem_is_learned(submission, device):
    x, y, start = toy_problem(torch.float64, device)
    _, params = train(submission, device, x, y, start, steps=200, lr=0.1)
    check_classifies(submission, x, y, params)
