"""Safe codec for values crossing the sandbox boundary: no pickle, only plain data.

A message is one frame: an 8-byte header (JSON length, blob length), a JSON document and the
concatenated raw bytes of every tensor and bytes value it mentions. Decoding never runs code: it
builds only ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``list``, ``tuple``, ``dict``
and plain ``torch.Tensor`` objects, and checks every size before it trusts it.
"""

from __future__ import annotations

import json
import math
import re
import socket
import struct
import time


class _LazyTorch:
    """Stands for torch until a tensor is met: a frame of plain data (a spawn request) needs no torch,
    so the trusted process can start its zygote before it pays for its own torch import."""

    def __getattr__(self, name: str):
        import torch as real

        globals()["torch"] = real
        return getattr(real, name)


torch = _LazyTorch()

HEADER = struct.Struct("<II")
MAX_JSON = 64 * 1024 * 1024
MAX_BLOB = 4 * 1024 * 1024 * 1024 - 1
MAX_DEPTH = 64
MAX_INT_DIGITS = 4000
DEVICE = re.compile(r"cpu|cuda(:[0-9]{1,2})?")  # the only devices a decoded tensor may land on

DTYPE_LIST = ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool",
              "complex64", "complex128")
_tables: dict[str, dict] = {}


def _dtypes() -> dict:
    """name -> torch dtype, built on first use (see ``_LazyTorch``)."""
    if not _tables:
        _tables["DTYPES"] = {name: getattr(torch, name) for name in DTYPE_LIST}
        _tables["DTYPE_NAMES"] = {v: k for k, v in _tables["DTYPES"].items()}
    return _tables["DTYPES"]


def __getattr__(name: str):
    if name in ("DTYPES", "DTYPE_NAMES"):
        _dtypes()
        return _tables[name]
    raise AttributeError(name)


class CodecError(Exception):
    """A value that the codec refuses to carry, or a frame that is not well formed."""


def _type_name(value: object) -> str:
    cls = type(value)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


_EXACT = 2**53  # an int at least this large crosses as a string: JSON readers elsewhere would round it
_SCALARS = frozenset({int, float, str, bool, type(None)})  # what json.loads makes of a leaf


def _as_is(x: object) -> bool:
    """Whether ``encode`` writes a value into the JSON document as itself (it tags everything else)."""
    t = type(x)
    return t is str or x is None or t is bool or (t is int and -_EXACT < x < _EXACT) or (t is float and x - x == 0.0)


def encode(value: object) -> bytes:
    """Encode a value into one frame; raise CodecError naming the first unsupported type."""
    blobs: list[bytes] = []
    offset = 0

    def walk(v: object, depth: int) -> object:
        nonlocal offset
        if depth > MAX_DEPTH:
            raise CodecError("value nested too deeply")
        t = type(v)
        if v is None or t is bool or t is str:
            return v
        if t is int:
            return {"i": str(v)} if abs(v) >= _EXACT else v
        if t is float:
            return v if math.isfinite(v) else {"f": repr(v)}
        if t is bytes:  # raw, in the blob beside the tensors' bytes
            blobs.append(v)
            offset += len(v)
            return {"y": [offset - len(v), len(v)]}
        if t is list or t is tuple or t is dict:
            if depth >= MAX_DEPTH and v:
                raise CodecError("value nested too deeply")
            if t is dict:
                return {"d": [[k if _as_is(k) else walk(k, depth + 1), x if _as_is(x) else walk(x, depth + 1)]
                              for k, x in v.items()]}
            return {"l" if t is list else "t": [x if _as_is(x) else walk(x, depth + 1) for x in v]}
        if t is torch.Tensor:
            _dtypes()
            if v.dtype not in _tables["DTYPE_NAMES"]:
                raise CodecError(f"tensor dtype {v.dtype} is not supported")
            if v.layout != torch.strided:
                raise CodecError(f"tensor layout {v.layout} is not supported")
            if v.is_conj() or v.is_neg():
                v = v.resolve_conj().resolve_neg()
            device = str(v.device)
            strides = _layout(v)
            if strides is not None:
                # A view crosses as the storage span it covers, with its strides, so that a check can
                # hand a submission a transposed or sliced tensor and see what it does with one.
                span = 1 + sum((n - 1) * st for n, st in zip(v.shape, strides))
                data = v.detach().as_strided((span,), (1,), v.storage_offset()).to("cpu").contiguous()
            else:
                data = v.detach().to("cpu").contiguous().reshape(-1)
                if data.numel() and data.stride(0) != 1:  # "contiguous" with a size-1 dim of any stride
                    data = data.new_empty(data.shape).copy_(data)
            raw = data.view(torch.uint8).numpy().tobytes() if data.numel() else b""
            blobs.append(raw)
            start = offset
            offset += len(raw)
            head = [_tables["DTYPE_NAMES"][v.dtype], list(v.shape), device, start, len(raw), bool(v.requires_grad)]
            return {"x": head + ([strides] if strides is not None else [])}
        raise CodecError(f"values of type {_type_name(v)} cannot be returned (plain tensors, numbers, "
                         "strings, bytes, and lists/tuples/dicts of those only)")

    doc = json.dumps(walk(value, 0), separators=(",", ":")).encode()
    blob = b"".join(blobs)
    if len(doc) > MAX_JSON or len(blob) > MAX_BLOB:
        raise CodecError("value too large to send")
    return HEADER.pack(len(doc), len(blob)) + doc + blob


def decode(frame: bytes | memoryview, device_map: dict[str, str] | None = None) -> object:
    """Decode one frame built by :func:`encode`, validating every size and tag.

    Any malformed input raises CodecError, never another exception: the frame may come from code
    that was written to break the decoder.
    """
    try:
        return _decode(memoryview(frame), device_map)
    except CodecError:
        raise
    except RecursionError:
        raise CodecError("value nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - a crafted frame must not crash the trusted side
        raise CodecError(f"malformed frame ({type(exc).__name__})") from None


def _decode(frame: memoryview, device_map: dict[str, str] | None) -> object:
    if len(frame) < HEADER.size:
        raise CodecError("truncated frame")
    n_doc, n_blob = HEADER.unpack_from(frame)
    if HEADER.size + n_doc + n_blob != len(frame) or n_doc > MAX_JSON:
        raise CodecError("frame sizes do not add up")
    try:
        doc = json.loads(bytes(frame[HEADER.size:HEADER.size + n_doc]))
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"malformed frame: {str(exc)[:200]}") from None
    blob = frame[HEADER.size + n_doc:]

    def walk(v: object, depth: int) -> object:
        if depth > MAX_DEPTH:
            raise CodecError("value nested too deeply")
        if type(v) in _SCALARS:
            return v
        if type(v) is dict and len(v) == 1:
            (tag, body), = v.items()
            if tag == "y" and type(body) is list and len(body) == 2:
                start, length = body
                if not (type(start) is int and type(length) is int and 0 <= start and 0 <= length
                        and start + length <= len(blob)):
                    raise CodecError("bytes out of range")
                return bytes(blob[start:start + length])
            if tag in ("l", "t", "d") and type(body) is list:
                if depth >= MAX_DEPTH and body:
                    raise CodecError("value nested too deeply")
                if tag == "d":
                    out = {}
                    for pair in body:
                        if not (type(pair) is list and len(pair) == 2):
                            raise CodecError("malformed dict entry")
                        key, item = pair
                        key = key if type(key) in _SCALARS else walk(key, depth + 1)
                        item = item if type(item) in _SCALARS else walk(item, depth + 1)
                        try:
                            out[key] = item
                        except TypeError:
                            raise CodecError("unhashable dict key") from None
                    return out
                # A leaf is itself; anything else is walked (a bare JSON list among them is refused there).
                items = [x if type(x) in _SCALARS else walk(x, depth + 1) for x in body]
                return items if tag == "l" else tuple(items)
            if tag == "i" and isinstance(body, str) and 0 < len(body) <= MAX_INT_DIGITS:
                try:
                    return int(body, 10)
                except ValueError:
                    raise CodecError("malformed integer") from None
            if tag == "f" and body in ("nan", "inf", "-inf"):
                return float(body)
            if tag == "x" and isinstance(body, list) and len(body) in (6, 7):
                return _tensor(body, blob, device_map)
        raise CodecError("unknown value in frame")

    return walk(doc, 0)


def _layout(v) -> list[int] | None:
    """The strides of a non-contiguous view worth sending as a view (its span at most 4× its size)."""
    if v.is_contiguous() or v.numel() == 0 or any(st < 0 for st in v.stride()):
        return None
    span = 1 + sum((n - 1) * st for n, st in zip(v.shape, v.stride()))
    return list(v.stride()) if span <= 4 * v.numel() + 64 else None


def _tensor(body: list, blob: memoryview, device_map: dict[str, str] | None) -> torch.Tensor:
    dtype_name, shape, device, start, length, requires_grad = body[:6]
    strides = body[6] if len(body) == 7 else None
    if not isinstance(dtype_name, str) or dtype_name not in _dtypes() or not isinstance(shape, list) or \
            len(shape) > MAX_DEPTH or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**62
                                              for s in shape):
        raise CodecError("malformed tensor header")
    if not (isinstance(start, int) and isinstance(length, int) and 0 <= start and start + length <= len(blob)):
        raise CodecError("tensor bytes out of range")
    dtype = _dtypes()[dtype_name]
    numel = math.prod(shape)
    if strides is not None:
        if not (isinstance(strides, list) and len(strides) == len(shape) and numel > 0 and all(
                isinstance(st, int) and not isinstance(st, bool) and 0 <= st < 2**62 for st in strides)):
            raise CodecError("malformed tensor strides")
        numel = 1 + sum((n - 1) * st for n, st in zip(shape, strides))  # the span the view covers
    itemsize = 1 if dtype == torch.bool else torch.empty((), dtype=dtype).element_size()
    if numel * itemsize != length:
        raise CodecError("tensor size does not match its bytes")
    raw = bytearray(blob[start:start + length])
    if dtype == torch.bool:
        flat = torch.frombuffer(raw, dtype=torch.uint8) != 0 if length else torch.empty(0, dtype=torch.bool)
    else:
        flat = torch.frombuffer(raw, dtype=dtype) if length else torch.empty(0, dtype=dtype)
    tensor = flat.as_strided(shape, strides) if strides is not None else flat.reshape(shape)
    if not isinstance(device, str) or not DEVICE.fullmatch(device):
        raise CodecError(f"tensor on an unsupported device {str(device)[:40]!r}")
    if device_map is not None:
        device = device_map.get(device, device)
    if device != "cpu":
        try:
            tensor = tensor.to(device)
        except Exception as exc:  # noqa: BLE001 - no CUDA here, a bad index: the value cannot be used
            raise CodecError(f"tensor on unavailable device {device!r}: {str(exc)[:200]}") from None
    if requires_grad is True and tensor.is_floating_point():
        tensor.requires_grad_(True)
    return tensor


# Framing on a stream socket ------------------------------------------------------------------

def send(sock: socket.socket, frame: bytes) -> None:
    if len(frame) < 65536:
        sock.sendall(struct.pack("<Q", len(frame)) + frame)
    else:
        sock.sendall(struct.pack("<Q", len(frame)))
        sock.sendall(frame)


def recv(sock: socket.socket, limit: int = MAX_JSON + MAX_BLOB + HEADER.size,
         deadline: float | None = None) -> bytes | None:
    """Receive one frame; None at a clean end of stream.

    ``deadline`` (``time.monotonic()``) bounds the whole frame, not each read: a sender that trickles
    one byte at a time cannot stretch a call past it (``TimeoutError`` is raised instead).
    """
    head = _recv_exact(sock, 8, deadline)
    if head is None:
        return None
    (n,) = struct.unpack("<Q", head)
    if n > limit:
        raise CodecError(f"frame of {n} bytes exceeds the limit of {limit} bytes")
    body = _recv_exact(sock, n, deadline)
    if body is None:
        raise CodecError("stream ended inside a frame")
    return body


def _recv_exact(sock: socket.socket, n: int, deadline: float | None = None) -> bytes | None:
    # Grown as bytes arrive: a header that announces a huge frame costs nothing until it is sent.
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("frame not received in time")
            sock.settimeout(remaining)
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            if not buf:
                return None
            raise CodecError("stream ended inside a frame")
        buf += chunk
    return bytes(buf)
