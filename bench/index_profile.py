"""Where a cold `codectx index` spends its time, per stage, in one process.

    .venv/bin/python bench/index_profile.py [TREE] [--target claude] [--runs 3] [--json FILE]

The index runs with one worker, so every stage runs in this process, where a timer wrapped around the
function doing each job sees it (a few thousand calls in all: the wrappers cost nothing measurable,
unlike a tracing profiler, which inflates code made of many small calls). A stage that calls another
stage's function is shown without it. The PNG row is not part of the index: pages are drawn when
first requested, so it is timed afterwards by drawing every page once. A real index spreads the scan
and the rendering over all cores (bench/vs_repomix.py times that). Each run is a fresh process (a
cold index pays for loading the tokenizer and the grammars too); the table shows medians over --runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import codectx.catalog
import codectx.indexer
import codectx.scan
from codectx.store import Store

DEFAULT_TREE = Path("/tmp/codectx-stdlib-sample")

# (stage, owner of the name, attribute): the timed functions, looked up where their callers find them.
TIMED: list[tuple[str, Any, str]] = [
    ("load", codectx.scan, "load_source"),
    ("language detection", codectx.scan, "detect_language"),
    ("secret scan", codectx.scan, "find_secrets"),
    ("render", codectx.indexer, "render_and_analyse"),
    ("analyse", codectx.indexer, "analyse"),
    ("outline (parse, symbols, imports)", codectx.catalog, "outline"),
    ("glossary candidates", codectx.catalog, "exact_candidates"),
    ("full-text lines: split", codectx.catalog, "indexed_lines"),
    ("full-text lines: SQLite FTS5", codectx.indexer, "store_analyses"),
    ("token counts (tiktoken)", codectx.indexer, "count_tokens_batch"),
    ("reference graph", codectx.indexer, "_reference_graph"),
    ("publish (SQLite rows, sources)", Store, "publish"),
    ("collect garbage", Store, "collect_garbage"),
    ("index", codectx.indexer, "index_repository"),
]
# Shown without the stages they call.
EXCLUSIVE = {
    "read, decode, classify": ("load", ["language detection", "secret scan"]),
    "catalog entry, rest": (
        "analyse", ["outline (parse, symbols, imports)", "glossary candidates", "full-text lines: split"]
    ),
    "page plans (line maps, keys)": ("render", ["analyse"]),
    "other (walk, grouping, bookkeeping)": (
        "index",
        ["load", "render", "full-text lines: SQLite FTS5", "token counts (tiktoken)", "reference graph",
         "publish (SQLite rows, sources)", "collect garbage"],
    ),
}  # fmt: skip
ORDER = [
    "read, decode, classify", "language detection", "secret scan", "outline (parse, symbols, imports)",
    "glossary candidates", "full-text lines: split", "full-text lines: SQLite FTS5", "catalog entry, rest",
    "token counts (tiktoken)", "page plans (line maps, keys)",
    "reference graph", "publish (SQLite rows, sources)", "collect garbage", "other (walk, grouping, bookkeeping)",
]  # fmt: skip


@contextmanager
def timers() -> Iterator[dict[str, float]]:
    spent: dict[str, float] = defaultdict(float)
    originals = [(owner, name, getattr(owner, name)) for _, owner, name in TIMED]

    def timed(stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - started

        return wrapper

    for stage, owner, name in TIMED:
        setattr(owner, name, timed(stage, getattr(owner, name)))
    try:
        yield spent
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def one_run(tree: Path, target: str) -> tuple[dict[str, float], float, int, int, float, float]:
    """(seconds per stage, index seconds, files, pages, megabytes, seconds to draw every page)."""
    with tempfile.TemporaryDirectory(prefix="codectx-profile-") as scratch:
        store_dir = Path(scratch) / "store"
        with timers() as spent:
            summary = codectx.indexer.index_repository(tree, target, store_dir, workers=1)
        stages = {name: spent[name] for name, *_ in TIMED}
        for name, (whole, parts) in EXCLUSIVE.items():
            stages[name] = spent[whole] - sum(spent[p] for p in parts)
        with Store.open(store_dir, create=False) as store:
            generation = store.require_generation(target)
            pages = [p for m in store.modules(generation.id) for p in store.module_pages(generation.id, m.name)]
            megabytes = sum(f.size for f in store.files(generation.id)) / 1e6
            started = time.perf_counter()
            for page in pages:
                store.pages.path_for(page.blob)
            drawing = time.perf_counter() - started
    return stages, spent["index"], summary.files, summary.pages, megabytes, drawing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", nargs="?", type=Path, default=DEFAULT_TREE)
    parser.add_argument("--target", default="claude")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)  # a child: print one run as JSON
    args = parser.parse_args()
    if not args.tree.is_dir():
        raise SystemExit(f"{args.tree} is not a folder (bench/stdlib_sample.py builds the default one)")
    if args.one_run:
        print(json.dumps(one_run(args.tree.resolve(), args.target)))
        return
    child = [sys.executable, __file__, str(args.tree), "--target", args.target, "--one-run"]
    runs = [
        json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout) for _ in range(args.runs)
    ]
    stages = {name: statistics.median(r[0][name] for r in runs) for name in ORDER}
    total = statistics.median(r[1] for r in runs)
    drawing = statistics.median(r[5] for r in runs)
    _, _, files, pages, megabytes, _ = runs[0]
    print(f"cold index of {args.tree} ({files} files, {megabytes:.1f} MB, {pages} pages), one process,")
    print(f"median of {args.runs} runs: {total:.2f} s")
    print(f"{'stage':40} {'seconds':>8} {'share':>6}")
    for name in ORDER:
        print(f"{name:40} {stages[name]:8.2f} {stages[name] / total:6.1%}")
    print(f"{'PNG of every page (highlight, draw), on first request':40} {drawing:8.2f}   (not part of the index)")
    if args.json:
        report = {
            "tree": str(args.tree), "files": files, "pages": pages, "megabytes": round(megabytes, 2),
            "runs": args.runs, "index_s": round(total, 3), "stages_s": {n: round(s, 3) for n, s in stages.items()},
            "png_every_page_s": round(drawing, 3), "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }  # fmt: skip
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
