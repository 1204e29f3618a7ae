"""Decodes each token's bytes separately: a character split across tokens turns into U+FFFD."""

import re
from collections import Counter, defaultdict

# Pre-tokeniser: GPT-2's pattern with the stdlib re (letters = \w minus digits and "_").
PAT = re.compile(r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def _segments(text: str, special_tokens: list[str]) -> list[tuple[str, bool]]:
    """Split ``text`` at special tokens (longest first): (piece, is_special) pairs, empty pieces dropped."""
    if not special_tokens:
        return [(text, False)] if text else []
    alternation = "|".join(re.escape(s) for s in sorted(special_tokens, key=len, reverse=True))
    parts = re.split(f"({alternation})", text)  # the capturing group keeps the specials at odd indices
    return [(p, i % 2 == 1) for i, p in enumerate(parts) if p]


def train_bpe(text: str, vocab_size: int,
              special_tokens: list[str]) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Learn merges on the pre-tokens of ``text``, counting pairs once and updating them incrementally."""
    vocab = {i: s.encode("utf-8") for i, s in enumerate(special_tokens)}
    offset = len(vocab)
    vocab.update({offset + b: bytes([b]) for b in range(256)})

    counts = Counter()
    for piece, special in _segments(text, special_tokens):
        if not special:
            counts.update(PAT.findall(piece))
    words = [[bytes([b]) for b in w.encode("utf-8")] for w in counts]  # each distinct pre-token once
    freqs = list(counts.values())

    pair_counts: Counter = Counter()
    where: dict = defaultdict(set)  # pair -> indices of the words that (may) contain it
    for i, (w, f) in enumerate(zip(words, freqs)):
        for pair in zip(w, w[1:]):
            pair_counts[pair] += f
            where[pair].add(i)

    merges: list[tuple[bytes, bytes]] = []
    while len(vocab) < vocab_size and pair_counts:
        # Most frequent pair; ties go to the lexicographically greatest (a, b).
        best = max(pair_counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
        a, b = best
        merged = a + b
        for i in list(where.pop(best, ())):
            w, f = words[i], freqs[i]
            if not any(p == best for p in zip(w, w[1:])):
                continue  # a stale index: an earlier merge removed the pair from this word
            for pair in zip(w, w[1:]):
                pair_counts[pair] -= f
                if pair_counts[pair] <= 0:
                    del pair_counts[pair]
            new, j = [], 0
            while j < len(w):  # left to right, non-overlapping
                if j + 1 < len(w) and w[j] == a and w[j + 1] == b:
                    new.append(merged)
                    j += 2
                else:
                    new.append(w[j])
                    j += 1
            words[i] = new
            for pair in zip(new, new[1:]):
                pair_counts[pair] += f
                where[pair].add(i)
        merges.append(best)
        vocab[len(vocab)] = merged
    return vocab, merges


def _merge_word(token: bytes, rank: dict) -> list[bytes]:
    """Apply merges to one pre-token: always the adjacent pair learned earliest, all its occurrences."""
    parts = [bytes([b]) for b in token]
    while len(parts) > 1:
        best = min(zip(parts, parts[1:]), key=lambda p: rank.get(p, len(rank)))
        if best not in rank:
            break
        new, j = [], 0
        while j < len(parts):
            if j + 1 < len(parts) and (parts[j], parts[j + 1]) == best:
                new.append(parts[j] + parts[j + 1])
                j += 2
            else:
                new.append(parts[j])
                j += 1
        parts = new
    return parts


def encode(text: str, vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]],
           special_tokens: list[str] | None = None) -> list[int]:
    """Special tokens to their ids; every other piece pre-tokenised, merged, and looked up."""
    special_tokens = list(special_tokens or [])
    rank = {pair: i for i, pair in enumerate(merges)}
    ids_of: dict[bytes, int] = {}
    for i in sorted(vocab):
        ids_of.setdefault(vocab[i], i)  # the smallest id wins when two entries hold the same bytes
    cache: dict[str, list[int]] = {}
    ids: list[int] = []
    for piece, special in _segments(text, special_tokens):
        if special:
            ids.append(ids_of[piece.encode("utf-8")])
            continue
        for word in PAT.findall(piece):
            if word not in cache:
                cache[word] = [ids_of[t] for t in _merge_word(word.encode("utf-8"), rank)]
            ids.extend(cache[word])
    return ids


def decode(ids: list[int], vocab: dict[int, bytes]) -> str:
    """Concatenate the tokens' bytes; invalid UTF-8 (a token sequence cut mid-character) becomes U+FFFD."""
    return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)
