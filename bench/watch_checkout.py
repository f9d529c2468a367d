"""Time for `codectx watch` to converge after a `git checkout` that touches 1,000 files.

The stdlib sample (bench/stdlib_sample.py) is committed on `main`; each branch `touch<N>` edits one
line in 700 of its files and adds 300 new files. Converged = the store's current generation lists
exactly the branch's files with their contents. Each round switches main -> touch<N> -> main; the
way back is cheap because the main generation's pages are still stored. Baseline, in the same run:
`codectx index` after the same checkout, starting from the same store (a copy taken before).

    .venv/bin/python bench/watch_checkout.py [--rounds 3] [--debounce 0.1]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from watch_common import (
    TARGET,
    WatchProcess,
    current_generation,
    disk_files,
    edit_line_in_place,
    indexed_files,
    indexed_scratch_repo,
    summary,
    wait_for_new_generation,
)

from codectx.store import Store

EDITED = 700
ADDED = 300


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=repo, check=True, capture_output=True,
    )  # fmt: skip


def make_branch(repo: Path, name: str, sources: list[str], rng: random.Random) -> dict[str, str]:
    """Commit a branch touching 1,000 files; returns the files the index must then list."""
    git(repo, "checkout", "-q", "-b", name, "main")
    for rel in rng.sample(sources, EDITED):
        edit_line_in_place(repo / rel, name)
    for number, rel in enumerate(rng.sample(sources, ADDED)):
        target = repo / f"added_{name}" / f"pkg{number % 10}" / f"copy{number}_{Path(rel).name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"# copied on {name}\n" + (repo / rel).read_text())
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", name)
    expected = disk_files(repo)
    git(repo, "checkout", "-q", "main")
    return expected


def converge(store: Store, repo: Path, branch: str, expected: dict[str, str]) -> tuple[float, int]:
    """Seconds from the start of `git checkout branch` until the index lists exactly `expected`, and
    the generation that does."""
    generation = current_generation(store)
    started = time.perf_counter()
    git(repo, "checkout", "-q", branch)
    while indexed_files(store) != expected:
        generation = wait_for_new_generation(store, generation, poll=0.01)
    return time.perf_counter() - started, generation


def report_updates(watch: WatchProcess, label: str, generation: int) -> None:
    """Print where the updates of one switch, up to `generation`, spent their time (seconds per stage)."""
    while True:
        update = watch.next_update()
        stages = "  ".join(f"{name} {seconds:.2f}" for name, seconds in dict(update["stages"]).items())  # type: ignore[call-overload]
        print(
            f"  {label}: update of {update['changed_paths']} paths, {update['seconds']:.2f}s: {stages}", file=sys.stderr
        )
        if update["generation"] == generation:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--debounce", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()

    repo, store_dir = indexed_scratch_repo("checkout")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "sample")
    sources = sorted(disk_files(repo))
    main_files = disk_files(repo)
    rng = random.Random(args.seed)
    branches = {f"touch{n}": make_branch(repo, f"touch{n}", sources, rng) for n in range(args.rounds)}
    baseline_store = store_dir.parent / "baseline-store"
    shutil.copytree(store_dir, baseline_store)

    watch = WatchProcess(repo, store_dir, args.debounce)
    watch.next_update()
    there: list[float] = []
    back: list[float] = []
    with Store.open(store_dir, create=False) as store:
        for branch, expected in branches.items():
            seconds, generation = converge(store, repo, branch, expected)
            there.append(seconds)
            report_updates(watch, f"main -> {branch}", generation)
            seconds, generation = converge(store, repo, "main", main_files)
            back.append(seconds)
            report_updates(watch, f"{branch} -> main", generation)
            print(f"{branch}: converged in {there[-1]:.2f}s, back to main in {back[-1]:.2f}s", file=sys.stderr)
    watch.stop()

    baseline: list[float] = []
    command = [sys.executable, "-m", "codectx", "index", str(repo), "--store", str(baseline_store)]
    for branch in branches:
        git(repo, "checkout", "-q", branch)
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        baseline.append(time.perf_counter() - started)
        git(repo, "checkout", "-q", "main")
        subprocess.run(command, check=True, capture_output=True)

    print(f"\nconverge after a git checkout touching {EDITED + ADDED} files ({len(sources)}-file sample), seconds")
    print(f"{'':<40}{'n':>4}{'median':>9}{'max':>9}")
    for label, values in (
        (f"watch (debounce {args.debounce:g}s): main -> branch", there),
        ("watch: branch -> main", back),
        ("baseline: checkout, then codectx index", baseline),
    ):
        figures = summary(values)
        print(f"{label:<40}{figures['n']:>4}{figures['p50']:>9.2f}{figures['max']:>9.2f}")
    print(f"target {TARGET}")


if __name__ == "__main__":
    main()
