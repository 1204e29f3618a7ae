"""Multi-head attention with the head axis made explicit by reshape and einsum."""
import torch


def multihead_attention(x, Wq, Wk, Wv, Wo, n_heads, causal=True):
    b, t, d = x.shape
    split = lambda w: torch.einsum("btd,ed->bte", x, w).reshape(b, t, n_heads, d // n_heads)
    q, k, v = split(Wq), split(Wk), split(Wv)
    scores = torch.einsum("bqhc,bkhc->bhqk", q, k) * (d // n_heads) ** -0.5
    if causal:
        allowed = torch.tril(torch.ones(t, t, dtype=torch.bool, device=x.device))
        scores = torch.where(allowed, scores, torch.finfo(scores.dtype).min)
    mixed = torch.einsum("bhqk,bkhc->bqhc", scores.softmax(dim=-1), v)
    return torch.einsum("bte,de->btd", mixed.reshape(b, t, d), Wo)
