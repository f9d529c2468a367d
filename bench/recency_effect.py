"""How much the recency nudge moves retrieval: recall@1 and @5 of the labelled questions with and without it.

The questions (bench/data/*_questions.json) are about what code does, not about what changed, so
recency should leave their answers where they were: it is meant to break ties, not to reorder.
Each repository must be a git clone (its history gives the recency); its index goes to --stores.

    .venv/bin/python bench/recency_effect.py --repos /tmp/repos/click /tmp/repos/requests --stores /tmp/recency
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from codectx.history import read_history, recency_scores
from codectx.indexer import index_repository
from codectx.relevance import rank
from codectx.store import Store

DATA = Path(__file__).resolve().parent / "data"
DEPTH = 5


def first_hit(found: list[str], answers: list[str]) -> int | None:
    return next((rank for rank, path in enumerate(found, start=1) if path in answers), None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repos", type=Path, nargs="+", required=True, help="git clones named like the question files")
    parser.add_argument("--stores", type=Path, required=True, help="folder for their indexes")
    args = parser.parse_args()
    print(f"{'repository':<12} {'questions':>9} {'files with history':>18} {'@1 without':>10} {'@1 with':>8} "
          f"{'@5 without':>10} {'@5 with':>8} {'top-5 lists changed':>19} {'history ms':>10}")  # fmt: skip
    for repo in args.repos:
        questions = json.loads((DATA / f"{repo.name}_questions.json").read_text())["questions"]
        store_dir = args.stores / repo.name
        index_repository(repo.resolve(), store_dir=store_dir)
        started = time.perf_counter()
        recency = recency_scores(read_history(repo.resolve()))
        history_ms = (time.perf_counter() - started) * 1000
        hits = {False: [0, 0], True: [0, 0]}
        changed = 0
        with Store.open(store_dir, create=False) as store:
            generation = store.require_generation("claude").id
            for item in questions:
                tops = {}
                for nudged in (False, True):
                    ranking = rank(store, generation, item["question"], recency=recency if nudged else None)
                    tops[nudged] = [f.path for f in ranking.files[:DEPTH]]
                    hit = first_hit(tops[nudged], item["answers"])
                    hits[nudged][0] += hit == 1
                    hits[nudged][1] += hit is not None
                changed += tops[False] != tops[True]
        n = len(questions)
        print(f"{repo.name:<12} {n:>9} {len(recency):>18} {hits[False][0] / n:>10.2f} {hits[True][0] / n:>8.2f} "
              f"{hits[False][1] / n:>10.2f} {hits[True][1] / n:>8.2f} {changed:>19} {history_ms:>10.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
