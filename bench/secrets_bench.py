"""Secrets at scanner grade: leaks on a seeded corpus and false alarms on real repositories, in one run.

    .venv/bin/python bench/secrets_bench.py [--seed 0] [--repos DIR ...] [--no-ocr] [--json out.json]

1. Leaks. bench/secrets_corpus.py plants every vendor format in every context (a fresh key each);
   the corpus is indexed for claude and each key's private part (any run of WINDOW characters of it)
   is looked for in every output path:
   - stored: every text column of every table of the index;
   - search: `codectx search` for each key (or a key block's first line), which must answer with a
     `[masked secret: KIND]` line, never the key; and for the text before keys (`api_key=` ...);
   - MCP: read_source of every file, search for every key, load_context of the whole corpus, through
     the SDK's client;
   - pages: the rows that hold a key, cut from the rendered pages and read by tesseract, where the
     same reader finds the keys on unmasked renders of the same rows (the control proves it can read).
2. False alarms. Each --repos folder is scanned; every masked line is listed. Lines of private-key
   blocks are counted apart: a test key in a repository is a real key.
3. Speed: the detector's MB/s over all scanned text (median of three runs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from secrets_corpus import CONTEXTS, Planted, plant
from timing import median_seconds

from codectx.indexer import index_repository
from codectx.scan import scan
from codectx.search import search
from codectx.secrets import PRIVATE_KEY, find_secrets
from codectx.store import Store, unpack_lines

WINDOW = 6  # a leak is any run of this many characters of a key's private part
_HEX_DIGEST = re.compile(r"[0-9a-f]{16,64}")


def seen(part: str, output: str) -> bool:
    return any(part[i : i + WINDOW] in output for i in range(len(part) - WINDOW + 1))


def leaked_in(planted: list[Planted], output: str) -> list[Planted]:
    return [p for p in planted if any(seen(part, output) for part in p.private)]


@dataclass
class LeakReport:
    planted: int
    formats: int
    contexts: int
    leaks: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # output path -> (format, context)
    masked_hits: int = 0  # searches for a key answered with a masked-hit line
    unreported: list[tuple[str, str]] = field(default_factory=list)  # (format, context) of the other searches
    ocr_control_read: float | None = None  # share of keys the reader finds on unmasked renders

    @property
    def masked_share(self) -> float:
        leaked = {pair for pairs in self.leaks.values() for pair in pairs}
        return 1 - len(leaked) / self.planted


def index_dump(store_dir: Path) -> str:
    """Every text value of every table, every word of the full-text indexes and the catalog's packed
    full-text rows; not numbers or hex digests, whose digits would match random keys by chance."""
    with sqlite3.connect(store_dir / "index.sqlite") as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        values: list[object] = []
        for table in tables:
            try:
                values += [v for row in db.execute(f'SELECT * FROM "{table}"') for v in row]
            except sqlite3.OperationalError:  # a contentless full-text table keeps no rows: its words follow
                continue
        for table in ("line_fts", "symbol_fts"):
            db.execute(f"CREATE VIRTUAL TABLE temp.{table}_words USING fts5vocab(main, {table}, row)")
            values += [term for (term,) in db.execute(f"SELECT term FROM temp.{table}_words")]
        values += [text for (lines,) in db.execute("SELECT lines FROM catalog") for _, text in unpack_lines(lines)]
        return "\n".join(v for v in values if isinstance(v, str) and not _HEX_DIGEST.fullmatch(v))


def _search_outputs(store_dir: Path, planted: list[Planted]) -> tuple[str, list[Planted]]:
    """What search answers for each key and for the text before keys; the keys answered without a masked hit."""
    answers: list[str] = []
    unreported: list[Planted] = []
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude").id
        for p in planted:
            hits = list(search(store, generation, _query(p)))
            if not any(h.masked for h in hits):
                unreported.append(p)
            answers += [f"{h.path}:{h.line}:{h.text}" for h in hits]
        for prefix in ("api_key=", "KEY = os.environ.get(", "process.env.", "://deploy:", "# ", "_key: "):
            answers += [h.text for h in search(store, generation, prefix)]
    return "\n".join(answers), unreported


def _query(p: Planted) -> str:
    """What a user would search for: the key, or a key block's first line (where the block is written on
    one line with escaped newlines, a fragment of one masked run: not reported, see codectx.search)."""
    return p.key.split("\n")[1] if "\n" in p.key else p.key


async def _mcp_outputs(root: Path, store_dir: Path, planted: list[Planted]) -> str:
    from mcp import Client
    from mcp_types import TextContent

    from codectx.mcp_server.server import ServerConfig, build_server

    outputs: list[str] = []
    async with Client(build_server(ServerConfig(root, store_dir))) as client:  # type: ignore[arg-type]
        calls: list[tuple[str, dict[str, object]]] = [("read_source", {"path": path}) for path in
                                                      sorted({p.path for p in planted})]  # fmt: skip
        calls += [("search", {"pattern": _query(p)}) for p in planted]
        calls += [("load_context", {"budget": 2_000_000})]
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)
            echoed = str(arguments.get("pattern", "\0"))  # a search repeats its pattern in its answer
            outputs += [b.text.replace(echoed, "") for b in result.content if isinstance(b, TextContent)]
            while name == "load_context" and "cursor=" in outputs[-1]:
                cursor = outputs[-1].rsplit("cursor='", 1)[1].split("'", 1)[0]
                result = await client.call_tool("load_context", {"budget": 2_000_000, "cursor": cursor})
                outputs += [b.text for b in result.content if isinstance(b, TextContent)]
    return "\n".join(outputs)


def _ocr_outputs(root: Path, store_dir: Path, planted: list[Planted], work: Path) -> tuple[str, str]:
    """Tesseract's reading of the rows holding keys: on the index's pages, and on unmasked renders."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from secrets_ocr import index_pages, ocr_rows, unmasked_pages

    from codectx.profiles import get_profile

    where = {
        (p.path, number)
        for p in planted
        for number, line in enumerate((root / p.path).read_text().split("\n"), start=1)
        if any(seen(part, line) for part in p.private)
    }  # fmt: skip
    font_px = get_profile("claude").layout.font_px
    masked = ocr_rows(index_pages(store_dir), where, font_px, work)
    return masked, ocr_rows(unmasked_pages(root, work), where, font_px, work)


def measure_leaks(root: Path, seed: int, ocr: bool) -> LeakReport:
    planted = plant(root, seed)
    store_dir = root.parent / f"{root.name}-index"
    index_repository(root, store_dir=store_dir, workers=1)
    report = LeakReport(len(planted), len({p.format for p in planted}), len(CONTEXTS))
    scanned = "\n".join(f.text for f in scan(root).files)
    search_text, unreported = _search_outputs(store_dir, planted)
    report.masked_hits = len(planted) - len(unreported)
    report.unreported = [(p.format, p.context) for p in unreported]
    outputs = {
        "scanned text": scanned,
        "stored index": index_dump(store_dir),
        "search": search_text,
        "MCP": asyncio.run(_mcp_outputs(root, store_dir, planted)),
    }
    if ocr:
        work = Path(tempfile.mkdtemp(prefix="codectx-secrets-ocr-"))
        try:
            masked_reading, control_reading = _ocr_outputs(root, store_dir, planted, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        from secrets_ocr import fold

        outputs["pages (OCR)"] = fold(masked_reading)
        report.ocr_control_read = sum(
            any(seen(fold(part), fold(control_reading)) for part in p.private) for p in planted
        ) / len(planted)  # fmt: skip
        planted_folded = [Planted(p.format, p.context, p.path, p.key, tuple(map(fold, p.private))) for p in planted]
        report.leaks["pages (OCR)"] = [(p.format, p.context) for p in leaked_in(planted_folded, outputs["pages (OCR)"])]
    for name, text in outputs.items():
        if name != "pages (OCR)":
            report.leaks[name] = [(p.format, p.context) for p in leaked_in(planted, text)]
    return report


def false_alarms(repos: list[Path]) -> tuple[list[tuple[str, str, int, str]], int, int]:
    """(repo, path, line, kind) of every masked line that is not key material; key lines; files read."""
    alarms: list[tuple[str, str, int, str]] = []
    key_lines = 0
    files = 0
    for repo in repos:
        result = scan(repo)
        files += len(result.files)
        for f in result.files:
            lines = {(s.line, s.kind) for s in f.secrets}
            key_lines += sum(1 for _, kind in lines if kind == PRIVATE_KEY)
            alarms += sorted({(repo.name, f.path, line, kind) for line, kind in lines if kind != PRIVATE_KEY})
    return alarms, key_lines, files


def detector_speed(repos: list[Path]) -> tuple[float, float]:
    texts = [(str(p), p.read_text(errors="replace")) for repo in repos for p in sorted(repo.rglob("*"))
             if p.is_file() and ".git" not in p.parts and p.stat().st_size < 1 << 20]  # fmt: skip
    megabytes = sum(len(t) for _, t in texts) / 1e6
    seconds = median_seconds(lambda: [find_secrets(path, text) for path, text in texts], 3)
    return megabytes, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repos", type=Path, nargs="*", default=[], help="repositories to count false alarms in")
    parser.add_argument("--no-ocr", action="store_true", help="skip reading the pages back with tesseract")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="codectx-secrets-bench-"))
    try:
        started = time.perf_counter()
        report = measure_leaks(work / "corpus", args.seed, ocr=not args.no_ocr)
        leak_seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"seeded corpus (seed {args.seed}): {report.planted} keys, {report.formats} formats x {report.contexts} "
          f"contexts, checked in {leak_seconds:.0f} s")  # fmt: skip
    for output, pairs in report.leaks.items():
        print(f"  {output:14s} leaked {len(pairs):3d} of {report.planted}")
        for format_name, context in pairs[:20]:
            print(f"      {format_name} | {context}")
    print(f"  masked: {report.masked_share:.2%} of keys in every output path")
    print(f"  a search for a key answered with a masked-hit line: {report.masked_hits} of {report.planted}")
    for format_name, context in report.unreported[:20]:
        print(f"      not reported: {format_name} | {context}")
    if report.ocr_control_read is not None:
        print(f"  OCR control: tesseract finds {report.ocr_control_read:.0%} of the keys on unmasked renders")

    alarms, key_lines, files = false_alarms(args.repos)
    if args.repos:
        print(f"\nfalse alarms on {len(args.repos)} repositories ({files} files): {len(alarms)} lines "
              f"(besides {key_lines} lines of private-key blocks)")  # fmt: skip
        by_repo = Counter(repo for repo, *_ in alarms)
        for repo in args.repos:
            print(f"  {repo.name:12s} {by_repo.get(repo.name, 0)}")
        for repo, path, line, kind in alarms:
            print(f"      {repo}/{path}:{line}  {kind}")
        megabytes, seconds = detector_speed(args.repos)
        print(f"\ndetector: {megabytes:.1f} MB in {seconds:.2f} s = {megabytes / seconds:.1f} MB/s (median of 3)")
    if args.json:
        by_output = {name: [list(pair) for pair in pairs] for name, pairs in report.leaks.items()}
        figures = {**asdict(report), "leaks": by_output, "masked_share": report.masked_share,
                   "false_alarms": [list(a) for a in alarms], "key_lines": key_lines,
                   "repos": [str(r) for r in args.repos]}  # fmt: skip
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    sys.exit(1 if any(report.leaks.values()) else 0)


if __name__ == "__main__":
    main()
