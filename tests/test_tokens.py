"""Text-token counts: batches agree with single counts, whatever the batch size."""

from __future__ import annotations

import pytest

from codectx import tokens


def test_batched_counts_equal_single_counts_across_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["def f(x):\n    return x + 1\n", "", "héllo wörld " * 50, "<|endoftext|> is plain text", "a" * 300]
    single = [len(tokens._encoding().encode_ordinary(t)) for t in texts]
    assert tokens.count_tokens_batch(texts) == single
    monkeypatch.setattr(tokens, "BATCH_CHARS", 40)  # most batches hold one text, some texts exceed a batch
    assert tokens.count_tokens_batch(texts) == single
    assert tokens.count_tokens_batch([]) == []
