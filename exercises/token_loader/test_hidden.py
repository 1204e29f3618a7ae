"""Hidden checks for token_loader: uint16 values, the range of the offsets, the exact draw, seeds,
edge sizes, files written again, integer dtypes and views, and a file far larger than the batch.

Every check has the submission write its own file first (the trusted side cannot place files in the
worker's folder) and reads it back in the same check; each check uses its own file names.
"""

import statistics
import time

import pytest
import torch

from grader.checks import CheckFailure, assert_scalar, assert_tensor, assert_tuple, check, skip_unless_timed

EXACT = dict(rtol=0, atol=0)  # token ids: integers, compared exactly


def draw_offsets(n: int, batch_size: int, context_length: int, seed: int) -> torch.Tensor:
    """The stated draw: B offsets uniform in [0, N - T - 1] from a CPU generator seeded with ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, n - context_length, (batch_size,), generator=gen)


def expected_batch(tokens: torch.Tensor, batch_size: int, context_length: int, seed: int, device):
    offsets = draw_offsets(tokens.numel(), batch_size, context_length, seed)
    index = offsets[:, None] + torch.arange(context_length)  # (B, T)
    stream = tokens.detach().cpu().to(torch.int64)
    return stream[index].to(device), stream[index + 1].to(device)


def write(submission, tokens: torch.Tensor, path: str, mutating: bool = False) -> None:
    """The submission writes ``tokens`` to ``path`` in its folder; ``mutating`` skips echoing them back."""
    got = (submission.mutating("write_tokens", tokens, path) if mutating
           else submission.write_tokens(tokens, path))
    assert_scalar(got, 2 * tokens.numel(), rtol=0, atol=0, what="bytes written (2 per token)")


def batch(submission, path, batch_size, context_length, seed, device):
    return assert_tuple(submission.get_batch(path, batch_size, context_length, seed, str(device)), 2)


def compare(got, tokens, batch_size, context_length, seed, device, when=""):
    ex, ey = expected_batch(tokens, batch_size, context_length, seed, device)
    assert_tensor(got[0], ex, **EXACT, what=f"x{when}")
    assert_tensor(got[1], ey, **EXACT, what=f"y{when}")


def distinct_stream(n: int, seed: int) -> torch.Tensor:
    """n different token ids in [0, 65535]: every window then says where it starts."""
    return torch.randperm(65536, generator=torch.Generator().manual_seed(seed))[:n]


@check(points=1)
def test_results_are_int64_on_device(submission, device):
    write(submission, distinct_stream(500, 1), "dtype.bin")
    x, y = batch(submission, "dtype.bin", 3, 8, 5, device)
    for what, t in (("x", x), ("y", y)):
        if type(t) is not torch.Tensor:
            raise CheckFailure(f"{what} is not a tensor")
        if t.dtype != torch.int64:
            raise CheckFailure(f"{what} has dtype {t.dtype}, expected torch.int64 (what embeddings and losses take)")
        if t.device.type != torch.device(device).type:
            raise CheckFailure(f"{what} is on the wrong device")
        if tuple(t.shape) != (3, 8):
            raise CheckFailure(f"{what} has the wrong shape (expected (batch_size, context_length))")


@check(points=2)
def test_values_above_32767(submission, device):
    # uint16 holds 0..65535: written or read as int16, half of the vocabulary comes back negative.
    tokens = torch.randint(32768, 65536, (2000,), generator=torch.Generator().manual_seed(2))
    tokens[:10] = torch.tensor([65535, 32768, 32767, 0, 1, 65534, 40000, 50256, 65535, 32768])
    write(submission, tokens, "high.bin")
    compare(batch(submission, "high.bin", 6, 40, 77, device), tokens, 6, 40, 77, device)
    # The first window of a stream just one token longer than T covers the special values above.
    write(submission, tokens[:11], "high_short.bin")
    compare(batch(submission, "high_short.bin", 2, 10, 3, device), tokens[:11], 2, 10, 3, device,
            " (a stream of T + 1 tokens)")


@check(points=2)
def test_windows_contiguous_and_in_range(submission, device):
    # Judged on its own, whatever the draw: each row must be one run of consecutive tokens of the
    # stream, starting at an offset in [0, N - T - 1], and y the same run moved on by one token.
    n, b, t = 4000, 64, 50
    tokens = distinct_stream(n, 3)
    write(submission, tokens, "range.bin")
    x, y = batch(submission, "range.bin", b, t, 2024, device)
    for what, v in (("x", x), ("y", y)):
        if type(v) is not torch.Tensor or tuple(v.shape) != (b, t):
            raise CheckFailure(f"{what} has the wrong shape or type")
    x, y = x.cpu().to(torch.int64), y.cpu().to(torch.int64)
    where = torch.full((65536,), -1, dtype=torch.int64)
    where[tokens] = torch.arange(n)  # token id -> its position in the stream
    if bool(((x < 0) | (x > 65535)).any()):
        raise CheckFailure("x holds values that are not token ids of the stream")
    starts = where[x[:, 0]]  # (B,)
    if bool((starts < 0).any()):
        raise CheckFailure("x holds values that are not token ids of the stream")
    if bool((starts > n - t - 1).any()):
        raise CheckFailure("a window starts after N - T - 1: its target would run past the stream")
    stream = tokens.to(torch.int64)
    index = starts[:, None] + torch.arange(t)
    if not torch.equal(x, stream[index]):
        raise CheckFailure("a row of x is not a contiguous window of the stream")
    if not torch.equal(y, stream[index + 1]):
        raise CheckFailure("y is not x shifted by one token")


@check(points=2)
def test_offsets_are_the_stated_draw(submission, device):
    tokens = distinct_stream(9000, 4)
    write(submission, tokens, "draw.bin")
    for b, t, seed in ((16, 64, 0), (7, 33, 1234567), (40, 5, 2**31 + 5)):
        compare(batch(submission, "draw.bin", b, t, seed, device), tokens, b, t, seed, device,
                f" (B={b}, T={t}, seed {seed})")


@check(points=1)
def test_last_offset_is_reachable(submission, device):
    # N = T + 2: the offsets are 0 or 1, and 1 (the last that leaves room for y) must come up.
    t = 30
    tokens = distinct_stream(t + 2, 5)
    write(submission, tokens, "last.bin")
    seed = 99
    assert int(draw_offsets(t + 2, 24, t, seed).max()) == 1  # the oracle's draw does reach it
    got = batch(submission, "last.bin", 24, t, seed, device)
    compare(got, tokens, 24, t, seed, device)


@check(points=1)
def test_stream_of_t_plus_one_tokens(submission, device):
    # One possible window: every row is x = tokens[:-1], y = tokens[1:], whatever the seed.
    tokens = distinct_stream(13, 6)
    write(submission, tokens, "one_window.bin")
    compare(batch(submission, "one_window.bin", 3, 12, 8, device), tokens, 3, 12, 8, device)


@check(points=1)
def test_batch_of_one_and_single_token_windows(submission, device):
    tokens = distinct_stream(257, 7)
    write(submission, tokens, "small.bin")
    compare(batch(submission, "small.bin", 1, 19, 42, device), tokens, 1, 19, 42, device, " (B = 1)")
    compare(batch(submission, "small.bin", 11, 1, 43, device), tokens, 11, 1, 43, device, " (T = 1)")


@check(points=2)
def test_same_seed_same_batch_other_seed_differs(submission, device):
    tokens = distinct_stream(5000, 8)
    write(submission, tokens, "seeds.bin")
    first = batch(submission, "seeds.bin", 8, 16, 314, device)
    again = batch(submission, "seeds.bin", 8, 16, 314, device)
    other = batch(submission, "seeds.bin", 8, 16, 315, device)
    for what, a, b in (("x", first[0], again[0]), ("y", first[1], again[1])):
        if type(a) is not torch.Tensor or type(b) is not torch.Tensor or a.shape != b.shape or \
                not torch.equal(a.cpu(), b.cpu()):
            raise CheckFailure(f"{what} differs between two calls with the same seed")
    if type(other[0]) is torch.Tensor and other[0].shape == first[0].shape and \
            torch.equal(other[0].cpu(), first[0].cpu()):
        raise CheckFailure("another seed gives the same batch: the seed is not used")
    compare(other, tokens, 8, 16, 315, device, " for the second seed")


@check(points=1)
def test_file_written_again_is_read_again(submission, device):
    # A training script rewrites train.bin between runs: a map or array kept from an earlier call
    # (cached by path, or opened once at import) serves the old tokens.
    first = distinct_stream(3000, 9)
    write(submission, first, "again.bin")
    compare(batch(submission, "again.bin", 4, 20, 10, device), first, 4, 20, 10, device, " (first file)")
    second = torch.randint(0, 65536, (4500,), generator=torch.Generator().manual_seed(10))
    write(submission, second, "again.bin")
    compare(batch(submission, "again.bin", 4, 20, 10, device), second, 4, 20, 10, device,
            " after the file was written again")


@check(points=1)
def test_write_integer_dtypes_and_views(submission, device):
    # int32 and int64, on the device, and a strided view: the file holds the values in order.
    base = torch.randint(0, 65536, (2 * 301,), generator=torch.Generator().manual_seed(11))
    cases = {"int32": base[:301].to(torch.int32), "view": base[::2], "device": base[301:].to(device)}
    for name, tokens in cases.items():
        write(submission, tokens, f"kind_{name}.bin")
        # N = T + 1 with T = 300: x and y are the whole file, read back in order.
        compare(batch(submission, f"kind_{name}.bin", 2, 300, 12, device), tokens, 2, 300, 12, device,
                f" ({name} tokens)")


@check(points=1)
def test_empty_stream_writes_nothing(submission, device):
    write(submission, torch.zeros(0, dtype=torch.int64), "empty.bin")


@check(points=1, kind="timing")
def test_reads_only_the_windows(submission, device, request):
    # np.memmap pages in only the windows: a batch costs the same from a 32 MB file as from an 8 KB
    # one (the call's round trip is the same for both). Measured: an honest answer 1.1-1.3x; loading
    # the whole file on every call (np.fromfile, even without a conversion) 12-18x. Budget 3x.
    # Timed like the [[timing]] checks: only for a correct answer, and not at all with --no-timing.
    skip_unless_timed(request, "token_loader")
    budget = 3.0
    gen = torch.Generator().manual_seed(13)
    # int16 holds ids below 32768 in half the bytes of int32: 32 MB to send for 2^24 tokens.
    small = torch.randint(0, 32768, (1 << 12,), generator=gen, dtype=torch.int16)
    big = torch.randint(0, 32768, (1 << 24,), generator=gen, dtype=torch.int16)
    write(submission, small, "timing_small.bin")
    write(submission, big, "timing_big.bin", mutating=True)  # not echoed back for comparison
    b, t = 8, 256
    compare(batch(submission, "timing_big.bin", b, t, 0, device), big, b, t, 0, device, " from the large file")
    times = {"timing_small.bin": [], "timing_big.bin": []}
    for i in range(1, 16):
        for path in (("timing_small.bin", "timing_big.bin") if i % 2 else ("timing_big.bin", "timing_small.bin")):
            t0 = time.perf_counter()
            submission.get_batch(path, b, t, i, str(device))
            times[path].append(time.perf_counter() - t0)
    ratio = statistics.median(times["timing_big.bin"]) / statistics.median(times["timing_small.bin"])
    request.node.measured = {"ratio": round(ratio, 3), "budget": budget, "rounds": len(times["timing_big.bin"])}
    if ratio > budget:
        raise CheckFailure(f"a batch from a 32 MB file took {ratio:.1f}x as long as from an 8 KB one "
                           f"(budget {budget:g}x)", "map the file (np.memmap) and read only the windows")
