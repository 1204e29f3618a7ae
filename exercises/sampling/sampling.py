"""Exercise: sampling the next token: temperature, top-k, top-p (nucleus) and the inverse CDF."""

import torch


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits of each row; set every other logit to -inf.

    A logit is kept when it is >= the k-th largest value of its row (counted with repetitions), so
    every token tied with the k-th largest is kept too and a row can keep more than k tokens: this
    is Hugging Face's ``TopKLogitsWarper``. ``k >= V`` keeps every token and ``k == 0`` switches the
    filter off (the logits come back unchanged).

    Args:
        logits: (B, V) scores, float32, float64, float16 or bfloat16, on any device; finite or
            -inf, at least one finite entry per row; possibly non-contiguous.
        k: a Python int >= 0.

    Returns:
        A new (B, V) tensor with ``logits``' dtype and device: kept entries unchanged (bit for bit),
        the others -inf. ``logits`` itself is left unchanged.
    """
    raise NotImplementedError


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filtering: keep the smallest set of most probable tokens whose probability reaches p.

    With probabilities ``softmax(logits)`` (computed in float32 for 16-bit logits), token j is kept
    when the total probability of the tokens whose logit is strictly larger than its own is < p.
    So, in order of decreasing probability, tokens are kept until their cumulative probability
    reaches p: the token that crosses p is kept, and when a set reaches p exactly the next token
    is not. The most probable token is always kept, and a token tied (equal logit) with a kept one
    is always kept too: the result never depends on how a sort orders equal values. ``p == 1``
    keeps every token: the logits come back unchanged.

    Args:
        logits: (B, V) scores, float32, float64, float16 or bfloat16, on any device; finite or
            -inf, at least one finite entry per row; possibly non-contiguous.
        p: a Python float with 0 < p <= 1.

    Returns:
        A new (B, V) tensor with ``logits``' dtype and device: kept entries unchanged (bit for bit),
        the others -inf. ``logits`` itself is left unchanged.
    """
    raise NotImplementedError


def sample(logits: torch.Tensor, u: torch.Tensor, temperature: float = 1.0, top_k: int = 0,
           top_p: float = 1.0) -> torch.Tensor:
    """Draw one token per row from pre-drawn uniforms, as Hugging Face's sampling does.

    1. ``temperature == 0`` is greedy decoding: return ``argmax`` of each row of ``logits`` (the
       first index among equal maxima) and ignore ``u``, ``top_k`` and ``top_p``.
    2. Otherwise convert 16-bit logits to float32, divide by ``temperature``, then apply
       ``top_k_filter`` with ``top_k``, then ``top_p_filter`` with ``top_p`` (on the probabilities
       left after top-k), then take ``probs = softmax`` of the result.
    3. With ``c_i = probs_0 + ... + probs_i`` in vocabulary order (index 0 first, not sorted),
       return the first index i with ``c_i > u``: token i is drawn exactly when u falls in
       ``[c_{i-1}, c_i)``, which has length ``probs_i``. A token of probability 0 is never drawn.
       If rounding leaves no ``c_i`` above u (u within rounding of 1), return the last index of
       non-zero probability.

    Args:
        logits: (B, V) scores, float32, float64, float16 or bfloat16, on any device; finite or
            -inf, at least one finite entry per row; possibly non-contiguous.
        u: (B,) float32 or float64 uniforms in [0, 1) on the same device, one per row.
        temperature: a Python float >= 0.
        top_k: a Python int >= 0 (0: no top-k filter).
        top_p: a Python float with 0 < top_p <= 1 (1: no top-p filter).

    Returns:
        A (B,) int64 tensor of token ids on ``logits``' device. The inputs are left unchanged.

    No library sampler is needed or useful: ``torch.multinomial`` draws its own random numbers, and
    the result must be the one that ``u`` determines.
    """
    raise NotImplementedError
