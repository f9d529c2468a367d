"""kill -9 at random points of `codectx index` and of `codectx watch`.

After every kill: the store opens, the generation that was current before the run is intact (its
rows and the bytes of every page it names are unchanged), the current generation is complete
(every page decodes as a PNG), and a restart catches up with the disk, leaving no partly written
blob and no orphan page behind. Kill points are uniform over the length of an uninterrupted run.

    .venv/bin/python bench/watch_crash.py [--index-trials 50] [--watch-trials 10] [--seed 6]
"""

from __future__ import annotations

import argparse
import io
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from watch_common import (
    TARGET,
    current_generation,
    disk_files,
    edit_line_in_place,
    generation_state,
    indexed_files,
    insert_line,
    scratch_repo,
)

from codectx.indexer import index_repository
from codectx.store import Store

PACKAGES = ("json", "email", "http", "urllib", "logging", "wsgiref")


def change_some_files(repo: Path, rng: random.Random, mark: str) -> None:
    """Edit, insert into, add and delete a few files in different modules."""
    sources = sorted(p for p in repo.rglob("*.py") if ".codectx" not in p.parts)
    for path in rng.sample(sources, 3):
        rng.choice((edit_line_in_place, insert_line))(path, mark)
    if rng.random() < 0.3:
        rng.choice(sources).unlink()
    if rng.random() < 0.3:
        (repo / rng.choice(PACKAGES) / f"added_{mark.replace(' ', '_')}.py").write_text(f"ADDED = {mark!r}\n" * 50)


def check_complete(store_dir: Path) -> int:
    """The current generation's id; raises unless every page it names is a readable PNG."""
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation(TARGET).id
        for module in store.modules(generation):
            for page in store.module_pages(generation, module.name):
                with Image.open(io.BytesIO(store.pages.get(page.blob))) as image:
                    image.verify()
    return generation


def check_restart(repo: Path, store_dir: Path) -> None:
    index_repository(repo, TARGET, store_dir, workers=1)
    with Store.open(store_dir, create=False) as store:
        assert indexed_files(store) == disk_files(repo), "the restarted index does not match the disk"
        live = {
            p.blob for (g,) in store.db.execute("SELECT id FROM generations").fetchall()
            for m in store.modules(g) for p in store.module_pages(g, m.name)
        }  # fmt: skip
        assert set(store.pages.all_digests()) == live, "orphan or missing page blobs after the restart"
        assert not list(store.pages.temp_files()), "partly written blobs left after the restart"


def index_trials(repo: Path, store_dir: Path, trials: int, rng: random.Random) -> Counter[str]:
    command = [sys.executable, "-m", "codectx", "index", str(repo), "--store", str(store_dir)]
    change_some_files(repo, rng, "timing run")
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    duration = time.perf_counter() - started
    print(f"an uninterrupted `codectx index` after such a change: {duration:.2f}s", file=sys.stderr)
    outcomes: Counter[str] = Counter()
    for trial in range(trials):
        with Store.open(store_dir, create=False) as store:
            previous = current_generation(store)
        before = generation_state(store_dir, previous)
        change_some_files(repo, rng, f"trial {trial}")
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kill_at = rng.uniform(0, duration)
        time.sleep(kill_at)
        finished = process.poll() is not None
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert generation_state(store_dir, previous) == before, f"trial {trial}: the previous generation changed"
        current = check_complete(store_dir)
        outcome = (
            "finished before the kill"
            if finished
            else "killed after publishing"
            if current != previous
            else "killed before publishing"
        )
        outcomes[outcome] += 1
        print(f"trial {trial:3d}: kill at {kill_at:5.2f}s: {outcome}", file=sys.stderr)
        check_restart(repo, store_dir)
    return outcomes


def watch_trials(repo: Path, store_dir: Path, trials: int, rng: random.Random) -> Counter[str]:
    command = [sys.executable, "-m", "codectx", "watch", str(repo), "--store", str(store_dir), "--json"]
    outcomes: Counter[str] = Counter()
    for trial in range(trials):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert process.stdout is not None
        process.stdout.readline()  # caught up
        with Store.open(store_dir, create=False) as store:
            previous = current_generation(store)
        before = generation_state(store_dir, previous)
        change_some_files(repo, rng, f"watch trial {trial}")
        time.sleep(rng.uniform(0, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        current = check_complete(store_dir)
        with Store.open(store_dir, create=False) as store:
            still_kept = store.db.execute("SELECT 1 FROM generations WHERE id = ?", (previous,)).fetchone()
        if still_kept:
            assert generation_state(store_dir, previous) == before, f"watch trial {trial}: previous generation changed"
        outcomes["published before the kill" if current != previous else "killed before publishing"] += 1
    check_restart(repo, store_dir)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-trials", type=int, default=50)
    parser.add_argument("--watch-trials", type=int, default=10)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    repo, store_dir = scratch_repo("crash", PACKAGES)
    index_repository(repo, TARGET, store_dir)
    by_index = index_trials(repo, store_dir, args.index_trials, rng)
    by_watch = watch_trials(repo, store_dir, args.watch_trials, rng)
    print(f"\nkill -9 trials on {', '.join(PACKAGES)} (every check passed in every trial)")
    for label, outcomes in (("codectx index", by_index), ("codectx watch", by_watch)):
        for outcome, count in sorted(outcomes.items()):
            print(f"{label:<15}{outcome:<28}{count:>5}")


if __name__ == "__main__":
    main()
