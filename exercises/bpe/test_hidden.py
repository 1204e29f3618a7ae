"""Hidden checks for bpe: training against a reference trainer, tie-breaks, special tokens, encoding
by merge rank, UTF-8 edge cases, round trips on generated Unicode text, and training speed."""

import random
import re
import time
from collections import Counter

import pytest

from grader.checks import CheckFailure, assert_tuple, check, skip_unless_timed

PAT = re.compile(r"""'(?:[sdmt]|ll|ve|re)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")
EOT = "<|endoftext|>"


# The reference: written plainly from the statement (pair counts recomputed for every merge). ------

def split_special(text, special_tokens):
    if not special_tokens:
        return [(text, False)] if text else []
    alternation = "|".join(re.escape(s) for s in sorted(special_tokens, key=len, reverse=True))
    return [(p, i % 2 == 1) for i, p in enumerate(re.split(f"({alternation})", text)) if p]


def reference_train(text, vocab_size, special_tokens):
    vocab = {i: s.encode("utf-8") for i, s in enumerate(special_tokens)}
    vocab.update({len(special_tokens) + b: bytes([b]) for b in range(256)})
    words = Counter()
    for piece, special in split_special(text, special_tokens):
        if not special:
            for w in PAT.findall(piece):
                words[tuple(bytes([b]) for b in w.encode("utf-8"))] += 1
    merges = []
    while len(vocab) < vocab_size:
        pairs = Counter()
        for w, f in words.items():
            for p in zip(w, w[1:]):
                pairs[p] += f
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merged = Counter()
        for w, f in words.items():
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and (w[j], w[j + 1]) == best:
                    out.append(w[j] + w[j + 1])
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            merged[tuple(out)] += f
        words = merged
        merges.append(best)
        vocab[len(vocab)] = best[0] + best[1]
    return vocab, merges


def reference_encode(text, vocab, merges, special_tokens=()):
    ids_of = {}
    for i in sorted(vocab):
        ids_of.setdefault(vocab[i], i)
    ids = []
    for piece, special in split_special(text, list(special_tokens)):
        if special:
            ids.append(ids_of[piece.encode("utf-8")])
            continue
        for w in PAT.findall(piece):
            parts = [bytes([b]) for b in w.encode("utf-8")]
            for pair in merges:  # in learned order: the same as "earliest pair first" for trained merges
                out, j = [], 0
                while j < len(parts):
                    if j + 1 < len(parts) and (parts[j], parts[j + 1]) == pair:
                        out.append(parts[j] + parts[j + 1])
                        j += 2
                    else:
                        out.append(parts[j])
                        j += 1
                parts = out
            ids += [ids_of[p] for p in parts]
    return ids


def reference_decode(ids, vocab):
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


# Inputs ----------------------------------------------------------------------------------------

def corpus(seed, n_words, docs=1, separator=EOT):
    """Zipf-distributed made-up words with capitals, punctuation, numbers, accents, CJK and emoji."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "sho", "ve", "qu", "ax", "en", "is", "or", "th", "ing",
                 "er", "é", "ß"]
    lexicon = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(300)]
    lexicon += ["café", "naïve", "東京", "日本語", "😀", "👍🏽", "x²", "e\u0301te\u0301", "don't", "we'll",
                "it's", "snake_case", "3.14", "1,000", "—", "…", "42", "2024"]
    weights = [1 / (r + 1) for r in range(len(lexicon))]
    out = []
    for _ in range(docs):
        parts = []
        for i, w in enumerate(rng.choices(lexicon, weights, k=n_words // docs)):
            parts.append(w.capitalize() if i % 9 == 0 else w)
            if i % 11 == 10:
                parts[-1] += rng.choice([",", ".", "!", "?", ";", ":"])
            if i % 37 == 36:
                parts[-1] += rng.choice(["\n", "\n\n", "  ", "\t"])
        out.append(" ".join(parts))
    return separator.join(out)


def unicode_strings(seed, count):
    """Arbitrary text: ASCII, Latin-1, combining marks, CJK, emoji (ZWJ and skin tones), odd spaces,
    private use, and special tokens, in random lengths; never lone surrogates."""
    rng = random.Random(seed)
    pools = [(0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x4E00, 0x4FFF), (0x1F300, 0x1F64F),
             (0x1F900, 0x1F9FF), (0xE000, 0xE0FF), (0x10000, 0x1007F)]
    extras = ["\u200d", "\ufe0f", "\U0001F3FD", "\t", "\n", "\r\n", "\u00a0", "\u3000", "  ", "'s", "'ll", EOT,
              "<|", "|>", "_", "0", "٣"]
    out = []
    for _ in range(count):
        chars = []
        for _ in range(rng.randint(0, 40)):
            if rng.random() < 0.2:
                chars.append(rng.choice(extras))
            else:
                lo, hi = rng.choice(pools)
                chars.append(chr(rng.randint(lo, hi)))
        out.append("".join(chars))
    return out


def merges_of(value):
    """The merges as a list of (bytes, bytes) tuples; a list of 2-lists is accepted too."""
    if type(value) is not list:
        raise CheckFailure("merges is not a list", f"got {type(value).__qualname__}")
    out = []
    for m in value:
        if type(m) not in (tuple, list) or len(m) != 2 or not all(type(x) is bytes for x in m):
            raise CheckFailure("merges holds something other than (bytes, bytes) pairs", f"got {m!r}"[:200])
        out.append(tuple(m))
    return out


def train(submission, text, vocab_size, special_tokens):
    vocab, merges = assert_tuple(submission.train_bpe(text, vocab_size, special_tokens), 2)
    if type(vocab) is not dict or not all(type(k) is int and type(v) is bytes for k, v in vocab.items()):
        raise CheckFailure("vocab is not a dict of int ids to bytes")
    return vocab, merges_of(merges)


def compare_training(got, expected):
    (vocab, merges), (ref_vocab, ref_merges) = got, expected
    if merges != ref_merges:
        first = next((i for i, (a, b) in enumerate(zip(merges, ref_merges)) if a != b), min(len(merges), len(ref_merges)))
        raise CheckFailure("merges differ from the reference",
                           f"{len(merges)} merges, expected {len(ref_merges)}; first difference at merge {first}")
    if vocab != ref_vocab:
        bad = sorted(set(vocab.items()) ^ set(ref_vocab.items()))[:1]
        raise CheckFailure("vocab differs from the reference", f"e.g. {bad!r}"[:200])


# Training --------------------------------------------------------------------------------------

@check(points=2)
def test_training_matches_reference(submission):
    text = corpus(11, 4000, docs=5)
    compare_training(train(submission, text, 256 + 1 + 150, [EOT]), reference_train(text, 256 + 1 + 150, [EOT]))


@check(points=1)
def test_training_without_special_tokens(submission):
    text = corpus(21, 1500)
    compare_training(train(submission, text, 256 + 80, []), reference_train(text, 256 + 80, []))


@check(points=2)
def test_ties_go_to_the_greatest_pair(submission):
    # Every pair occurs once: the order of merges is the tie-break alone. (b"ab", b"c") > (b"a", b"bc")
    # as tuples, though their concatenations are equal.
    for text in ["zz yy xx ww", "abc abc bca cab", "ab abc a bc bc ab"]:
        compare_training(train(submission, text, 256 + 12, []), reference_train(text, 256 + 12, []))


@check(points=1)
def test_overlapping_pairs_count(submission):
    # "aaa" holds (a, a) twice: counted with overlaps, (a, a) = 4 beats (b, b) = 3.
    text = "aaa aaa bb bb bb"
    compare_training(train(submission, text, 256 + 3, []), reference_train(text, 256 + 3, []))


@check(points=1)
def test_vocab_layout(submission):
    specials = ["<|endoftext|>", "<pad>", "⟨sep⟩"]
    vocab, merges = train(submission, corpus(31, 800), 256 + 3 + 40, specials)
    if sorted(vocab) != list(range(256 + 3 + 40)):
        raise CheckFailure("vocab ids are not 0 .. vocab_size-1")
    for i, s in enumerate(specials):
        if vocab[i] != s.encode("utf-8"):
            raise CheckFailure("special tokens do not have ids 0 .. k-1 in the order given")
    if any(vocab[3 + b] != bytes([b]) for b in range(256)):
        raise CheckFailure("the 256 bytes do not follow the special tokens in byte order")
    if any(vocab[259 + i] != a + b for i, (a, b) in enumerate(merges)):
        raise CheckFailure("merge i is not at id k + 256 + i")


@check(points=1)
def test_stops_when_no_pair_is_left(submission):
    # "abab" and " abab" become single tokens after four merges; a larger vocab_size cannot be filled.
    text = "abab abab"
    got = train(submission, text, 1000, [])
    compare_training(got, reference_train(text, 1000, []))


@check(points=2)
def test_special_tokens_split_training(submission):
    # Documents glued by a special token: nothing may be learned from its bytes, nor across it.
    text = EOT.join(["ab" * k + "<|" for k in range(1, 30)]) + EOT * 5 + "|>end"
    got = train(submission, text, 256 + 2 + 25, [EOT, "<pad>"])
    compare_training(got, reference_train(text, 256 + 2 + 25, [EOT, "<pad>"]))
    if any(b"<|endoftext" in v for v in got[0].values() if v != EOT.encode()):
        raise CheckFailure("a merge contains the bytes of a special token")


@check(points=1)
def test_empty_corpus(submission):
    vocab, merges = train(submission, "", 300, [EOT])
    if merges or len(vocab) != 257:
        raise CheckFailure("training on an empty text must learn nothing",
                           f"{len(merges)} merges, {len(vocab)} vocab entries")


# Encoding and decoding -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained():
    """A vocab learned (by the reference) on mixed text, used to judge encode and decode alone."""
    specials = [EOT, "<|endoftext|><|endoftext|>", "<pad>"]
    text = corpus(41, 6000, docs=4) + "".join(unicode_strings(42, 60))
    vocab, merges = reference_train(text, 256 + 3 + 400, specials)
    return vocab, merges, specials


@check(points=2)
def test_encode_matches_reference(submission, trained):
    vocab, merges, specials = trained
    text = corpus(51, 1200, docs=3)
    ids = submission.encode(text, vocab, merges, specials)
    if ids != reference_encode(text, vocab, merges, specials):
        raise CheckFailure("encode gives other ids than the reference")


@check(points=1)
def test_encode_without_special_tokens(submission, trained):
    # special_tokens omitted: "<|endoftext|>" is ordinary text, split by PAT.
    vocab, merges, _ = trained
    text = "hello" + EOT + " world<pad>!"
    if submission.encode(text, vocab, merges) != reference_encode(text, vocab, merges):
        raise CheckFailure("encode without special tokens gives other ids than the reference")


@check(points=2)
def test_encode_follows_merge_order(submission):
    # Merges (b, c) then (a, b): in "abc" the earlier merge wins, giving [a, bc] — not [ab, c], which
    # merging the leftmost known pair first would give.
    vocab = {b: bytes([b]) for b in range(256)}
    vocab.update({256: b"bc", 257: b"ab", 258: b"abc"})
    merges = [(b"b", b"c"), (b"a", b"b"), (b"ab", b"c")]
    for text in ["abc", "abcabc ab abd", "xabcy"]:
        if submission.encode(text, vocab, merges, []) != reference_encode(text, vocab, merges):
            raise CheckFailure("encode does not apply the earliest merge first")


@check(points=2)
def test_longest_special_token_first(submission, trained):
    vocab, merges, specials = trained
    text = "a" + EOT + EOT + "b" + EOT + " c" + EOT * 3 + "<pad><|end"
    ids = submission.encode(text, vocab, merges, specials)
    if ids != reference_encode(text, vocab, merges, specials):
        raise CheckFailure("special tokens are not matched longest first")


@check(points=1)
def test_special_token_order_in_list_does_not_matter(submission, trained):
    vocab, merges, specials = trained
    text = EOT + EOT + " x" + EOT
    if submission.encode(text, vocab, merges, specials[::-1]) != reference_encode(text, vocab, merges, specials):
        raise CheckFailure("special tokens are not matched longest first")


@check(points=2)
def test_decode_partial_utf8(submission, trained):
    vocab, _, _ = trained
    byte_id = {vocab[i]: i for i in sorted(vocab, reverse=True) if len(vocab[i]) == 1}
    cases = ["é".encode()[:1], "😀".encode()[:2], "😀".encode()[:3] + b"a", "東".encode()[1:], b"\xff\xfe",
             "ok".encode() + "é".encode()[:1]]
    for raw in cases:
        ids = [byte_id[bytes([b])] for b in raw]
        got = submission.decode(ids, vocab)
        if got != reference_decode(ids, vocab):
            raise CheckFailure("decode of invalid UTF-8 differs", "invalid bytes must become U+FFFD")


@check(points=1)
def test_decode_matches_reference(submission, trained):
    vocab, _, _ = trained
    ids = list(range(len(vocab)))[::7] + [0, 1, 2]
    if submission.decode(ids, vocab) != reference_decode(ids, vocab):
        raise CheckFailure("decode differs from the reference")


@check(points=3)
def test_round_trip_unicode(submission, trained):
    vocab, merges, specials = trained
    # The random strings go five to a call, joined: every call carries the whole vocabulary and the
    # merges to the worker, so 30 longer texts judge the same characters at a fifth of the calls.
    texts = unicode_strings(61, 150)
    joined = ["".join(texts[i:i + 5]) for i in range(0, len(texts), 5)]
    for s in joined + ["", " ", "\n\n", "e\u0301", "👩\u200d👩\u200d👧\u200d👦", "🇫🇷", "ﬁ",
                       "x" * 300, EOT, "<|endoftext|<|endoftext|>|>"]:
        ids = submission.encode(s, vocab, merges, specials)
        if type(ids) is not list or not all(type(i) is int for i in ids):
            raise CheckFailure("encode did not return a list of ints")
        if ids != reference_encode(s, vocab, merges, specials):
            raise CheckFailure("encode gives other ids than the reference on Unicode text")
        if submission.decode(ids, vocab) != s:
            raise CheckFailure("decode(encode(s)) != s on Unicode text")


# Speed -----------------------------------------------------------------------------------------

BUDGET = 5.0  # the student's training time over the reference's, on the same corpus


@check(points=1, kind="timing")
def test_training_speed(submission, request):
    # Timed like the [[timing]] checks: only for a correct answer, not at all with --no-timing.
    skip_unless_timed(request, "bpe")
    text = corpus(71, 20000, docs=10)
    vocab_size = 256 + 1 + 300
    ratios = []
    for _ in range(3):  # the best of up to three rounds: load on the machine only slows things down
        t0 = time.perf_counter()
        expected = reference_train(text, vocab_size, [EOT])
        reference = time.perf_counter() - t0
        t0 = time.perf_counter()
        got = train(submission, text, vocab_size, [EOT])
        student = time.perf_counter() - t0
        compare_training(got, expected)
        ratios.append(student / reference)
        if min(ratios) <= BUDGET or ratios[-1] > 2 * BUDGET:  # retry only near the budget
            break
    ratio = min(ratios)
    request.node.measured = {"ratio": round(ratio, 3), "budget": BUDGET, "rounds": len(ratios)}
    if ratio > BUDGET:
        raise CheckFailure(f"train_bpe took {ratio:.1f}x the reference's time (budget {BUDGET:g}x)",
                           "count each distinct pre-token once, weighted by its frequency")
