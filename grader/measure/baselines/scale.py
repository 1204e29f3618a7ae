"""Timing and memory baselines of the scale track: the plain vectorised formula, written with torch ops."""

from __future__ import annotations

import torch


# --- causal_lm_loss ---

def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor,
                   ignore_index: int = -100) -> tuple[torch.Tensor, torch.Tensor]:
    """torch's cross-entropy on logits[:, :-1] against labels[:, 1:] (half logits upcast), and its exp."""
    z = logits[:, :-1].reshape(-1, logits.shape[-1])
    if z.dtype in (torch.float16, torch.bfloat16):
        z = z.float()
    loss = torch.nn.functional.cross_entropy(z, labels[:, 1:].reshape(-1), ignore_index=ignore_index)
    return loss, torch.exp(loss)


# --- grad_accumulation ---

def train_with_accumulation(params: dict[str, torch.Tensor], batches: list[list[dict[str, torch.Tensor]]],
                            lr: float, ignore_index: int = -100) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """SGD steps, each over its micro-batches: torch's summed cross-entropy of each, over the batch's real targets."""
    losses = []
    for batch in batches:
        total = sum(int((mb["labels"][:, 1:] != ignore_index).sum()) for mb in batch)
        leaves = {name: p.detach().requires_grad_() for name, p in params.items()}
        loss_sum = 0.0
        with torch.enable_grad():  # memory checks call references under no_grad
            for mb in batch:
                logits = torch.tanh(leaves["embed"][mb["input_ids"]]) @ leaves["unembed"].T + leaves["bias"]
                part = torch.nn.functional.cross_entropy(
                    logits[:, :-1].reshape(-1, logits.shape[-1]), mb["labels"][:, 1:].reshape(-1),
                    ignore_index=ignore_index, reduction="sum") / total  # 0 for a micro-batch of no real target
                part.backward()
                loss_sum = loss_sum + part.detach()
        losses.append(loss_sum)
        params = {name: leaf.detach() - lr * leaf.grad for name, leaf in leaves.items()}
    return torch.stack(losses), params


# --- mixed_precision ---

def _mixed_precision_mlp_loss(weights: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The exercise's tiny model: two layers in the weights' dtype, the MSE in float32."""
    h = torch.relu(x @ weights["W1"].T + weights["b1"])
    return torch.nn.functional.mse_loss((h @ weights["W2"].T + weights["b2"]).float(), y)


def mixed_precision_scaler_step(params: list[torch.Tensor], grads: list[torch.Tensor], bufs: list[torch.Tensor],
                                scaler: dict, lr: float,
                                momentum: float) -> tuple[list[torch.Tensor], list[torch.Tensor], dict, bool]:
    """GradScaler.step + update around torch.optim.SGD(momentum), written with whole-tensor ops."""
    found_inf = bool(torch.stack([torch.isfinite(g).all() for g in grads]).logical_not().any())
    state = dict(scaler)
    if found_inf:
        state["scale"] = float(torch.tensor(scaler["scale"] * scaler["backoff_factor"], dtype=torch.float32))
        state["_growth_tracker"] = 0
        return list(params), list(bufs), state, True
    inv_scale = 1.0 / scaler["scale"]
    new_bufs = [momentum * b + g * inv_scale for g, b in zip(grads, bufs)]
    new_params = [p - lr * b for p, b in zip(params, new_bufs)]
    tracker = scaler["_growth_tracker"] + 1
    if tracker == scaler["growth_interval"]:
        grown = float(torch.tensor(scaler["scale"] * scaler["growth_factor"], dtype=torch.float32))
        state["scale"] = grown if grown != float("inf") else scaler["scale"]
        tracker = 0
    state["_growth_tracker"] = tracker
    return new_params, new_bufs, state, False


def mixed_precision_train_step(master: dict[str, torch.Tensor], bufs: dict[str, torch.Tensor], scaler: dict,
                               x: torch.Tensor, y: torch.Tensor, lr: float, momentum: float):
    """Cast to x's dtype, scaled backward into the fp32 master weights, then the scaler step."""
    names = list(master)
    with torch.enable_grad():
        leaves = [master[n].detach().requires_grad_() for n in names]
        loss = _mixed_precision_mlp_loss({n: p.to(x.dtype) for n, p in zip(names, leaves)}, x, y)
        grads = torch.autograd.grad(loss * scaler["scale"], leaves)
    params, new_bufs, state, found = mixed_precision_scaler_step([master[n] for n in names], list(grads),
                                                                 [bufs[n] for n in names], scaler, lr, momentum)
    return dict(zip(names, params)), dict(zip(names, new_bufs)), state, loss.detach(), found


# --- checkpoint ---

class _CheckpointTinyNet(torch.nn.Module):
    """The exercise's model: fc2(dropout(tanh(fc1(x))))."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, p_drop: float, dtype: torch.dtype, device):
        super().__init__()
        self.fc1 = torch.nn.Linear(d_in, d_hidden, dtype=dtype, device=device)
        self.drop = torch.nn.Dropout(p_drop)
        self.fc2 = torch.nn.Linear(d_hidden, d_out, dtype=dtype, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(torch.tanh(self.fc1(x))))


def _checkpoint_copy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {k: _checkpoint_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_checkpoint_copy(v) for v in value)
    return value


def _checkpoint_train_and_save(weights: dict, x: torch.Tensor, y: torch.Tensor, config: dict, seed: int,
                               steps: int) -> dict:
    """The exercise's provided run (seed, build, ``steps`` AdamW steps), then a checkpoint of
    deep-copied state dicts and the generator state."""
    import math

    torch.manual_seed(seed)
    w1, w2 = weights["fc1.weight"], weights["fc2.weight"]
    model = _CheckpointTinyNet(w1.shape[1], w1.shape[0], w2.shape[0], config["p_drop"], w1.dtype, w1.device)
    model.load_state_dict(weights)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"], betas=(config["beta1"], config["beta2"]),
                                  weight_decay=config["weight_decay"])
    warmup, total = config["warmup"], config["total"]

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (config["batch"],), device=x.device)
        loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    state = {"model": _checkpoint_copy(model.state_dict()), "optimizer": _checkpoint_copy(optimizer.state_dict()),
             "scheduler": _checkpoint_copy(scheduler.state_dict()), "rng_cpu": torch.get_rng_state()}
    if w1.device.type == "cuda":
        state["rng_cuda"] = torch.cuda.get_rng_state(w1.device)
    return state


# --- token_loader ---

def write_tokens(tokens: torch.Tensor, path: str) -> int:
    """The whole stream to host memory, converted to uint16 in one pass, written in one call."""
    import numpy as np

    data = tokens.cpu().numpy().astype(np.uint16)
    data.tofile(path)
    return int(data.nbytes)


# --- ring_allreduce ---

def ring_allreduce(tensors: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[int]]:
    """The ring all-reduce as the exercise states it: whole-chunk adds and copies, 2(N - 1) steps."""
    n, shape = len(tensors), tensors[0].shape
    buffers = [t.reshape(-1).clone() for t in tensors]
    chunks = [torch.tensor_split(b, n) for b in buffers]
    sent = [0] * n
    for s in range(n - 1):
        for r in range(n):
            c = (r - s) % n
            chunks[(r + 1) % n][c].add_(chunks[r][c])
            sent[r] += chunks[r][c].numel() * chunks[r][c].element_size()
    for r in range(n):
        chunks[r][(r + 1) % n].div_(n)
    for s in range(n - 1):
        for r in range(n):
            c = (r + 1 - s) % n
            chunks[(r + 1) % n][c].copy_(chunks[r][c])
            sent[r] += chunks[r][c].numel() * chunks[r][c].element_size()
    return [b.view(shape) for b in buffers], sent


# --- zero1 ---

def zero1_step(params: list[torch.Tensor], grads: list[torch.Tensor], states: list[dict[str, torch.Tensor]],
               t: int, lr: float, beta1: float, beta2: float, eps: float,
               weight_decay: float) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    """AdamW on each rank's tensor_split shard of the flattened parameters, then one concatenation."""
    n = len(states)
    p_shards = torch.tensor_split(torch.cat([p.reshape(-1) for p in params]), n)
    g_shards = torch.tensor_split(torch.cat([g.reshape(-1) for g in grads]), n)
    bc1, bc2_sqrt = 1.0 - beta1 ** t, (1.0 - beta2 ** t) ** 0.5
    updated, new_states = [], []
    for p, g, state in zip(p_shards, g_shards, states):
        m = beta1 * state["exp_avg"] + (1.0 - beta1) * g
        v = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * g * g
        updated.append(p * (1.0 - lr * weight_decay) - (lr / bc1) * m / (v.sqrt() / bc2_sqrt + eps))
        new_states.append({"exp_avg": m, "exp_avg_sq": v})
    pieces = torch.split(torch.cat(updated), [p.numel() for p in params])
    return [piece.view(p.shape) for piece, p in zip(pieces, params)], new_states
