"""Text-token counts: a batch counts each text as a single count does, in order."""

from __future__ import annotations

from codectx import tokens


def test_batched_counts_equal_single_counts_in_order() -> None:
    texts = ["def f(x):\n    return x + 1\n", "", "héllo wörld " * 50, "<|endoftext|> is plain text", "a" * 300] * 20
    assert tokens.count_tokens_batch(texts) == [len(tokens._encoding().encode_ordinary(t)) for t in texts]
    assert tokens.count_tokens_batch([]) == []


def test_the_tokenizer_kept_between_processes_counts_as_the_bundled_one(tmp_path, monkeypatch) -> None:
    import subprocess
    import sys

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = "def naïve_函数(x):\n    return x  # <|endoftext|>\n" * 7
    count = f"from codectx.tokens import count_tokens; print(count_tokens({text!r}))"

    def in_a_new_process() -> int:
        return int(subprocess.run([sys.executable, "-c", count], check=True, capture_output=True, text=True).stdout)

    fresh = in_a_new_process()  # parses the bundled file and keeps what it parsed
    (kept,) = (tmp_path / "codectx").glob("cl100k_base-*.marshal")
    assert in_a_new_process() == fresh  # reads what was kept
    kept.write_bytes(kept.read_bytes()[:1000])  # a file cut short is parsed afresh, and replaced
    assert in_a_new_process() == fresh
    assert kept.stat().st_size > 1000
    tokens._encoding.cache_clear()
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert fresh == len(tokens._encoding().encode_ordinary(text))
