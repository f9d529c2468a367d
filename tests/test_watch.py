"""The watcher against real file events in temporary repositories, reader pins, and kill -9 trials."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image
from watchdog.observers import Observer
from watchdog.observers.inotify_c import InotifyFD

from codectx.indexer import index_repository
from codectx.scan import scan
from codectx.store import BLOB_GRACE_SECONDS, NoIndexError, Store
from codectx.watch import UpdateReport, Watcher

TIMEOUT = 90.0


def wait_until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def disk_state(root: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    scanned = scan(root)
    return {f.path: f.sha256 for f in scanned.files}, sorted((s.path, s.reason) for s in scanned.skipped)


def indexed_state(store_dir: Path) -> tuple[dict[str, str], list[tuple[str, str]]] | None:
    try:
        with Store.open(store_dir, create=False) as store:
            generation = store.current_generation("claude")
            if generation is None:
                return None
            return {f.path: f.sha256 for f in store.files(generation.id)}, store.skipped(generation.id)
    except NoIndexError:
        return None


def indexed_generation(store_dir: Path) -> int:
    with Store.open(store_dir, create=False) as store:
        return store.require_generation("claude").id


def generation_state(store_dir: Path, generation: int | None = None) -> tuple[object, ...]:
    """Every row of one generation (reference edges included) plus the bytes of every page it names (current
    one by default)."""
    with Store.open(store_dir, create=False) as store:
        gen = generation if generation is not None else store.require_generation("claude").id
        modules = store.modules(gen)
        pages = [p for m in modules for p in store.module_pages(gen, m.name)]
        blobs = {p.blob: hashlib.sha256(store.pages.get(p.blob)).hexdigest() for p in pages}
        edges = sorted(store.edges(gen), key=lambda e: (e.source, e.target))
        return store.files(gen), modules, pages, store.skipped(gen), blobs, edges


def settle(root: Path, store_dir: Path) -> None:
    wait_until(lambda: indexed_state(store_dir) == disk_state(root), "the index to match the disk")


def assert_equals_fresh_index(root: Path, store_dir: Path, scratch: Path) -> None:
    fresh = scratch / "fresh-store"
    shutil.rmtree(fresh, ignore_errors=True)
    index_repository(root, store_dir=fresh, workers=1)
    assert generation_state(store_dir) == generation_state(fresh)


@pytest.fixture
def watching(tmp_path: Path) -> Iterator[Callable[..., tuple[Watcher, list[UpdateReport]]]]:
    started: list[Watcher] = []

    def start(root: Path, **options: object) -> tuple[Watcher, list[UpdateReport]]:
        reports: list[UpdateReport] = []
        watcher = Watcher(root, store_dir=tmp_path / "store", debounce=0.05, on_update=reports.append, **options)
        watcher.start()
        started.append(watcher)
        assert watcher.wait_idle(TIMEOUT)
        return watcher, reports

    yield start
    for watcher in started:
        watcher.stop()


def watched(watcher: Watcher) -> dict[str, bool]:
    """Watched directory -> whether its watch is recursive."""
    return {directory: watch.is_recursive for directory, watch in watcher._watches.items()}


def test_edit_atomic_save_delete_rename_and_directory_rename(stdlib_copy, tmp_path, watching):
    repo = stdlib_copy("json")
    store = tmp_path / "store"
    watcher, reports = watching(repo)
    assert watcher.mode == "native" and watched(watcher) == {str(repo): True}  # nothing excluded: one watch
    settle(repo, store)

    tool = repo / "json" / "tool.py"
    tool.write_text(tool.read_text().replace("import sys", "import sys  # edited", 1))
    settle(repo, store)
    decoder = repo / "json" / "decoder.py"
    decoder.write_text(decoder.read_text() + "\nEDITED = True\n")
    settle(repo, store)
    assert watcher.wait_idle(TIMEOUT)
    # Only the edited file is read again, and only its module is rendered again.
    assert reports[-1].generation == indexed_generation(store)
    assert reports[-1].files_read == 1 and reports[-1].modules_rendered == 1
    # A second definition of a name other files use changes their edges too, not only the edited file's.
    scanner = repo / "json" / "scanner.py"
    scanner.write_text(scanner.read_text() + "\n\ndef JSONObject(s_and_end):\n    return s_and_end\n")
    settle(repo, store)
    assert watcher.wait_idle(TIMEOUT)
    assert_equals_fresh_index(repo, store, tmp_path)

    # An editor's atomic save: write a temporary file beside it, then rename it over the original.
    temporary = repo / "json" / ".encoder.py.swp"
    temporary.write_text((repo / "json" / "encoder.py").read_text() + "\n# saved atomically\n")
    os.replace(temporary, repo / "json" / "encoder.py")
    settle(repo, store)

    (repo / "json" / "scanner.py").unlink()
    settle(repo, store)
    (repo / "json" / "tool.py").rename(repo / "json" / "cli_tool.py")
    settle(repo, store)

    (repo / "json").rename(repo / "jsonlib")
    settle(repo, store)
    # The renamed directory is watched under its new name: a file created inside it is seen.
    (repo / "jsonlib" / "extra.py").write_text("VALUE = 1\n" * 40)
    settle(repo, store)
    assert_equals_fresh_index(repo, store, tmp_path)


def test_storm_of_1000_files_settles_to_a_fresh_index(make_repo, tmp_path, watching):
    repo = make_repo({"seed.py": "SEED = 1\n"})
    store = tmp_path / "store"
    watching(repo)
    for number in range(1000):
        folder = repo / f"pkg{number % 20:02d}" / f"sub{number % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"def f{number}_{i}(x):\n    return x * {i} + {number}\n\n" for i in range(3))
        (folder / f"mod{number:04d}.py").write_text(body)
        if number % 100 == 0:  # an excluded file is listed as skipped; an excluded directory not at all
            (folder / f"deps{number}.lock").write_text("pinned\n")
            (folder / "__pycache__").mkdir(exist_ok=True)
            (folder / "__pycache__" / f"mod{number:04d}.pyc").write_bytes(b"\x00compiled")
    for number in range(0, 1000, 7):  # rewrite some, delete some, while events are still arriving
        path = repo / f"pkg{number % 20:02d}" / f"sub{number % 3}" / f"mod{number:04d}.py"
        if number % 2:
            path.unlink()
        else:
            path.write_text(path.read_text() + f"# rewritten {number}\n")
    settle(repo, store)
    files, skipped = indexed_state(store)  # type: ignore[misc]
    assert len(files) == 1 + 1000 - len(range(7, 1000, 14))
    assert len([path for path, _ in skipped if path.endswith(".lock")]) == 10
    assert_equals_fresh_index(repo, store, tmp_path)


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo, check=True, capture_output=True,
    )  # fmt: skip


def test_branch_switch(stdlib_copy, tmp_path, watching):
    repo = stdlib_copy("json", "wsgiref", "dbm", "concurrent")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "feature")
    for path in sorted(repo.rglob("*.py"))[::2]:
        path.write_text(path.read_text() + "\n# on the feature branch\n")
    (repo / "dbm" / "dumb.py").unlink()
    (repo / "feature").mkdir()
    (repo / "feature" / "new.py").write_text("NEW = 1\n" * 30)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "feature")
    git(repo, "checkout", "-q", "main")

    store = tmp_path / "store"
    watching(repo)
    settle(repo, store)
    git(repo, "checkout", "-q", "feature")
    settle(repo, store)
    assert "feature/new.py" in indexed_state(store)[0]  # type: ignore[index]
    git(repo, "checkout", "-q", "main")
    settle(repo, store)
    assert_equals_fresh_index(repo, store, tmp_path)


def test_only_kept_directories_are_watched(make_repo, tmp_path, watching):
    files: dict[str, str | bytes] = {"app/main.py": "print('hi')\n" * 5, ".gitignore": "generated/\n"}
    for depth in range(5):
        files[f"node_modules/pkg{depth}/lib/index.js"] = "module.exports = 1;\n"
        files[f"generated/part{depth}/out.py"] = "X = 1\n"
    repo = make_repo(files)
    (repo / ".git" / "objects").mkdir(parents=True)
    store = tmp_path / "store"
    watcher, _ = watching(repo)
    assert watched(watcher) == {str(repo): False, str(repo / "app"): True}

    (repo / "app" / "views").mkdir()
    (repo / "app" / "views" / "page.py").write_text("PAGE = 1\n")
    (repo / "app" / "__pycache__").mkdir()  # excluded but cheap: app keeps its one recursive watch
    (repo / "node_modules" / "pkg0" / "lib" / "more.js").write_text("x;\n")
    settle(repo, store)
    assert watched(watcher) == {str(repo): False, str(repo / "app"): True}
    # An excluded tree grows inside app: app is watched alone, its kept subdirectories on their own.
    (repo / "app" / "node_modules" / "left-pad").mkdir(parents=True)
    wanted = {str(repo): False, str(repo / "app"): False, str(repo / "app" / "views"): True}
    wait_until(lambda: watched(watcher) == wanted, "app's watch to stop walking app/node_modules")
    shutil.rmtree(repo / "app" / "views")
    settle(repo, store)
    wait_until(lambda: str(repo / "app" / "views") not in watcher._watches, "the removed directory's watch to go")

    # A rule change is an event too: newly ignored files leave the index.
    (repo / ".gitignore").write_text("generated/\napp/main.py\n")
    settle(repo, store)
    assert "app/main.py" not in indexed_state(store)[0]  # type: ignore[index]


def test_falls_back_to_polling_when_the_watch_limit_is_reached(stdlib_copy, tmp_path, watching, monkeypatch):
    def no_more_watches(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    # The native observer refuses every watch as the kernel does at the limit; the polling one is real.
    monkeypatch.setattr(Observer, "schedule", no_more_watches)
    messages: list[str] = []
    repo = stdlib_copy("json")
    store = tmp_path / "store"
    watcher, _ = watching(repo, log=messages.append, poll_interval=0.2)
    assert watcher.mode == "polling"
    assert any("watch limit" in m and "polling" in m for m in messages)
    (repo / "json" / "tool.py").write_text("TOOL = 2\n" * 10)
    settle(repo, store)


def test_falls_back_to_polling_when_a_recursive_watch_cannot_hold_a_new_directory(
    stdlib_copy, tmp_path, watching, monkeypatch
):
    repo = stdlib_copy("json")
    store = tmp_path / "store"
    messages: list[str] = []
    watcher, _ = watching(repo, log=messages.append, poll_interval=0.2)
    assert watched(watcher) == {str(repo): True}

    def at_the_limit(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    # From now on the kernel refuses new watches; watchdog's recursive watch skips such directories silently.
    monkeypatch.setattr(InotifyFD, "add_callback", at_the_limit)
    (repo / "newpkg").mkdir()
    (repo / "newpkg" / "mod.py").write_text("VALUE = 1\n" * 30)
    wait_until(lambda: watcher.mode == "polling", "the watcher to notice the missing watch and poll")
    assert any("watch limit" in m and "polling" in m for m in messages)
    (repo / "newpkg" / "mod.py").write_text("VALUE = 2\n" * 30)  # seen by polling, not by events
    settle(repo, store)


def test_polling_sees_edits_but_not_ignored_trees(make_repo, tmp_path, watching):
    repo = make_repo({"a.py": "A = 1\n" * 20, "node_modules/x/y.js": "y;\n"})
    store = tmp_path / "store"
    watcher, _ = watching(repo, polling=True, poll_interval=0.1)
    listed = [e.name for e in watcher._kept_entries(str(repo))]
    assert "node_modules" not in listed and "a.py" in listed
    (repo / "a.py").write_text("A = 2\n" * 20)
    (repo / "b.py").write_text("B = 1\n" * 20)
    settle(repo, store)


def test_pins_keep_generations_and_blobs_until_released(stdlib_copy, tmp_path):
    repo = stdlib_copy("json")
    store_dir = tmp_path / "store"
    index_repository(repo, store_dir=store_dir, workers=1)
    tool = repo / "json" / "tool.py"
    original = tool.read_text()
    with Store.open(store_dir, create=False) as reader, reader.pinned("claude") as pinned:
        before = generation_state(store_dir, pinned.id)
        for round_ in range(5):
            tool.write_text(original + f"\n# round {round_}\n")
            index_repository(repo, store_dir=store_dir, workers=1)
        assert generation_state(store_dir, pinned.id) == before  # rows and page bytes intact
    tool.write_text(original + "\n# after the pin\n")
    index_repository(repo, store_dir=store_dir, workers=1)
    with Store.open(store_dir, create=False) as store:
        assert store.modules(pinned.id) == []
        live = {p.blob for g in store.db.execute("SELECT id FROM generations").fetchall()
                for m in store.modules(g[0]) for p in store.module_pages(g[0], m.name)}  # fmt: skip
        drawn = set(store.pages.all_digests())
        assert drawn <= live  # unpinned old blobs were collected
        assert set(before[4]) - live and not (set(before[4]) - live) & drawn
        assert not list((store_dir / "pins").iterdir())


def test_a_dead_readers_pin_is_ignored(stdlib_copy, tmp_path):
    repo = stdlib_copy("json")
    store_dir = tmp_path / "store"
    first = index_repository(repo, store_dir=store_dir, workers=1)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from codectx.store import Store\n"
         "with Store.open(Path(sys.argv[1])) as s, s.pinned('claude') as g:\n print(g.id, flush=True); time.sleep(600)",
         str(store_dir)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and int(holder.stdout.readline()) == first.generation
    holder.kill()
    holder.wait()
    for round_ in range(4):
        (repo / "json" / "tool.py").write_text(f"ROUND = {round_}\n")
        index_repository(repo, store_dir=store_dir, workers=1)
    with Store.open(store_dir, create=False) as store:
        assert store.modules(first.generation) == []
    assert not list((store_dir / "pins").iterdir())


def test_a_restart_removes_partly_written_and_orphan_blobs(stdlib_copy, tmp_path):
    repo = stdlib_copy("json")
    store_dir = tmp_path / "store"
    index_repository(repo, store_dir=store_dir, workers=1)
    partial = store_dir / "pages" / "ab" / ".tmp-1234"
    orphan = store_dir / "pages" / "cd" / ("cd" + "0" * 62 + ".png")
    drawing = store_dir / "pages" / "ef" / ".tmp-5678"  # a reader drawing a page right now
    for path in (partial, orphan, drawing):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left by a process killed while drawing")
    old = time.time() - BLOB_GRACE_SECONDS - 60
    os.utime(partial, (old, old))
    (repo / "json" / "tool.py").write_text("TOOL = 3\n")
    index_repository(repo, store_dir=store_dir, workers=1)
    assert not partial.exists() and not orphan.exists()
    assert drawing.exists()
    generation_state(store_dir)


def test_kill_9_during_index_keeps_the_previous_generation(stdlib_copy, tmp_path):
    repo = stdlib_copy("json", "email")
    store_dir = tmp_path / "store"
    index_repository(repo, store_dir=store_dir, workers=1)
    command = [sys.executable, "-m", "codectx", "index", str(repo), "--store", str(store_dir)]
    rng = random.Random(6)
    path = repo / "email" / "utils.py"
    for trial in range(3):
        with Store.open(store_dir, create=False) as store:
            previous = store.require_generation("claude").id
        before = generation_state(store_dir, previous)
        path.write_text(path.read_text() + f"\n# trial {trial}\n")
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 2.5))  # a random point of the run, not an assertion
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert generation_state(store_dir, previous) == before, (
            f"trial {trial} killed after {time.monotonic() - started:.2f}s"
        )
        generation_state(store_dir)  # the current generation (old or new) is complete: every page readable
        index_repository(repo, store_dir=store_dir, workers=1)
        assert indexed_state(store_dir) == disk_state(repo)
        assert not [p for p in (store_dir / "pages").rglob(".tmp-*")]
    assert_equals_fresh_index(repo, store_dir, tmp_path)


def test_kill_9_of_the_watch_command_then_restart_catches_up(stdlib_copy, tmp_path, watching):
    repo = stdlib_copy("json")
    store_dir = tmp_path / "store"
    command = [
        sys.executable,
        "-m",
        "codectx",
        "watch",
        str(repo),
        "--store",
        str(store_dir),
        "--json",
        "--debounce",
        "0.02",
    ]
    rng = random.Random(7)
    for trial in range(2):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())  # the catch-up update
        assert first["files"] == len(disk_state(repo)[0])
        for number in range(4):
            (repo / "json" / f"extra{trial}_{number}.py").write_text(f"VALUE = {number}\n" * 200)
        time.sleep(rng.uniform(0.0, 0.6))  # kill somewhere inside the updates
        process.send_signal(signal.SIGKILL)
        process.wait()
        if indexed_state(store_dir) is not None:
            generation_state(store_dir)  # whatever was published last is complete
    with Store.open(store_dir, create=False) as store:
        store.require_generation("claude")
    watching(repo)
    settle(repo, store_dir)
    assert_equals_fresh_index(repo, store_dir, tmp_path)


def test_watch_command_prints_updates_and_stops_on_sigterm(stdlib_copy, tmp_path):
    repo = stdlib_copy("json")
    store_dir = tmp_path / "store"
    process = subprocess.Popen(
        [sys.executable, "-m", "codectx", "watch", str(repo), "--store", str(store_dir), "--debounce", "0.02"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert "generation 1:" in process.stdout.readline()
    (repo / "json" / "tool.py").write_text("TOOL = 1\n")
    assert "generation 2: 1 path changed, 1 file read, 1 module re-rendered" in process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=TIMEOUT) == 0
    assert "watching" in process.stderr.read()
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude")
        page = store.module_pages(generation.id, store.modules(generation.id)[0].name)[0]
        with Image.open(store.pages.path_for(page.blob)) as image:
            assert image.format == "PNG"


def test_watch_start_line_says_in_text_what_json_says(make_repo, tmp_path):
    from codectx.cli import _watch_start_line

    repo = make_repo({"pkg/a.py": "A = 1\n", "pkg/sub/b.py": "B = 2\n", "c.py": "C = 3\n"})
    for polling in (False, True):
        with Watcher(repo, "claude", tmp_path / f"store-{polling}", polling=polling, poll_interval=0.5) as watcher:
            facts = json.loads(_watch_start_line(watcher, as_json=True))
            text = _watch_start_line(watcher, as_json=False)
        assert facts["watching"] == str(repo.resolve()) and facts["target"] == "claude"
        assert text.startswith(f"codectx: watching {facts['watching']} (") and f"target {facts['target']}" in text
        if polling:
            assert facts["mode"] == "polling" and "polling every 0.5s" in text
        else:  # one recursive watch may cover several directories: both counts, in both forms
            assert facts["mode"] == "native" and facts["directories"] == 3
            watches = "1 watch" if facts["watches"] == 1 else f"{facts['watches']} watches"
            assert f"native events, {watches} covering 3 directories" in text


def test_watch_command_rejects_bad_arguments(tmp_path, capsys):
    from codectx.cli import main

    assert main(["watch", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["watch", str(tmp_path), "--debounce", "-1"]) == 2
    assert "--debounce" in capsys.readouterr().err


def test_updates_remove_the_pages_they_drop_without_listing_the_page_folder(stdlib_copy, tmp_path):
    from codectx.rescan import SourceCache

    repo = stdlib_copy("json")
    store_dir = tmp_path / "store"
    sources = SourceCache()
    orphan = store_dir / "pages" / "cd" / ("cd" + "0" * 62 + ".png")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left by a killed run")
    first = index_repository(repo, store_dir=store_dir, workers=1, sources=sources)
    assert not orphan.exists()  # the first update sweeps
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a killed run")
    with Store.open(store_dir, create=False) as store:
        first_pages = {p.blob for p in store.module_pages(first.generation, "json")}
    for round_ in range(4):  # the first generation falls out of the kept ones
        (repo / "json" / "tool.py").write_text(f"ROUND = {round_}\n")
        sources.invalidate(["json/tool.py"])
        index_repository(repo, store_dir=store_dir, workers=1, sources=sources)
    with Store.open(store_dir, create=False) as store:
        live = {b for (b,) in store.db.execute("SELECT blob FROM pages")}
        for blob in first_pages - live:
            assert not any(path.exists() for path in store.pages.stored_files(blob))
        assert first_pages - live
    assert orphan.exists()  # no sweep after the first update
