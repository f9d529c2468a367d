"""Regular expressions matched line by line in a helper process that is killed at a deadline.

`re` cannot be interrupted and holds the GIL while it matches: a pattern with catastrophic backtracking,
such as `([a-z]+)+$`, would hold the caller (and every thread of a server) for seconds or hours. So the
lines are matched in another process, and that process is killed when the search runs past its time.

A helper is kept for the next search rather than made for each one: forking a server of a few hundred MB
for every search cost more CPU than most searches (its page tables, and a copy of each page either
process wrote while the child lived). A helper reads the texts from the index itself, by content
digest, and keeps the last search's lines, so a search after an edit reads only the files that changed.
"""

from __future__ import annotations

import multiprocessing
import re
import threading
from array import array
from multiprocessing.connection import Connection
from pathlib import Path

from codectx.store import Store

KEEP_CHARS = 16_000_000  # a helper keeps the last search's lines up to this many characters of text
HELPERS = 2  # helpers per process at most (each holds an interpreter); more searches at once wait their turn
READ_SECONDS = 120.0  # how long a helper may take to read the texts (not counted in the search's time)


class TooSlow(Exception):
    """Matching took longer than the search's time: the helper was killed."""


class HelperFailure(Exception):
    """The helper ended early or read no texts in time; the message says which."""


def _serve(connection: Connection) -> None:  # pragma: no cover - the helper process
    """The helper's loop: (store folder, pattern, digests) in; a mark once the texts are read, then the
    (digest index, line number) pairs of the matching lines, flat, as int64 bytes. Ends when the pipe closes."""
    store: Store | None = None
    kept: dict[tuple[str, str], list[str]] = {}
    while True:
        try:
            directory, pattern, digests = connection.recv()
        except EOFError:  # the server let go of this helper, or is gone
            return
        if store is None or str(store.directory) != directory:
            if store is not None:
                store.close()
            store, kept = Store.open(Path(directory), create=False), {}
        wanted = list(dict.fromkeys(digests))
        stored = store.source_texts(d for d in wanted if (directory, d) not in kept)
        lines = {d: kept[directory, d] if (directory, d) in kept else stored.get(d, "").split("\n") for d in wanted}
        chars = sum(len(line) + 1 for found in lines.values() for line in found)
        kept = {(directory, d): found for d, found in lines.items()} if chars <= KEEP_CHARS else {}
        connection.send_bytes(b"")
        search = re.compile(pattern).search
        found = array("q", [v for i, d in enumerate(digests) for n, line in enumerate(lines[d], 1)
                            if search(line) for v in (i, n)])  # fmt: skip
        connection.send_bytes(found.tobytes())


class _Helper:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # never a fork of a threaded server
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs,), name="codectx-regex", daemon=True)
        self.process.start()
        theirs.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()


_idle: list[_Helper] = []
_idle_lock = threading.Lock()
_turns = threading.BoundedSemaphore(HELPERS)  # held by each search, with its helper


def _take() -> _Helper:
    """An idle helper that is still alive, or a new one; call with a turn held."""
    with _idle_lock:
        while _idle:
            helper = _idle.pop()
            if helper.process.is_alive():
                return helper
            helper.kill()
    return _Helper()


def matching_lines(store_dir: Path, digests: list[str], pattern: str, seconds: float) -> list[tuple[int, int]]:
    """(index in `digests`, line number) of the lines of the stored texts `digests` that `pattern` matches,
    in order. Raises TooSlow when matching takes more than `seconds` (the helper is killed), and
    HelperFailure when the helper ends early or reads no texts in time."""
    with _turns:
        helper = _take()
        try:
            helper.connection.send((str(store_dir), pattern, digests))
            if not helper.connection.poll(READ_SECONDS):
                raise HelperFailure(f"its worker process read no texts in {READ_SECONDS:g} s")
            helper.connection.recv_bytes()
            if not helper.connection.poll(seconds):
                raise TooSlow(seconds)
            answer = helper.connection.recv_bytes()
        except (EOFError, OSError):
            helper.kill()
            raise HelperFailure("its worker process ended early") from None
        except BaseException:
            helper.kill()
            raise
        with _idle_lock:
            _idle.append(helper)
    values = array("q", answer)
    return list(zip(values[0::2], values[1::2], strict=True))
