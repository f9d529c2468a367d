"""Read access to the index: pooled read-only connections and one pinned generation per request.

A request opens a read transaction, reads the current generation id once and uses it for every
query; SQLite's WAL snapshot keeps those rows stable even while a writer publishes and collects
garbage, so a request never mixes two generations or sees a half-written one.
"""

from __future__ import annotations

import contextlib
import difflib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from codectx.model.targets import TARGETS
from codectx.modules import AmbiguousFolderError, resolve_module
from codectx.store import FileRow, GenerationRow, ModuleRow, NoIndexError, PageRow, Store

T = TypeVar("T")


class ToolFailure(Exception):
    """A request the server refuses or cannot answer; the message tells the caller what to do."""


def suggest(name: str, candidates: list[str], limit: int = 6) -> list[str]:
    """Close names for `name`: substring matches first, then fuzzy ones."""
    lowered = name.lower()
    contains = [c for c in candidates if lowered and (lowered in c.lower() or (len(c) > 2 and c.lower() in lowered))]
    fuzzy = difflib.get_close_matches(name, candidates, n=limit, cutoff=0.5)
    merged = list(dict.fromkeys(sorted(contains, key=len) + fuzzy))
    return merged[:limit]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One request's view: a store connection inside a read transaction and its pinned generation."""

    store: Store
    generation: GenerationRow
    root: Path

    @property
    def id(self) -> int:
        return self.generation.id

    @property
    def target(self) -> str:
        return self.generation.target

    @property
    def key(self) -> tuple[int, float]:
        """Identifies the generation for caches, also across an index folder deleted and built anew."""
        return (self.generation.id, self.generation.created)

    def modules(self) -> list[ModuleRow]:
        return self.store.modules(self.id)

    def module(self, name: str) -> ModuleRow:
        """The module `name` names: a module name, or the path of an indexed file or folder (its module)."""
        modules = self.modules()
        by_name = {module.name: module for module in modules}
        if name in by_name:
            return by_name[name]
        try:
            found = resolve_module(name, list(by_name), {f.path: f.module for f in self.files()})
        except AmbiguousFolderError as error:
            raise ToolFailure(str(error)) from None
        if found is not None:
            return by_name[found]
        close = suggest(name, list(by_name))
        hint = f"did you mean: {', '.join(repr(c) for c in close)}?" if close else "repo_overview lists every module"
        raise ToolFailure(f"unknown module {name!r} (neither a module nor an indexed file or folder): {hint}")

    def files(self) -> list[FileRow]:
        return self.store.files(self.id)

    def file(self, path: str) -> FileRow | None:
        row = self.store.db.execute(
            "SELECT path, module, language, sha256, size, lines, text_tokens, kind FROM files "
            "WHERE generation = ? AND path = ?",
            (self.id, path),
        ).fetchone()
        return FileRow(*row) if row else None

    def pages(self, module: str) -> list[PageRow]:
        return self.store.module_pages(self.id, module)

    def page_png(self, page: PageRow) -> bytes:
        try:
            return self.store.pages.get(page.blob)
        except OSError:
            raise ToolFailure(
                f"page {page.page_no + 1} of {page.module} is missing from the page store: the index is being "
                f"rebuilt or was damaged; retry, or run `codectx index {self.root}`"
            ) from None


class IndexReader:
    """Pooled read-only access to one repository's index folder."""

    def __init__(self, root: Path, store_dir: Path) -> None:
        self.root = root
        self.store_dir = store_dir
        self._idle: list[tuple[Store, int]] = []  # (store, inode of the database file it opened)
        self._lock = threading.Lock()
        self._closed = False

    def no_index_message(self, target: str) -> str:
        store = "" if self.store_dir == self.root / ".codectx" else f" --store {self.store_dir}"
        return (
            f"no codectx index for target {target!r} in {self.store_dir} yet: build one with "
            f"`codectx index {self.root} --target {target}{store}`, then call this tool again"
        )

    def _database_inode(self) -> int:
        try:
            return (self.store_dir / "index.sqlite").stat().st_ino
        except OSError:
            return -1

    def _acquire(self, target: str) -> tuple[Store, int]:
        inode = self._database_inode()
        with self._lock:
            while self._idle:
                store, opened = self._idle.pop()
                if opened == inode:
                    return store, inode
                store.close()  # the index was deleted and built anew: that connection reads a dead file
        try:
            return Store.open(self.store_dir, create=False), inode
        except NoIndexError:
            raise ToolFailure(self.no_index_message(target)) from None

    def _release(self, store: Store, inode: int) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append((store, inode))
                return
        store.close()

    @contextlib.contextmanager
    def pinned(self, target: str, generation: int | None = None) -> Iterator[Snapshot]:
        """A snapshot of `target`'s current generation (or of `generation`, while it is still kept).

        The current generation is read once and pinned (garbage collection keeps its rows and page
        blobs until the request ends); all reads run in one SQLite read transaction.
        """
        if target not in TARGETS:
            raise ToolFailure(f"unknown target {target!r}: choose one of {', '.join(sorted(TARGETS))}")
        store, inode = self._acquire(target)
        try:
            store.db.execute("BEGIN")
            with contextlib.ExitStack() as held:
                held.callback(store.db.execute, "COMMIT")
                if generation is None:
                    try:
                        row = held.enter_context(store.pinned(target))
                    except NoIndexError:
                        raise ToolFailure(self.no_index_message(target)) from None
                else:
                    row = self._kept_generation(store, target, generation)
                yield Snapshot(store, row, self.root)
        finally:
            self._release(store, inode)

    def current(self, target: str) -> tuple[int, float] | None:
        """The identity (id, created) of `target`'s current generation, or None without one; one quick read."""
        try:
            store, inode = self._acquire(target)
        except ToolFailure:
            return None
        try:
            row = store.current_generation(target)
            return (row.id, row.created) if row else None
        finally:
            self._release(store, inode)

    @staticmethod
    def _kept_generation(store: Store, target: str, generation: int) -> GenerationRow:
        row = store.db.execute(
            "SELECT id, target, created, settings, fingerprint FROM generations WHERE id = ? AND target = ?",
            (generation, target),
        ).fetchone()
        if row is None:
            raise ToolFailure(
                f"generation {generation} is no longer kept (the index was rebuilt): start over from the first part "
                "(load_context without a cursor, or codectx://manifest)"
            )
        return GenerationRow(*row)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for store, _ in idle:
            store.close()


class PerGeneration(Generic[T]):
    """A value derived from one generation, built on first use and kept for the newest few generations.

    A published generation never changes, so what is derived from it stays valid while it is kept.
    Callers that arrive while it is being built wait for that build instead of repeating it.
    """

    def __init__(self, build: Callable[[Snapshot], T], keep: int = 2) -> None:
        self._build = build
        self._keep = keep
        self._built: OrderedDict[tuple[int, float], T] = OrderedDict()
        self._building: dict[tuple[int, float], threading.Lock] = {}
        self._lock = threading.Lock()

    def _kept(self, key: tuple[int, float]) -> bool:
        """Whether `key` is built (marking it used); call with the lock held."""
        if key in self._built:
            self._built.move_to_end(key)
            return True
        return False

    def of(self, snap: Snapshot) -> T:
        with self._lock:
            if self._kept(snap.key):
                return self._built[snap.key]
            building = self._building.setdefault(snap.key, threading.Lock())
        with building:
            with self._lock:
                if self._kept(snap.key):
                    return self._built[snap.key]
            try:
                value = self._build(snap)
            except BaseException:
                with self._lock:
                    self._building.pop(snap.key, None)
                raise
            with self._lock:
                self._built[snap.key] = value
                self._building.pop(snap.key, None)
                while len(self._built) > self._keep:
                    self._built.popitem(last=False)
            return value
