"""Pack speed: `build_pack` + `write_pack` at a 128k budget on the indexed standard-library sample.

    .venv/bin/python bench/pack_speed.py [--store DIR] [--target claude] [--budget 128000] [--runs 5]

Rows, medians over --runs in this process (the cl100k tables are loaded before timing):
  - codectx pack without a query (centrality) and with a query;
  - the first pack after the reduced-page cache is emptied (downscaling included), one run;
  - `codectx pack` as a command (its own process: interpreter start, imports and tiktoken load included);
  - baseline, measured in the same run: a text-only packer over the same index, reading every file's text
    from the store, counting its cl100k tokens and keeping files in path order until the budget is spent.
Goal: <= 2 s for the 128k pack.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stdlib_sample import build_sample
from timing import median_seconds

from codectx.indexer import index_repository
from codectx.pack import PackItem, build_pack, write_pack
from codectx.store import REDUCED_DIRNAME, Store
from codectx.tokens import count_tokens, count_tokens_batch

GOAL_S = 2.0
QUERY = "where are HTTP redirects followed"


def text_only_pack(store: Store, target: str, budget: int) -> int:
    generation = store.require_generation(target).id
    texts = [store.source_text(f.sha256) or "" for f in store.files(generation)]
    spent = 0
    for tokens in count_tokens_batch(texts):
        if spent + tokens > budget:
            break
        spent += tokens
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="index folder (default: <sample>/.codectx)")
    parser.add_argument("--target", default="claude")
    parser.add_argument("--budget", type=int, default=128_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    sample = build_sample()
    store_dir = args.store or sample / ".codectx"
    index_repository(sample, target=args.target, store_dir=store_dir)
    count_tokens("warm up")  # load the cl100k tables outside the timings
    out = Path(tempfile.mkdtemp(prefix="codectx-pack-"))
    rows: list[tuple[str, float, str]] = []
    try:
        with Store.open(store_dir, create=False) as store:
            shutil.rmtree(store_dir / REDUCED_DIRNAME, ignore_errors=True)
            started = time.perf_counter()
            first = build_pack(store, args.target, args.budget)
            write_pack(first, out / "first")
            rows.append(("first pack, empty reduced-page cache", time.perf_counter() - started, _mix(first.items)))
            for label, query in (("pack, centrality", None), ("pack, with a query", QUERY)):
                pack = build_pack(store, args.target, args.budget, query=query)

                def work(query: str | None = query) -> None:
                    write_pack(build_pack(store, args.target, args.budget, query=query), out / "runs")

                rows.append((label, median_seconds(work, args.runs), _mix(pack.items)))
            spent = text_only_pack(store, args.target, args.budget)
            baseline = median_seconds(lambda: text_only_pack(store, args.target, args.budget), args.runs)
            rows.append(("baseline: text-only pack from the index", baseline, f"{spent:,} tokens of text"))
        command = [sys.executable, "-m", "codectx", "pack", str(sample), "--store", str(store_dir), "--target",
                   args.target, "--budget", str(args.budget), "--out", str(out / "cli"), "--json"]  # fmt: skip

        def run_cli() -> None:
            subprocess.run(command, check=True, capture_output=True)

        rows.append(("`codectx pack` command (own process)", median_seconds(run_cli, args.runs), ""))
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"standard-library sample, target {args.target}, budget {args.budget:,}; medians of {args.runs} runs")
    print(f"{'':<42}{'seconds':>9}  result")
    for label, seconds, result in rows:
        print(f"{label:<42}{seconds:>9.3f}  {result}")
    print(f"goal: <= {GOAL_S:.0f} s")
    return 0


def _mix(items: Sequence[PackItem]) -> str:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.representation] = counts.get(item.representation, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


if __name__ == "__main__":
    raise SystemExit(main())
