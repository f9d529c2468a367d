"""Highlighting speed on the standard-library sample: tree-sitter beside pygments, MB per CPU-second.

    .venv/bin/python bench/highlight_speed.py [--runs 3] [--share 4]

Every file of the sample (bench/stdlib_sample.py) goes through codectx's highlighter (tree-sitter for
Python); the baseline, measured in the same run on every --share'th file, is the same highlighter
with tree-sitter switched off (pygments' Python lexer). Timed by CPU time in this one process, since
the machine may be shared; the table shows medians over --runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stdlib_sample import DEFAULT_LOCATION, build_sample

from codectx.render import highlight as highlighting
from codectx.scan import scan


def megabytes_per_cpu_second(texts: list[str]) -> float:
    started = time.process_time()
    for text in texts:
        highlighting.highlight(text, "python")
    return sum(map(len, texts)) / 1e6 / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--share", type=int, default=4, help="pygments reads every Nth file (it is slow)")
    args = parser.parse_args()
    texts = [f.text for f in scan(build_sample(DEFAULT_LOCATION)).files if f.language == "python"]
    tree_sitter = highlighting.tree_sitter_highlighter
    tree_sitter("python")  # the query compiles once per process, outside the timing

    def pygments_only(_language: str) -> None:
        return None

    cases: dict[str, tuple[Callable[[str], object], list[str]]] = {
        "pygments (baseline)": (pygments_only, texts[:: args.share]),
        "tree-sitter": (tree_sitter, texts),
    }
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, (lookup, sample) in cases.items():
            highlighting.tree_sitter_highlighter = lookup
            try:
                rates[name].append(megabytes_per_cpu_second(sample))
            finally:
                highlighting.tree_sitter_highlighter = tree_sitter
    print(
        f"{len(texts)} Python files, {sum(map(len, texts)) / 1e6:.1f} M characters; {args.runs} runs; MB per CPU-second"
    )
    print(f"{'highlighter':<22} {'median':>8} {'min':>8} {'max':>8} {'x pygments':>11}")
    baseline = statistics.median(rates["pygments (baseline)"])
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"{name:<22} {median:>8.2f} {min(values):>8.2f} {max(values):>8.2f} {median / baseline:>11.1f}")


if __name__ == "__main__":
    main()
