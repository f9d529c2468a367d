"""MCP wiring: tools and resources on the official SDK's MCPServer, served over stdio or streamable HTTP.

Tools return plain content (text and image blocks) with no structured output: some clients drop
images when both are present. Refusals and failures are tool errors (isError) whose text says what
to do next.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp_types import CallToolResult, ContentBlock, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError

from codectx import __version__
from codectx.mcp_server.context import ContextPacker, PackRequest
from codectx.mcp_server.output import DEFAULT_MAX_TOKENS, MIN_MAX_TOKENS
from codectx.mcp_server.processes import (
    CONFIG_ENV,
    GenerationFollower,
    WatcherProcess,
    end_with_parent,
    http_config_env,
    http_settings,
    run_http_workers,
)
from codectx.mcp_server.reader import ToolFailure
from codectx.mcp_server.tools import (
    MANIFEST_PART_TEMPLATE,
    MANIFEST_URI,
    PAGE_URI_TEMPLATE,
    CodectxTools,
    ServeOptions,
)
from codectx.model.targets import DEFAULT_TARGET
from codectx.search import prime_texts
from codectx.store import StoreError, default_store_dir
from codectx.tokens import count_tokens
from codectx.wording import plural

if TYPE_CHECKING:
    from starlette.applications import Starlette

log = logging.getLogger("codectx.mcp")

INSTRUCTIONS = (
    "codectx serves this repository as dense page images of its source plus exact text. Start with "
    "repo_overview, then load_context(budget) to load the whole repository within a token budget (with "
    "since='HEAD~1' or another git revision, what changed since it comes first as exact text), or "
    "get_pages(module) for one module. Pages are lossy pictures: before quoting or editing code, fetch the "
    "exact lines with read_source(path, start_line, end_line). search and find_symbol return path:line hits."
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_NUMBER = re.compile(r"[0-9]{1,9}")
# Tool calls running at once in one serving process; later ones wait in arrival order. Threads beyond two (one
# in Python, one in work that releases the GIL: images, tokenizer, SQLite) only take turns on the GIL, and
# then every call is as slow as all of them together, the long packs most, while the event loop that reads
# requests and writes answers waits for its turn too. HTTP serves more processes (--workers), not more threads.
TOOL_THREADS = 2
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    root: Path
    store_dir: Path | None = None
    target: str = DEFAULT_TARGET
    max_tokens: int = DEFAULT_MAX_TOKENS

    def options(self) -> ServeOptions:
        if self.max_tokens < MIN_MAX_TOKENS:
            raise ValueError(f"--max-tokens must be at least {MIN_MAX_TOKENS}")
        root = self.root.resolve()
        return ServeOptions(root, (self.store_dir or default_store_dir(root)).resolve(), self.target, self.max_tokens)


# What each argument must be, as an argument error says it (the schema's own constraints come first).
EXPECTED = {
    "budget": "a whole number of tokens greater than 0, e.g. 128000",
    "offset": "a whole number, 0 or more",
    "pages": "a list of 1-based page numbers, e.g. [1, 2]",
    "module": "a module name as repo_overview lists it, or the path of a file or folder",
    "path": "a file path relative to the repository root, e.g. 'pkg/mod.py'",
    "start_line": "a line number, 1 or more",
    "end_line": "a line number, 1 or more",
    "pattern": "the text to find, as a string",
    "regex": "true or false",
    "name": "a definition's name as a string, e.g. 'JSONDecoder'",
    "target": "a target name as a string, e.g. 'claude'",
    "query": "a few words as a string",
    "since": "a git revision as a string, e.g. 'HEAD~1', a branch, a tag or a commit id",
    "cursor": "the cursor string a previous result gave",
}


def argument_problems(tool: str, error: ValidationError) -> str:
    """One line for a call whose arguments do not fit the tool's schema, in place of pydantic's report."""
    problems: dict[str, str] = {}
    for issue in error.errors():
        name = str(issue["loc"][0]) if issue["loc"] else "arguments"
        if name in problems:
            continue
        expected = EXPECTED.get(name, "of the type the tool's schema gives")
        if issue["type"] == "missing":
            problems[name] = f"{name} is missing: pass {expected}"
        else:
            given = issue.get("input")
            shown = json.dumps(given) if isinstance(given, int | float | bool | str | None) else type(given).__name__
            problems[name] = f"{name} must be {expected}, not {shown[:60]}"
    return f"{tool}: " + "; ".join(problems.values())


class CodectxServer(MCPServer[Any]):
    """MCPServer whose argument errors are one line in codectx's words, like every other tool error."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:
            if isinstance(error, ToolError) and isinstance(error.__cause__, ValidationError):
                message = argument_problems(name, error.__cause__)
                log.info("tool error: %s", message)
                return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)
            raise


def tool_result(call: Callable[[], list[ContentBlock]]) -> CallToolResult:
    try:
        return CallToolResult(content=call())
    except ToolFailure as failure:
        message = str(failure)
    except StoreError as error:
        message = str(error)
    except sqlite3.DatabaseError as error:
        message = f"the index could not be read ({error}): retry, or rebuild it with `codectx index`"
    log.info("tool error: %s", message)
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _resource(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ToolFailure as failure:
        raise ResourceNotFoundError(str(failure)) from None
    except (StoreError, sqlite3.DatabaseError) as error:
        raise ResourceError(f"the index could not be read: {error}") from None


def _number(text: str, what: str) -> int:
    if not _NUMBER.fullmatch(text):
        raise ResourceNotFoundError(f"{what} must be a 1-based number, not {text[:40]!r}")
    return int(text)


def warm_up(tools: CodectxTools, packer: ContextPacker) -> None:
    """Load the tokenizer and build what the current generation's first overview, symbol lookup and pack need.

    Run in the background (by a GenerationFollower) at start-up and for each new generation: a
    client's calls then find them built (or wait for the build in progress) instead of paying for
    them. No index yet is fine: the first call says so.
    """
    count_tokens("")
    try:
        with tools.reader.pinned(tools.options.target) as snap:
            tools.outlines.of(snap)
            packer.prepare(snap)
            prime_texts(snap.store, snap.id)
    except ToolFailure as failure:  # no index yet: nothing to prepare
        log.info("nothing prepared: %s", failure)


def build_server(
    config: ServerConfig, tools: CodectxTools | None = None, packer: ContextPacker | None = None
) -> MCPServer[Any]:
    """The MCP server; pass `tools` and `packer` to share them with the caller."""
    options = config.options()
    tools = tools or CodectxTools(options)
    packer = packer or ContextPacker(tools.reader, options.max_tokens)

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = TOOL_THREADS
        follower = GenerationFollower(lambda: tools.reader.current(options.target), lambda: warm_up(tools, packer))
        follower.start()
        try:
            yield {}
        finally:
            await anyio.to_thread.run_sync(follower.stop)
            tools.close()

    server: MCPServer[Any] = CodectxServer(
        "codectx", instructions=INSTRUCTIONS, version=__version__, lifespan=lifespan, log_level="WARNING"
    )

    @server.tool(annotations=READ_ONLY)
    def repo_overview(
        offset: Annotated[int, Field(ge=0, description="first module to list (0-based), for long listings")] = 0,
    ) -> CallToolResult:
        """Modules of the indexed repository with files, lines and token costs as text and as pages."""
        return tool_result(lambda: tools.repo_overview(offset))

    @server.tool(annotations=READ_ONLY)
    def load_context(
        budget: Annotated[int, Field(gt=0, description="token budget for the whole pack (text + vision tokens)")],
        target: Annotated[
            str | None, Field(description="target model whose cost rule prices the pages; default: the server's")
        ] = None,
        query: Annotated[
            str | None, Field(description="what you are working on; relevant modules stay most faithful")
        ] = None,
        since: Annotated[
            str | None,
            Field(
                description="a git revision (e.g. 'HEAD~1', 'main', a commit id): the hunks changed since it, up to "
                "the working tree and untracked files, come first as exact text with path and line numbers; the "
                "rest of the budget packs the repository as usual, recently changed files a little ahead"
            ),
        ] = None,
        cursor: Annotated[
            str | None, Field(description="continue a pack from where the previous result stopped (it says how)")
        ] = None,
    ) -> CallToolResult:
        """The repository packed into a token budget: each module as exact text, pages, reduced pages, outline or
        omitted, most relevant most faithful. Page images and text blocks each follow a header with their files and
        line ranges. With since, what changed since that git revision comes first, as exact text."""
        request = PackRequest(budget, target or config.target, query or None, since or None)
        return tool_result(lambda: packer.load_context(request, cursor))

    @server.tool(annotations=READ_ONLY)
    def get_pages(
        module: Annotated[
            str, Field(description="module name as repo_overview lists it, or a file or folder path: its module")
        ],
        pages: Annotated[
            list[int] | None, Field(description="1-based page numbers to send; all pages when omitted")
        ] = None,
    ) -> CallToolResult:
        """One module's page images, each preceded by the file line ranges it shows."""
        return tool_result(lambda: tools.get_pages(module, pages))

    @server.tool(annotations=READ_ONLY)
    def read_source(
        path: Annotated[str, Field(description="file path relative to the repository root, e.g. 'pkg/mod.py'")],
        start_line: Annotated[int | None, Field(description="first line (1-based); default 1")] = None,
        end_line: Annotated[int | None, Field(description="last line (inclusive); default: end of file")] = None,
    ) -> CallToolResult:
        """Exact text of an indexed file (or a line range of it), with line numbers."""
        return tool_result(lambda: tools.read_source(path, start_line, end_line))

    @server.tool(annotations=READ_ONLY)
    def search(
        pattern: Annotated[str, Field(description="text to find on one line (a Python regex with regex=true)")],
        regex: Annotated[bool, Field(description="treat pattern as a regular expression")] = False,
        offset: Annotated[int, Field(ge=0, description="hits to skip, to continue a capped listing")] = 0,
    ) -> CallToolResult:
        """Exact grep-like search of the indexed source: path:line: text hits in path order."""
        return tool_result(lambda: tools.search(pattern, regex, offset))

    @server.tool(annotations=READ_ONLY)
    def find_symbol(
        name: Annotated[str, Field(description="definition name, e.g. 'JSONDecoder' or 'JSONDecoder.decode'")],
        offset: Annotated[int, Field(ge=0, description="definitions to skip, to continue a capped listing")] = 0,
    ) -> CallToolResult:
        """Where a class, function, method or other definition is: path:start-end kind qualified name."""
        return tool_result(lambda: tools.find_symbol(name, offset))

    @server.resource(
        MANIFEST_URI,
        name="manifest",
        mime_type="application/json",
        description="Every module and page of the current index generation, with page URIs and line spans; when "
        "longer than the size cap, in parts: `next` names the following one.",
    )
    def manifest() -> str:
        return str(_resource(tools.manifest))

    @server.resource(
        MANIFEST_PART_TEMPLATE,
        name="manifest part",
        mime_type="application/json",
        description="A later part of the manifest (1-based), of the generation its first part showed.",
    )
    def manifest_part(part: str = "1", generation: str = "") -> str:
        number = _number(part, "part")
        pinned = _number(generation, "generation") if generation else None
        return str(_resource(lambda: tools.manifest(number, pinned)))

    @server.resource(
        PAGE_URI_TEMPLATE,
        name="page",
        mime_type="image/png",
        description="One page image: module name percent-encoded, page number 1-based (see the manifest).",
    )
    def page(module: str, page: str) -> bytes:
        number = _number(page, "page")
        return bytes(_resource(lambda: tools.page_png(module, number)))

    return server


def serve(
    config: ServerConfig,
    http: bool = False,
    host: str = "127.0.0.1",
    port: int = 8765,
    watch: bool = False,
    workers: int = 1,
) -> None:
    """Run until interrupted. stdout carries only the protocol (stdio); logs go to stderr.

    With `watch`, a Watcher in a process of its own keeps the index current; each request still
    reads the one generation that was current when it started. Over HTTP, `workers` processes
    answer requests (see codectx.mcp_server.processes).
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="codectx serve: %(message)s")
    options = config.options()
    log.info("repository %s, index %s, target %s", options.root, options.store_dir, options.target)
    if not watch and not (options.store_dir / "index.sqlite").exists():
        log.warning("no index yet: tools answer with how to build one (`codectx index %s`)", options.root)
    watcher = WatcherProcess(options.root, options.target, options.store_dir) if watch else None
    if watcher is not None:
        watcher.start()
    try:
        if http:
            serve_http(config, host, port, workers)
        else:
            build_server(config).run("stdio")
    finally:
        if watcher is not None:
            watcher.stop()


def serve_http(config: ServerConfig, host: str, port: int, workers: int) -> None:
    """Streamable HTTP at http://host:port/mcp from `workers` uvicorn worker processes (this one alone for 1).

    Each worker listens on a socket of its own (SO_REUSEPORT, see run_http_workers); where the system lacks
    SO_REUSEPORT, uvicorn's own workers share one socket.
    """
    import uvicorn

    if host not in LOOPBACK_HOSTS:
        log.warning("listening on %s: the server has no authentication, anyone who can reach it reads the code", host)
    processes = plural(workers, "worker process", "worker processes")
    log.info("streamable HTTP on http://%s:%d/mcp (%s)", host, port, processes)
    os.environ[CONFIG_ENV] = http_config_env(config.root, config.store_dir, config.target, config.max_tokens, host)
    app = f"{__name__}:http_app"
    if workers > 1 and hasattr(socket, "SO_REUSEPORT"):
        run_http_workers(host, port, workers, app)
    else:
        uvicorn.run(app, factory=True, host=host, port=port, workers=workers, log_level="warning",
                    timeout_graceful_shutdown=5)  # fmt: skip


def http_app() -> Starlette:
    """The ASGI app of one HTTP worker (uvicorn calls this in each worker process).

    Stateless streamable HTTP with JSON responses: any worker can answer any request, and each
    answer comes from the generation current when its request started.
    """
    settings = http_settings()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="codectx serve: %(message)s")
    logging.getLogger("mcp").setLevel(logging.WARNING)  # not a line per worker about its session manager
    end_with_parent()
    store_dir = None if settings["store_dir"] is None else Path(settings["store_dir"])
    config = ServerConfig(Path(settings["root"]), store_dir, settings["target"], settings["max_tokens"])
    return build_server(config).streamable_http_app(stateless_http=True, json_response=True, host=settings["host"])
