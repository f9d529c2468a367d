"""Where a cold `codectx index` spends its time, per stage, measured with cProfile in one process.

    .venv/bin/python bench/index_profile.py [TREE] [--target claude] [--json FILE]

The index runs with one worker (every stage in this process, where the profiler sees it); the stages
are the cumulative times of the functions that do each job. The PNG row is not part of the index: pages
are drawn when first requested, so it is timed afterwards by drawing every page once. Profiling adds
overhead to Python-heavy stages, so the shares matter more than the absolute seconds; a real index
spreads the rendering and the secret scan over all cores (bench/vs_repomix.py times that).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

from codectx.indexer import index_repository
from codectx.store import Store

DEFAULT_TREE = Path("/tmp/codectx-stdlib-sample")

# stage -> functions (file suffix, function name) whose cumulative times add up to it; "minus" ones are
# subtracted (they are stages of their own, called from inside).
STAGES: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = [
    ("read, decode, classify", [("codectx/scan.py", "load_source")],
     [("codectx/secrets.py", "find_secrets"), ("codectx/languages.py", "detect_language")]),
    ("language detection", [("codectx/languages.py", "detect_language")], []),
    ("secret scan", [("codectx/secrets.py", "find_secrets")], []),
    ("highlight (parse + inks)", [("codectx/indexer.py", "highlight_parsed")], []),
    ("outline, symbols, imports", [("codectx/structure.py", "outline")], []),
    ("glossary candidates", [("codectx/glossary.py", "exact_candidates")], []),
    ("full-text lines (split + SQLite FTS5)", [("codectx/catalog.py", "indexed_lines"),
                                               ("codectx/catalog.py", "store_analyses")], []),
    ("token counts (tiktoken)", [("codectx/tokens.py", "count_tokens_batch")], []),
    ("layout + line maps", [("codectx/render/layout.py", "layout_pages"),
                            ("codectx/render/layout.py", "line_map_json")], []),
    ("page cells (compress + write)", [("codectx/page_images.py", "keep")], []),
    ("reference graph", [("codectx/indexer.py", "_reference_graph")], []),
    ("publish (SQLite rows, sources)", [("codectx/store.py", "publish"), ("codectx/store.py", "collect_garbage")],
     []),
]  # fmt: skip


def cumulative(stats: pstats.Stats, functions: list[tuple[str, str]]) -> float:
    total = 0.0
    table = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, _tt, cum, _callers) in table.items():
        if any(filename.endswith(suffix) and name == wanted for suffix, wanted in functions):
            total += cum
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", nargs="?", type=Path, default=DEFAULT_TREE)
    parser.add_argument("--target", default="claude")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not args.tree.is_dir():
        raise SystemExit(f"{args.tree} is not a folder (bench/stdlib_sample.py builds the default one)")
    with tempfile.TemporaryDirectory(prefix="codectx-profile-") as scratch:
        store_dir = Path(scratch) / "store"
        profiler = cProfile.Profile()
        profiler.enable()
        summary = index_repository(args.tree, args.target, store_dir, workers=1)
        profiler.disable()
        stats = pstats.Stats(profiler)
        total = cumulative(stats, [("codectx/indexer.py", "index_repository")])
        rows = [
            (name, cumulative(stats, functions) - cumulative(stats, minus)) for name, functions, minus in STAGES
        ]
        rows.append(("other (bookkeeping, module grouping)", total - sum(seconds for _, seconds in rows)))
        with Store.open(store_dir, create=False) as store:
            generation = store.require_generation(args.target)
            pages = [p for m in store.modules(generation.id) for p in store.module_pages(generation.id, m.name)]
            megabytes = sum(f.size for f in store.files(generation.id)) / 1e6
            started = time.perf_counter()
            for page in pages:
                store.pages.path_for(page.blob)
            drawing = time.perf_counter() - started
        shutil.rmtree(store_dir)
    print(f"cold index of {args.tree} ({summary.files} files, {megabytes:.1f} MB, {summary.pages} pages), one process,")
    print(f"under cProfile: {total:.2f} s")
    print(f"{'stage':42} {'seconds':>8} {'share':>6}")
    for name, seconds in rows:
        print(f"{name:42} {seconds:8.2f} {seconds / total:6.1%}")
    print(f"{'PNG, on first request (all pages once)':42} {drawing:8.2f}   (not part of the index)")
    if args.json:
        report = {
            "tree": str(args.tree), "files": summary.files, "pages": summary.pages, "megabytes": round(megabytes, 2),
            "total_s": round(total, 3), "stages": {name: round(seconds, 3) for name, seconds in rows},
            "png_all_pages_s": round(drawing, 3), "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }  # fmt: skip
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
