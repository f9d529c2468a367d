"""Scale: `codectx index` on synthetic repositories of 10,000 to 100,000 files (~10 KB each, 1 GB at 100k).

    .venv/bin/python bench/scale.py [--files 10000 30000 100000] [--seed 1] [--warm] [--profile DIR]

Each repository is made from real source on this machine (the Python standard library, the venv's
site-packages, /usr/include): Python, C and C++, type stubs, JavaScript, CSS, HTML, Markdown, reST,
JSON, TOML, YAML, shell. Every file is one or more source files cut or joined to a size drawn from a
log-normal distribution (mean ~10 KB), then rewritten so that no two files are identical: snake_case
and CamelCase identifiers get a suffix chosen per top-level package (files of one package still share
names, so references link), and every integer is shifted by a per-file offset. Files sit in nested
folders (1 to 4 levels, ~20 files each). Everything follows from --seed and the source pool, whose
digest is reported.

Each size is made (once, with --keep DIR, for later runs), indexed cold by `python -m codectx index`
as its own process (and, with --warm, indexed again with nothing changed), then deleted with its store
(the repository is kept with --keep). Reported per size: wall seconds,
files/s, MB/s, peak RSS of the largest single process (wait4's ru_maxrss, which covers the waited-for
workers), peak RSS of the whole process tree (the sum over the indexer and its workers, sampled from
/proc every 0.1 s), store size on disk, and the ratio of each figure to the previous size's against
the ratio of files. A least-squares line through the measured (bytes, seconds) points gives the
largest repository indexed in 10 minutes on this machine. Results merge into bench/data/scale.json
(one entry per file count, replaced when measured again).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codectx.scan import GENERATED_MARKERS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "data" / "scale.json"
CODECTX = [sys.executable, "-m", "codectx"]
TEN_MINUTES_S = 600.0

# Share of files per kind, and the suffixes the source pool draws each kind from.
KINDS: dict[str, tuple[float, tuple[str, ...]]] = {
    "python": (0.50, (".py",)),
    "c": (0.16, (".c", ".h", ".cpp", ".hpp", ".cc", ".cuh")),
    "stubs": (0.05, (".pyi",)),
    "web": (0.07, (".js", ".ts", ".css", ".html")),
    "docs": (0.10, (".md", ".rst", ".txt")),
    "config": (0.12, (".json", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".sh")),
}
MEAN_BYTES = 10_000
SIGMA = 1.1  # log-normal spread of file sizes: median ~5.5 KB, mean ~10 KB
MIN_BYTES, MAX_BYTES, MAX_SOURCE_BYTES = 120, 256_000, 200_000
FILES_PER_FOLDER = 20
FOLDER_WORDS = (
    "core", "util", "api", "model", "view", "service", "client", "server", "storage", "cache", "parse",
    "render", "net", "io", "auth", "config", "cli", "data", "schema", "queue", "worker", "task", "plugin",
    "ext", "lib", "common", "internal", "handlers", "types", "codec", "index", "search", "metrics", "log",
)  # fmt: skip
IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{3,}\b")
INTEGER = re.compile(r"\b[0-9]+\b")
KEEP_WORDS = (
    "None True False self cls elif else import from return yield lambda async await class while with "
    "assert break continue except finally global nonlocal raise pass print isinstance issubclass "
    "include define ifdef ifndef endif pragma undef struct union enum typedef static const extern "
    "inline unsigned signed volatile register switch case default sizeof goto void char short long "
    "float double bool auto function typeof instanceof delete constructor prototype undefined "
    "NULL EOF size_t uint8_t uint16_t uint32_t uint64_t int8_t int16_t int32_t int64_t ssize_t "
    "PyObject Py_ssize_t"
)
KEEP = frozenset(KEEP_WORDS.split())


def source_pool() -> dict[str, list[Path]]:
    """Real source files on this machine by kind, sorted (deterministic for a given machine)."""
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"]), Path("/usr/include")]
    by_suffix = {suffix: kind for kind, (_, suffixes) in KINDS.items() for suffix in suffixes}
    pool: dict[str, list[Path]] = {kind: [] for kind in KINDS}
    for top in roots:
        if not top.is_dir():
            continue
        for folder, dirs, names in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in {"__pycache__", "site-packages", "dist-packages"})
            for name in sorted(names):
                kind = by_suffix.get(os.path.splitext(name)[1])
                path = Path(folder) / name
                if kind is not None and 200 <= path.stat().st_size <= MAX_SOURCE_BYTES:
                    pool[kind].append(path)
    return pool


def load_texts(paths: list[Path]) -> list[str]:
    texts = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        # Left out: what the scanner skips (generated, minified, overlong lines), so that every file indexes.
        if "\0" in text or any(marker in text for marker in GENERATED_MARKERS):
            continue
        if max(len(line) for line in text.split("\n")) <= 1_000:
            texts.append(text)
    return texts


def _is_renamed(name: str) -> bool:
    if name in KEEP or name.startswith("__"):
        return False
    return "_" in name.strip("_") or (not name.isupper() and not name.islower())


class Rewriter:
    """Identifiers renamed per top-level package (shared within it), integers shifted per file."""

    def __init__(self) -> None:
        self._names: dict[tuple[int, str], str] = {}

    def rewrite(self, text: str, package: int, shift: int) -> str:
        names = self._names

        def rename(match: re.Match[str]) -> str:
            name = match.group()
            key = (package, name)
            renamed = names.get(key)
            if renamed is None:
                if _is_renamed(name):
                    tag = hashlib.blake2b(f"{package}:{name}".encode(), digest_size=3).hexdigest()
                    renamed = f"{name}_{tag}" if name[-1:].islower() or "_" in name else f"{name}X{tag}"
                else:
                    renamed = name
                names[key] = renamed
            return renamed

        text = IDENTIFIER.sub(rename, text)
        return INTEGER.sub(lambda m: str(int(m.group()) + shift), text)


def _cut(text: str, size: int) -> str:
    if len(text) <= size:
        return text
    end = text.rfind("\n", 0, size)
    return text[: end + 1] if end > 0 else text[:size]


def folder_tree(rng: random.Random, folders: int) -> tuple[list[str], list[int]]:
    """`folders` nested folder paths (1 to 4 levels) and the top-level package of each."""
    tops = max(4, folders // 50)
    paths = [f"{rng.choice(FOLDER_WORDS)}{n}" for n in range(tops)]
    packages = list(range(tops))
    while len(paths) < folders:
        parent = rng.randrange(len(paths))
        if paths[parent].count("/") >= 3:
            continue
        paths.append(f"{paths[parent]}/{rng.choice(FOLDER_WORDS)}{len(paths)}")
        packages.append(packages[parent])
    return paths, packages


def make_repository(root: Path, files: int, seed: int) -> dict[str, object]:
    """Write the synthetic repository; returns what it holds."""
    rng = random.Random(seed)
    paths = source_pool()
    pool = {kind: load_texts(p) for kind, p in paths.items()}
    pool_digest = hashlib.sha256("\n".join(str(p) for kind in KINDS for p in paths[kind]).encode()).hexdigest()
    kinds = list(KINDS)
    weights = [KINDS[k][0] for k in kinds]
    folders, packages = folder_tree(rng, max(1, files // FILES_PER_FOLDER))
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    rewriter = Rewriter()
    median = MEAN_BYTES / math.exp(SIGMA**2 / 2)
    total = 0
    counts = dict.fromkeys(kinds, 0)
    names: set[str] = set()
    for number in range(files):
        kind = rng.choices(kinds, weights)[0]
        counts[kind] += 1
        size = int(min(MAX_BYTES, max(MIN_BYTES, rng.lognormvariate(math.log(median), SIGMA))))
        texts = pool[kind]
        first = rng.randrange(len(texts))
        parts, length = [texts[first]], len(texts[first])
        while length < size:
            parts.append(texts[rng.randrange(len(texts))])
            length += len(parts[-1])
        text = _cut("\n".join(parts), size)
        slot = rng.randrange(len(folders))
        body = rewriter.rewrite(text, packages[slot], shift=number % 9973 + 1)
        source = paths[kind][first % len(paths[kind])]
        suffix = source.suffix if source.suffix in KINDS[kind][1] else KINDS[kind][1][0]
        name = f"{folders[slot]}/{source.stem.lower().replace('-', '_')[:24]}{suffix}"
        if name in names:
            name = f"{folders[slot]}/{source.stem.lower().replace('-', '_')[:24]}_{number}{suffix}"
        names.add(name)
        data = body.encode("utf-8", "surrogateescape")
        (root / name).write_bytes(data)
        total += len(data)
    return {"files": files, "bytes": total, "folders": len(folders), "by_kind": counts, "pool_sha256": pool_digest}


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, ()))
    return found


def _tree_sample(pid: int, cpu_ticks: dict[int, int]) -> int:
    """The resident bytes of the process tree under `pid`; records each member's CPU ticks in `cpu_ticks`."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for member in _descendants(pid):
        try:
            with open(f"/proc/{member}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * page
            with open(f"/proc/{member}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            cpu_ticks[member] = int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            continue
    return total


def measured(command: list[str], scratch: Path) -> dict[str, object]:
    """Wall seconds, peak RSS (largest process; sum over the process tree) and stdout of one command."""
    out_path, err_path = scratch / "stdout.txt", scratch / "stderr.txt"
    peak_tree = 0
    cpu_ticks: dict[int, int] = {}
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not stop.wait(0.1):
                peak_tree = max(peak_tree, _tree_sample(process.pid, cpu_ticks))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(command)} failed:\n{err_path.read_text()[-3000:]}")
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "peak_tree_rss_mb": round(peak_tree / 2**20),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),  # the indexer's process (and waited-for ones)
        # every process of the tree, as last sampled (up to 0.1 s short per process)
        "tree_cpu_seconds": round(sum(cpu_ticks.values()) / os.sysconf("SC_CLK_TCK"), 1),
        "stdout": out_path.read_text(),
    }


def disk_bytes(path: Path) -> int:
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except OSError:
                continue
    return total


def prepared_repository(repo: Path, files: int, seed: int) -> dict[str, object]:
    """make_repository, or what an earlier call left complete at `repo` (it records what it made)."""
    record = repo / ".codectx-scale.json"
    if record.exists():
        return dict(json.loads(record.read_text()))
    if repo.exists():
        shutil.rmtree(repo)
    made = make_repository(repo, files, seed)
    record.write_text(json.dumps(made))
    (repo / ".codectxignore").write_text(record.name + "\n")
    return made


def measure_size(
    files: int, seed: int, warm: bool, profile: Path | None, scratch_parent: Path | None, keep: Path | None
) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="codectx-scale-", dir=scratch_parent))
    repo, store = (keep / f"files-{files}-seed-{seed}" if keep else scratch / "repo"), scratch / "store"
    try:
        started = time.perf_counter()
        made = prepared_repository(repo, files, seed)
        made_s = time.perf_counter() - started
        print(f"{files:,} files, {made['bytes'] / 1e6:,.0f} MB made in {made_s:.0f} s", file=sys.stderr, flush=True)
        runner = list(CODECTX)
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
            runner = [sys.executable, "-m", "cProfile", "-o", str(profile / f"index-{files}.prof"), "-m", "codectx"]
        command = [*runner, "index", str(repo), "--store", str(store), "--json"]
        cold = measured(command, scratch)
        summary = json.loads(str(cold.pop("stdout")))
        megabytes = made["bytes"] / 1e6
        entry: dict[str, object] = {
            **made,
            "made_seconds": round(made_s, 1),
            "indexed_files": summary["files"],
            "skipped": len(summary["skipped"]),
            "modules": summary["modules"],
            "pages": summary["pages"],
            "pages_rendered": summary["pages_rendered"],
            "cold": cold,
            "files_per_s": round(files / float(cold["seconds"]), 1),  # type: ignore[arg-type]
            "mb_per_s": round(megabytes / float(cold["seconds"]), 3),  # type: ignore[arg-type]
            "store_mb": round(disk_bytes(store) / 1e6, 1),
        }
        if warm:
            again = measured([*CODECTX, "index", str(repo), "--store", str(store), "--json"], scratch)
            again.pop("stdout")
            entry["warm"] = again
        print(f"{files:,} files: {json.dumps(entry)}", file=sys.stderr, flush=True)
        return entry
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def growth(entries: list[dict]) -> list[dict[str, object]]:
    rows = []
    for small, large in itertools.pairwise(entries):
        files = large["files"] / small["files"]
        rows.append(
            {
                "from": small["files"], "to": large["files"], "files_x": round(files, 2),
                "bytes_x": round(large["bytes"] / small["bytes"], 2),
                "seconds_x": round(large["cold"]["seconds"] / small["cold"]["seconds"], 2),
                "tree_cpu_x": round(large["cold"]["tree_cpu_seconds"] / small["cold"]["tree_cpu_seconds"], 2),
                "peak_rss_x": round(large["cold"]["peak_rss_mb"] / small["cold"]["peak_rss_mb"], 2),
                "peak_tree_rss_x": round(large["cold"]["peak_tree_rss_mb"] / small["cold"]["peak_tree_rss_mb"], 2),
                "store_x": round(large["store_mb"] / small["store_mb"], 2),
            }
        )  # fmt: skip
    return rows


def linear_fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Intercept and slope of the least-squares line through the points (one point: through the origin)."""
    if len(points) == 1:
        return 0.0, points[0][1] / points[0][0]
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    return mean_y - slope * mean_x, slope


def ten_minutes(entries: list[dict]) -> dict[str, object]:
    """The largest repository indexed cold in 10 minutes, from the line through the measured points."""
    intercept, per_byte = linear_fit([(e["bytes"], e["cold"]["seconds"]) for e in entries])
    bytes_ = (TEN_MINUTES_S - intercept) / per_byte
    mean_bytes = sum(e["bytes"] for e in entries) / sum(e["files"] for e in entries)
    rss_intercept, rss_per_byte = linear_fit([(e["bytes"], e["cold"]["peak_tree_rss_mb"]) for e in entries])
    return {
        "seconds_fit": f"{intercept:.1f} s + {per_byte * 1e6:.3f} s per MB",
        "bytes": round(bytes_),
        "files": round(bytes_ / mean_bytes),
        "peak_tree_rss_mb": round(rss_intercept + rss_per_byte * bytes_),
        "from_sizes": [e["files"] for e in entries],
    }


def table(entries: list[dict]) -> None:
    print(
        f"{'files':>8} {'MB':>7} {'modules':>7} {'pages':>8} {'seconds':>8} {'CPU s':>7} {'files/s':>8} {'MB/s':>6} "
        f"{'RSS MB':>7} {'tree MB':>8} {'store MB':>9}" + ("  warm s" if any("warm" in e for e in entries) else "")
    )
    for e in entries:
        cold = e["cold"]
        print(
            f"{e['files']:>8,} {e['bytes'] / 1e6:>7,.0f} {e['modules']:>7,} {e['pages']:>8,} {cold['seconds']:>8.1f} "
            f"{cold['tree_cpu_seconds']:>7.0f} {e['files_per_s']:>8.1f} {e['mb_per_s']:>6.2f} "
            f"{cold['peak_rss_mb']:>7,} {cold['peak_tree_rss_mb']:>8,} "
            f"{e['store_mb']:>9,.0f}" + (f"  {e['warm']['seconds']:>6.1f}" if "warm" in e else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warm", action="store_true", help="index each repository again with nothing changed")
    parser.add_argument("--profile", type=Path, help="write a cProfile of each cold index here")
    parser.add_argument("--scratch", type=Path, help="folder for the repositories and stores (default: $TMPDIR)")
    parser.add_argument(
        "--keep", type=Path, help="make the repositories here and keep them for later runs (made only once)"
    )
    parser.add_argument("--make-only", action="store_true", help="with --keep: make the repositories, index none")
    parser.add_argument("--no-save", action="store_true", help="do not merge the results into " + str(RESULTS))
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if args.make_only:
        if args.keep is None:
            parser.error("--make-only needs --keep")
        for files in sorted(args.files):
            made = prepared_repository(args.keep / f"files-{files}-seed-{args.seed}", files, args.seed)
            print(f"{files:,} files, {made['bytes'] / 1e6:,.0f} MB in {args.keep}")
        return
    measured_now = []
    for files in sorted(args.files):
        entry = measure_size(files, args.seed, args.warm, args.profile, args.scratch, args.keep)
        entry.update(
            commit=commit.stdout.strip(), seed=args.seed, cores=len(os.sched_getaffinity(0)),
            load_average=round(os.getloadavg()[0], 1), measured=datetime.now(UTC).isoformat(timespec="seconds"),
            command=f"bench/scale.py --files {files} --seed {args.seed}",
        )  # fmt: skip
        measured_now.append(entry)
    saved: dict[str, dict] = {}
    if RESULTS.exists():
        saved = {str(e["files"]): e for e in json.loads(RESULTS.read_text())["sizes"]}
    for entry in measured_now:
        saved[str(entry["files"])] = entry
    entries = sorted(saved.values() if not args.no_save else measured_now, key=lambda e: e["files"])
    report = {"sizes": entries, "growth": growth(entries), "ten_minutes": ten_minutes(entries)}
    if not args.no_save:
        RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    table(entries)
    for row in report["growth"]:
        print(
            f"{row['from']:,} -> {row['to']:,} files (x{row['files_x']}, bytes x{row['bytes_x']}): "
            f"time x{row['seconds_x']}, CPU x{row['tree_cpu_x']}, peak RSS x{row['peak_rss_x']}, "
            f"tree RSS x{row['peak_tree_rss_x']}, "
            f"store x{row['store_x']}"
        )
    fit = report["ten_minutes"]
    print(
        f"10 minutes ({fit['seconds_fit']}): about {fit['bytes'] / 1e6:,.0f} MB, {fit['files']:,} files of this mix, "
        f"peak tree RSS about {fit['peak_tree_rss_mb']:,} MB"
    )


if __name__ == "__main__":
    main()
