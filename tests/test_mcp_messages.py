"""What the MCP tools say when a call goes wrong or a result is counted: one line, codectx's own words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mcp_client import connect, error_text, texts
from mcp_types import CallToolResult, ImageContent

from codectx.indexer import index_repository

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One module of one small file, and a lock file codectx never indexes."""
    root = tmp_path_factory.mktemp("mcp-messages") / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "only.py").write_text("def only():\n    return 1\n")
    (root / "uv.lock").write_text("version = 1\n")
    index_repository(root, workers=1)
    return root


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        ("load_context", {"budget": 0}, "load_context: budget must be a whole number of tokens greater than 0"),
        ("load_context", {"budget": "lots"}, "load_context: budget must be a whole number of tokens greater than 0"),
        ("load_context", {}, "load_context: budget is missing: pass a whole number of tokens"),
        ("get_pages", {}, "get_pages: module is missing"),
        ("get_pages", {"module": ".", "pages": ["first"]}, "get_pages: pages must be a list of 1-based page numbers"),
        ("search", {"pattern": "x", "offset": -1}, "search: offset must be a whole number, 0 or more, not -1"),
        ("search", {"pattern": "x", "regex": "maybe"}, "search: regex must be true or false"),
        ("read_source", {"path": 7}, "read_source: path must be a file path relative to the repository root"),
        ("find_symbol", {"name": None}, "find_symbol: name must be a definition's name"),
    ],
)
async def test_invalid_arguments_are_one_line_in_codectx_words(small: Path, tool, arguments, says) -> None:
    async with connect(small) as client:
        message = error_text(await client.call_tool(tool, arguments))
    assert message.startswith(says) and "\n" not in message, message
    assert "validation error" not in message.lower() and "pydantic" not in message and "Error executing" not in message


async def test_read_source_names_built_in_excludes(small: Path) -> None:
    async with connect(small) as client:
        lock = error_text(await client.call_tool("read_source", {"path": "uv.lock"}))
        dependency = error_text(await client.call_tool("read_source", {"path": "node_modules/left-pad/index.js"}))
    assert lock.startswith("uv.lock is one of codectx's built-in excludes (lock, minified")
    assert "ignore rules" not in lock
    assert dependency.startswith("node_modules/left-pad/index.js is inside node_modules/, one of codectx's built-in")


async def test_a_bad_regular_expression_is_not_told_to_pass_regex_true(small: Path) -> None:
    async with connect(small) as client:
        bad = error_text(await client.call_tool("search", {"pattern": "(", "regex": True}))
    assert "bad regular expression" in bad and "regex=true" not in bad and "regex=false" in bad


async def test_counts_take_the_singular_for_one(small: Path) -> None:
    async with connect(small) as client:
        pages = texts(await client.call_tool("get_pages", {"module": "."}))[0]
        overview = texts(await client.call_tool("repo_overview", {}))[0]
        out_of_range = error_text(await client.call_tool("get_pages", {"module": ".", "pages": [2]}))
    assert "module .: 1 page for target claude" in pages and ", 1 file, 2 lines; sending page 1." in pages
    assert "1 file in 1 module, 2 lines" in overview and "all as pages: 1 page, " in overview
    assert "has 1 page, numbered 1-1" in out_of_range


async def test_get_pages_takes_a_file_or_folder_path(small: Path) -> None:
    async with connect(small) as client:
        by_file = texts(await client.call_tool("get_pages", {"module": "pkg/only.py"}))[0]
        by_folder = texts(await client.call_tool("get_pages", {"module": "pkg/"}))[0]
        unknown = error_text(await client.call_tool("get_pages", {"module": "pkg/missing.py"}))
    # pkg/ is too small to be a module of its own: its file belongs to the root's module, "."
    assert by_file.startswith("module .: ") and by_folder.startswith("module .: ")
    assert "neither a module nor an indexed file or folder" in unknown


def item_headers(result: CallToolResult) -> list[tuple[int, int]]:
    found = [re.match(r"\[item (\d+)/(\d+)[\],]", text) for text in texts(result)]
    return [(int(m.group(1)), int(m.group(2))) for m in found if m]


async def test_load_context_numbers_only_the_items_it_sends(stdlib_index: tuple[Path, Path]) -> None:
    repo, store = stdlib_index
    async with connect(repo, store_dir=store, max_tokens=200_000) as client:
        result = await client.call_tool("load_context", {"budget": 30_000, "query": "header parsing"})
    summary = texts(result)[0]
    assert "Omitted for budget" in summary  # some modules are left out ...
    headers = item_headers(result)
    sent = len(headers)  # ... and the items sent are numbered 1..N of N, with no gaps where they were
    assert headers == [(n, sent) for n in range(1, sent + 1)]
    assert f": target claude, budget 30,000 tokens, {sent} items in " in summary
    images = sum(isinstance(block, ImageContent) for block in result.content)
    counted = sum(int(n) for n in re.findall(r"\((\d+) page images?\)", summary))
    assert images > 0 and counted == images, summary


async def test_load_context_continues_at_the_number_it_showed(stdlib_index: tuple[Path, Path]) -> None:
    repo, store = stdlib_index
    async with connect(repo, store_dir=store, max_tokens=4_000) as client:
        first = await client.call_tool("load_context", {"budget": 30_000, "query": "header parsing"})
    note = texts(first)[-1]
    match = re.search(r"continues at item (\d+) of (\d+)\.", note)
    assert match, note
    shown = item_headers(first)
    assert int(match.group(2)) == shown[-1][1] and int(match.group(1)) in (shown[-1][0], shown[-1][0] + 1)


async def test_load_context_below_the_smallest_budget_says_what_it_is(small: Path) -> None:
    async with connect(small) as client:
        summary = texts(await client.call_tool("load_context", {"budget": 1}))[0]
    assert "0 items in 0 tokens" in summary
    smallest = r"Nothing fits: the smallest useful budget for this index is \d+ tokens, for module \. as"
    assert re.search(smallest, summary)
    assert "budget 1 token," in summary
