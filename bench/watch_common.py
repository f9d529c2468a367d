"""Shared pieces of the watcher benchmarks: scratch copies of the stdlib sample, a `codectx watch`
subprocess whose JSON update lines are collected, percentiles and index-state fingerprints."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stdlib_sample import build_sample
from timing import percentile

from codectx.indexer import index_repository
from codectx.render import RENDERER_VERSION
from codectx.scan import scan
from codectx.store import SCHEMA_VERSION, Store

SCRATCH = Path("/tmp/codectx-watch-bench")
TARGET = "claude"


def scratch_repo(name: str, packages: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """A fresh copy of the stdlib sample (or of some of its packages) and an empty store folder."""
    sample = build_sample()
    base = SCRATCH / name
    shutil.rmtree(base, ignore_errors=True)
    repo = base / "repo"
    if packages:
        for package in packages:
            shutil.copytree(sample / package, repo / package)
    else:
        shutil.copytree(sample, repo)
    return repo, base / "store"


def indexed_scratch_repo(name: str) -> tuple[Path, Path]:
    """A fresh copy of the whole sample with a copy of its index (built once, then reused by every run)."""
    repo, store = scratch_repo(name)
    base = SCRATCH / "indexed-sample-store"
    marker = base / ".complete"
    built_by = f"schema {SCHEMA_VERSION}, renderer {RENDERER_VERSION}"
    if not marker.exists() or marker.read_text() != built_by:
        shutil.rmtree(base, ignore_errors=True)
        started = time.perf_counter()
        index_repository(build_sample(), TARGET, base)
        marker.write_text(built_by)
        print(f"indexed the sample once in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    shutil.copytree(base, store, ignore=shutil.ignore_patterns(".complete", "*.lock", "pins"))
    return repo, store


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values), "p50": percentile(values, 0.5), "p95": percentile(values, 0.95),
        "mean": statistics.fmean(values) if values else float("nan"), "max": max(values, default=float("nan")),
    }  # fmt: skip


class WatchProcess:
    """`codectx watch --json` in a subprocess; its update lines arrive on `updates`."""

    def __init__(self, repo: Path, store: Path, debounce: float, poll: bool = False) -> None:
        command = [sys.executable, "-m", "codectx", "watch", str(repo), "--store", str(store), "--json",
                   "--debounce", str(debounce)] + (["--poll"] if poll else [])  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        self.updates: queue.Queue[dict[str, object]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.updates.put(json.loads(line))

    def next_update(self, timeout: float = 600.0) -> dict[str, object]:
        return self.updates.get(timeout=timeout)

    def update_for(self, generation: int, timeout: float = 600.0) -> dict[str, object]:
        """The update line that published `generation` (earlier lines are dropped)."""
        while True:
            update = self.next_update(timeout)
            if update["generation"] == generation:
                return update

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)


def current_generation(store: Store) -> int:
    generation = store.current_generation(TARGET)
    return generation.id if generation else 0


def wait_for_new_generation(store: Store, previous: int, timeout: float = 600.0, poll: float = 0.001) -> int:
    deadline = time.perf_counter() + timeout
    while (generation := current_generation(store)) == previous:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"no generation after {previous} within {timeout}s")
        time.sleep(poll)
    return generation


def disk_files(repo: Path) -> dict[str, str]:
    return {f.path: f.sha256 for f in scan(repo).files}


def indexed_files(store: Store) -> dict[str, str]:
    generation = store.current_generation(TARGET)
    return {f.path: f.sha256 for f in store.files(generation.id)} if generation else {}


def generation_state(store_dir: Path, generation: int) -> tuple[object, ...]:
    """Rows of one generation and a hash of every page blob it names (raises if a blob is missing)."""
    with Store.open(store_dir, create=False) as store:
        modules = store.modules(generation)
        pages = [p for m in modules for p in store.module_pages(generation, m.name)]
        blobs = {p.blob: hashlib.sha256(store.pages.get(p.blob)).hexdigest() for p in pages}
        return store.files(generation), modules, pages, store.skipped(generation), blobs


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def edit_line_in_place(path: Path, mark: str) -> None:
    """Append a short comment to one short line: the line count (and so the layout after it) is unchanged."""
    lines = path.read_text().split("\n")
    for index, line in enumerate(lines):
        if 0 < len(line.strip()) < 50 and not line.rstrip().endswith("\\") and "#" not in line:
            lines[index] = f"{line}  # {mark}"
            break
    else:
        lines[0] = f"{lines[0]}  # {mark}"
    path.write_text("\n".join(lines))


def insert_line(path: Path, mark: str) -> None:
    """Insert one comment line near the top: every row after it moves down one."""
    lines = path.read_text().split("\n")
    lines.insert(min(3, len(lines)), f"# {mark}")
    path.write_text("\n".join(lines))
