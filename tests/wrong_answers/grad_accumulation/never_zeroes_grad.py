"""Never zeroes the gradients between steps: .grad keeps the sum of every earlier step's gradient."""

import torch
from causal_lm_loss import causal_lm_loss


def lm_logits(params: dict[str, torch.Tensor], input_ids: torch.Tensor) -> torch.Tensor:
    """The tiny language model: logits (b, t, V) = tanh(embed[input_ids]) @ unembed.T + bias."""
    h = torch.tanh(params["embed"][input_ids])  # (b, t, d)
    return h @ params["unembed"].T + params["bias"]  # (b, t, V)


def train_with_accumulation(params: dict[str, torch.Tensor], batches: list[list[dict[str, torch.Tensor]]],
                            lr: float, ignore_index: int = -100) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    leaves = {name: p.detach().clone().requires_grad_() for name, p in params.items()}  # once, for all steps
    losses = []
    for batch in batches:
        counts = [int((mb["labels"][:, 1:] != ignore_index).sum()) for mb in batch]
        total = sum(counts)
        loss_sum = 0.0
        for mb, n in zip(batch, counts):
            if n == 0:
                continue
            mean, _ = causal_lm_loss(lm_logits(leaves, mb["input_ids"]), mb["labels"], ignore_index)
            part = mean * (n / total)
            part.backward()
            loss_sum = loss_sum + part.detach()
        losses.append(loss_sum)
        with torch.no_grad():
            for leaf in leaves.values():
                leaf -= lr * leaf.grad  # and no leaf.grad = None / zero_() afterwards
    return torch.stack(losses), {name: leaf.detach() for name, leaf in leaves.items()}
