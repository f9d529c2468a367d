"""Cold `codectx index` beside Repomix `--compress` on the same trees, interleaved in one run.

    .venv/bin/python bench/vs_repomix.py [--runs 3] [--target claude] [--json bench/data/vs_repomix.json] TREE...

Each run indexes every tree into a fresh store and packs it with Repomix (`--compress`: tree-sitter
signatures with bodies dropped, its default secret check on), one after the other, the order
alternating between runs so that neither tool always runs on a warmer page cache. Both run as their
own process, start-up included; peak memory is the largest resident set of the process or of a
child it waited for (wait4). The table shows medians over --runs and the ratio codectx / Repomix.

Repomix is the npm package, installed with `npm install` into --repomix-dir when that folder has
none (npm must be on PATH). Trees default to the five public repositories and the standard-library
sample when they are at /tmp/repos/* and /tmp/codectx-stdlib-sample (bench/stdlib_sample.py).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from many_files import measured

DEFAULT_TREES = [
    *(f"/tmp/repos/{name}" for name in ("requests", "click", "cobra", "express", "ripgrep")),
    "/tmp/codectx-stdlib-sample",
]
REPOMIX_VERSION = "1.14.0"


def repomix_executable(folder: Path) -> Path:
    executable = folder / "node_modules" / ".bin" / "repomix"
    if not executable.exists():
        if shutil.which("npm") is None:
            raise SystemExit("npm is not on PATH: install Node.js and npm (Debian: apt-get install npm)")
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(folder), "--no-audit", "--no-fund", f"repomix@{REPOMIX_VERSION}"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return executable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target", default="claude")
    parser.add_argument("--repomix-dir", type=Path, default=Path("/tmp/repomix-bench"))
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    trees = args.trees or [Path(t) for t in DEFAULT_TREES if Path(t).is_dir()]
    if not trees:
        raise SystemExit("no trees: name some, or clone the default ones (see the docstring)")
    repomix = repomix_executable(args.repomix_dir)
    version = subprocess.run([str(repomix), "--version"], capture_output=True, text=True).stdout.strip()

    times: dict[str, dict[str, list[float]]] = {t.name: {"codectx": [], "repomix": []} for t in trees}
    memory: dict[str, dict[str, list[int]]] = {t.name: {"codectx": [], "repomix": []} for t in trees}
    with tempfile.TemporaryDirectory(prefix="codectx-vs-repomix-") as scratch_name:
        scratch = Path(scratch_name)
        for run in range(args.runs):
            for tree in trees:
                store, output = scratch / "store", scratch / "repomix.txt"
                commands = {
                    "codectx": [sys.executable, "-m", "codectx", "index", str(tree), "--target", args.target,
                                "--store", str(store)],
                    "repomix": [str(repomix), str(tree), "--compress", "--output", str(output), "--quiet"],
                }  # fmt: skip
                order = ["codectx", "repomix"] if run % 2 == 0 else ["repomix", "codectx"]
                for tool in order:
                    shutil.rmtree(store, ignore_errors=True)
                    output.unlink(missing_ok=True)
                    seconds, peak_mb, _ = measured(commands[tool], scratch)
                    times[tree.name][tool].append(seconds)
                    memory[tree.name][tool].append(peak_mb)
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)

    rows = []
    print(f"cold index, median of {args.runs} interleaved runs; codectx --target {args.target}, Repomix {version}")
    print(f"{'tree':28} {'codectx s':>10} {'repomix s':>10} {'ratio':>6} {'codectx MB':>11} {'repomix MB':>11}")
    for tree in trees:
        ours, theirs = (statistics.median(times[tree.name][tool]) for tool in ("codectx", "repomix"))
        ours_mb, theirs_mb = (int(statistics.median(memory[tree.name][tool])) for tool in ("codectx", "repomix"))
        rows.append(
            {
                "tree": str(tree), "codectx_s": round(ours, 3), "repomix_s": round(theirs, 3),
                "ratio": round(ours / theirs, 3), "codectx_peak_mb": ours_mb, "repomix_peak_mb": theirs_mb,
                "codectx_runs": [round(t, 3) for t in times[tree.name]["codectx"]],
                "repomix_runs": [round(t, 3) for t in times[tree.name]["repomix"]],
            }
        )  # fmt: skip
        print(f"{tree.name:28} {ours:10.2f} {theirs:10.2f} {ours / theirs:5.2f}x {ours_mb:11} {theirs_mb:11}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": args.runs,
            "target": args.target, "repomix": version, "trees": rows,
        }  # fmt: skip
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
