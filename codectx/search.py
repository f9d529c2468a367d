"""Search: exact, grep-like hits (path:line) served from the index.

A fixed string is narrowed with the full-text index first: the words it contains whole must be on
the line. Every candidate line is then checked against the exact text, so hits are exact and none
are missed. A regular expression (Python `re`) is run over every indexed line.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from codectx.catalog import generation_ids
from codectx.store import LINE_ROWID_SHIFT, FileRow, Store

_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_LINE_MASK = (1 << LINE_ROWID_SHIFT) - 1


class SearchError(ValueError):
    """A pattern that cannot be searched for (empty, multi-line, or a bad regular expression)."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    path: str
    line: int
    text: str


def _is_word_char(char: str) -> bool:
    return char.isalnum() or not char.isascii()


def narrowing_query(pattern: str) -> str | None:
    """An FTS5 query every line containing `pattern` matches, or None when the index cannot narrow.

    A word is required only where the pattern shows both of its ends; a word running into the end of
    the pattern is required as a prefix; a word running into its start may be a longer word's tail.
    """
    terms: list[str] = []
    for match in _ASCII_WORD.finditer(pattern):
        start, end = match.span()
        open_start = start == 0 or _is_word_char(pattern[start - 1])
        open_end = end == len(pattern) or _is_word_char(pattern[end])
        if open_start or (end < len(pattern) and _is_word_char(pattern[end])):
            continue
        terms.append(f'"{match.group()}"*' if open_end else f'"{match.group()}"')
    return " AND ".join(terms) if terms else None


class _Lines:
    """The generation's file texts, split into lines on first use."""

    def __init__(self, store: Store, files: dict[str, FileRow]) -> None:
        self.store = store
        self.files = files
        self._cache: dict[str, list[str]] = {}

    def of(self, path: str) -> list[str]:
        lines = self._cache.get(path)
        if lines is None:
            lines = (self.store.source_text(self.files[path].sha256) or "").split("\n")
            self._cache[path] = lines
        return lines


def _candidates(store: Store, generation: int, query: str) -> dict[str, set[int]]:
    paths_of: dict[int, list[str]] = defaultdict(list)
    for path, file_id in generation_ids(store, generation).items():
        paths_of[file_id].append(path)
    lines: dict[str, set[int]] = defaultdict(set)
    for (rowid,) in store.db.execute("SELECT rowid FROM line_fts WHERE line_fts MATCH ?", (query,)):
        for path in paths_of.get(rowid >> LINE_ROWID_SHIFT, ()):
            lines[path].add(rowid & _LINE_MASK)
    return lines


def search(store: Store, generation: int, pattern: str, regex: bool = False) -> Iterator[SearchHit]:
    """Lines of the generation's files that contain `pattern` (or match it as a regular expression), in path order."""
    if not pattern:
        raise SearchError("the pattern is empty")
    if "\n" in pattern:
        raise SearchError("patterns are matched line by line and cannot contain a newline")
    files = {f.path: f for f in store.files(generation)}
    texts = _Lines(store, files)
    if regex:
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            raise SearchError(f"bad regular expression {pattern!r}: {error}") from None
        for path in sorted(files):
            for number, line in enumerate(texts.of(path), start=1):
                if compiled.search(line):
                    yield SearchHit(path, number, line)
        return
    query = narrowing_query(pattern)
    candidates = _candidates(store, generation, query) if query else None
    for path in sorted(files if candidates is None else candidates):
        lines = texts.of(path)
        numbers = sorted(candidates[path]) if candidates is not None else range(1, len(lines) + 1)
        for number in numbers:
            if number <= len(lines) and pattern in lines[number - 1]:
                yield SearchHit(path, number, lines[number - 1])
