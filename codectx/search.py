"""Search: exact, grep-like hits (path:line) served from the index.

A fixed string is narrowed with the full-text index first: the words it contains whole must be on
the line. Every candidate line is then checked against the exact text, so hits are exact and none
are missed. A regular expression (Python `re`) is run over every indexed line in a forked worker
process that is killed at a deadline: a pattern with catastrophic backtracking, such as
`([a-z]+)+$`, would otherwise hold the caller for seconds or hours, and `re` cannot be interrupted.
"""

from __future__ import annotations

import os
import re
import select
import signal
import time
from array import array
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from codectx.catalog import generation_ids
from codectx.store import LINE_ROWID_SHIFT, FileRow, Store

_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_LINE_MASK = (1 << LINE_ROWID_SHIFT) - 1
# How long one regular-expression search may run over all lines.
REGEX_SECONDS = 5.0


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


def search(
    store: Store, generation: int, pattern: str, regex: bool = False, regex_seconds: float = REGEX_SECONDS
) -> Iterator[SearchHit]:
    """Lines of the generation's files that contain `pattern` (or match it as a regular expression), in path order.

    A regular expression that needs more than `regex_seconds` of matching raises SearchError.
    """
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
        paths = sorted(files)
        file_lines = [texts.of(path) for path in paths]
        for index, number in _matching_lines(compiled, file_lines, regex_seconds):
            yield SearchHit(paths[index], number, file_lines[index][number - 1])
        return
    query = narrowing_query(pattern)
    candidates = _candidates(store, generation, query) if query else None
    for path in sorted(files if candidates is None else candidates):
        lines = texts.of(path)
        numbers = sorted(candidates[path]) if candidates is not None else range(1, len(lines) + 1)
        for number in numbers:
            if number <= len(lines) and pattern in lines[number - 1]:
                yield SearchHit(path, number, lines[number - 1])


def _matching_lines(compiled: re.Pattern[str], files: list[list[str]], seconds: float) -> list[tuple[int, int]]:
    """(file index, line number) of the lines `compiled` matches, found by a forked child that is killed
    after `seconds`. Forking hands the child the lines without copying them; the child writes its
    answer to a pipe and leaves with os._exit, so it never flushes the parent's buffered streams."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        status = 1
        try:
            os.close(read_end)
            found = array("q", [v for i, file in enumerate(files) for n, line in enumerate(file, 1)
                                if compiled.search(line) for v in (i, n)])  # fmt: skip
            with open(write_end, "wb") as out:
                out.write(found.tobytes())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    answer = bytearray()
    finished = False
    deadline = time.monotonic() + seconds
    try:
        while not finished:
            ready, _, _ = select.select([read_end], [], [], max(deadline - time.monotonic(), 0.0))
            if not ready:
                raise SearchError(
                    f"regular expression {compiled.pattern!r} ran longer than {seconds:g} s and was stopped: it "
                    "backtracks too much; drop nested repetition such as (a+)+ or (a|aa)+, or search a fixed string"
                )
            chunk = os.read(read_end, 1 << 20)
            answer += chunk
            finished = not chunk
    finally:
        os.close(read_end)
        if not finished:
            os.kill(child, signal.SIGKILL)
        _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SearchError(f"the search for {compiled.pattern!r} failed: its worker process ended early")
    values = array("q", bytes(answer))
    return list(zip(values[0::2], values[1::2], strict=True))
