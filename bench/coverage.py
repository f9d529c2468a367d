"""Coverage: the share of the standard-library sample's source lines a pack carries, by budget and target.

    .venv/bin/python bench/coverage.py [--store DIR] [--repomix /tmp/repomix-bench/node_modules/.bin/repomix]

For each target (claude, gpt-4o, deepseek-ocr2) and budget (32k, 128k, 1M), `build_pack` without a
query; a line counts when it is in a text item or on a page (full-density pages, or reduced pages,
reported apart). Lines are non-blank source lines. Beside them, in the same run:
  - plain text (every file, in path order, cut at the budget);
  - Repomix --compress (tree-sitter signatures, bodies dropped), its output cut at the budget, when
    a repomix executable is given (`npm install repomix` into /tmp); a line counts when it appears
    verbatim in the file's section of the output.
DESIGN's anchors for the same files: plain text 2.85 M o200k tokens, Repomix --compress 1.70 M.
Tokens here are cl100k counts (codectx's text unit), so totals differ a little from those anchors.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stdlib_sample import build_sample

from codectx.indexer import index_repository
from codectx.pack import FileRange, build_pack
from codectx.store import Store
from codectx.tokens import count_tokens_batch

TARGETS = ("claude", "gpt-4o", "deepseek-ocr2")
BUDGETS = (32_000, 128_000, 1_000_000)
_SECTION = re.compile(r"^================\nFile: (.+)\n================\n", re.MULTILINE)


def nonblank_lines(text: str) -> set[int]:
    return {n for n, line in enumerate(text.split("\n"), start=1) if line.strip()}


def covered(ranges: Iterable[FileRange], lines: dict[str, set[int]]) -> int:
    seen: dict[str, set[int]] = defaultdict(set)
    for r in ranges:
        seen[r.path].update(n for n in range(r.start_line, r.end_line + 1) if n in lines.get(r.path, ()))
    return sum(len(v) for v in seen.values())


def pack_row(store: Store, target: str, budget: int, lines: dict[str, set[int]]) -> dict[str, float]:
    started = time.perf_counter()
    pack = build_pack(store, target, budget)
    seconds = time.perf_counter() - started
    total = sum(len(v) for v in lines.values())
    by_kind: dict[str, list[FileRange]] = defaultdict(list)
    for item in pack.items:
        by_kind[item.representation].extend(item.ranges)
    text = covered(by_kind["text"], lines)
    pages = covered(by_kind["pages"], lines)
    reduced = covered(by_kind["reduced_pages"], lines)
    return {
        "tokens": pack.total_tokens, "text": text / total, "pages": pages / total, "reduced": reduced / total,
        "seconds": seconds, "outlined": sum(1 for i in pack.items if i.representation == "outline"),
    }  # fmt: skip


def cut_at_budget(sections: list[tuple[str, str]], sources: dict[str, str], budget: int) -> float:
    """Share of non-blank source lines present verbatim when the sections, in order, are cut at `budget` tokens."""
    lines = {path: nonblank_lines(text) for path, text in sources.items()}
    total = sum(len(v) for v in lines.values())
    tokens = count_tokens_batch([body for _, body in sections])
    spent, present = 0, 0.0
    for (path, body), cost in zip(sections, tokens, strict=True):
        source = sources.get(path, "").split("\n")
        wanted = Counter(source[n - 1].strip() for n in lines.get(path, ()))
        found = Counter(line.strip() for line in body.split("\n") if line.strip())
        matched = sum(min(count, found[line]) for line, count in wanted.items())
        share = 1.0 if spent + cost <= budget else max(0.0, (budget - spent) / cost)
        present += matched * share
        spent += cost
        if spent >= budget:
            break
    return present / total


def repomix_sections(repomix: str, sample: Path, compress: bool) -> tuple[list[tuple[str, str]], float]:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "repomix.txt"
        command = [repomix, str(sample), "--style", "plain", "--output", str(out), "--no-security-check"]
        started = time.perf_counter()
        subprocess.run(command + (["--compress"] if compress else []), check=True, capture_output=True)
        seconds = time.perf_counter() - started
        text = out.read_text(encoding="utf-8")
    marks = list(_SECTION.finditer(text))
    sections = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        sections.append((mark.group(1), text[mark.end() : end]))
    return sections, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="index folder (default: <sample>/.codectx)")
    parser.add_argument("--repomix", help="a repomix executable, for the side-by-side rows")
    args = parser.parse_args()
    sample = build_sample()
    store_dir = args.store or sample / ".codectx"

    rows: list[tuple[str, int, dict[str, float]]] = []
    lines: dict[str, set[int]] = {}
    sources: dict[str, str] = {}
    for target in TARGETS:
        index_repository(sample, target=target, store_dir=store_dir)
        with Store.open(store_dir, create=False) as store:
            generation = store.require_generation(target).id
            if not sources:
                sources = {f.path: store.source_text(f.sha256) or "" for f in store.files(generation)}
                lines = {path: nonblank_lines(text) for path, text in sources.items()}
            for budget in BUDGETS:
                rows.append((target, budget, pack_row(store, target, budget, lines)))
    total_lines = sum(len(v) for v in lines.values())
    text_tokens = sum(count_tokens_batch(list(sources.values())))

    print(
        f"standard-library sample: {len(lines)} files, {total_lines:,} non-blank lines, {text_tokens:,} cl100k tokens"
    )
    header = f"{'packer':<28}{'budget':>10}{'tokens':>11}{'text':>8}{'pages':>8}{'text+pages':>12}{'+reduced':>10}"
    print(header + f"{'outlines':>10}{'seconds':>9}")
    for target, budget, row in rows:
        both = row["text"] + row["pages"]
        print(
            f"{'codectx ' + target:<28}{budget:>10,}{int(row['tokens']):>11,}{row['text']:>8.1%}{row['pages']:>8.1%}"
            f"{both:>12.1%}{both + row['reduced']:>10.1%}{int(row['outlined']):>10}{row['seconds']:>9.2f}"
        )
    plain = sorted(sources.items())
    for budget in BUDGETS:
        share = cut_at_budget(plain, sources, budget)
        print(f"{'plain text, cut at budget':<28}{budget:>10,}{min(budget, text_tokens):>11,}{share:>8.1%}")
    if args.repomix:
        for compress in (False, True):
            sections, seconds = repomix_sections(args.repomix, sample, compress)
            tokens = sum(count_tokens_batch([body for _, body in sections]))
            label = "repomix --compress" if compress else "repomix"
            whole = cut_at_budget(sections, sources, 10**12)
            print(f"{label + ' (whole output)':<28}{'-':>10}{tokens:>11,}{whole:>8.1%}   ({seconds:.1f} s)")
            for budget in BUDGETS:
                share = cut_at_budget(sections, sources, budget)
                print(f"{label + ', cut at budget':<28}{budget:>10,}{min(budget, tokens):>11,}{share:>8.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
