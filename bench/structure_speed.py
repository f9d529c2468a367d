"""What the structure stage adds to indexing the standard-library sample.

    .venv/bin/python bench/structure_speed.py [--runs 3] [--workers 2]

The stage (codectx.catalog.update_catalog, then codectx.graph.reference_edges) parses every new
file content with tree-sitter, fills the symbol, import, reference, exact-string and full-text
tables, and builds the reference graph when a generation is published. Rows, medians over --runs:
  - cold: a fresh store, every file analysed (outline + full-text lines + exact strings) and inserted;
  - graph: the reference edges of the whole sample from the stored facts;
  - warm: the same files again, nothing to analyse (the cache by content hash);
  - baseline, in the same run: `scan` of the sample (walk, read, decode, mask secrets), the stage
    every index run starts with.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stdlib_sample import build_sample

from codectx.catalog import catalog_ids, file_facts, update_catalog
from codectx.graph import reference_edges
from codectx.scan import scan
from codectx.store import Store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sample = build_sample()
    timings: dict[str, list[float]] = {"scan (baseline)": [], "cold catalog": [], "graph": [], "warm catalog": []}
    for _ in range(args.runs):
        started = time.perf_counter()
        files = scan(sample).files
        timings["scan (baseline)"].append(time.perf_counter() - started)
        scratch = Path(tempfile.mkdtemp(prefix="codectx-structure-"))
        try:
            with Store.open(scratch) as store:
                started = time.perf_counter()
                cold = update_catalog(store, files, workers=args.workers)
                timings["cold catalog"].append(time.perf_counter() - started)
                started = time.perf_counter()
                edges = reference_edges(
                    file_facts(store, catalog_ids(store, ((f.path, f.language, f.sha256) for f in files)))
                )
                timings["graph"].append(time.perf_counter() - started)
                started = time.perf_counter()
                warm = update_catalog(store, files, workers=args.workers)
                timings["warm catalog"].append(time.perf_counter() - started)
                assert warm.analysed == 0 and cold.analysed > 0
                symbols = store.db.execute("SELECT count(*) FROM symbols").fetchone()[0]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    chars = sum(len(f.text) for f in files)
    print(
        f"standard-library sample: {len(files)} files, {chars / 1e6:.1f} M chars; {cold.analysed} contents analysed, "
        f"{symbols:,} symbols, {len(edges):,} edges; workers={args.workers}; medians of {args.runs} runs"
    )
    for label, values in timings.items():
        print(f"{label:<18}{statistics.median(values):>8.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
