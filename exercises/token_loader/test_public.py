"""Public checks for token_loader: the worked example and the basic contract.

The worker's working folder is private to the submission, so every check first has the submission
write its own file with ``write_tokens`` and then reads it back with ``get_batch``: the calls of one
check reach the same worker and the same folder.
"""

import torch

from grader.checks import CheckFailure, assert_scalar, assert_tensor, assert_tuple, check


def expected_batch(tokens: torch.Tensor, batch_size: int, context_length: int, seed: int, device):
    """The oracle: the stated draw of the offsets, then the windows cut from the known stream."""
    n, t = tokens.numel(), context_length
    offsets = torch.randint(0, n - t, (batch_size,), generator=torch.Generator().manual_seed(seed))  # (B,)
    index = offsets[:, None] + torch.arange(t)  # (B, T)
    stream = tokens.detach().cpu().to(torch.int64)
    return stream[index].to(device), stream[index + 1].to(device)


def batch(submission, path, batch_size, context_length, seed, device):
    x, y = assert_tuple(submission.get_batch(path, batch_size, context_length, seed, str(device)), 2)
    return x, y


@check(points=1)
def test_worked_example(submission, device):
    tokens = torch.tensor([5, 40000, 7, 65535, 3, 12, 9, 1])
    assert_scalar(submission.write_tokens(tokens, "example.bin"), 16, rtol=0, atol=0, what="bytes written")
    x, y = batch(submission, "example.bin", 2, 3, 2, device)
    # Offsets [3, 2] (torch.randint(0, 5, (2,), generator=torch.Generator().manual_seed(2))).
    assert_tensor(x, torch.tensor([[65535, 3, 12], [7, 65535, 3]], device=device), rtol=0, atol=0, what="x")
    assert_tensor(y, torch.tensor([[3, 12, 9], [65535, 3, 12]], device=device), rtol=0, atol=0, what="y")


@check(points=1)
def test_random_stream(submission, device):
    tokens = torch.randint(0, 50257, (3001,), generator=torch.Generator().manual_seed(11))  # GPT-2's vocabulary
    assert_scalar(submission.write_tokens(tokens, "stream.bin"), 2 * 3001, rtol=0, atol=0, what="bytes written")
    x, y = batch(submission, "stream.bin", 5, 17, 123, device)
    ex, ey = expected_batch(tokens, 5, 17, 123, device)
    assert_tensor(x, ex, rtol=0, atol=0, what="x")
    assert_tensor(y, ey, rtol=0, atol=0, what="y")
    if not torch.equal(x[:, 1:], y[:, :-1]):
        raise CheckFailure("y is not x shifted by one token", "y[:, t] must be the token after x[:, t]")
