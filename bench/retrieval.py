"""Retrieval benchmark: `codectx query` against plain BM25 on labelled questions.

Each question in bench/data/stdlib_questions.json (or the --questions file) names the file(s) that
answer it. A question
counts at k when any answer is among the first k files. The baseline is SQLite FTS5's BM25 with one
document per file (unicode61 words, no stemming, no identifier splitting, no symbols, no graph),
asked the same question without stop words, in the same run.

    .venv/bin/python bench/retrieval.py [--store DIR] [--verbose]
    .venv/bin/python bench/retrieval.py --questions bench/data/click_questions.json --repo /tmp/repos/click \
        --store /tmp/click-index

Without --repo the questions are about a standard-library sample (bench/stdlib_sample.py).

--pack BUDGET also runs `codectx pack --budget BUDGET --query Q` per question and reports in what
form the answer is sent: exact text, full pages, reduced pages, outline or nothing (the most
faithful form any of the question's answer files gets; a file counts as text or pages only when the
whole file is sent so).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stdlib_sample import build_sample

from codectx.indexer import index_repository
from codectx.pack import Pack, build_pack, pack_basis
from codectx.relevance import rank
from codectx.store import Store
from codectx.terms import STOPWORDS

QUESTIONS = Path(__file__).resolve().parent / "data" / "stdlib_questions.json"
DEPTH = 5


def bm25_baseline(store: Store, generation: int) -> sqlite3.Connection:
    """An in-memory FTS5 table with one row per file of the generation."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(path UNINDEXED, body)")
    rows = [(f.path, store.source_text(f.sha256) or "") for f in store.files(generation)]
    db.executemany("INSERT INTO docs VALUES (?, ?)", rows)
    return db


def baseline_top(db: sqlite3.Connection, question: str, depth: int) -> list[str]:
    words = [w for w in "".join(c if c.isalnum() else " " for c in question.lower()).split() if w not in STOPWORDS]
    if not words:
        return []
    match = " OR ".join(f'"{w}"' for w in words)
    rows = db.execute("SELECT path FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?", (match, depth))
    return [str(p) for (p,) in rows]


def recall(ranks: list[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r < k) / len(ranks)


def first_hit(found: list[str], answers: list[str]) -> int | None:
    return next((i for i, path in enumerate(found) if path in answers), None)


FORMS = ("text", "pages", "reduced_pages", "outline", "omitted")  # most faithful first


def gold_form(pack: Pack, answers: list[str], lines: dict[str, int]) -> str:
    """The most faithful form in which `pack` sends any of the answer files whole ("omitted" when none)."""
    best = len(FORMS) - 1
    for item in pack.items:
        if item.representation not in FORMS:
            continue  # a glossary rides beside its pages
        for path in answers:
            spans = [(r.start_line, r.end_line) for r in item.ranges if r.path == path]
            # Pages leave out a blank line where one page ends and the next begins: a file counts as
            # sent whole when its ranges run from its first line to its last.
            whole = bool(spans) and (
                item.representation == "outline"
                or (min(a for a, _ in spans) <= 1 and max(b for _, b in spans) >= lines.get(path, 1))
            )
            if whole:
                best = min(best, FORMS.index(item.representation))
    return FORMS[best]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, help="index folder (default: <sample>/.codectx)")
    parser.add_argument("--verbose", action="store_true", help="print every question's top files")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="questions file (default: %(default)s)")
    parser.add_argument("--repo", type=Path, help="repository the questions are about (default: the stdlib sample)")
    parser.add_argument("--pack", type=int, metavar="BUDGET", help="also pack each question into BUDGET tokens")
    args = parser.parse_args()

    sample = args.repo.resolve() if args.repo else build_sample()
    store_dir = args.store or sample / ".codectx"
    index_repository(sample, store_dir=store_dir)
    questions = json.loads(args.questions.read_text())["questions"]
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude").id
        baseline = bm25_baseline(store, generation)
        ours: list[int | None] = []
        theirs: list[int | None] = []
        seconds: list[float] = []
        forms: list[str] = []
        packing = pack_basis(store, generation) if args.pack else None
        lines = {f.path: f.lines for f in store.files(generation)}
        for item in questions:
            started = time.perf_counter()
            ranking = rank(store, generation, item["question"])
            seconds.append(time.perf_counter() - started)
            found = [f.path for f in ranking.files[:DEPTH]]
            plain = baseline_top(baseline, item["question"], DEPTH)
            ours.append(first_hit(found, item["answers"]))
            theirs.append(first_hit(plain, item["answers"]))
            if args.verbose:
                print(f"{item['question']}\n  answers: {item['answers']}\n  codectx: {found}\n  bm25:    {plain}")
            if args.pack:
                packed = build_pack(store, "claude", args.pack, item["question"], generation, packing)
                forms.append(gold_form(packed, item["answers"], lines))
                if args.verbose:
                    print(f"  pack:    {forms[-1]}")
    corpus = "repository" if args.repo else "standard-library sample"
    print(f"{len(questions)} questions ({args.questions.name}), {corpus} ({sample})")
    print(f"{'ranker':<16}{'recall@1':>10}{'recall@5':>10}")
    print(f"{'codectx query':<16}{recall(ours, 1):>10.2f}{recall(ours, 5):>10.2f}")
    print(f"{'plain BM25':<16}{recall(theirs, 1):>10.2f}{recall(theirs, 5):>10.2f}")
    print(f"codectx query median latency: {statistics.median(seconds) * 1000:.0f} ms")
    if args.pack:
        counts = ", ".join(f"{form} {forms.count(form)}" for form in FORMS if forms.count(form))
        faithful = sum(1 for form in forms if form in ("text", "pages")) / len(forms)
        print(f"pack --budget {args.pack}: answer file sent as {counts}; text or full pages {faithful:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
