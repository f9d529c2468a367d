"""`codectx serve` as a real process: stdio, streamable HTTP, and the MCP Inspector CLI as an independent client."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp_types import ImageContent, TextContent
from serve_process import SERVE, http_serve
from trees import indexed_json_copy

INSPECTOR_VERSION = "2.12.0"
INSPECTOR_DIR = Path(os.environ.get("CODECTX_INSPECTOR_DIR", f"/tmp/codectx-mcp-inspector-{INSPECTOR_VERSION}"))
pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return indexed_json_copy(tmp_path_factory.mktemp("transports") / "repo")


@pytest.fixture
def http_server(repo: Path) -> Iterator[str]:
    stderr: list[bytes] = []
    with http_serve(repo, stderr=stderr) as (url, _process):
        yield url
    assert b"streamable HTTP on" in stderr[0]


async def test_stdio_subprocess_serves_tools(repo: Path) -> None:
    original = (repo / "json" / "scanner.py").read_text().splitlines()
    params = StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], str(repo)])
    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("read_source", {"path": "json/scanner.py", "start_line": 5, "end_line": 9})
        pages = await client.call_tool("get_pages", {"module": "json", "pages": [1]})
    assert {"repo_overview", "load_context", "get_pages", "read_source", "search", "find_symbol"} == names
    body = result.content[0]
    assert isinstance(body, TextContent)
    assert [line.split("\t", 1)[1] for line in body.text.splitlines()[1:]] == original[4:9]
    assert sum(isinstance(block, ImageContent) for block in pages.content) == 1


async def test_serve_watch_indexes_then_serves_each_edit(tmp_path: Path) -> None:
    module = tmp_path / "repo" / "pkg" / "mod.py"
    module.parent.mkdir(parents=True)
    module.write_text("VERSION = 1\n")
    params = StdioServerParameters(command=SERVE[0], args=[*SERVE[1:], str(tmp_path / "repo"), "--watch"])
    seen: list[str] = []
    async with Client(params) as client:
        deadline = time.monotonic() + 60  # no index at start: the watcher builds the first one
        while time.monotonic() < deadline and "VERSION = 2" not in "".join(seen[-1:]):
            result = await client.call_tool("read_source", {"path": "pkg/mod.py"})
            seen.append("".join(b.text for b in result.content if isinstance(b, TextContent)))
            if "VERSION = 1" in seen[-1] and module.read_text() == "VERSION = 1\n":
                module.write_text("VERSION = 2\n")
            await anyio.sleep(0.1)
    assert any("VERSION = 1" in text for text in seen) and "VERSION = 2" in seen[-1]


def test_stdio_stdout_carries_only_protocol_messages(repo: Path) -> None:
    """Logs go to stderr: every stdout line is a JSON-RPC message."""
    process = subprocess.Popen(
        [*SERVE, str(repo)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None

    def send(message: dict[str, object]) -> None:
        assert process.stdin is not None
        process.stdin.write((json.dumps(message) + "\n").encode())
        process.stdin.flush()

    client = {"name": "test", "version": "0"}
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
          "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": client}})  # fmt: skip
    initialized = json.loads(process.stdout.readline())
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
          "params": {"name": "read_source", "arguments": {"path": "/etc/passwd"}}})  # fmt: skip
    refused = json.loads(process.stdout.readline())
    rest, stderr = process.communicate(timeout=30)  # closes stdin: the server exits
    assert initialized["id"] == 1 and initialized["result"]["serverInfo"]["name"] == "codectx"
    assert refused["id"] == 2 and refused["result"]["isError"] is True
    assert "absolute paths" in refused["result"]["content"][0]["text"]
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in rest.decode().splitlines() if line.strip())
    assert b"codectx serve: repository" in stderr


async def test_streamable_http_serves_tools(http_server: str, repo: Path) -> None:
    png = next((repo / ".codectx" / "pages").rglob("*.png")).read_bytes()[:8]
    async with Client(http_server) as client:
        overview = await client.call_tool("repo_overview", {})
        pages = await client.call_tool("get_pages", {"module": "json", "pages": [3]})
        refused = await client.call_tool("read_source", {"path": "json/..%2F..%2Fetc%2Fpasswd"})
    assert "| json |" in "".join(b.text for b in overview.content if isinstance(b, TextContent))
    images = [b for b in pages.content if isinstance(b, ImageContent)]
    assert len(images) == 1 and base64.b64decode(images[0].data)[:8] == png
    assert refused.is_error


def inspector() -> Path:
    """The Inspector CLI from npm, installed once into a cache folder and reused."""
    binary = INSPECTOR_DIR / "node_modules" / ".bin" / "mcp-inspector"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    assert npm, "npm is required for the MCP Inspector test (Debian: apt-get install npm)"
    INSPECTOR_DIR.mkdir(parents=True, exist_ok=True)
    with open(INSPECTOR_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefix", str(INSPECTOR_DIR),
                 f"@modelcontextprotocol/inspector@{INSPECTOR_VERSION}"],
                check=True, capture_output=True, timeout=600,
            )  # fmt: skip
    return binary


def run_inspector(*arguments: str) -> dict[str, object]:
    completed = subprocess.run(
        [str(inspector()), "--cli", *arguments], capture_output=True, text=True, timeout=180, cwd=INSPECTOR_DIR
    )
    assert completed.returncode == 0, completed.stderr + completed.stdout
    parsed: dict[str, object] = json.loads(completed.stdout)
    return parsed


def test_inspector_cli_lists_tools_and_calls_one(repo: Path) -> None:
    server = [*SERVE, str(repo)]
    listed = run_inspector(*server, "--method", "tools/list")
    called = run_inspector(
        *server, "--method", "tools/call", "--tool-name", "read_source",
        "--tool-arg", "path=json/__init__.py", "start_line=1", "end_line=3",
    )  # fmt: skip
    names = {tool["name"] for tool in listed["tools"]}  # type: ignore[attr-defined]
    assert {"repo_overview", "load_context", "get_pages", "read_source", "search", "find_symbol"} == names
    assert called["isError"] is False
    first_line = (repo / "json" / "__init__.py").read_text().splitlines()[0]
    assert f"1\t{first_line}" in called["content"][0]["text"]  # type: ignore[index]


def test_inspector_cli_over_http(http_server: str) -> None:
    called = run_inspector(
        http_server, "--transport", "http", "--method", "tools/call", "--tool-name", "get_pages",
        "--tool-arg", "module=json", "pages=[2]",
    )  # fmt: skip
    kinds = [block["type"] for block in called["content"]]  # type: ignore[attr-defined]
    assert called["isError"] is False and kinds.count("image") == 1
