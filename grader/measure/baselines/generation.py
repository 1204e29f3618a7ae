"""Timing and memory baselines of the generation track: the plain vectorised formula, written with torch ops."""

from __future__ import annotations

import torch


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
