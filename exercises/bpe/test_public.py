"""Public checks for bpe: the worked example of the statement, the vocabulary layout, a round trip."""

from grader.checks import CheckFailure, assert_tuple, check

WORKED = "low low low low low lower lower widest widest widest newest newest newest newest newest newest"


@check(points=2)
def test_worked_example(submission):
    # The six merges worked out in README.md (pre-tokens keep their leading space).
    vocab, merges = assert_tuple(submission.train_bpe(WORKED, 256 + 6, []), 2)
    expected = [(b"s", b"t"), (b"e", b"st"), (b"o", b"w"), (b"l", b"ow"), (b"w", b"est"), (b"n", b"e")]
    if [tuple(m) for m in merges] != expected:
        raise CheckFailure("merges differ from the worked example", f"got {merges!r}, expected {expected!r}")
    if vocab.get(256 + 5) != b"ne" or len(vocab) != 262:
        raise CheckFailure("vocab does not end with the merged tokens", f"{len(vocab)} entries")


@check(points=1)
def test_special_tokens_come_first(submission):
    vocab, _ = assert_tuple(submission.train_bpe("ab ab ab", 256 + 2 + 1, ["<|endoftext|>", "<pad>"]), 2)
    if vocab.get(0) != b"<|endoftext|>" or vocab.get(1) != b"<pad>" or vocab.get(2) != b"\x00" \
            or vocab.get(2 + 97) != b"a":
        raise CheckFailure("ids are not: special tokens, then the 256 bytes, then merges")


@check(points=2)
def test_round_trip(submission):
    specials = ["<|endoftext|>"]
    vocab, merges = assert_tuple(submission.train_bpe(WORKED + "<|endoftext|>café, 東京!", 256 + 1 + 20, specials), 2)
    for text in ["the newest lower widest<|endoftext|>low", "café 東京 😀", ""]:
        ids = submission.encode(text, vocab, merges, specials)
        back = submission.decode(ids, vocab)
        if back != text:
            raise CheckFailure("decode(encode(text)) differs from text", f"{text!r} came back as {back!r}")
