"""Top-p computes its probabilities in the logits' own dtype, bfloat16 included."""

import torch

NEG_INF = float("-inf")


def _probabilities(logits: torch.Tensor) -> torch.Tensor:
    """softmax over the last dimension, in float32 for 16-bit logits (their own dtype otherwise)."""
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    return torch.softmax(logits, dim=-1)  # subtracts the row maximum: no overflow at a tiny temperature


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Set every logit below the k-th largest of its row to -inf; ties with the k-th are kept."""
    V = logits.shape[-1]
    if k <= 0 or k >= V:  # 0 switches the filter off; k >= V keeps every token
        return logits.clone()
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (B, 1): the k-th largest value of each row
    return logits.masked_fill(logits < kth, NEG_INF)


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the smallest set of most probable tokens whose probability reaches p (and their ties)."""
    if p >= 1.0:  # the whole distribution: rounding must not drop the least likely tokens
        return logits.clone()
    sorted_logits = torch.sort(logits, dim=-1, descending=True).values  # (B, V)
    probs = torch.softmax(sorted_logits, dim=-1)
    # The mass strictly before each sorted position (an exclusive cumulative sum, non-decreasing).
    cumulative = torch.cumsum(probs, dim=-1)
    before = torch.cat((torch.zeros_like(cumulative[..., :1]), cumulative[..., :-1]), dim=-1)
    n_keep = (before < p).sum(dim=-1, keepdim=True)  # >= 1: the first position has nothing before it
    threshold = sorted_logits.gather(-1, n_keep - 1)  # (B, 1): the logit of the last token kept
    # Every token tied with the last one kept is kept too: the result does not depend on the sort.
    return logits.masked_fill(logits < threshold, NEG_INF)


def sample(logits: torch.Tensor, u: torch.Tensor, temperature: float = 1.0, top_k: int = 0,
           top_p: float = 1.0) -> torch.Tensor:
    """Temperature, then top-k, then top-p, then the first token whose cumulative probability exceeds u."""
    if temperature == 0:
        return torch.argmax(logits, dim=-1)  # greedy: the first index of the row maximum
    x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    x = top_p_filter(top_k_filter(x / temperature, top_k), top_p)  # (B, V), removed tokens at -inf
    probs = torch.softmax(x, dim=-1)
    cdf = torch.cumsum(probs, dim=-1)  # vocabulary order
    # The number of cumulative values <= u is the index of the first one above it.
    index = (cdf <= u.to(cdf.dtype)[:, None]).sum(dim=-1)
    # u within rounding of 1 may leave no cumulative value above it: the last possible token then.
    last = torch.cumsum(probs > 0, dim=-1).argmax(dim=-1)  # the last index of non-zero probability
    return torch.minimum(index, last)
