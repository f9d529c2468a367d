"""Rescan: walk the tree again but re-read only the files whose stat signature changed.

A long-running watcher keeps one SourceCache. Each scan still walks the whole tree (directory
listings and one lstat per file, so ignore rules and deletions are always current) and reuses the
earlier SourceFile or Skipped of a path whose size, mtime, ctime, inode and mode are unchanged.
Paths named by file events are re-read regardless, and a file changed within RACY_NS of being read
is not trusted: file timestamps are coarser than the writes they record.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from codectx.scan import MAX_FILE_BYTES, ScanResult, Skipped, SourceFile, load_source, scan
from codectx.secrets import SecretSpan

RACY_NS = 20_000_000  # two ticks of the coarsest kernel clock (HZ=100)

StatKey = tuple[int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class _Entry:
    key: StatKey
    max_bytes: int
    result: SourceFile | Skipped


class SourceCache:
    """Remembers what each file loaded as, keyed by its stat signature. Safe to invalidate from any thread."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self.reads = 0  # files read by the last scan
        self.reused = 0  # files taken from the cache by the last scan

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
        self.reads = self.reused = 0

        def load(root: Path, rel_path: str, max_bytes: int) -> SourceFile | Skipped:
            try:
                st = os.lstat(os.path.join(root, rel_path))  # not Path: this runs for every file on every update
            except OSError:
                self.reads += 1
                return load_source(root, rel_path, max_bytes, known_secrets)
            key = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)
            entry = self._entries.get(rel_path)
            if entry is not None and entry.key == key and entry.max_bytes == max_bytes and rel_path not in dirty:
                self.reused += 1
                fresh[rel_path] = entry
                return entry.result
            # Stat before reading: a write during the read changes the key, so it is read again next time.
            result = load_source(root, rel_path, max_bytes, known_secrets)
            self.reads += 1
            if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_NS:
                fresh[rel_path] = _Entry(key, max_bytes, result)
            return result

        try:
            result = scan(root, max_bytes, on_file, load=load)
        except BaseException:
            self.invalidate(dirty)
            raise
        self._entries = fresh  # paths no longer on disk drop out
        return result
