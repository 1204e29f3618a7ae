"""Exponentiates the raw scores, without the running maximum: overflows for large scores."""
import math

import torch


def flash_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
                    block_size: int = 64) -> torch.Tensor:
    """softmax(q kᵀ / √d) v one (block × block) tile of scores at a time, never the whole (Tq, Tk) matrix."""
    *lead, Tq, d = q.shape
    Tk, dv = k.shape[-2], v.shape[-1]
    scale = 1.0 / math.sqrt(d)
    offset = Tk - Tq  # bottom-right causal alignment: query r sees keys 0 .. r + offset
    out = q.new_empty(*lead, Tq, dv)
    for i in range(0, Tq, block_size):
        qi = q[..., i:i + block_size, :] * scale  # (..., bq, d)
        bq = qi.shape[-2]
        m = qi.new_full((*lead, bq, 1), float("-inf"))  # running row maximum
        l = qi.new_zeros((*lead, bq, 1))  # running sum of exp(score - m)
        acc = qi.new_zeros((*lead, bq, dv))  # running sum of exp(score - m) · v
        # The tile's last row sees keys up to i + bq - 1 + offset: later key tiles are skipped whole.
        last = min(Tk, i + bq + offset) if causal else Tk
        for j in range(0, last, block_size):
            s = qi @ k[..., j:j + block_size, :].transpose(-2, -1)  # (..., bq, bk)
            bk = s.shape[-1]
            if causal and j + bk - 1 > i + offset:  # the tile crosses the diagonal
                rows = torch.arange(i, i + bq, device=q.device)[:, None] + offset
                cols = torch.arange(j, j + bk, device=q.device)[None, :]
                s = s.masked_fill(cols > rows, float("-inf"))
            m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))  # finite: key 0 is in the first tile
            p = torch.exp(s)
            correction = torch.ones_like(m)  # rescales what was summed under the old maximum
            l = l * correction + p.sum(dim=-1, keepdim=True)
            acc = acc * correction + p @ v[..., j:j + bk, :]
            m = m_new
        out[..., i:i + bq, :] = acc / l
    return out
