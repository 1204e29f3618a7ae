"""Ranks the finished hypotheses by their sums: the length penalty only rescales the returned scores."""

import torch


def next_token_logprobs(prefixes: torch.Tensor, table: torch.Tensor, E: torch.Tensor,
                        W: torch.Tensor) -> torch.Tensor:
    """The model: log-probabilities of the next token after each prefix. Given: do not change it.

    Args:
        prefixes: (N, t) int64 token ids, t >= 1 (prompt and generated tokens so far).
        table: (V, V) bigram logits, row = the last token. E: (V, d) token embeddings.
        W: (d, V) output weights. All three the same float dtype and device.

    Returns:
        (N, V) log-probabilities (``table``'s dtype) of the next token:
        ``log_softmax(table[last token] + (sum of E over every token of the prefix) @ W)``.
    """
    h = E[prefixes].sum(dim=1)  # (N, d): the whole prefix counts, not only its last token
    return torch.log_softmax(table[prefixes[:, -1]] + h @ W, dim=-1)


def beam_search(prompt: torch.Tensor, table: torch.Tensor, E: torch.Tensor, W: torch.Tensor, eos: int,
                beam_width: int, max_new_tokens: int,
                length_penalty: float = 1.0) -> tuple[list[list[int]], torch.Tensor]:
    """Keep the beam_width best partial sequences each step; finished ones leave the beam."""
    V, P = table.shape[0], prompt.numel()
    beams = prompt[None, :]  # (n_live, P + t): the live hypotheses, prompt included
    sums = torch.zeros(1, dtype=table.dtype, device=table.device)  # (n_live,) summed log-probs
    done_tokens: list[list[int]] = []
    done_sums: list[torch.Tensor] = []
    done_lengths: list[int] = []
    for step in range(1, max_new_tokens + 1):
        candidates = (sums[:, None] + next_token_logprobs(beams, table, E, W)).reshape(-1)  # (n_live * V,)
        # Best first; a stable sort breaks ties by beam rank, then token id (the flattened order).
        order = torch.sort(candidates, descending=True, stable=True).indices[:beam_width]
        parent, token = order // V, order % V
        grown = torch.cat((beams[parent], token[:, None]), dim=1)
        grown_sums = candidates[order]
        ended = token == eos
        # Hypotheses that end with EOS leave the beam, in rank order; the beam may shrink.
        done_tokens += grown[ended, P:].tolist()
        done_sums.append(grown_sums[ended])
        done_lengths += [step] * int(ended.sum())
        beams, sums = grown[~ended], grown_sums[~ended]
        if len(beams) == 0:
            break
    # Hypotheses still live after max_new_tokens steps are finished as they are (no EOS).
    done_tokens += beams[:, P:].tolist()
    done_sums.append(sums)
    done_lengths += [beams.shape[1] - P] * len(beams)
    lengths = torch.tensor(done_lengths, dtype=table.dtype, device=table.device)
    scores = torch.cat(done_sums) / lengths ** length_penalty  # sum of log-probs / length^alpha
    best = torch.sort(torch.cat(done_sums), descending=True, stable=True).indices[:beam_width]  # ties: finished first
    return [done_tokens[i] for i in best.tolist()], scores[best]
