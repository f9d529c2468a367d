"""Cold and warm `codectx index` on the standard-library sample, beside a plain text pack of the same files.

    .venv/bin/python bench/index_speed.py [--runs 3] [--target claude] [--sample /tmp/codectx-stdlib-sample]

Each cold run indexes into a fresh store; each warm run indexes again with nothing changed. The
baseline, measured in the same run, is what a text packer such as Repomix does: read every file the
index keeps, write them into one text pack and count its cl100k tokens. Every command runs as its own
process (interpreter start and imports included); the table shows medians over --runs.
Goals: cold <= 10 s and warm <= 1 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stdlib_sample import DEFAULT_LOCATION, build_sample

CODECTX = [sys.executable, "-m", "codectx"]
COLD_GOAL_S = 10.0
WARM_GOAL_S = 1.0


def text_pack(root: Path, out: Path) -> dict[str, int]:
    """Read every file the index keeps, write one text pack, count its cl100k tokens (a Repomix-style pack)."""
    from codectx.scan import IgnoreRules, decode_text, walk
    from codectx.tokens import count_tokens_batch

    texts: list[str] = []
    for rel_path, reason in walk(root, IgnoreRules(root)):
        if reason is None:
            text = decode_text((root / rel_path).read_bytes())
            if text is not None and text.strip():
                texts.append(f"================\nFile: {rel_path}\n================\n{text}\n")
    out.write_text("".join(texts), encoding="utf-8")
    return {"files": len(texts), "text_tokens": sum(count_tokens_batch(texts))}


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target", default="claude")
    parser.add_argument("--sample", type=Path, default=DEFAULT_LOCATION)
    args = parser.parse_args()
    sample = build_sample(args.sample)
    scratch = Path(tempfile.mkdtemp(prefix="codectx-bench-"))
    times: dict[str, list[float]] = {"pack": [], "cold": [], "warm": []}
    summary: dict[str, object] = {}
    pack: dict[str, object] = {}
    try:
        for run in range(args.runs):
            seconds, out = timed([sys.executable, __file__, "--text-pack", str(sample), str(scratch / "pack.txt")])
            times["pack"].append(seconds)
            pack = json.loads(out)
            store = scratch / f"store-{run}"
            index = [*CODECTX, "index", str(sample), "--store", str(store), "--target", args.target, "--json"]
            seconds, out = timed(index)
            times["cold"].append(seconds)
            summary = json.loads(out)
            seconds, out = timed(index)
            times["warm"].append(seconds)
            shutil.rmtree(store)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    pack_median = statistics.median(times["pack"])
    print(
        f"standard-library sample: {summary['files']} files indexed ({pack['files']} packed), "
        f"{pack['text_tokens']:,} cl100k tokens; "
        f"target {args.target}: {summary['pages']} pages; {args.runs} runs; "
        f"{len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'command':<34} {'median s':>9} {'min s':>7} {'max s':>7} {'x pack':>7}  goal")
    rows = (
        ("text pack (read + cl100k count)", "pack", None),
        ("codectx index, cold", "cold", COLD_GOAL_S),
        ("codectx index, warm", "warm", WARM_GOAL_S),
    )
    for label, key, goal in rows:
        median = statistics.median(times[key])
        verdict = "" if goal is None else f"<= {goal:g} s: {'met' if median <= goal else 'NOT met'}"
        print(
            f"{label:<34} {median:>9.2f} {min(times[key]):>7.2f} {max(times[key]):>7.2f} "
            f"{median / pack_median:>7.1f}  {verdict}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--text-pack":
        print(json.dumps(text_pack(Path(sys.argv[2]), Path(sys.argv[3]))))
    else:
        main()
