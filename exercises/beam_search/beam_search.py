"""Exercise: beam search with a length penalty on a tiny deterministic language model."""

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
    """Beam search over ``next_token_logprobs`` (defined above: call it, do not change it).

    A hypothesis is the tokens generated after ``prompt``; its sum is the sum of their
    log-probabilities under the model. The search:

    1. Starts from one live hypothesis: no tokens, sum 0.
    2. At each step t = 1, ..., max_new_tokens, extends every live hypothesis by every token v of
       the vocabulary: candidate sum = hypothesis sum + log p(v | prompt + hypothesis). It ranks
       all candidates by sum, largest first; ties by the rank of the hypothesis they extend (live
       hypotheses are kept in rank order), then by the smaller token id. It keeps the best
       ``min(beam_width, number of candidates)`` of them: a kept candidate that ends with ``eos``
       is finished (EOS included) and leaves the beam; the others are the next step's live
       hypotheses, in rank order. The beam may shrink.
    3. Stops when no live hypothesis is left, or after max_new_tokens steps: then the live ones
       are finished too, as they are (without EOS).
    4. Scores every finished hypothesis by ``sum / length ** length_penalty``, length = the number
       of generated tokens (EOS counted, the prompt not), and returns the best
       ``min(beam_width, number finished)`` by score, best first. Equal scores keep the order in
       which the hypotheses finished (step by step, in rank order; the ones left live at the end
       last).

    Pruning compares sums; only the final ranking uses the length penalty. There is no early stop
    on a bound: with ``beam_width >= V ** max_new_tokens`` nothing is pruned and the answer is the
    best of all possible sequences; with ``beam_width == 1`` it is greedy decoding.

    Args:
        prompt: (P,) int64 token ids, P >= 1, on the model's device.
        table, E, W: the model's weights, (V, V), (V, d) and (d, V) as ``next_token_logprobs``
            takes them; float32 or float64, one device, possibly non-contiguous.
        eos: the end-of-sequence token id, in [0, V).
        beam_width: an int >= 1.
        max_new_tokens: an int >= 1, the most tokens a hypothesis may have (EOS included).
        length_penalty: alpha, a float (0: plain sums; 1: the mean log-probability per token;
            larger values favour longer hypotheses, negative ones shorter).

    Returns:
        ``(sequences, scores)``: ``sequences`` a list of lists of Python ints (generated tokens
        only, best first); ``scores`` a 1-d tensor of their scores, one per sequence, in the
        weights' dtype and on their device. The inputs are left unchanged.
    """
    raise NotImplementedError
