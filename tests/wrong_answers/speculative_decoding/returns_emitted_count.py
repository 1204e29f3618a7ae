"""Returns the number of emitted tokens (n + 1) as n_accepted."""

import torch


def speculative_accept(draft_tokens: torch.Tensor, draft_probs: torch.Tensor, target_probs: torch.Tensor,
                       u_accept: torch.Tensor, u_sample: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Accept the longest run of drafts that passes u < p(x)/q(x), then one resampled or bonus token."""
    B, K = draft_tokens.shape
    V = target_probs.shape[-1]
    # p_i(x_i) and q_i(x_i): each draft token's probability under both models, (B, K).
    p_x = target_probs[:, :-1].gather(2, draft_tokens[..., None])[..., 0]
    q_x = draft_probs.gather(2, draft_tokens[..., None])[..., 0]
    # u < p/q written without a division: q = 0 < p accepts, p = 0 never does.
    accepted = u_accept.to(p_x.dtype) * q_x < p_x
    n = torch.cumprod(accepted.long(), dim=1).sum(dim=1)  # (B,): the leading run of accepted drafts

    # The distribution of the token at position n: norm(max(0, p_n - q_n)) after a rejection, p_K
    # after K acceptances. A zero draft distribution at position K makes the two cases one.
    q_padded = torch.cat((draft_probs, torch.zeros_like(draft_probs[:, :1])), dim=1)  # (B, K + 1, V)
    at_n = n[:, None, None].expand(B, 1, V)
    residual = (target_probs.gather(1, at_n) - q_padded.gather(1, at_n))[:, 0].clamp(min=0)  # (B, V)
    cdf = torch.cumsum(residual, dim=1)
    # The first index whose normalised cumulative mass exceeds u: cdf_j > u * total.
    threshold = u_sample.to(cdf.dtype)[:, None] * cdf[:, -1:]
    index = (cdf <= threshold).sum(dim=1)
    last = torch.cumsum(residual > 0, dim=1).argmax(dim=1)  # rounding near u = 1: the last possible token
    new_token = torch.minimum(index, last)

    # Emitted: the n accepted drafts, then the new token, then -1 padding.
    positions = torch.arange(K + 1, device=draft_tokens.device)
    tokens = torch.cat((draft_tokens, new_token[:, None]), dim=1)  # (B, K + 1)
    tokens = tokens.scatter(1, n[:, None], new_token[:, None])  # the new token at position n
    tokens = tokens.masked_fill(positions > n[:, None], -1)
    return tokens, n + 1
