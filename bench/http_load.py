"""Concurrent streamable-HTTP MCP clients against `codectx serve --http --watch` while files keep changing.

    .venv/bin/python bench/http_load.py [--clients 8] [--seconds 60] [--workers N] [--packages json email ...]
                                        [--seed 0] [--json bench/data/http_load.json]

The issue's figures: `--clients 32 --seconds 60` (goal: p95 <= 500 ms, >= 100 requests/s, and as many
generations published as in a run without clients: compare `--clients 0`, which only writes).

A scratch copy of some packages of the standard-library sample is indexed, then served by a real
`codectx serve --http --watch --workers N` (N: `--workers`, default codectx's own: one per CPU) on a
free loopback port. `--clients` concurrent sessions (the
SDK's client) call a mix of tools for `--seconds`: repo_overview, get_pages, read_source (200 lines
of a stable file, and the whole of a file being edited), search (fixed string and regex),
find_symbol, and load_context at 8k, 32k and 128k tokens with rotating queries. Meanwhile a writer
process edits, inserts lines into, creates and deletes files every `--interval` seconds, so the
watcher inside the server publishes new generations throughout.

Checks, each of which fails the run (exit 1):
- errors: an exception out of the client, or an isError result;
- mixed: a response whose text names more than one generation number (or none);
- backwards: a client that sees an older generation after a newer one;
- read_source text that differs from the stored text of that file in the generation the response
  names (checked against the index at once; "unverified" when that generation was already collected).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mcp import Client
from mcp_latency import QUERIES, SERVE, Workload, free_port, workloads
from mcp_types import CallToolResult, TextContent
from timing import percentile
from watch_common import TARGET, edit_line_in_place, insert_line, scratch_repo

from codectx.indexer import index_repository
from codectx.mcp_server.tools import numbered
from codectx.store import Store, default_store_dir

PACKAGES = ("json", "email", "http", "logging", "concurrent", "xml")
MENTIONED = re.compile(r"\bgeneration (\d+)\b")
HEAD = re.compile(r"^(.+) \(generation (\d+)\), lines (\d+)-(\d+) of (\d+)")
STEADY = {"repo_overview", "get_pages, 1 page", "read_source, 200 lines", "search, fixed string", "search, regex"}
DEFAULT_JSON = Path(__file__).resolve().parent / "data" / "http_load.json"
SYMBOLS = ["JSONDecoder", "HTTPConnection", "Logger", "ThreadPoolExecutor", "Message", "ElementTree"]  # in PACKAGES


@dataclass
class Tally:
    """What the clients saw; one per run, shared by the coroutines of this process."""

    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    mixed: list[str] = field(default_factory=list)
    backwards: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    generations: set[int] = field(default_factory=set)
    verified: int = 0
    unverified: int = 0


def plan(store_dir: Path, edited: list[str]) -> list[Workload]:
    packs = [
        Workload(f"load_context {budget // 1000}k", "load_context",
                 lambda i, budget=budget: {"budget": budget, "query": QUERIES[i % len(QUERIES)]})
        for budget in (8_000, 32_000, 128_000)
    ]  # fmt: skip
    whole = Workload("read_source, edited file", "read_source", lambda i: {"path": edited[i % len(edited)]})
    symbol = Workload("find_symbol", "find_symbol", lambda i: {"name": SYMBOLS[i % len(SYMBOLS)]})
    return [work for work in workloads(store_dir, "") if work.label in STEADY] + packs + [whole, symbol]


def write_continuously(repo: Path, edited: list[str], interval: float, seed: int, stop: Any, done: Any) -> None:
    """The writer process: edit, insert, create or delete one file every `interval` seconds until `stop`."""
    rng = random.Random(seed)
    created: list[Path] = []
    (repo / "live").mkdir(exist_ok=True)
    while not stop.wait(interval):
        action = rng.choice(["edit", "insert", "create", "delete"])
        if action == "create" or (action == "delete" and not created):
            created.append(repo / "live" / f"made_{done.value}.py")
            created[-1].write_text("".join(f"def made_{done.value}_{n}():\n    return {n}\n\n" for n in range(40)))
        elif action == "delete":
            created.pop(rng.randrange(len(created))).unlink()
        else:
            (edit_line_in_place if action == "edit" else insert_line)(repo / rng.choice(edited), f"w{done.value}")
        done.value += 1


def check_source(text: str, store: Store, tally: Tally) -> None:
    """The read_source text against the stored text of that file in the generation the response names."""
    head = HEAD.match(text)
    assert head, text[:200]
    path, generation, first, last, total = head.group(1), *map(int, head.groups()[1:])
    row = store.db.execute("SELECT sha256 FROM files WHERE generation = ? AND path = ?", (generation, path)).fetchone()
    stored = store.source_text(row[0]) if row else None
    if stored is None:
        tally.unverified += 1
        return
    lines = stored.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    body = text.split("\n", 1)[1]
    if total != len(lines) or body != numbered(lines[first - 1 : last], first):
        tally.mismatched.append(f"{path} in generation {generation}, lines {first}-{last}")
    else:
        tally.verified += 1


async def client(url: str, seed: int, work: list[Workload], deadline: float, store: Store, tally: Tally) -> None:
    latest = 0
    try:
        async with Client(url) as session:
            call = 0
            while time.monotonic() < deadline:
                item = work[(seed + call) % len(work)]
                call += 1
                started = time.perf_counter()
                try:
                    result: CallToolResult = await session.call_tool(item.tool, item.arguments(seed * 7919 + call))
                except Exception as error:
                    tally.errors.append(f"{item.label}: {type(error).__name__}: {error}")
                    continue
                tally.timings[item.label].append((time.perf_counter() - started) * 1000)
                texts = [block.text for block in result.content if isinstance(block, TextContent)]
                if result.is_error:
                    tally.errors.append(f"{item.label}: {texts[0][:300] if texts else 'no text'}")
                    continue
                named = {int(n) for text in texts for n in MENTIONED.findall(text)}
                if len(named) != 1:
                    tally.mixed.append(f"{item.label}: generations {sorted(named)}")
                    continue
                generation = named.pop()
                if generation < latest:
                    tally.backwards.append(f"client {seed}: generation {generation} after {latest}")
                latest = max(latest, generation)
                tally.generations.add(generation)
                if item.tool == "read_source":
                    check_source(texts[0], store, tally)
    except Exception as error:
        tally.errors.append(f"client {seed} session: {type(error).__name__}: {error}")


def process_tree_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of `pid` ("serve") and of each of its child processes, by name and pid."""
    ticks = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}

    def visit(process: int, name: str) -> None:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rpartition(")")[2].split()
            children = [int(c) for task in Path(f"/proc/{process}/task").iterdir()
                        for c in (task / "children").read_text().split()]  # fmt: skip
        except OSError:
            return
        found[name] = (int(fields[11]) + int(fields[12])) / ticks
        for child in children:
            visit(child, f"serve child {child}")

    visit(pid, "serve")
    return found


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"codectx serve did not listen on port {port} (exit status {process.poll()})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP sessions (default 8; 0: none)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients call (default 60)")
    parser.add_argument("--packages", nargs="+", default=list(PACKAGES), help="sample packages to serve")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between writes (default 0.25)")
    parser.add_argument("--workers", type=int, help="HTTP worker processes (default: codectx serve's own)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the figures")
    args = parser.parse_args()

    repo, _ = scratch_repo(f"http-load-{args.clients}", tuple(args.packages))
    store_dir = default_store_dir(repo.resolve())
    started = time.perf_counter()
    summary = index_repository(repo, TARGET)
    print(f"{repo}: {summary.files} files, {summary.modules} modules, {summary.pages} pages, indexed in "
          f"{time.perf_counter() - started:.1f}s")  # fmt: skip
    with Store.open(store_dir, create=False) as store:
        first = store.require_generation(TARGET).id
        files = [f for f in store.files(first) if 100 <= f.lines <= 600]
    edited = [f.path for f in random.Random(args.seed).sample(files, 6)]
    work = plan(store_dir, edited)

    port = free_port()
    log = (repo.parent / "serve.log").open("wb")
    workers = [] if args.workers is None else ["--workers", str(args.workers)]
    server = subprocess.Popen([*SERVE, str(repo), "--http", "--watch", "--port", str(port), *workers], stderr=log)
    stop, done = multiprocessing.Event(), multiprocessing.Value("q", 0)
    writer = multiprocessing.Process(
        target=write_continuously, args=(repo, edited, args.interval, args.seed, stop, done)
    )
    tally = Tally()
    try:
        wait_for_port(port, server)
        url = f"http://127.0.0.1:{port}/mcp"
        load_before = os.getloadavg()[0]
        cpu_before = process_tree_cpu(server.pid), own_cpu()
        writer.start()
        with Store.open(store_dir, create=False) as store:
            deadline = time.monotonic() + args.seconds
            began = time.perf_counter()
            asyncio.run(_all(url, args.clients, work, deadline, store, tally))
            elapsed = time.perf_counter() - began
            published = store.require_generation(TARGET).id - first
            cpu = {
                name: seconds - cpu_before[0].get(name, 0.0) for name, seconds in process_tree_cpu(server.pid).items()
            }
            cpu["bench clients (this process)"] = own_cpu() - cpu_before[1]
    finally:
        stop.set()
        writer.join(timeout=30)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        log.close()

    calls = [t for series in tally.timings.values() for t in series]
    requests = len(calls) + len(tally.errors)
    print(f"\nHTTP load: {args.clients} clients, {args.seconds:g}s, `codectx serve --http --watch` on {summary.files} "
          f"files; writer: {done.value} changes (one per {args.interval:g}s); load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after, {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'tool':<28}{'calls':>7}{'p50 ms':>9}{'p95 ms':>9}")
    for label, series in [*sorted(tally.timings.items()), ("all", calls)]:
        print(f"{label:<28}{len(series):>7}{percentile(series, 0.5):>9.1f}{percentile(series, 0.95):>9.1f}")
    failures = {"errors": tally.errors, "responses naming mixed generations": tally.mixed,
                "clients seeing a generation go back": tally.backwards,
                "read_source text not its generation's": tally.mismatched}  # fmt: skip
    figures = {
        "requests": f"{requests} ({requests / elapsed:.1f}/s)",
        **{name: len(found) for name, found in failures.items()},
        "distinct generations in responses": len(tally.generations), "generations published in the run": published,
        "read_source checked against the index": tally.verified,
        "read_source of a generation since collected": tally.unverified,
    }  # fmt: skip
    for name, value in figures.items():
        print(f"{name:<44}{value:>16}")
    print("CPU seconds in the run: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items()))
    for name, found in failures.items():
        for line in found[:5]:
            print(f"FAIL {name}: {line}")
    failed = any(failures.values())
    print("FAIL" if failed else "OK: 0 errors, every response on one generation")
    result = {
        "bench": "streamable HTTP tool mix against codectx serve --http --watch while files change",
        "clients": args.clients, "seconds": args.seconds, "workers": args.workers or "default", "cpus": os.cpu_count(),
        "files": summary.files, "writer_changes": done.value, "interval_s": args.interval,
        "requests": requests, "requests_per_s": requests / elapsed, "p50_ms": percentile(calls, 0.5),
        "p95_ms": percentile(calls, 0.95), "generations_published": published,
        "generations_per_minute": published * 60 / elapsed, "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0], "cpu_seconds": cpu,
        "by_tool": {label: {"calls": len(series), "p50_ms": percentile(series, 0.5), "p95_ms": percentile(series, 0.95)}
                    for label, series in sorted(tally.timings.items())},
        **{name: len(found) for name, found in failures.items()}, "failed": failed,
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"figures in {args.json}")
    return 1 if failed else 0


async def _all(url: str, clients: int, work: list[Workload], deadline: float, store: Store, tally: Tally) -> None:
    await asyncio.gather(*(client(url, seed, work, deadline, store, tally) for seed in range(clients)))
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))  # --clients 0: the writer alone, for as long


if __name__ == "__main__":
    sys.exit(main())
