"""Public checks for sgd_step: the worked example, against torch.optim.SGD."""

import torch

from grader.checks import CheckFailure, assert_tensor, assert_tuple, check


@check(points=1)
def test_plain_step(submission, device):
    param = torch.tensor([1.0, -2.0, 0.5], device=device)
    grad = torch.tensor([0.5, 0.5, -4.0], device=device)
    new_param, buf = assert_tuple(submission.sgd_step(param, grad, None, 0.1), 2)
    # One multiply and one subtract per entry: within an ulp of torch's fused add.
    assert_tensor(new_param, param - 0.1 * grad, rtol=1e-6, atol=1e-7, what="new_param")
    if buf is not None:
        raise CheckFailure("the buffer should be None without momentum", f"got {type(buf).__qualname__}")


@check(points=1)
def test_worked_example_with_momentum(submission, device):
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], device=device))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    param, buf = p.detach().clone(), None
    for step, g in enumerate(([0.5, 0.5], [0.5, -1.0]), start=1):
        grad = torch.tensor(g, device=device)
        p.grad = grad.clone()
        opt.step()
        param, buf = assert_tuple(submission.sgd_step(param, grad, buf, 0.1, momentum=0.9), 2)
        assert_tensor(param, p.detach(), rtol=1e-6, atol=1e-7, what=f"param after step {step}")
        assert_tensor(buf, opt.state[p]["momentum_buffer"], rtol=1e-6, atol=1e-7, what=f"buffer after step {step}")
