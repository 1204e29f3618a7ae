"""Updates the caller's parameters in place (p.sub_(lr * grad)) instead of building new tensors."""

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
        # Real targets per micro-batch, after the shift: labels[:, 0] is never predicted.
        counts = [int((mb["labels"][:, 1:] != ignore_index).sum()) for mb in batch]
        total = sum(counts)  # N: the real targets of the whole batch (>= 1 by contract)
        leaves = {name: p.detach().requires_grad_() for name, p in params.items()}  # fresh: .grad is None
        loss_sum = 0.0
        for mb, n in zip(batch, counts):
            if n == 0:  # nothing to learn, and its mean loss is 0 / 0 = NaN: skip it
                continue
            mean, _ = causal_lm_loss(lm_logits(leaves, mb["input_ids"]), mb["labels"], ignore_index)
            part = mean * (n / total)  # its share of the full-batch mean: sum of its token losses / N
            part.backward()  # adds into each leaf's .grad; this micro-batch's graph is freed here
            loss_sum = loss_sum + part.detach()
        losses.append(loss_sum)
        # Plain SGD, out of place: the caller's tensors are never written.
        params = {name: leaf.detach().sub_(lr * leaf.grad) for name, leaf in leaves.items()}
    return torch.stack(losses), params  # losses: (S,)
