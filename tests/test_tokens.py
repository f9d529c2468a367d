"""Text-token counts: a batch counts each text as a single count does, in order."""

from __future__ import annotations

from codectx import tokens


def test_batched_counts_equal_single_counts_in_order() -> None:
    texts = ["def f(x):\n    return x + 1\n", "", "héllo wörld " * 50, "<|endoftext|> is plain text", "a" * 300] * 20
    assert tokens.count_tokens_batch(texts) == [len(tokens._encoding().encode_ordinary(t)) for t in texts]
    assert tokens.count_tokens_batch([]) == []
