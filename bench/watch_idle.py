"""CPU used by an idle `codectx watch` over the stdlib sample (bench/stdlib_sample.py).

Native events (inotify) against polling every second, measured in the same run: after the
catch-up update and a short settling pause, the watcher's CPU time (all threads, from /proc) is
read before and after a quiet window. Goal: about zero for native events.

    .venv/bin/python bench/watch_idle.py [--seconds 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from watch_common import WatchProcess, cpu_seconds, indexed_scratch_repo


def idle_cpu(repo: Path, store: Path, seconds: float, poll: bool) -> tuple[float, int]:
    """Percent of one core used while idle, and the watcher's thread count."""
    watch = WatchProcess(repo, store, debounce=0.1, poll=poll)
    watch.next_update()
    time.sleep(2.0)  # let start-up work (imports, first snapshot) finish before measuring
    pid = watch.process.pid
    threads = len(list(Path(f"/proc/{pid}/task").iterdir()))
    before = cpu_seconds(pid)
    time.sleep(seconds)
    used = cpu_seconds(pid) - before
    watch.stop()
    return 100 * used / seconds, threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    repo, store = indexed_scratch_repo("idle")
    results: dict[str, list[float]] = {"native events": [], "polling (1 s)": []}
    threads: dict[str, int] = {}
    for _ in range(args.repeats):
        for label, poll in (("native events", False), ("polling (1 s)", True)):
            percent, threads[label] = idle_cpu(repo, store, args.seconds, poll)
            results[label].append(percent)
    print(f"\nidle CPU of codectx watch over the stdlib sample, {args.seconds:g}s windows, % of one core")
    print(f"{'mode':<16}{'n':>4}{'median':>9}{'max':>9}{'threads':>9}")
    for label, values in results.items():
        print(f"{label:<16}{len(values):>4}{statistics.median(values):>9.3f}{max(values):>9.3f}{threads[label]:>9}")


if __name__ == "__main__":
    main()
