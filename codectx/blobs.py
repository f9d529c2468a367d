"""Content-addressed files, written so that readers see either nothing or the whole file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".tmp-"


def write_atomically(target: Path, data: bytes) -> None:
    """Write to a temp file beside `target`, then rename: readers see the old file or the whole new one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class BlobStore:
    """Content-addressed files: <dir>/<digest[:2]>/<digest><suffix>."""

    def __init__(self, directory: Path, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix

    def path_for(self, digest: str) -> Path:
        return self.directory / digest[:2] / f"{digest}{self.suffix}"

    def exists(self, digest: str) -> bool:
        # Joined as text: an update checks every reused page, and building Paths cost more than the stats.
        return os.path.exists(os.path.join(self.directory, digest[:2], f"{digest}{self.suffix}"))

    def put(self, digest: str, data: bytes) -> None:
        """Store `data` under `digest` (the caller's content address) unless it is stored already."""
        target = self.path_for(digest)
        if not target.exists():
            write_atomically(target, data)

    def get(self, digest: str) -> bytes:
        return self.path_for(digest).read_bytes()

    def all_digests(self) -> Iterator[str]:
        for entry in self._entries():
            if entry.name.endswith(self.suffix) and not entry.name.startswith(TEMP_PREFIX):
                yield entry.name[: -len(self.suffix)]

    def temp_files(self) -> Iterator[Path]:
        """Partly written blobs: a writer died between creating and renaming them."""
        for entry in self._entries():
            if entry.name.startswith(TEMP_PREFIX):
                yield Path(entry.path)

    def _entries(self) -> Iterator[os.DirEntry[str]]:
        # os.scandir, not Path.iterdir: garbage collection lists every blob after each update.
        try:
            subdirectories = [e.path for e in os.scandir(self.directory) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return
        for sub in subdirectories:
            with contextlib.suppress(FileNotFoundError), os.scandir(sub) as entries:
                yield from entries
