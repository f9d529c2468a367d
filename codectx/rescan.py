"""Rescan: walk the tree again but re-read only the files whose stat signature changed.

A long-running watcher keeps one SourceCache. Each scan still walks the whole tree (directory
listings and one lstat per file, so ignore rules and deletions are always current) and reuses the
earlier SourceFile or Skipped of a path whose size, mtime, ctime, inode and mode are unchanged.
Paths named by file events are re-read regardless, and a file changed within RACY_NS of being read
is not trusted: file timestamps are coarser than the writes they record. The ignore rules are kept
too, with the answers they gave, for as long as every ignore file's stat signature holds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from codectx.scan import (
    IGNORE_FILE_NAMES,
    MAX_FILE_BYTES,
    IgnoreRules,
    ScanResult,
    Skipped,
    SourceFile,
    load_source,
    scan,
)
from codectx.secrets import ALLOWLIST_NAME, SecretSpan

RACY_NS = 20_000_000  # two ticks of the coarsest kernel clock (HZ=100)

StatKey = tuple[int, int, int, int, int]
RulesSignature = frozenset[tuple[str, StatKey | None]]


def _stat_key(path: str) -> StatKey | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


def _settled(key: StatKey | None) -> bool:
    """False for a file changed so recently that a later write may leave its signature unchanged."""
    return key is None or time.time_ns() - max(key[1], key[2]) > RACY_NS


@dataclass(frozen=True, slots=True)
class _Entry:
    key: StatKey
    max_bytes: int
    result: SourceFile | Skipped
    allowlist: StatKey | None  # the allowlist as the result's masks were decided under it

    def reusable(self, key: StatKey, max_bytes: int, allowlist: StatKey | None) -> bool:
        """Unchanged, and (when it holds secrets) masked under the allowlist as it is now."""
        if self.key != key or self.max_bytes != max_bytes:
            return False
        return self.allowlist == allowlist or not (isinstance(self.result, SourceFile) and self.result.secrets)


class SourceCache:
    """Remembers what each file loaded as, keyed by its stat signature. Safe to invalidate from any thread."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._rules: tuple[IgnoreRules, RulesSignature] | None = None
        self.reads = 0  # files read by the last scan
        self.scans = 0

    @property
    def never_scanned(self) -> bool:
        return self.scans == 0

    def invalidate(self, paths: Iterable[str]) -> None:
        """Force the next scan to re-read these relative paths."""
        with self._lock:
            self._dirty.update(paths)

    def scan(
        self,
        root: Path,
        max_bytes: int = MAX_FILE_BYTES,
        on_file: Callable[[str], None] | None = None,
        known_secrets: Mapping[tuple[str, str], tuple[SecretSpan, ...]] | None = None,
    ) -> ScanResult:
        with self._lock:
            dirty, self._dirty = self._dirty, set()
        fresh: dict[str, _Entry] = {}
        self.reads = 0
        kept_rules = self._rules
        if any(path.rpartition("/")[2] in IGNORE_FILE_NAMES for path in dirty):
            kept_rules = None  # events name an ignore file: read the rules again
        rules = kept_rules[0] if kept_rules else IgnoreRules(root)
        allowlist = _stat_key(os.path.join(root, ALLOWLIST_NAME))
        exclude_file = os.path.join(root, ".git", "info", "exclude")
        ignore_files: dict[str, StatKey | None] = {exclude_file: _stat_key(exclude_file)}

        def walked(rel_path: str) -> None:
            if rel_path.rpartition("/")[2] in IGNORE_FILE_NAMES:
                ignore_files[rel_path] = _stat_key(os.path.join(root, rel_path))
            if on_file:
                on_file(rel_path)

        def load(root: Path, rel_path: str, max_bytes: int) -> SourceFile | Skipped:
            key = _stat_key(os.path.join(root, rel_path))  # not Path: this runs for every file on every update
            if key is None:
                self.reads += 1
                return load_source(root, rel_path, max_bytes, known_secrets)
            entry = self._entries.get(rel_path)
            if entry is not None and entry.reusable(key, max_bytes, allowlist) and rel_path not in dirty:
                fresh[rel_path] = entry
                return entry.result
            # Stat before reading: a write during the read changes the key, so it is read again next time.
            result = load_source(root, rel_path, max_bytes, known_secrets)
            self.reads += 1
            if _settled(key):
                fresh[rel_path] = _Entry(key, max_bytes, result, allowlist)
            return result

        try:
            result = scan(root, max_bytes, walked, load=load, rules=rules)
        except BaseException:
            self.invalidate(dirty)
            raise
        signature = frozenset(ignore_files.items())
        if kept_rules is not None and kept_rules[1] != signature:
            # An ignore file changed since the kept rules read it: this scan used stale rules.
            self._rules = None
            self.invalidate(dirty)
            return self.scan(root, max_bytes, on_file, known_secrets)
        self._rules = (rules, signature) if all(_settled(k) for k in ignore_files.values()) else None
        self._entries = fresh  # paths no longer on disk drop out
        self.scans += 1
        return result
