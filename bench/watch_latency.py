"""Latency from a file write until a reader sees the new generation, with `codectx watch` running.

Edits are made to standard-library sample files (bench/stdlib_sample.py) in a scratch copy:
  - in place: a short comment appended to one line (line count unchanged, the usual save);
  - insert: one comment line inserted near the top (every later row of the module moves).
The reader polls the store's current generation every millisecond. Baseline, measured in the same
run: `codectx index` run after each in-place edit (what keeping the index fresh costs without the
watcher). Goal: p95 <= 200 ms beyond the debounce.

    .venv/bin/python bench/watch_latency.py [--edits 100] [--inserts 20] [--baseline 5] [--debounce 0.1]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from watch_common import (
    TARGET,
    WatchProcess,
    current_generation,
    edit_line_in_place,
    indexed_scratch_repo,
    insert_line,
    summary,
    wait_for_new_generation,
)

from codectx.store import Store


def measure(
    watch: WatchProcess, store: Store, repo: Path, paths: list[str], edit: Callable[[Path, str], None], label: str
) -> dict[str, list[float]]:
    latencies: list[float] = []
    updates: list[float] = []
    stages: dict[str, list[float]] = {}
    for number, rel in enumerate(paths):
        before = current_generation(store)
        started = time.perf_counter()
        edit(repo / rel, f"{label} {number}")
        generation = wait_for_new_generation(store, before)
        latencies.append(time.perf_counter() - started)
        update = watch.update_for(generation)
        updates.append(float(str(update["seconds"])))  # the line comes after its garbage collection too
        for stage, seconds in dict(update["stages"]).items():  # type: ignore[call-overload]
            stages.setdefault(f"stage {stage}", []).append(float(seconds))
    return {"latency": latencies, "update": updates, **stages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--inserts", type=int, default=20)
    parser.add_argument("--baseline", type=int, default=5)
    parser.add_argument("--debounce", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    repo, store_dir = indexed_scratch_repo("latency")
    with Store.open(store_dir, create=False) as store:
        indexed = sorted(f.path for f in store.files(store.require_generation(TARGET).id))
    rng = random.Random(args.seed)
    edited = rng.sample(indexed, args.edits)
    inserted = rng.sample(indexed, args.inserts)
    baseline_paths = rng.sample(indexed, args.baseline)

    watch = WatchProcess(repo, store_dir, args.debounce)
    watch.next_update()  # catch-up on start
    results: dict[str, dict[str, list[float]]] = {}
    with Store.open(store_dir, create=False) as store:
        results["in place"] = measure(watch, store, repo, edited, edit_line_in_place, "edit")
        results["insert"] = measure(watch, store, repo, inserted, insert_line, "insert")
    watch.stop()

    baseline: list[float] = []
    command = [sys.executable, "-m", "codectx", "index", str(repo), "--store", str(store_dir)]
    for number, rel in enumerate(baseline_paths):
        edit_line_in_place(repo / rel, f"baseline {number}")
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        baseline.append(time.perf_counter() - started)

    print(f"\nwatch latency, stdlib sample ({len(indexed)} files), debounce {args.debounce:g}s, seconds")
    print(f"{'edit kind':<28}{'n':>5}{'p50':>9}{'p95':>9}{'max':>9}{'p50-deb':>9}{'p95-deb':>9}{'update p50':>12}")
    table: dict[str, object] = {"debounce": args.debounce, "files": len(indexed)}
    for kind, values in results.items():
        latency, update = summary(values["latency"]), summary(values["update"])
        print(
            f"{'watch, ' + kind:<28}{latency['n']:>5}{latency['p50']:>9.3f}{latency['p95']:>9.3f}{latency['max']:>9.3f}"
            f"{latency['p50'] - args.debounce:>9.3f}{latency['p95'] - args.debounce:>9.3f}{update['p50']:>12.3f}"
        )
        table[kind] = {name: summary(series) for name, series in values.items()}
    base = summary(baseline)
    print(f"{'baseline: codectx index':<28}{base['n']:>5}{base['p50']:>9.3f}{base['p95']:>9.3f}{base['max']:>9.3f}")
    table["baseline codectx index"] = base
    print("\nwhere an update's time goes (p50 seconds per indexer stage)")
    for kind, values in results.items():
        stages = {name[6:]: summary(series)["p50"] for name, series in values.items() if name.startswith("stage ")}
        print(f"{kind:<10}" + "  ".join(f"{name} {seconds:.3f}" for name, seconds in stages.items()))
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
