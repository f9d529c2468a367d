"""Search: exact, grep-like hits (path:line) served from the index.

A fixed string is narrowed with the full-text index first: the words it contains whole must be on
the line. Every candidate line is then checked against the exact text, so hits are exact and none
are missed. A regular expression (Python `re`) is run over every indexed line in a helper process
that is killed at a deadline (codectx.regex_worker): a pattern with catastrophic backtracking, such as
`([a-z]+)+$`, would otherwise hold the caller for seconds or hours, and `re` cannot be interrupted.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from codectx.catalog import generation_ids
from codectx.regex_worker import HelperFailure, TooSlow, matching_lines
from codectx.secrets import MASK_CHAR, SecretSpan, mask_value, value_digest
from codectx.store import LINE_ROWID_SHIFT, FileRow, Store

_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_LINE_MASK = (1 << LINE_ROWID_SHIFT) - 1
# Visible characters a pattern must hold to count as running into a masked secret, or out of it.
MIN_VISIBLE = 3
MASKED_CACHE_SIZE = 4  # generations whose masked lines are kept
TEXT_CACHE_CHARS = 64_000_000  # characters of file text kept between searches
# How long one regular-expression search may run over all lines.
REGEX_SECONDS = 5.0


class SearchError(ValueError):
    """A pattern that cannot be searched for (empty, multi-line, or a bad regular expression)."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    path: str
    line: int
    text: str  # the line as indexed, or, on a masked hit, `[masked secret: KIND]`
    masked: bool = False  # the pattern matches the line only where a secret is masked


def masked_hit_text(kind: str) -> str:
    return f"[masked secret: {kind}]"


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


@dataclass(slots=True)
class _CachedText:
    text: str
    lines: list[str] | None = None  # text.split("\n"), made when a search first needs it


class _TextCache:
    """File texts as the index stores them, by content digest and masks, shared by every generation and request.

    A new generation differs from the last by the files that changed, so a search after an edit reads
    only their texts from the store. A text's lines are kept with it once split (every regular-expression
    search reads every line). Least recently used texts go beyond `limit` characters, lines counting as
    many characters again.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._texts: OrderedDict[tuple[Path, str, MaskKey], _CachedText] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[Path, str, MaskKey]) -> _CachedText | None:
        with self._lock:
            found = self._texts.get(key)
            if found is not None:
                self._texts.move_to_end(key)
            return found

    @property
    def chars(self) -> int:
        return self._chars

    def put(self, key: tuple[Path, str, MaskKey], text: str) -> _CachedText:
        with self._lock:
            found = self._texts.get(key)
            if found is not None:
                return found
            entry = _CachedText(text)
            if len(text) <= self.limit:
                self._texts[key] = entry
                self._chars += len(text)
                self._trim()
            return entry

    def lines(self, key: tuple[Path, str, MaskKey], entry: _CachedText) -> list[str]:
        if entry.lines is not None:
            return entry.lines
        lines = entry.text.split("\n")
        with self._lock:
            if entry.lines is None and self._texts.get(key) is entry:
                entry.lines = lines
                self._chars += len(entry.text)
                self._trim()
        return lines

    def _trim(self) -> None:
        """Drop least recently used texts beyond the limit; call with the lock held."""
        while self._chars > self.limit and self._texts:
            _, dropped = self._texts.popitem(last=False)
            self._chars -= len(dropped.text) * (1 if dropped.lines is None else 2)


MaskKey = tuple[tuple[int, int, int, bool], ...]  # a file's detected spans: (start, stop, keep, allowed)
_texts = _TextCache(TEXT_CACHE_CHARS)
_mask_cache: OrderedDict[tuple[Path, int, float], dict[str, MaskKey]] = OrderedDict()
_mask_lock = threading.Lock()


def _generation_key(store: Store, generation: int) -> tuple[Path, int, float]:
    created = store.db.execute("SELECT created FROM generations WHERE id = ?", (generation,)).fetchone()
    return (store.directory, generation, created[0] if created else 0.0)


def _mask_keys(store: Store, generation: int) -> dict[str, MaskKey]:
    """path -> the spans that decide how its stored text is masked, for the files with any; kept per generation."""
    key = _generation_key(store, generation)
    with _mask_lock:
        cached = _mask_cache.get(key)
    if cached is None:
        spans: dict[str, list[tuple[int, int, int, bool]]] = defaultdict(list)
        for path, span in store.secrets(generation):
            spans[path].append((span.start, span.stop, span.keep, span.allowed))
        cached = {path: tuple(found) for path, found in spans.items()}
        with _mask_lock:
            _mask_cache[key] = cached
            while len(_mask_cache) > MASKED_CACHE_SIZE:
                _mask_cache.popitem(last=False)
    return cached


def prime_texts(store: Store, generation: int) -> int:
    """Load the generation's file texts into the shared text cache, as far as it holds them, so that the
    first search after a server starts reads no text from the store. Returns the texts loaded."""
    masks = _mask_keys(store, generation)
    keys = {(store.directory, f.sha256, masks.get(f.path, ())) for f in store.files(generation)}
    missing = sorted(key for key in keys if _texts.get(key) is None)
    room = _texts.limit - _texts.chars
    loaded = 0
    for start in range(0, len(missing), 500):  # a few hundred texts at a time, never a whole repository at once
        chunk = missing[start : start + 500]
        stored = store.source_texts(key[1] for key in chunk)
        for key in chunk:
            text = stored.get(key[1])
            if text is not None and len(text) <= room:
                _texts.put(key, text)
                room -= len(text)
                loaded += 1
        if room <= 0:
            break
    return loaded


class _Lines:
    """The generation's file texts (through the shared text cache), split into lines on first use."""

    def __init__(self, store: Store, files: dict[str, FileRow], masks: dict[str, MaskKey]) -> None:
        self.store = store
        self.files = files
        self.masks = masks
        self._cache: dict[str, list[str]] = {}

    def _key(self, path: str) -> tuple[Path, str, MaskKey]:
        return (self.store.directory, self.files[path].sha256, self.masks.get(path, ()))

    def _entry(self, key: tuple[Path, str, MaskKey]) -> _CachedText:
        return _texts.get(key) or _texts.put(key, self.store.source_text(key[1]) or "")

    def text(self, path: str) -> str:
        return self._entry(self._key(path)).text

    def of(self, path: str) -> list[str]:
        lines = self._cache.get(path)
        if lines is None:
            key = self._key(path)
            lines = _texts.lines(key, self._entry(key))
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
    texts = _Lines(store, files, _mask_keys(store, generation))
    if regex:
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            raise SearchError(f"bad regular expression {pattern!r}: {error}") from None
        paths = sorted(files)
        try:
            matched = matching_lines(store.directory, [files[p].sha256 for p in paths], compiled.pattern, regex_seconds)
        except TooSlow:
            raise SearchError(
                f"regular expression {pattern!r} ran longer than {regex_seconds:g} s and was stopped: it backtracks "
                "too much; drop nested repetition such as (a+)+ or (a|aa)+, or search a fixed string"
            ) from None
        except HelperFailure as failure:
            raise SearchError(f"the search for {pattern!r} failed: {failure}") from None
        for index, number in matched:
            yield SearchHit(paths[index], number, texts.of(paths[index])[number - 1])
        return
    query = narrowing_query(pattern)
    candidates = _candidates(store, generation, query) if query else None
    masked = masked_hits(store, generation, pattern, texts)
    masked_paths = {path for path, _ in masked}
    for path in sorted({*(files if candidates is None else candidates), *masked_paths}):
        if candidates is None and path not in masked_paths and pattern not in texts.text(path):
            continue  # not narrowed: one look at the whole text passes over most files
        lines = texts.of(path)
        numbers = candidates.get(path, ()) if candidates is not None else range(1, len(lines) + 1)
        found = {number for number in numbers if number <= len(lines) and pattern in lines[number - 1]}
        for number in sorted(found | {line for masked_path, line in masked if masked_path == path}):
            if number in found:
                yield SearchHit(path, number, lines[number - 1])
            else:
                yield SearchHit(path, number, masked_hit_text(masked[(path, number)]), masked=True)


def masked_hits(store: Store, generation: int, pattern: str, texts: _Lines) -> dict[tuple[str, int], str]:
    """(path, line) -> kind, for the lines where `pattern` would match the text before masking, by
    touching a masked secret: it holds the whole secret (told by the secret's stored digest) or runs
    from visible text into the masked part, or out of it. A fragment wholly inside a secret cannot be
    told from any other string and is not reported."""
    lines = _masked_lines_of(store, generation, texts)
    if not lines:
        return {}
    lengths = {seg.span.stop - seg.span.start for _, segments in lines.values() for seg in segments
               if isinstance(seg, MaskedSecret)}  # fmt: skip
    windows = {value_digest(pattern[i : i + n]) for n in lengths for i in range(len(pattern) - n + 1)}
    head, tail = pattern[:MIN_VISIBLE], pattern[-MIN_VISIBLE:]
    hits: dict[tuple[str, int], str] = {}
    for key, (text, segments) in lines.items():
        digests = {seg.span.digest for seg in segments if isinstance(seg, MaskedSecret)}
        # A partial match shows at least its first or last MIN_VISIBLE characters on the masked line.
        if (len(pattern) >= MIN_VISIBLE and (head in text or tail in text)) or digests & windows:
            kind = _touched_secret(segments, pattern)
            if kind:
                hits[key] = kind
    return hits


_masked_cache: dict[tuple[Path, int, float], dict[tuple[str, int], tuple[str, list[Segment]]]] = {}


def _masked_lines_of(store: Store, generation: int, texts: _Lines) -> dict[tuple[str, int], tuple[str, list[Segment]]]:
    """(path, line) -> (masked line, its segments) for every line with a masked secret; kept per generation."""
    key = _generation_key(store, generation)
    cached = _masked_cache.get(key)
    if cached is None:
        spans: dict[str, list[SecretSpan]] = defaultdict(list)
        for path, span in store.secrets(generation):
            if not span.allowed and path in texts.files:
                spans[path].append(span)
        cached = {}
        for path, file_spans in spans.items():
            file_lines = texts.of(path)
            for number, segments in masked_lines(file_lines, file_spans).items():
                cached[(path, number)] = (file_lines[number - 1], segments)
        if len(_masked_cache) >= MASKED_CACHE_SIZE:
            _masked_cache.pop(next(iter(_masked_cache)))
        _masked_cache[key] = cached
    return cached


@dataclass(frozen=True, slots=True)
class MaskedSecret:
    span: SecretSpan
    shown: str  # the characters the mask leaves visible at its start


Segment = str | MaskedSecret  # visible text, or a masked secret


def masked_lines(lines: list[str], spans: list[SecretSpan]) -> dict[int, list[Segment]]:
    """Each line holding masked spans, as visible text and secrets in order (from the masked lines)."""
    out: dict[int, list[Segment]] = {}
    masked_start, shift = 0, 0  # masked offset of line `number`; unmasked minus masked offset so far
    by_line: dict[int, list[SecretSpan]] = defaultdict(list)
    for span in sorted(spans, key=lambda s: s.start):
        by_line[span.line].append(span)
    for number, text in enumerate(lines, start=1):
        if number in by_line:
            segments: list[Segment] = []
            cursor = 0
            for span in by_line[number]:
                column = span.start - shift - masked_start
                mask = mask_value("x" * (span.stop - span.start), span.keep)
                shown = text[column : column + len(mask.rstrip(MASK_CHAR))]
                segments += [text[cursor:column], MaskedSecret(span, shown)]
                cursor = column + len(mask)
                shift += (span.stop - span.start) - len(mask)
            out[number] = [*segments, text[cursor:]]
        masked_start += len(text) + 1
    return out


def _touched_secret(segments: list[Segment], pattern: str) -> str | None:
    for index, segment in enumerate(segments):
        if isinstance(segment, str):
            continue
        before = segments[index - 1] if index and isinstance(segments[index - 1], str) else ""
        after = segments[index + 1] if index + 1 < len(segments) and isinstance(segments[index + 1], str) else ""
        assert isinstance(before, str) and isinstance(after, str)
        span, shown = segment.span, segment.shown
        length = span.stop - span.start
        for cut in range(len(pattern) - length + 1):  # the whole secret inside the pattern
            head, value, tail = pattern[:cut], pattern[cut : cut + length], pattern[cut + length :]
            if before.endswith(head) and after.startswith(tail) and value_digest(value) == span.digest:
                return span.kind
        for cut in range(1, len(pattern)):  # visible text running into the secret, or out of it
            head, tail = pattern[:cut], pattern[cut:]
            # Into it: the visible text and the mask's shown start must hold MIN_VISIBLE characters.
            visible_in = len(head) + min(len(tail), len(shown))
            runs_in = visible_in >= MIN_VISIBLE and len(tail) < length and before.endswith(head)
            runs_in = runs_in and tail[: len(shown)] == shown[: len(tail)] and not _has_space(tail)
            # Out of it: nothing of the secret is shown at its end, so the visible part must say as much.
            runs_out = len(tail) >= MIN_VISIBLE and len(head) < length and after.startswith(tail)
            if runs_in or (runs_out and not _has_space(head)):
                return span.kind
    return None


def _has_space(text: str) -> bool:
    return any(c.isspace() for c in text)
