"""Watch: file events -> debounced incremental rebuild -> atomic publish of a new generation.

The repository's ignore rules decide what is watched. A kept directory whose subtree holds no
excluded directory with directories of its own gets one recursive watch (a __pycache__ folder is
cheap to watch; node_modules, .git or a virtualenv is not); any other kept directory gets a
non-recursive watch and its kept subdirectories are planned the same way. So the watch never walks
an ignored tree, and a repository needs few watches (each is an observer thread). Plans are redone
when directories come, go or are renamed, always before the rescan that follows, so nothing created
meanwhile goes unseen. Where native events are unavailable or the watch limit is reached, a polling
observer walks the kept directories instead.

Events only say *when* to look. Each update rescans the tree through a SourceCache (one lstat per
file; only changed files are read again) and runs the normal indexer, which re-renders only modules
whose fingerprint changed and only pages whose cells changed, then publishes one generation in one
transaction. So editors' atomic saves, moves, directory renames and branch switches need no special
cases: whatever the events were, the published generation matches the disk as it was scanned.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserverVFS

from codectx.catalog import catalog_ids, file_facts
from codectx.graph import LinkGraph
from codectx.indexer import IndexSummary, index_repository
from codectx.model.targets import DEFAULT_TARGET
from codectx.rescan import SourceCache
from codectx.scan import IGNORE_FILE_NAMES, IgnoreRules
from codectx.store import Store, StoreError, default_store_dir
from codectx.tokens import count_tokens
from codectx.wording import plural

DEFAULT_DEBOUNCE = 0.1  # seconds of quiet after the last event before an update starts
MAX_BATCH_DELAY = 2.0  # a continuous stream of events still publishes at least this often
POLL_INTERVAL = 1.0
GIT_LOCK_WAIT = 10.0  # longest wait for a git checkout to finish (its index.lock to go)
GIT_LOCK_POLL = 0.05
SMALL_BATCH = 32  # changed paths; larger batches render modules in worker processes
STORM_PATHS = 256  # after a batch this large, rescan once more: the kernel may have dropped events
STORM_RECHECK = 1.0
RETRY_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
WATCH_LIMIT = "the inotify watch limit is reached (raise fs.inotify.max_user_watches)"

# A recursive inotify watch that meets a directory twice while it is being created says so and keeps one
# callback: harmless, and not the user's business.
warnings.filterwarnings(
    "ignore", message="Callback with id .* already exists", category=RuntimeWarning, module="watchdog"
)

EVENT_TYPES: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileClosedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent,
]  # fmt: skip
STRUCTURE_EVENTS = (DirCreatedEvent, DirDeletedEvent, DirMovedEvent)
# Errors that mean the directory is gone or unreadable, not that native watching is unavailable.
VANISHED = (errno.ENOENT, errno.ENOTDIR, errno.EACCES, errno.EPERM)


@dataclass(frozen=True, slots=True)
class UpdateReport:
    """One completed update."""

    generation: int
    published: bool
    changed_paths: int  # distinct paths named by the events of this batch
    files_read: int  # files the rescan read again (the rest were unchanged on disk)
    files: int
    modules_rendered: int
    pages_rendered: int
    seconds: float  # the whole update, garbage collection included
    stages: tuple[tuple[str, float], ...] = ()  # seconds per indexer stage, in order

    def describe(self) -> str:
        if not self.published:
            seen = plural(self.changed_paths, "path")
            return f"generation {self.generation} unchanged ({seen} seen, {self.seconds:.2f}s)"
        return (
            f"generation {self.generation}: {plural(self.changed_paths, 'path')} changed, "
            f"{plural(self.files_read, 'file')} read, {plural(self.modules_rendered, 'module')} re-rendered "
            f"({plural(self.pages_rendered, 'page')}) in {self.seconds:.2f}s"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "generation": self.generation, "published": self.published, "changed_paths": self.changed_paths,
            "files_read": self.files_read, "files": self.files, "modules_rendered": self.modules_rendered,
            "pages_rendered": self.pages_rendered, "seconds": round(self.seconds, 4),
            "stages": {name: round(seconds, 4) for name, seconds in self.stages},
        }  # fmt: skip


def git_index_lock(root: Path) -> Path | None:
    """Where git puts its index.lock for the work tree containing `root` (None outside git)."""
    for folder in (root, *root.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git / "index.lock"
        if dot_git.is_file():  # worktrees and submodules: "gitdir: <path>"
            text = dot_git.read_text(errors="replace").strip()
            if text.startswith("gitdir:"):
                return (folder / text[len("gitdir:") :].strip()).resolve() / "index.lock"
            return None
    return None


class StageTimer:
    """A progress reporter that records how long each indexer stage took."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self._stage = "preparing"
        self._since = time.perf_counter()

    def stage(self, description: str, total: int | None) -> None:
        self._close()
        self._stage = description

    def advance(self, amount: int = 1) -> None:
        pass

    def finish(self) -> tuple[tuple[str, float], ...]:
        self._close()
        return tuple(self.stages.items())

    def _close(self) -> None:
        now = time.perf_counter()
        self.stages[self._stage] = self.stages.get(self._stage, 0.0) + now - self._since
        self._since = now


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Dispatch(FileSystemEventHandler):
    def __init__(self, on_event: Callable[[FileSystemEvent], None]) -> None:
        self._on_event = on_event

    def dispatch(self, event: FileSystemEvent) -> None:
        self._on_event(event)


class Watcher:
    """Keeps the index of `root` for `target` current until stopped.

    `start()` returns at once: a background thread brings the index up to date with the disk, then
    publishes a new generation after each debounced batch of changes. `stop()` ends it; a crash at any
    moment leaves the last published generation intact, and the next start catches up.
    """

    def __init__(
        self,
        root: Path,
        target: str = DEFAULT_TARGET,
        store_dir: Path | None = None,
        *,
        debounce: float = DEFAULT_DEBOUNCE,
        polling: bool = False,
        poll_interval: float = POLL_INTERVAL,
        on_update: Callable[[UpdateReport], None] | None = None,
        log: Callable[[str], None] = _stderr,
    ) -> None:
        self.root = root.resolve()
        self.target = target
        self.store_dir = (store_dir or default_store_dir(self.root)).resolve()
        self.debounce = debounce
        self.poll_interval = poll_interval
        self.mode = "polling" if polling else "native"
        self.on_update = on_update
        self.log = log
        self.updates = 0
        self.last: UpdateReport | None = None
        self.failure: BaseException | None = None  # set when the watcher stopped on an error it cannot retry
        self.after_update: Callable[[], None] | None = None  # runs after each update is reported (off the clock)

        self._root_prefix = str(self.root) + os.sep
        self._store_prefix = str(self.store_dir) + os.sep
        self._rules = IgnoreRules(self.root)
        self._rules_lock = threading.Lock()
        self._sources = SourceCache()
        self._links = LinkGraph()
        self._git_lock = git_index_lock(self.root)
        self._handler = _Dispatch(self._on_event)
        self._observer: BaseObserver | None = None
        self._watches: dict[str, ObservedWatch] = {}
        self._covered = 0  # directories the native watches cover (a recursive watch covers its subtree)

        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._wanted = True  # the first update catches up with the disk
        self._replan = False
        self._busy = False
        self._stopping = False
        self._first_event = self._last_event = float("-inf")
        self._not_before = 0.0
        self._failures = 0
        self._thread: threading.Thread | None = None
        self.stopped = threading.Event()

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("watcher already started")
        self._start_observer()
        self._thread = threading.Thread(target=self._run, name="codectx-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop watching; an update in progress finishes (or is abandoned after `timeout`)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._stop_observer()
        self.stopped.set()

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float) -> bool:
        """True once at least one update ran and no change is pending or being indexed.

        Events still travelling from the kernel are not pending yet: callers that need a particular
        state should wait for it in the index itself.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.updates == 0 or self._wanted or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stopped.is_set():
                    return False
                self._cond.wait(remaining)
        return True

    @property
    def watched_directories(self) -> int:
        """Native watches held (a recursive one covers a whole subtree); 0 when polling."""
        return len(self._watches)

    @property
    def covered_directories(self) -> int:
        """Directories the native watches cover; 0 when polling."""
        return self._covered if self._watches else 0

    def describe_start(self) -> dict[str, object]:
        """What the watcher watches, for its start line: root, store, target, mode and watches."""
        return {
            "watching": str(self.root), "store": str(self.store_dir), "target": self.target, "mode": self.mode,
            "watches": self.watched_directories, "directories": self.covered_directories,
            "poll_interval": self.poll_interval if self.mode == "polling" else None,
        }  # fmt: skip

    # --- observers ------------------------------------------------------------------------------

    def _start_observer(self) -> None:
        if self.mode == "native":
            try:
                observer = Observer()
                observer.start()
            except (OSError, RuntimeError) as error:
                self._fall_back_to_polling(f"native file events are unavailable ({error})")
                return
            self._observer = observer
            self._plan_watches()
        else:
            self._start_polling()

    def _start_polling(self) -> None:
        observer = PollingObserverVFS(os.lstat, self._kept_entries, polling_interval=self.poll_interval)
        observer.schedule(self._handler, str(self.root), recursive=True)
        observer.start()
        self._observer = observer

    def _stop_observer(self) -> None:
        observer, self._observer = self._observer, None
        self._watches.clear()
        if observer is not None:
            observer.stop()
            observer.join(timeout=10)

    def _fall_back_to_polling(self, reason: str) -> None:
        self._stop_observer()
        self.mode = "polling"
        self.log(f"codectx: {reason}; watching {self.root} by polling every {self.poll_interval:g}s instead")
        self._start_polling()
        with self._cond:  # changes made while no observer ran are caught by one more rescan
            self._wanted = True
            self._cond.notify_all()

    def _plan_watches(self) -> None:
        """Watch the kept directories and nothing else, with as few watches as that allows."""
        observer = self._observer
        if observer is None or self.mode != "native":
            return
        wanted: dict[str, bool] = {}  # directory -> recursive
        sizes: dict[str, int] = {}
        self._plan_subtree(str(self.root), wanted, sizes)
        for directory in set(self._watches) - set(wanted):
            observer.unschedule(self._watches.pop(directory))
        for directory, recursive in wanted.items():
            watch = self._watches.get(directory)
            if watch is not None and watch.is_recursive == recursive:
                continue
            if watch is not None:
                observer.unschedule(self._watches.pop(directory))
            try:
                self._watches[directory] = observer.schedule(
                    self._handler, directory, recursive=recursive, event_filter=EVENT_TYPES
                )
            except OSError as error:
                if error.errno in VANISHED:
                    continue
                self._fall_back_to_polling(_watch_failure(error))
                return
            except RuntimeError as error:  # no thread for another emitter
                self._fall_back_to_polling(f"cannot add another watch ({error})")
                return
        self._covered = _watched_directories(wanted, sizes)
        # A recursive watch skips subdirectories the kernel refuses to watch, silently: count what it holds.
        if _short_of(self._covered) and _short_of(self._directories_to_watch()):
            self._fall_back_to_polling(WATCH_LIMIT)

    def _directories_to_watch(self) -> int:
        """The directories the plan watches, recounted (some may have gone since it was made)."""
        wanted: dict[str, bool] = {}
        sizes: dict[str, int] = {}
        self._plan_subtree(str(self.root), wanted, sizes)
        return _watched_directories(wanted, sizes)

    def _plan_subtree(self, directory: str, wanted: dict[str, bool], sizes: dict[str, int]) -> bool:
        """Add the watches `directory`'s subtree needs to `wanted`; True when one recursive watch covers it.

        `sizes` gets the number of directories a recursive watch of `directory` holds (itself included).
        """
        try:
            with os.scandir(directory) as listing:
                entries = [e for e in listing if e.is_dir(follow_symlinks=False)]
        except OSError:
            return False  # gone or unreadable: nothing to watch
        kept = {e.path for e in self._kept(directory, entries)}
        excluded = [e.path for e in entries if e.path not in kept]
        below: dict[str, bool] = {}
        children_clean = [self._plan_subtree(path, below, sizes) for path in sorted(kept)]  # plan every child first
        others_cheap = all(_is_leaf(path) for path in excluded)  # e.g. __pycache__
        sizes[directory] = 1 + len(excluded) + sum(sizes.get(path, 0) for path in kept)
        clean = all(children_clean) and others_cheap and not self._holds_store(directory)
        if clean:
            wanted[directory] = True
        else:
            wanted[directory] = False
            wanted.update(below)
        return clean

    def _holds_store(self, directory: str) -> bool:
        return self._store_prefix.startswith(directory + os.sep)

    def _kept_entries(self, directory: str | None) -> Iterator[os.DirEntry[str]]:
        """The entries of `directory` that a scan lists: all but excluded directories and the store.

        Excluded files stay: the index lists them as skipped, with the reason. Symlinks are listed,
        never followed.
        """
        base = directory or str(self.root)
        try:
            entries = list(os.scandir(base))
        except OSError:
            return
        yield from self._kept(base, entries)

    def _kept(self, base: str, entries: list[os.DirEntry[str]]) -> Iterator[os.DirEntry[str]]:
        """The `entries` of directory `base` that _kept_entries keeps."""
        rel_base = "" if base == str(self.root) else base[len(self._root_prefix) :]
        with self._rules_lock:
            rules = self._rules
        for entry in entries:
            rel = f"{rel_base}/{entry.name}" if rel_base else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if (entry.path + os.sep).startswith(self._store_prefix):
                continue
            if not is_dir or rules.exclusion_reason(rel, is_dir=True) is None:
                yield entry

    # --- events ---------------------------------------------------------------------------------

    def _relative(self, path: str) -> str | None:
        if not path.startswith(self._root_prefix) or (path + os.sep).startswith(self._store_prefix):
            return None
        return path[len(self._root_prefix) :].replace(os.sep, "/")

    def _on_event(self, event: FileSystemEvent) -> None:
        raw_paths = [os.fsdecode(event.src_path)]
        if event.dest_path:
            raw_paths.append(os.fsdecode(event.dest_path))
        relevant: list[str] = []
        structure = False
        for raw in raw_paths:
            rel = self._relative(raw)
            if rel is None:
                continue
            if rel.rpartition("/")[2] in IGNORE_FILE_NAMES:
                with self._rules_lock:  # the rules changed: what is kept, and so what is watched
                    self._rules = IgnoreRules(self.root)
                structure = True
            with self._rules_lock:
                rules = self._rules
            if rules.unlisted(rel, event.is_directory):
                # A directory made inside an excluded one: a recursive watch above would walk an ignored tree.
                parent = rel.rpartition("/")[0]
                nested = bool(parent) and rules.unlisted(parent, is_dir=True)
                structure |= nested and isinstance(event, STRUCTURE_EVENTS)
                continue
            relevant.append(rel)
            structure |= isinstance(event, STRUCTURE_EVENTS)
        if not relevant and not structure:
            return
        now = time.monotonic()
        with self._cond:
            if not self._wanted:
                self._first_event = now
            self._wanted = True
            self._last_event = now
            self._pending.update(relevant)
            self._replan |= structure
            self._cond.notify_all()

    # --- updates --------------------------------------------------------------------------------

    def _next_batch(self) -> tuple[set[str], bool] | None:
        """Block until a debounced batch is due; None when stopping."""
        git_wait_started: float | None = None
        with self._cond:
            while True:
                while not self._wanted and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return None
                now = time.monotonic()
                due = max(min(self._last_event + self.debounce, self._first_event + MAX_BATCH_DELAY), self._not_before)
                if now < due:
                    self._cond.wait(due - now)
                    continue
                if self._git_lock is not None and self._git_lock.exists():
                    # A checkout is rewriting the tree: publish once it is done, not halfway.
                    git_wait_started = git_wait_started if git_wait_started is not None else now
                    if now - git_wait_started < GIT_LOCK_WAIT:
                        self._cond.wait(GIT_LOCK_POLL)
                        continue
                batch, self._pending = self._pending, set()
                replan, self._replan = self._replan, False
                self._wanted = False
                self._busy = True
                return batch, replan

    def _run(self) -> None:
        try:
            while (batch := self._next_batch()) is not None:
                paths, replan = batch
                try:
                    self._update(paths, replan)
                    self._failures = 0
                except StoreError as error:  # e.g. an index written by another codectx version
                    self.failure = error
                    self.log(f"codectx: error: {error}")
                    return
                except Exception as error:
                    delay = RETRY_DELAYS[min(self._failures, len(RETRY_DELAYS) - 1)]
                    self._failures += 1
                    self.log(f"codectx: update failed ({error.__class__.__name__}: {error}); retrying in {delay:g}s")
                    self._sources.invalidate(paths)
                    with self._cond:
                        self._wanted = True
                        self._replan |= replan
                        self._not_before = time.monotonic() + delay
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
            self.stopped.set()

    def _update(self, paths: set[str], replan: bool) -> None:
        started = time.perf_counter()
        if replan:
            self._plan_watches()  # before the scan: whatever appears after it raises events
        self._sources.invalidate(paths)
        large = len(paths) > SMALL_BATCH or self.updates == 0
        timer = StageTimer()
        summary = index_repository(
            self.root,
            self.target,
            self.store_dir,
            timer,
            workers=None if large else 1,
            sources=self._sources,
            links=self._links,
        )
        report = self._report(summary, len(paths), time.perf_counter() - started, timer.finish())
        if self.updates == 0 and not summary.published:
            self._warm()
        self.updates += 1
        self.last = report
        if len(paths) >= STORM_PATHS:
            with self._cond:
                self._wanted = True
                self._not_before = time.monotonic() + STORM_RECHECK
        if self.on_update is not None:
            self.on_update(report)
        if self.after_update is not None:
            self.after_update()

    def _warm(self) -> None:
        """After a catch-up that published nothing: load what the first edit's update would otherwise load then
        (the tokenizer, and the reference graph of every file, which later updates only patch)."""
        count_tokens("")
        with Store.open(self.store_dir, create=False) as store:
            current = store.current_generation(self.target)
            if current is None:
                return
            rows = store.files(current.id)
            ids = catalog_ids(store, ((f.path, f.language, f.sha256) for f in rows))
            sha_of = {f.path: f.sha256 for f in rows}
            self._links.update(
                {path: (file_id, sha_of[path]) for path, file_id in ids.items()},
                lambda paths: file_facts(store, {path: ids[path] for path in paths}),
            )

    def _report(
        self, summary: IndexSummary, changed: int, seconds: float, stages: tuple[tuple[str, float], ...]
    ) -> UpdateReport:
        return UpdateReport(
            generation=summary.generation, published=summary.published, changed_paths=changed,
            files_read=self._sources.reads, files=summary.files, modules_rendered=summary.modules_rendered,
            pages_rendered=summary.pages_rendered, seconds=seconds, stages=stages,
        )  # fmt: skip


def _is_leaf(directory: str) -> bool:
    """True for a readable directory without subdirectories (a recursive watch above it costs one more watch)."""
    try:
        with os.scandir(directory) as entries:
            return not any(e.is_dir(follow_symlinks=False) for e in entries)
    except OSError:
        return False  # unreadable (or gone): a recursive watch could not hold it


def _watched_directories(wanted: dict[str, bool], sizes: dict[str, int]) -> int:
    return sum(sizes[directory] if recursive else 1 for directory, recursive in wanted.items())


def _short_of(expected: int) -> bool:
    """True when this process holds fewer inotify watches than `expected` (never where /proc cannot say)."""
    held = _inotify_watches()
    return held is not None and held < expected


def _inotify_watches() -> int | None:
    """Inotify watches held by this process (Linux lists them in /proc/self/fdinfo), or None."""
    held, found = 0, False
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return None
    for fd in descriptors:
        try:
            if os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/self/fdinfo/{fd}") as info:
                held += sum(1 for line in info if line.startswith("inotify wd:"))
            found = True
        except OSError:
            continue  # closed meanwhile
    return held if found else None


def _watch_failure(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return WATCH_LIMIT
    if error.errno == errno.EMFILE:
        return "the inotify instance limit is reached (raise fs.inotify.max_user_instances)"
    return f"native file events are unavailable ({error})"
