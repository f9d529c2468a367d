"""A repository of 100,000 tiny files: cold and warm `codectx index`, wall time and peak memory.

    .venv/bin/python bench/many_files.py [--files 100000] [--folders 1000] [--runs 3]

Each file is one line (`VALUE_<n> = <n>`), spread over --folders folders. Every command runs as its
own process; peak RSS is the largest resident set of that process and the workers it waited for
(wait4's ru_maxrss). The baseline, measured in the same run, is a Repomix-style text pack of the
same files (read every file, write one pack, count its cl100k tokens: bench/index_speed.py).
The table shows medians over --runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CODECTX = [sys.executable, "-m", "codectx"]


def make_repository(root: Path, files: int, folders: int) -> None:
    per_folder = -(-files // folders)
    for number in range(files):
        folder = root / f"pkg{number // per_folder:04d}"
        if number % per_folder == 0:
            folder.mkdir(parents=True)
        (folder / f"m{number:06d}.py").write_text(f"VALUE_{number} = {number}\n")


def measured(command: list[str], scratch: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB and stdout of one command (outputs go to files: wait4 reaps the child)."""
    out_path, err_path = scratch / "stdout.txt", scratch / "stderr.txt"
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed:\n{err_path.read_text()[-2000:]}")
    return seconds, usage.ru_maxrss // 1024, out_path.read_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--folders", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="codectx-many-"))
    repo = scratch / "repo"
    results: dict[str, list[tuple[float, int]]] = {"pack": [], "cold": [], "warm": []}
    summary: dict[str, object] = {}
    try:
        started = time.perf_counter()
        make_repository(repo, args.files, args.folders)
        made = time.perf_counter() - started
        for run in range(args.runs):
            pack = [sys.executable, str(HERE / "index_speed.py"), "--text-pack", str(repo), str(scratch / "pack.txt")]
            seconds, peak, _ = measured(pack, scratch)
            results["pack"].append((seconds, peak))
            store = scratch / f"store-{run}"
            index = [*CODECTX, "index", str(repo), "--store", str(store), "--json"]
            for key in ("cold", "warm"):
                seconds, peak, out = measured(index, scratch)
                results[key].append((seconds, peak))
                summary = json.loads(out)
            shutil.rmtree(store)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(
        f"{args.files:,} one-line files in {args.folders:,} folders (made in {made:.1f} s): {summary['files']:,} "
        f"indexed, {summary['modules']} modules, {summary['pages']} pages, {len(summary['skipped'])} skipped; "
        f"{args.runs} runs; {len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'command':<34} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MB':>12}")
    labels = {"pack": "text pack (baseline)", "cold": "codectx index, cold", "warm": "codectx index, warm"}
    for key, label in labels.items():
        seconds = [s for s, _ in results[key]]
        peak = statistics.median(p for _, p in results[key])
        print(
            f"{label:<34} {statistics.median(seconds):>9.2f} {min(seconds):>7.2f} {max(seconds):>7.2f} {peak:>12,.0f}"
        )


if __name__ == "__main__":
    main()
