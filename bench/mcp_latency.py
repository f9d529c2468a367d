"""MCP server latency and throughput on the indexed standard-library sample.

    .venv/bin/python bench/mcp_latency.py [--store DIR] [--repeat 20] [--fresh 4] [--clients 8] [--calls 40]
                                          [--json out.json]

1. Per tool: p50/p95 wall time of a tools/call through a real `codectx serve` subprocess over stdio
   (the SDK's client), beside the baseline of the same work called directly in this process without
   MCP (the difference is protocol, JSON and base64 overhead). Arguments rotate over modules, files
   and names. load_context at a 128k budget is measured three ways: with a new query each call (a
   pack is built: 12 queries rotate through the server's 8-pack cache, so every call misses), with
   the same query again (the pack is cached per generation), and fetching the next part of a pack
   with its cursor. Gate: load_context 128k <= 300 ms p95, checked on the new-query row.
2. First calls: a fresh `codectx serve` per call (`--fresh` servers per row), calling at once after
   the handshake and after a pause that lets the start-up warm-up (tokenizer, outline facts, pack
   basis) finish; beside it, the same call on fresh tool objects in this process (cold: everything
   the generation needs built by that call; the tokenizer is already loaded here).
3. Throughput: `--clients` concurrent streamable-HTTP sessions against one `codectx serve --http`
   process, each making `--calls` calls that cycle through repo_overview, get_pages, read_source,
   search, find_symbol and a repeated load_context; beside it, one client alone in the same run.
   Any error (transport failure or isError result) is counted; the run must have 0.

The sample is built and indexed first if needed (not timed), into --store (default: the sample's own
.codectx). Default result size cap (25k tokens).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult, TextContent
from stdlib_sample import build_sample
from timing import percentile

from codectx.indexer import index_repository
from codectx.mcp_server.context import ContextPacker, PackRequest
from codectx.mcp_server.server import ServerConfig
from codectx.mcp_server.tools import CodectxTools
from codectx.store import Store, StoreError, default_store_dir

BUDGET = 128_000
GATE_MS = 300.0
GATE_ROW = "load_context 128k, new query"
QUERIES = [
    "http redirect", "json decoder", "thread pool", "tar archive", "email header", "xml parser",
    "asyncio event loop", "decimal rounding", "zip file", "logging handler", "socket server", "csv dialect",
]  # fmt: skip
SYMBOLS = ["JSONDecoder", "urlopen", "Thread", "TarFile", "Logger", "HTTPConnection", "Decimal"]
SERVE = [sys.executable, "-m", "codectx", "serve"]
WARM_PAUSE_S = 2.0  # a client's first tool call rarely comes sooner: the model has to ask for it


@dataclass(frozen=True, slots=True)
class Workload:
    label: str
    tool: str
    arguments: Callable[[int], dict[str, Any]]


def cursor_of(result: CallToolResult) -> str:
    note = [b.text for b in result.content if isinstance(b, TextContent)][-1]
    found = re.search(r"cursor='([^']+)'", note)
    assert found, note
    return found.group(1)


def workloads(store_dir: Path, cursor: str) -> list[Workload]:
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude").id
        modules = [m.name for m in store.modules(generation)]
        files = [f.path for f in store.files(generation) if f.lines > 200]
    return [
        Workload("repo_overview", "repo_overview", lambda i: {}),
        Workload("get_pages, 1 page", "get_pages", lambda i: {"module": modules[i % len(modules)], "pages": [1]}),
        Workload("get_pages, whole module", "get_pages", lambda i: {"module": modules[i % len(modules)]}),
        Workload("read_source, 200 lines", "read_source",
                 lambda i: {"path": files[i % len(files)], "start_line": 1, "end_line": 200}),
        Workload("search, fixed string", "search", lambda i: {"pattern": QUERIES[i % len(QUERIES)].split()[-1]}),
        Workload("search, regex", "search",
                 lambda i: {"pattern": rf"def \w*{QUERIES[i % len(QUERIES)].split()[0]}\w*\(", "regex": True}),
        Workload("find_symbol", "find_symbol", lambda i: {"name": SYMBOLS[i % len(SYMBOLS)]}),
        Workload(GATE_ROW, "load_context", lambda i: {"budget": BUDGET, "query": QUERIES[i % len(QUERIES)]}),
        Workload("load_context 128k, repeated", "load_context", lambda i: {"budget": BUDGET, "query": QUERIES[0]}),
        Workload("load_context 128k, next part", "load_context",
                 lambda i: {"budget": BUDGET, "query": QUERIES[0], "cursor": cursor}),
    ]  # fmt: skip


class Direct:
    """The same work without MCP: the server's own tool code, called in this process."""

    def __init__(self, root: Path, store_dir: Path) -> None:
        self.tools = CodectxTools(ServerConfig(root, store_dir).options())
        self.packer = ContextPacker(self.tools.reader, self.tools.options.max_tokens)

    def call(self, tool: str, arguments: dict[str, Any]) -> None:
        if tool == "load_context":
            request = PackRequest(arguments["budget"], "claude", arguments.get("query"))
            self.packer.load_context(request, arguments.get("cursor"))
        else:
            getattr(self.tools, tool)(**arguments)


async def latency_table(root: Path, store_dir: Path, repeat: int) -> list[dict[str, Any]]:
    params = StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], str(root), "--store", str(store_dir)])
    direct = Direct(root, store_dir)
    rows = []
    async with Client(params) as client:
        first = await client.call_tool("load_context", {"budget": BUDGET, "query": QUERIES[0]})
        for work in workloads(store_dir, cursor_of(first)):
            await client.call_tool(work.tool, work.arguments(0))  # warm-up
            direct.call(work.tool, work.arguments(0))
            served, alone, errors = [], [], 0
            for i in range(1, repeat + 1):
                arguments = work.arguments(i)
                started = time.perf_counter()
                result = await client.call_tool(work.tool, arguments)
                served.append((time.perf_counter() - started) * 1000)
                errors += bool(result.is_error)
                started = time.perf_counter()
                direct.call(work.tool, arguments)
                alone.append((time.perf_counter() - started) * 1000)
            rows.append(
                {
                    "tool": work.label, "calls": repeat, "errors": errors,
                    "stdio_p50_ms": statistics.median(served), "stdio_p95_ms": percentile(served, 0.95),
                    "direct_p50_ms": statistics.median(alone), "direct_p95_ms": percentile(alone, 0.95),
                }
            )  # fmt: skip
    return rows


async def first_calls(root: Path, store_dir: Path, servers: int) -> list[dict[str, Any]]:
    params = StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], str(root), "--store", str(store_dir)])
    cases = [
        ("repo_overview, at once", 0.0, "repo_overview", {}),
        (f"repo_overview, after {WARM_PAUSE_S:.0f} s", WARM_PAUSE_S, "repo_overview", {}),
        (f"load_context 128k, after {WARM_PAUSE_S:.0f} s", WARM_PAUSE_S, "load_context",
         {"budget": BUDGET, "query": QUERIES[0]}),
    ]  # fmt: skip
    rows = []
    for label, pause, tool, arguments in cases:
        served, alone, errors = [], [], 0
        for _ in range(servers):
            async with Client(params) as client:
                await asyncio.sleep(pause)
                started = time.perf_counter()
                result = await client.call_tool(tool, arguments)
                served.append((time.perf_counter() - started) * 1000)
                errors += bool(result.is_error)
            cold = Direct(root, store_dir)
            started = time.perf_counter()
            cold.call(tool, arguments)
            alone.append((time.perf_counter() - started) * 1000)
            cold.tools.close()
        rows.append(
            {
                "tool": label, "calls": servers, "errors": errors,
                "stdio_p50_ms": statistics.median(served), "stdio_p95_ms": percentile(served, 0.95),
                "direct_p50_ms": statistics.median(alone), "direct_p95_ms": percentile(alone, 0.95),
            }
        )  # fmt: skip
    return rows


def print_latency(title: str, rows: list[dict[str, Any]]) -> None:
    print(title)
    print(f"{'tool':<32}{'stdio p50':>10}{'stdio p95':>10}{'direct p50':>11}{'direct p95':>11}{'errors':>8}")
    for row in rows:
        print(
            f"{row['tool']:<32}{row['stdio_p50_ms']:>10.1f}{row['stdio_p95_ms']:>10.1f}"
            f"{row['direct_p50_ms']:>11.1f}{row['direct_p95_ms']:>11.1f}{row['errors']:>8}"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def http_client(url: str, calls: int, seed: int, plan: list[Workload]) -> tuple[list[float], int]:
    timings: list[float] = []
    errors = 0
    try:
        async with Client(url) as client:
            for i in range(calls):
                work = plan[(seed + i) % len(plan)]
                started = time.perf_counter()
                try:
                    result = await client.call_tool(work.tool, work.arguments(seed * calls + i))
                    errors += bool(result.is_error)
                except Exception:
                    errors += 1
                timings.append((time.perf_counter() - started) * 1000)
    except Exception:
        errors += calls - len(timings)
    return timings, errors


async def throughput(root: Path, store_dir: Path, clients: int, calls: int) -> list[dict[str, Any]]:
    port = free_port()
    command = [*SERVE, str(root), "--store", str(store_dir), "--http", "--port", str(port)]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/mcp"
        steady = {"repo_overview", "get_pages, 1 page", "read_source, 200 lines", "search, fixed string",
                  "find_symbol", "load_context 128k, repeated"}  # fmt: skip
        plan = [work for work in workloads(store_dir, "") if work.label in steady]
        await http_client(url, len(plan), 0, plan)  # warm-up: the repeated pack is built once here
        rows = []
        for concurrent in (1, clients):
            started = time.perf_counter()
            results = await asyncio.gather(*(http_client(url, calls, seed, plan) for seed in range(concurrent)))
            elapsed = time.perf_counter() - started
            timings = [t for result in results for t in result[0]]
            rows.append(
                {
                    "clients": concurrent, "calls": len(timings), "errors": sum(r[1] for r in results),
                    "seconds": elapsed, "calls_per_s": len(timings) / elapsed,
                    "p50_ms": statistics.median(timings), "p95_ms": percentile(timings, 0.95),
                }
            )  # fmt: skip
        return rows
    finally:
        process.terminate()
        process.wait(timeout=30)


def indexed_sample(store_dir: Path) -> Path:
    root = build_sample()
    try:
        summary = index_repository(root, target="claude", store_dir=store_dir)
    except StoreError as error:  # an index from an older codectx: it is derived data, rebuild it
        print(f"rebuilding the sample's index: {error}")
        shutil.rmtree(store_dir)
        summary = index_repository(root, target="claude", store_dir=store_dir)
    print(
        f"sample: {root}, index {store_dir} ({summary.files} files, {summary.modules} modules, {summary.pages} pages, "
        f"generation {summary.generation}); cpus: {len(os.sched_getaffinity(0))}"
    )
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per row (default 20)")
    parser.add_argument("--fresh", type=int, default=4, help="fresh servers per first-call row (default 4)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients (default 8)")
    parser.add_argument("--calls", type=int, default=40, help="calls per HTTP client (default 40)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--store", type=Path, help="index folder (default: <sample>/.codectx)")
    args = parser.parse_args()
    store_dir = (args.store or default_store_dir(build_sample())).resolve()
    root = indexed_sample(store_dir)

    rows = asyncio.run(latency_table(root, store_dir, args.repeat))
    print_latency(
        f"\nper-tool latency, {args.repeat} calls per row (ms); direct = same tool code in-process, no MCP", rows
    )
    firsts = asyncio.run(first_calls(root, store_dir, args.fresh))
    print_latency(
        f"\nfirst call of a fresh server, {args.fresh} servers per row (ms); direct = fresh tool objects in-process, "
        "cold",
        firsts,
    )

    loads = asyncio.run(throughput(root, store_dir, args.clients, args.calls))
    print("\nstreamable HTTP throughput (steady mix: overview, 1 page, read_source, search, find_symbol, cached pack)")
    print(f"{'clients':>8}{'calls':>7}{'errors':>8}{'calls/s':>9}{'p50 ms':>9}{'p95 ms':>9}")
    for row in loads:
        print(
            f"{row['clients']:>8}{row['calls']:>7}{row['errors']:>8}{row['calls_per_s']:>9.1f}"
            f"{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
        )

    gate = next(row for row in rows if row["tool"] == GATE_ROW)
    failures = []
    if gate["stdio_p95_ms"] > GATE_MS:
        failures.append(f"{GATE_ROW} p95 {gate['stdio_p95_ms']:.0f} ms > {GATE_MS:.0f} ms")
    if any(row["errors"] for row in rows + firsts + loads):
        failures.append("errors occurred")
    if args.json:
        args.json.write_text(
            json.dumps({"latency": rows, "first_calls": firsts, "throughput": loads, "failures": failures}, indent=1)
        )
    print("\n" + ("FAIL: " + "; ".join(failures) if failures else "OK: all gates met"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
