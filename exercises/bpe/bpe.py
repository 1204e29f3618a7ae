"""Exercise: a byte-level byte-pair-encoding (BPE) tokenizer: training, encoding, decoding."""

import re

# The pre-tokeniser: GPT-2's pattern, written for the standard library's ``re`` (letters are ``\w``
# without digits and "_"). Every character of a string belongs to exactly one match, so
# ``"".join(PAT.findall(s)) == s``. Use it as it is: the checks compare with exactly this split.
PAT = re.compile(r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")


def train_bpe(text: str, vocab_size: int,
              special_tokens: list[str]) -> tuple[dict[int, bytes], list[tuple[bytes, bytes]]]:
    """Learn a byte-level BPE vocabulary from ``text``.

    1. Initial vocabulary: the special tokens first, ids ``0 .. k-1`` in the order given (their
       UTF-8 bytes), then the 256 single bytes, byte ``b`` at id ``k + b``.
    2. Split ``text`` at every occurrence of a special token (if several match at one place, the
       longest wins). The special tokens themselves are dropped: they are never counted, and no
       merge ever spans one. Split each remaining piece into pre-tokens with ``PAT.findall``.
    3. Each distinct pre-token is a sequence of tokens, initially its UTF-8 bytes, weighted by how
       many times it occurs. A pair's count is the sum, over pre-tokens, of weight × the number of
       positions where the two tokens are adjacent (overlaps count: ``aaa`` holds ``(a, a)`` twice).
    4. Repeat while ``len(vocab) < vocab_size`` and some pair is left: take the pair ``(a, b)``
       with the largest count; among equal counts, the lexicographically greatest pair, comparing
       ``(a, b)`` as a tuple of bytes objects (``max`` over ``(count, (a, b))``). Append it to
       ``merges``, add ``a + b`` to the vocabulary at the next id (``k + 256 + i`` for merge i),
       and replace its occurrences in every pre-token, left to right without overlap
       (``a a a`` → ``aa a``). Stop early when no pre-token has two tokens left.

    Args:
        text: the training corpus, any Unicode string (no lone surrogates); may be empty.
        vocab_size: the size of the final vocabulary, an int >= 256 + len(special_tokens).
        special_tokens: distinct, non-empty strings such as ``"<|endoftext|>"``; may be empty.

    Returns:
        ``(vocab, merges)``: ``vocab`` a dict from int id to ``bytes`` holding exactly the ids
        ``0 .. len(vocab)-1``; ``merges`` a list of ``(bytes, bytes)`` tuples in the order learned.
    """
    raise NotImplementedError


def encode(text: str, vocab: dict[int, bytes], merges: list[tuple[bytes, bytes]],
           special_tokens: list[str] | None = None) -> list[int]:
    """Turn ``text`` into token ids.

    Split ``text`` at special tokens exactly as in training (longest match first); each special
    token becomes its own id. Split every other piece with ``PAT.findall``; for each pre-token,
    start from its UTF-8 bytes and repeatedly merge the adjacent pair that appears EARLIEST in
    ``merges`` (every occurrence of it, left to right), until no adjacent pair is in ``merges``.
    Map each resulting token (bytes) to its id in ``vocab``; if two ids hold the same bytes, the
    smaller id.

    Args:
        text: any Unicode string (no lone surrogates); may be empty.
        vocab: id -> bytes, as returned by ``train_bpe`` (all 256 single bytes included).
        merges: the merges, as returned by ``train_bpe``.
        special_tokens: the special tokens to respect (each must be in ``vocab``); None or empty
            means none: then ``"<|endoftext|>"`` is ordinary text.

    Returns:
        A list of int ids; ``decode(encode(text, ...), vocab) == text`` for every string.
    """
    raise NotImplementedError


def decode(ids: list[int], vocab: dict[int, bytes]) -> str:
    """Turn token ids back into text.

    Concatenate the bytes of every id, then decode them as UTF-8 with ``errors="replace"``: a
    sequence of ids that cuts a character in the middle (a lone first byte of "é", say) gives
    U+FFFD where the bytes are invalid, never an exception.

    Args:
        ids: a list of ids, each a key of ``vocab``; may be empty.
        vocab: id -> bytes.

    Returns:
        The decoded string.
    """
    raise NotImplementedError
