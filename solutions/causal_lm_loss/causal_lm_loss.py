"""Reference solution: the next-token loss of a causal language model, and its perplexity."""

import torch


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor,
                   ignore_index: int = -100) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over real targets of logsumexp(z) - z[target], position t predicting label t + 1; and exp of it."""
    z = logits[:, :-1]  # (B, T-1, V): the last position has nothing left to predict
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()  # half-precision logits: the loss is computed (and returned) in float32
    y = labels[:, 1:]  # (B, T-1): the token each position predicts; labels[:, 0] is never a target
    real = y != ignore_index  # (B, T-1)
    m = z.amax(dim=-1, keepdim=True)  # (B, T-1, 1): every exponent below is <= 0
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))  # (B, T-1)
    # Ignored labels (-100, say) are no index: pick column 0 there, and drop the result below.
    picked = z.gather(-1, torch.where(real, y, 0).unsqueeze(-1)).squeeze(-1)  # (B, T-1)
    token_loss = torch.where(real, lse - picked, 0.0)  # (B, T-1), 0 where ignored
    # One mean over every real token of the batch; no real token at all gives 0 / 0 = NaN.
    loss = token_loss.sum() / real.sum()
    return loss, torch.exp(loss)
