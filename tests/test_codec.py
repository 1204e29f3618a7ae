"""The safe codec: plain values round-trip exactly; anything else, and any malformed frame, is refused
with a CodecError (never another exception, never code run); a slow sender cannot stretch a read."""

from __future__ import annotations

import json
import math
import socket
import struct
import threading
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.sandbox import codec
from grader.sandbox.codec import CodecError, decode, encode


def _same(a, b) -> bool:
    """Exactly the same plain value: same types all the way down, tensors equal bit for bit."""
    if isinstance(a, torch.Tensor):
        bits = lambda t: t.detach().contiguous().reshape(-1).view(torch.uint8)  # noqa: E731 - NaN == NaN
        return type(b) is torch.Tensor and a.dtype == b.dtype and a.shape == b.shape and \
            a.requires_grad == b.requires_grad and torch.equal(bits(a), bits(b))
    if isinstance(a, float) and math.isnan(a):
        return type(b) is float and math.isnan(b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("dtype", list(codec.DTYPES.values()), ids=list(codec.DTYPES))
def test_every_dtype_round_trips(dtype):
    g = torch.Generator().manual_seed(3)
    x = (torch.randn(3, 4, 5, generator=g, dtype=torch.float64) * 50).to(dtype)  # every dim a different size
    y = decode(encode(x))
    assert type(y) is torch.Tensor and y.dtype == dtype and y.shape == (3, 4, 5)
    assert _same(x, y)


def test_shapes_views_and_flags_round_trip():
    g = torch.Generator().manual_seed(5)
    base = torch.randn(6, 8, generator=g)
    cases = [torch.tensor(2.5), torch.empty(0, 3), base.t()[::2], base[:, 1], base.expand(2, 6, 8),
             torch.randn(2, 3, dtype=torch.complex64, generator=g).conj(), torch.tensor([1.0, -2.0])._neg_view(),
             torch.tensor([float("nan"), float("inf"), -float("inf")]), torch.ones(2, 2, requires_grad=True)]
    for x in cases:
        y = decode(encode(x))
        assert _same(x.resolve_conj().resolve_neg(), y), x
        # Views keep their layout (a check can hand a submission a transposed or sliced tensor).
        assert y.stride() == x.resolve_conj().resolve_neg().stride()


def test_nested_plain_values_round_trip():
    value = {"a": [1, 2.5, None, True, "text", b"\x00\xff"], (1, "k"): (torch.arange(3), {"n": -(2**80)}),
             3: float("nan"), "inf": -math.inf}
    assert _same(value, decode(encode(value)))


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text() | st.binary(),
                    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) |
                    st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=20))
@settings(max_examples=150, deadline=None)
def test_any_plain_structure_round_trips(value):
    assert _same(value, decode(encode(value)))


class _Sub(torch.Tensor):
    pass


class _List(list):
    pass


class _Dict(dict):
    pass


class _Float(float):
    pass


@pytest.mark.parametrize("value", [
    torch.zeros(2).as_subclass(_Sub), torch.nn.Parameter(torch.zeros(2)), np.zeros(3), _List([1.0]),
    _Dict(a=1), _Float(0.5), object(), {1, 2}, torch.zeros(2).to_sparse(), [torch.zeros(1), np.float64(1.0)],
    {"k": lambda: 1}, torch.float32,
], ids=["subclass", "parameter", "numpy", "list-subclass", "dict-subclass", "float-subclass", "object", "set",
        "sparse", "numpy-scalar-inside", "function-inside", "dtype"])
def test_other_types_are_refused_by_name(value):
    with pytest.raises(CodecError, match="cannot be returned|not supported"):
        encode(value)


def _frame(doc, blob: bytes = b"") -> bytes:
    raw = json.dumps(doc).encode() if not isinstance(doc, bytes) else doc
    return struct.pack("<II", len(raw), len(blob)) + raw + blob


@pytest.mark.parametrize("frame", [
    b"", b"\x01\x02", struct.pack("<II", 5, 0) + b"{}",  # truncated, sizes that do not add up
    _frame(b"{not json"), _frame({"q": 1}), _frame({"i": "12x"}), _frame({"i": "9" * 5000}),
    _frame({"y": [0, 4]}, b"ab"), _frame({"y": [-1, 1]}, b"ab"), _frame({"y": ["0", 1]}, b"ab"), _frame({"f": "1e5"}), _frame({"d": [[[1], 2]]}), _frame({"d": [[1]]}),
    _frame({"x": ["float32", [2], "cpu", 0, 8, False]}, b"\x00" * 4),  # bytes out of range
    _frame({"x": ["float32", [3], "cpu", 0, 8, False]}, b"\x00" * 8),  # numel does not match
    _frame({"x": ["float32", [2], "cuda:0; rm -rf /", 0, 8, False]}, b"\x00" * 8),
    _frame({"x": ["float32", [2], "meta", 0, 8, False]}, b"\x00" * 8),
    _frame({"x": ["object", [1], "cpu", 0, 8, False]}, b"\x00" * 8),
    _frame({"x": ["float32", [0, 2**70], "cpu", 0, 0, False]}),
    _frame({"x": ["float32", [-1], "cpu", 0, 0, False]}),
    _frame({"x": [["float32"], [1], "cpu", 0, 4, False]}, b"\x00" * 4),
    _frame(b"[" * 100_000 + b"]" * 100_000),  # nesting deeper than the parser allows
    _frame([[[]]]),  # an untagged list
], ids=lambda f: f[:24].hex())
def test_malformed_frames_raise_codec_error_only(frame):
    with pytest.raises(CodecError):
        decode(frame)


def test_deep_nesting_is_refused_both_ways():
    value: list = []
    for _ in range(codec.MAX_DEPTH + 5):
        value = [value]
    with pytest.raises(CodecError, match="nested too deeply"):
        encode(value)
    doc: dict = {"l": []}
    for _ in range(codec.MAX_DEPTH + 5):
        doc = {"l": [doc]}
    with pytest.raises(CodecError, match="nested too deeply"):
        decode(_frame(doc))


def test_decoded_tensor_does_not_share_the_frame_memory():
    frame = bytearray(encode(torch.arange(4, dtype=torch.int32)))
    y = decode(frame)
    frame[-16:] = b"\xff" * 16
    assert y.tolist() == [0, 1, 2, 3]


def _pair():
    a, b = socket.socketpair()
    return a, b


def test_recv_round_trip_and_clean_end():
    a, b = _pair()
    with a, b:
        payload = encode({"k": torch.randn(50, 7)})
        codec.send(a, payload)
        assert codec.recv(b) == payload
        a.close()
        assert codec.recv(b) is None


def test_recv_refuses_a_frame_over_the_limit_before_reading_it():
    a, b = _pair()
    with a, b:
        a.sendall(struct.pack("<Q", 2**40))  # announces a terabyte, sends nothing
        with pytest.raises(CodecError, match="exceeds the limit"):
            codec.recv(b, limit=2**20)


def test_end_of_stream_inside_a_frame_is_an_error():
    a, b = _pair()
    with b:
        a.sendall(struct.pack("<Q", 100) + b"x" * 10)
        a.close()
        with pytest.raises(CodecError, match="inside a frame"):
            codec.recv(b)


def test_a_trickling_sender_cannot_stretch_the_deadline():
    a, b = _pair()
    stop = threading.Event()

    def trickle():
        a.sendall(struct.pack("<Q", 1000))
        while not stop.is_set():
            try:
                a.send(b"x")  # one byte every 50 ms: each read alone would be quick
            except OSError:
                return
            time.sleep(0.05)

    t = threading.Thread(target=trickle)
    t.start()
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            codec.recv(b, deadline=time.monotonic() + 0.4)
        # The whole frame had 0.4 s, not each byte: well under the 50 s the trickle would take.
        assert time.monotonic() - start < 2.0
    finally:
        stop.set()
        t.join()
        a.close()
        b.close()


def test_a_view_far_sparser_than_its_size_crosses_contiguous():
    base = torch.randn(1000, 10)
    sparse = base[::100, ::5]  # 20 elements spread over 9 996: sending the span would cost 500x
    y = decode(encode(sparse))
    assert torch.equal(y, sparse) and y.is_contiguous()


def test_strides_that_overrun_the_bytes_are_refused():
    frame = bytearray(encode(torch.randn(4, 3).t()))
    text = bytes(frame)
    forged = text.replace(b"[1,3]]", b"[9,9]]")
    assert forged != text
    n_doc = int.from_bytes(forged[:4], "little")
    with pytest.raises(CodecError):
        decode(forged[:8] + forged[8:8 + n_doc] + forged[8 + n_doc:])
