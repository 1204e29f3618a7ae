"""Exercise: the accept / resample rule of speculative sampling."""

import torch


def speculative_accept(draft_tokens: torch.Tensor, draft_probs: torch.Tensor, target_probs: torch.Tensor,
                       u_accept: torch.Tensor, u_sample: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Verify K draft tokens against the target model and emit the tokens speculative sampling keeps.

    For each row b (write x_i = draft_tokens[b, i], q_i = draft_probs[b, i], p_i = target_probs[b, i]):

    1. Walk i = 0, 1, ..., K-1 and accept x_i when ``u_accept[b, i] * q_i[x_i] < p_i[x_i]``
       (u < p/q: always when p_i[x_i] >= q_i[x_i], never when p_i[x_i] == 0, always when
       q_i[x_i] == 0 < p_i[x_i]). Stop at the first rejection: n is the number of drafts accepted
       before it (0 <= n <= K); later drafts are discarded even if they would pass.
    2. If n < K, draw one token from the residual ``r = max(0, p_n - q_n) / sum(max(0, p_n - q_n))``;
       if n == K (every draft accepted), draw the bonus token from ``p_K``. Either draw takes the
       first index j (in vocabulary order) whose cumulative probability exceeds ``u_sample[b]``
       (the last index of non-zero probability if rounding leaves none above it).
    3. Emit the n accepted drafts followed by the drawn token: n + 1 tokens.

    Whatever p and q are, each emitted token is distributed exactly as the target model would
    draw it.

    Args:
        draft_tokens: (B, K) int64, x_i in [0, V), K >= 1, drawn by the draft model.
        draft_probs: (B, K, V) float32 or float64: q_i, the draft model's distribution at draft
            position i (the one x_i was drawn from); rows sum to 1.
        target_probs: (B, K + 1, V), same dtype: p_i, the target model's distribution at position
            i given the drafts before it; p_K is the one after all K drafts. Rows sum to 1.
        u_accept: (B, K) float32 or float64 uniforms in [0, 1), one per draft.
        u_sample: (B,) float32 or float64 uniforms in [0, 1), one per row (each row draws once).
        All on the same device; possibly non-contiguous.

    Returns:
        ``(tokens, n_accepted)``: ``tokens`` (B, K + 1) int64 holding the n + 1 emitted tokens of
        each row first, then -1 in the positions left over; ``n_accepted`` (B,) int64, n per row.
        Both on the inputs' device; the inputs are left unchanged.
    """
    raise NotImplementedError
