"""Timing baselines: library-speed versions of exercises that torch has no single op for.

A ``[[timing]]`` table names its baseline by dotted path (``grader.baselines.normalize``); the
timing check calls it in the worker with the same arguments as the student's function and budgets
the student's time as a ratio of the baseline's. Each baseline is the plain vectorised formula
written with torch ops: what an honest answer should cost, not a clever optimum.
"""

from __future__ import annotations

import torch


def normalize(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Min-max scaling of each column of ``x`` (n, d) to [0, 1]; constant columns map to 0."""
    col_min, col_max = x.amin(dim=0), x.amax(dim=0)  # (d,)
    span = col_max - col_min
    span = torch.where(span > 0, span, torch.ones_like(span))  # a constant column gives 0 / 1 = 0
    return (x - col_min) / span, col_min, col_max


def sgd_step(param: torch.Tensor, grad: torch.Tensor, buf: torch.Tensor | None, lr: float,
             momentum: float = 0.0, weight_decay: float = 0.0,
             nesterov: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One step of torch.optim.SGD (dampening 0) written with torch ops, as the exercise asks."""
    if weight_decay != 0:
        grad = grad + weight_decay * param
    if momentum != 0:
        buf = grad.clone() if buf is None else momentum * buf + grad
        grad = grad + momentum * buf if nesterov else buf
    return param - lr * grad, buf


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """torch.nn.functional.layer_norm over the last dimension, with the exercise's signature."""
    return torch.nn.functional.layer_norm(x, x.shape[-1:], weight, bias, eps)


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """x / sqrt(mean(x²) + eps) · weight over the last dimension."""
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


def rope(x: torch.Tensor, positions: torch.Tensor, theta: float = 10000.0) -> torch.Tensor:
    """Rotary embedding of adjacent pairs (2i, 2i+1) of the last dimension of ``x`` (..., T, d)."""
    d = x.shape[-1]
    freq = theta ** (-torch.arange(0, d, 2, dtype=x.dtype, device=x.device) / d)  # (d/2,)
    angle = positions.to(x.dtype)[:, None] * freq  # (T, d/2)
    cos, sin = angle.cos(), angle.sin()
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


def multihead_attention(x: torch.Tensor, Wq: torch.Tensor, Wk: torch.Tensor, Wv: torch.Tensor,
                        Wo: torch.Tensor, n_heads: int, causal: bool = True) -> torch.Tensor:
    """Multi-head self-attention of ``x`` (B, T, d_model), weights in nn.Linear convention, no biases."""
    B, T, d_model = x.shape
    dh = d_model // n_heads
    q, k, v = ((x @ w.T).view(B, T, n_heads, dh).transpose(1, 2) for w in (Wq, Wk, Wv))  # (B, H, T, dh)
    scores = q @ k.transpose(-2, -1) * dh ** -0.5  # (B, H, T, T)
    if causal:
        scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
    return (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, d_model) @ Wo.T


def swiglu(x: torch.Tensor, W1: torch.Tensor, W2: torch.Tensor, W3: torch.Tensor) -> torch.Tensor:
    """(SiLU(x W1ᵀ) ⊙ x W3ᵀ) W2ᵀ with the library SiLU."""
    return (torch.nn.functional.silu(x @ W1.T) * (x @ W3.T)) @ W2.T


def adamw_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int, lr: float,
               beta1: float, beta2: float, eps: float,
               weight_decay: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of torch.optim.AdamW's formula, out of place as the exercise asks (inputs unchanged)."""
    param = param * (1.0 - lr * weight_decay)
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * grad * grad
    denom = v.sqrt() / (1.0 - beta2 ** t) ** 0.5 + eps
    return param - lr / (1.0 - beta1 ** t) * m / denom, m, v


def mlp_forward(x: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
                b2: torch.Tensor) -> torch.Tensor:
    """σ(σ(x W1 + b1) W2 + b2) with torch.addmm and the library sigmoid."""
    return torch.sigmoid(torch.addmm(b2, torch.sigmoid(torch.addmm(b1, x, W1)), W2))


def mlp_backward(x: torch.Tensor, y: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
                 b2: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The mlp_backward contract computed by torch autograd: forward, BCE, then torch.autograd.grad."""
    params = [t.detach().requires_grad_() for t in (W1, b1, W2, b2)]
    with torch.enable_grad():
        p = torch.sigmoid(torch.addmm(params[3], torch.sigmoid(torch.addmm(params[1], x, params[0])), params[2]))
        loss = torch.nn.functional.binary_cross_entropy(p, y)
        grads = torch.autograd.grad(loss, params)
    return loss.detach(), dict(zip(("W1", "b1", "W2", "b2"), grads))


def adam_step(param: torch.Tensor, grad: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int, lr: float = 1e-3,
              beta1: float = 0.9, beta2: float = 0.999,
              eps: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of torch.optim.Adam's formula (default flags), plain torch ops on new tensors."""
    m = beta1 * m + (1.0 - beta1) * grad
    v = beta2 * v + (1.0 - beta2) * (grad * grad)
    denom = v.sqrt() / (1.0 - beta2 ** t) ** 0.5 + eps
    return param - (lr / (1.0 - beta1 ** t)) * m / denom, m, v


def clip_grad_norm(grads: list[torch.Tensor], max_norm: float,
                   eps: float = 1e-6) -> tuple[list[torch.Tensor], torch.Tensor]:
    """torch.nn.utils.clip_grad_norm_ on copies: it clips .grad in place, the exercise returns new tensors."""
    # Stand-in parameters: one element broadcast to each gradient's shape, so nothing big is allocated.
    holders = [torch.empty((), dtype=g.dtype, device=g.device).expand(g.shape) for g in grads]
    for holder, g in zip(holders, grads):
        holder.grad = g.clone()  # the library reads and scales .grad in place
    total = torch.nn.utils.clip_grad_norm_(holders, max_norm)  # its eps is fixed at 1e-6
    return [holder.grad for holder in holders], total


def transformer_block(x: torch.Tensor, weights: dict[str, torch.Tensor], n_heads: int, eps: float = 1e-5,
                      theta: float = 10000.0) -> torch.Tensor:
    """Pre-norm block: x + attention(rms_norm(x)) with RoPE and a causal mask, then + swiglu(rms_norm(h))."""
    B, T, d_model = x.shape
    dh = d_model // n_heads
    xn = rms_norm(x, weights["ln1"], eps)
    q, k, v = ((xn @ weights[n].T).view(B, T, n_heads, dh).transpose(1, 2) for n in ("wq", "wk", "wv"))
    positions = torch.arange(T, device=x.device)
    q, k = rope(q, positions, theta), rope(k, positions, theta)  # (B, H, T, dh), per-head frequencies
    scores = q @ k.transpose(-2, -1) * dh ** -0.5  # (B, H, T, T)
    scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
    h = x + (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, d_model) @ weights["wo"].T
    return h + swiglu(rms_norm(h, weights["ln2"], eps), weights["w1"], weights["w2"], weights["w3"])


def decode_step(x_t: torch.Tensor, cache_k: torch.Tensor, cache_v: torch.Tensor, Wq: torch.Tensor,
                Wk: torch.Tensor, Wv: torch.Tensor, Wo: torch.Tensor,
                n_heads: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One new token (B, 1, d_model) attending to a (B, H, T_past, dh) cache grown by its own key and value."""
    B, _, d_model = x_t.shape
    dh = d_model // n_heads
    q, k, v = ((x_t @ W.T).view(B, 1, n_heads, dh).transpose(1, 2) for W in (Wq, Wk, Wv))  # (B, H, 1, dh)
    K, V = torch.cat((cache_k, k), dim=2), torch.cat((cache_v, v), dim=2)  # (B, H, T_past + 1, dh)
    out = torch.softmax(q @ K.transpose(-2, -1) * dh ** -0.5, dim=-1) @ V  # (B, H, 1, dh)
    return out.transpose(1, 2).reshape(B, 1, d_model) @ Wo.T, K, V


def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-row int8 codes round(w / scale) with scale = max|w_row| / 127 (zero rows: 0)."""
    scale = w.abs().amax(dim=1) / 127  # (rows,)
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.round(w / safe[:, None]).clamp(-127, 127).to(torch.int8), scale


def magnitude_prune(w: torch.Tensor, sparsity: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero the round(sparsity · numel) smallest |w| (ties: lower flat index first); mask True = kept."""
    k = round(sparsity * w.numel())
    order = torch.argsort(w.abs().reshape(-1), stable=True)  # (numel,)
    mask = torch.ones(w.numel(), dtype=torch.bool, device=w.device)
    mask[order[:k]] = False
    mask = mask.view(w.shape)
    return torch.where(mask, w, torch.zeros((), dtype=w.dtype, device=w.device)), mask


def distill_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, T: float) -> torch.Tensor:
    """T² · KL(softmax(teacher / T) ‖ softmax(student / T)), summed and divided by the batch size."""
    log_s = torch.log_softmax(student_logits / T, dim=-1)
    log_t = torch.log_softmax(teacher_logits / T, dim=-1)
    return torch.nn.functional.kl_div(log_s, log_t, reduction="batchmean", log_target=True) * T**2


def lora_linear(x: torch.Tensor, W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, alpha: float) -> torch.Tensor:
    """x Wᵀ + (alpha / r) · (x Aᵀ) Bᵀ without forming W + BA."""
    return torch.nn.functional.linear(x, W) + (alpha / A.shape[0]) * ((x @ A.T) @ B.T)


def flash_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
                    block_size: int = 64) -> torch.Tensor:
    """The library's fused attention, causal mask aligned bottom-right; block_size only shapes the student's tiles."""
    Tq, Tk = q.shape[-2], k.shape[-2]
    if causal and Tq != Tk:  # is_causal aligns top-left: query i of Tq sees keys up to Tk - Tq + i instead
        mask = torch.ones(Tq, Tk, dtype=torch.bool, device=q.device).tril(Tk - Tq)
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)


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


def __getattr__(name: str):
    """``checkpoint_train_and_save``, looked up lazily so that torch._dynamo is imported first.

    A torch.optim optimiser imports torch._dynamo when it is first built, and that import replaces
    ``torch.manual_seed``: a timing worker that saw the library before would flag the run. The
    timing worker looks its baselines up before it takes that picture, so importing torch._dynamo
    here, on the lookup of this one baseline, keeps the cost (about a second) off every other
    exercise's workers.
    """
    if name == "checkpoint_train_and_save":
        import torch._dynamo  # noqa: F401 - for its side effect on torch.manual_seed, see above

        return _checkpoint_train_and_save
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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



# --- sampling ---

def sample(logits: torch.Tensor, u: torch.Tensor, temperature: float = 1.0, top_k: int = 0,
           top_p: float = 1.0) -> torch.Tensor:
    """Temperature, top-k (ties kept), top-p (ties kept), then the first cumulative probability above u."""
    if temperature == 0:
        return torch.argmax(logits, dim=-1)
    x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    x = x / temperature
    V = x.shape[-1]
    if 0 < top_k < V:
        x = x.masked_fill(x < torch.topk(x, top_k, dim=-1).values[..., -1:], float("-inf"))
    if top_p < 1.0:
        sorted_x = torch.sort(x, dim=-1, descending=True).values
        cumulative = torch.softmax(sorted_x, dim=-1).cumsum(dim=-1)
        before = torch.cat((torch.zeros_like(cumulative[..., :1]), cumulative[..., :-1]), dim=-1)
        n_keep = (before < top_p).sum(dim=-1, keepdim=True)
        x = x.masked_fill(x < sorted_x.gather(-1, n_keep - 1), float("-inf"))
    probs = torch.softmax(x, dim=-1)
    index = (torch.cumsum(probs, dim=-1) <= u.to(probs.dtype)[:, None]).sum(dim=-1)
    return torch.minimum(index, torch.cumsum(probs > 0, dim=-1).argmax(dim=-1))


# --- speculative_decoding ---

def speculative_accept(draft_tokens: torch.Tensor, draft_probs: torch.Tensor, target_probs: torch.Tensor,
                       u_accept: torch.Tensor, u_sample: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Leading run of u·q(x) < p(x), then one inverse-CDF draw from norm(max(0, p_n − q_n)) (q_K = 0)."""
    B, K = draft_tokens.shape
    V = target_probs.shape[-1]
    p_x = target_probs[:, :K].gather(-1, draft_tokens[..., None])[..., 0]
    q_x = draft_probs.gather(-1, draft_tokens[..., None])[..., 0]
    n = torch.cumprod((u_accept.to(p_x.dtype) * q_x < p_x).long(), dim=-1).sum(dim=-1)  # (B,)
    at_n = n[:, None, None].expand(B, 1, V)
    q_n = torch.cat((draft_probs, torch.zeros_like(draft_probs[:, :1])), dim=1).gather(1, at_n)
    residual = (target_probs.gather(1, at_n) - q_n)[:, 0].clamp(min=0)  # (B, V)
    cdf = torch.cumsum(residual, dim=-1)
    index = (cdf <= u_sample.to(cdf.dtype)[:, None] * cdf[:, -1:]).sum(dim=-1)
    new_token = torch.minimum(index, torch.cumsum(residual > 0, dim=-1).argmax(dim=-1))
    positions = torch.arange(K + 1, device=draft_tokens.device)
    drafts = torch.cat((draft_tokens, torch.full_like(draft_tokens[:, :1], -1)), dim=1)
    tokens = torch.where(positions < n[:, None], drafts, torch.full_like(drafts, -1))
    return torch.where(positions == n[:, None], new_token[:, None], tokens), n


# --- beam_search ---

def _beam_next_token_logprobs(prefixes: torch.Tensor, table: torch.Tensor, E: torch.Tensor,
                              W: torch.Tensor) -> torch.Tensor:
    """The beam_search exercise's model: log_softmax(table[last] + (sum of E over the prefix) @ W)."""
    return torch.log_softmax(table[prefixes[:, -1]] + E[prefixes].sum(dim=1) @ W, dim=-1)


def beam_search(prompt: torch.Tensor, table: torch.Tensor, E: torch.Tensor, W: torch.Tensor, eos: int,
                beam_width: int, max_new_tokens: int,
                length_penalty: float = 1.0) -> tuple[list[list[int]], torch.Tensor]:
    """One model call per step over every live hypothesis, a stable sort of the flattened candidates."""
    V, P = table.shape[0], prompt.numel()
    beams, sums = prompt[None, :], torch.zeros(1, dtype=table.dtype, device=table.device)
    tokens, finished_sums, lengths = [], [], []
    for step in range(1, max_new_tokens + 1):
        candidates = (sums[:, None] + _beam_next_token_logprobs(beams, table, E, W)).reshape(-1)
        order = torch.sort(candidates, descending=True, stable=True).indices[:beam_width]
        grown = torch.cat((beams[order // V], (order % V)[:, None]), dim=1)
        ended = order % V == eos
        tokens += grown[ended, P:].tolist()
        finished_sums.append(candidates[order][ended])
        lengths += [step] * int(ended.sum())
        beams, sums = grown[~ended], candidates[order][~ended]
        if len(beams) == 0:
            break
    tokens += beams[:, P:].tolist()
    finished_sums.append(sums)
    lengths += [beams.shape[1] - P] * len(beams)
    scores = torch.cat(finished_sums) / torch.tensor(lengths, dtype=table.dtype, device=table.device) ** length_penalty
    best = torch.sort(scores, descending=True, stable=True).indices[:beam_width]
    return [tokens[i] for i in best.tolist()], scores[best]



# --- gqa_decode ---

def gqa_decode(x_t: torch.Tensor, cache_k: torch.Tensor, cache_v: torch.Tensor, Wq: torch.Tensor,
               Wk: torch.Tensor, Wv: torch.Tensor, Wo: torch.Tensor, n_heads: int, n_kv_heads: int,
               theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One token (B, 1, d_model) of grouped-query attention with RoPE at T_past over a (B, G, T_past, dh) cache."""
    B, _, d_model = x_t.shape
    dh = d_model // n_heads
    q = (x_t @ Wq.T).view(B, n_heads, dh)
    k, v = ((x_t @ W.T).view(B, n_kv_heads, 1, dh) for W in (Wk, Wv))
    angle = cache_k.shape[2] * theta ** (-torch.arange(0, dh, 2, dtype=x_t.dtype, device=x_t.device) / dh)
    cos, sin = angle.cos(), angle.sin()
    q, k = (torch.stack((t[..., 0::2] * cos - t[..., 1::2] * sin, t[..., 0::2] * sin + t[..., 1::2] * cos),
                        dim=-1).flatten(-2) for t in (q, k))
    K, V = torch.cat((cache_k, k), dim=2), torch.cat((cache_v, v), dim=2)  # (B, G, T_past + 1, dh)
    scores = q.view(B, n_kv_heads, n_heads // n_kv_heads, dh) @ K.transpose(-2, -1) * dh ** -0.5
    out = torch.softmax(scores, dim=-1) @ V  # (B, G, group, dh)
    return out.reshape(B, 1, d_model) @ Wo.T, K, V


# --- moe_router ---

def moe_route(logits: torch.Tensor, k: int,
              capacity_factor: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Top-k routing of (N, E) logits with capacity ceil(cf·N·k/E), first choices first, and the Switch aux loss."""
    import math

    N, E = logits.shape
    capacity = math.ceil(capacity_factor * N * k / E)
    probs = torch.softmax(logits, dim=-1)
    top_p, expert = torch.topk(probs, k, dim=-1)  # (N, k)
    flat = expert.T.reshape(-1)  # (k·N,) in priority order: rank, then token
    counts = torch.bincount(flat, minlength=E)  # (E,)
    order = torch.argsort(flat, stable=True)  # grouped by expert, priority order kept inside a group
    rank = torch.empty_like(flat)
    rank[order] = torch.arange(flat.numel(), device=flat.device) - (counts.cumsum(0) - counts)[flat[order]]
    slot = rank.view(k, N).T
    dropped = slot >= capacity
    combine = torch.where(dropped, 0.0, top_p / top_p.sum(dim=-1, keepdim=True))
    aux = E * (counts.to(logits.dtype) / N * probs.mean(dim=0)).sum()
    return expert, torch.where(dropped, -1, slot), combine, dropped, aux


# --- quantize_int4 ---

NF4_LEVELS = [-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
              -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
              0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
              0.7229568362236023, 1.0]  # bitsandbytes get_4bit_type("nf4")


def quantize_int4(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int4 per group of the last dim (scale absmax / 7), two's complement nibbles, high nibble first."""
    rows, cols = w.shape
    g = w.reshape(rows, cols // group_size, group_size)
    scale = g.abs().amax(dim=-1) / 7
    safe = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(g / safe[..., None]).clamp(-7, 7).to(torch.int8).reshape(rows, cols).view(torch.uint8) & 0x0F
    return (q[:, 0::2] << 4) | q[:, 1::2], scale


def quantize_nf4(w: torch.Tensor, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest NF4 level of w / absmax per group (lower code on ties), high nibble first."""
    rows, cols = w.shape
    g = w.reshape(rows, cols // group_size, group_size)
    absmax = g.abs().amax(dim=-1)
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    x = (g / safe[..., None]).reshape(rows, cols)
    levels = torch.tensor(NF4_LEVELS, dtype=w.dtype, device=w.device)
    codes = torch.bucketize(x, (levels[1:] + levels[:-1]) / 2).to(torch.uint8)  # a midpoint goes to the lower code
    return (codes[:, 0::2] << 4) | codes[:, 1::2], absmax


# --- sft_dpo ---

def sequence_logprobs(logits: torch.Tensor, tokens: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    """Per-sequence sum of log_softmax(logits[:, t - 1])[tokens[:, t]] over response positions t >= 1."""
    picked = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, tokens[:, 1:, None]).squeeze(-1)  # (B, T-1)
    return torch.where(response_mask[:, 1:], picked, torch.zeros((), dtype=picked.dtype, device=picked.device)).sum(-1)


def sft_loss(logits: torch.Tensor, tokens: torch.Tensor, response_mask: torch.Tensor) -> torch.Tensor:
    """Minus the response tokens' log-probs summed over the batch, divided by their number."""
    return -sequence_logprobs(logits, tokens, response_mask).sum() / response_mask[:, 1:].sum()


def dpo_loss(policy_chosen_logps: torch.Tensor, policy_rejected_logps: torch.Tensor,
             ref_chosen_logps: torch.Tensor, ref_rejected_logps: torch.Tensor,
             beta: float = 0.1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """-mean logsigmoid(chosen_rewards - rejected_rewards) with the library log-sigmoid, and the rewards."""
    chosen = beta * (policy_chosen_logps - ref_chosen_logps)
    rejected = beta * (policy_rejected_logps - ref_rejected_logps)
    return -torch.nn.functional.logsigmoid(chosen - rejected).mean(), chosen, rejected


# --- grpo ---

def group_advantages(rewards: torch.Tensor, group_size: int, eps: float = 1e-4) -> torch.Tensor:
    """(r - group mean) / (unbiased group std + eps) over consecutive groups of group_size rewards."""
    grouped = rewards.view(-1, group_size)
    std, mean = torch.std_mean(grouped, dim=1, keepdim=True)
    return ((grouped - mean) / (std + eps)).view(-1)


def grpo_loss(logps: torch.Tensor, old_logps: torch.Tensor, ref_logps: torch.Tensor, advantages: torch.Tensor,
              completion_mask: torch.Tensor, clip_eps: float = 0.2,
              beta: float = 0.04) -> tuple[torch.Tensor, torch.Tensor]:
    """Clipped surrogate plus beta * k3 KL per token, mean over each completion's tokens, then over completions."""
    ratio = torch.exp(logps - old_logps)
    adv = advantages[:, None]
    pg = -torch.minimum(ratio * adv, torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * adv)
    diff = ref_logps - logps
    kl = torch.exp(diff) - diff - 1.0
    mask = completion_mask.to(logps.dtype)
    lengths = mask.sum(dim=1)
    return ((pg + beta * kl) * mask).sum(dim=1).div(lengths).mean(), (kl * mask).sum(dim=1).div(lengths).mean()
