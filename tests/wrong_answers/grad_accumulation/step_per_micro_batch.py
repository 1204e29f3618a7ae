"""Takes an SGD step after every micro-batch (optimizer.step() inside the micro-batch loop)."""

import torch
from causal_lm_loss import causal_lm_loss


def lm_logits(params: dict[str, torch.Tensor], input_ids: torch.Tensor) -> torch.Tensor:
    """The tiny language model: logits (b, t, V) = tanh(embed[input_ids]) @ unembed.T + bias."""
    h = torch.tanh(params["embed"][input_ids])  # (b, t, d)
    return h @ params["unembed"].T + params["bias"]  # (b, t, V)


def train_with_accumulation(params: dict[str, torch.Tensor], batches: list[list[dict[str, torch.Tensor]]],
                            lr: float, ignore_index: int = -100) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    losses = []
    for batch in batches:
        counts = [int((mb["labels"][:, 1:] != ignore_index).sum()) for mb in batch]
        total = sum(counts)
        loss_sum = 0.0
        for mb, n in zip(batch, counts):
            if n == 0:
                continue
            leaves = {name: p.detach().requires_grad_() for name, p in params.items()}
            mean, _ = causal_lm_loss(lm_logits(leaves, mb["input_ids"]), mb["labels"], ignore_index)
            part = mean * (n / total)
            part.backward()
            loss_sum = loss_sum + part.detach()
            params = {name: leaf.detach() - lr * leaf.grad for name, leaf in leaves.items()}
        losses.append(loss_sum)
    return torch.stack(losses), params
