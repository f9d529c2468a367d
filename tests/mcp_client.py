"""An in-process MCP client of codectx's server, and the text of its results; shared by the MCP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from mcp import Client
from mcp_types import CallToolResult, TextContent

from codectx.mcp_server.server import ServerConfig, build_server


@asynccontextmanager
async def connect(root: Path, **options: Any) -> AsyncIterator[Client]:
    """A client of a server on `root`; `options` are ServerConfig's (store_dir, max_tokens, ...)."""
    async with Client(build_server(ServerConfig(root, **options))) as client:  # type: ignore[arg-type]
        yield client


def texts(result: CallToolResult) -> list[str]:
    return [block.text for block in result.content if isinstance(block, TextContent)]


def error_text(result: CallToolResult) -> str:
    assert result.is_error, texts(result)
    return "\n".join(texts(result))
