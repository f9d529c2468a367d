"""MCP server, in process through the SDK's own client: tools, resources, refusals, caps, pinning."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import sysconfig
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio.to_thread
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client, MCPError
from mcp_client import connect, error_text, texts
from mcp_fuzzing import FuzzSession, forge_cursor, fuzz_repository, outside, recorded_opens
from mcp_types import CallToolResult, ImageContent, TextContent
from PIL import Image

from codectx.indexer import index_repository
from codectx.mcp_server.paths import RefusedPath, normalise_request_path
from codectx.mcp_server.reader import IndexReader, PerGeneration, Snapshot
from codectx.mcp_server.server import TOOL_THREADS, ServerConfig, build_server
from codectx.pack import build_pack
from codectx.search import search
from codectx.store import Store, default_store_dir
from codectx.tokens import count_tokens

STDLIB = Path(sysconfig.get_paths()["stdlib"])
pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stdlib json package plus an ignored folder and symlinks inside and out, indexed once."""
    return fuzz_repository(tmp_path_factory.mktemp("mcp"))


def continuation(result: CallToolResult) -> dict[str, object]:
    """The arguments of the 'call X(...) for the rest' note at the end of a capped result."""
    note = texts(result)[-1]
    match = re.search(r"\w+\((.*)\) for the rest", note)
    assert match, note
    return dict(eval(f"dict({match.group(1)})"))  # the note spells a Python call with literal arguments


async def test_lists_documented_tools_without_output_schemas(repo: Path) -> None:
    async with connect(repo) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert {"repo_overview", "load_context", "get_pages", "read_source", "search", "find_symbol"} == set(tools)
    assert all(tool.output_schema is None for tool in tools.values())
    assert tools["get_pages"].input_schema["required"] == ["module"]
    assert tools["load_context"].input_schema["required"] == ["budget"]
    assert tools["read_source"].annotations is not None and tools["read_source"].annotations.read_only_hint


async def test_tool_calls_take_turns_on_a_few_threads(repo: Path) -> None:
    """A serving process runs TOOL_THREADS tool calls at once; the others wait in arrival order."""
    async with connect(repo) as client:
        assert not (await client.call_tool("repo_overview", {})).is_error
        assert anyio.to_thread.current_default_thread_limiter().total_tokens == TOOL_THREADS == 2


async def test_repo_overview_reports_the_index(repo: Path) -> None:
    with Store.open(default_store_dir(repo), create=False) as store:
        generation = store.require_generation("claude").id
        module = next(m for m in store.modules(generation) if m.name == "json")
    async with connect(repo) as client:
        result = await client.call_tool("repo_overview", {})
    text = "\n".join(texts(result))
    assert not result.is_error
    assert f"generation {generation}" in text
    row = next(line for line in text.splitlines() if line.startswith("| json |"))
    assert row.startswith(f"| json | {module.files} | {module.lines:,} | {module.text_tokens:,} | {module.pages} |")
    assert "class JSONDecoder" in row and "function loads" in row


async def test_get_pages_sends_each_page_after_its_line_ranges(repo: Path) -> None:
    with Store.open(default_store_dir(repo), create=False) as store:
        generation = store.require_generation("claude").id
        stored = store.module_pages(generation, "json")
        blobs = [store.pages.get(page.blob) for page in stored]
    async with connect(repo) as client:
        result = await client.call_tool("get_pages", {"module": "json"})
    assert not result.is_error and result.structured_content is None
    images = [block for block in result.content if isinstance(block, ImageContent)]
    assert [base64.b64decode(image.data) for image in images] == blobs
    for position, block in enumerate(result.content):
        if isinstance(block, ImageContent):
            caption = result.content[position - 1]
            assert isinstance(caption, TextContent) and re.match(r"page \d+/\d+ of json", caption.text)
    first = Image.open(io.BytesIO(blobs[0]))
    assert first.size == (stored[0].width, stored[0].height)
    captions = [t for t in texts(result) if t.startswith("page 1/")]
    assert "json/__init__.py:1-" in captions[0]


async def test_get_pages_selects_pages_and_rejects_bad_ones(repo: Path) -> None:
    with Store.open(default_store_dir(repo), create=False) as store:
        count = len(store.module_pages(store.require_generation("claude").id, "json"))
    assert count >= 2
    async with connect(repo) as client:
        some = await client.call_tool("get_pages", {"module": "json", "pages": [2, 1]})
        unknown = await client.call_tool("get_pages", {"module": "jsn"})
        out_of_range = await client.call_tool("get_pages", {"module": "json", "pages": [99]})
    assert [t.split(" of ")[0] for t in texts(some) if t.startswith("page ")] == [f"page 2/{count}", f"page 1/{count}"]
    assert "unknown module 'jsn'" in error_text(unknown) and "'json'" in error_text(unknown)
    assert f"numbered 1-{count}" in error_text(out_of_range)


async def test_read_source_returns_exact_numbered_lines(repo: Path) -> None:
    original = (repo / "json" / "decoder.py").read_text().splitlines()
    async with connect(repo) as client:
        result = await client.call_tool("read_source", {"path": "./json//decoder.py", "start_line": 30, "end_line": 45})
    body = texts(result)[0].splitlines()[1:]
    assert [line.split("\t", 1)[0].strip() for line in body] == [str(n) for n in range(30, 46)]
    assert [line.split("\t", 1)[1] for line in body] == original[29:45]


@pytest.mark.parametrize(
    ("start", "end"), [(0, 5), (10, 5), (10_000, None), (-3, 2)], ids=["zero", "reversed", "past-end", "negative"]
)
async def test_read_source_rejects_bad_line_ranges(repo: Path, start: int, end: int | None) -> None:
    async with connect(repo) as client:
        result = await client.call_tool(
            "read_source", {"path": "json/decoder.py", "start_line": start, "end_line": end}
        )
    assert "bad line range" in error_text(result) and "356 lines" in error_text(result)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../etc/passwd", "'..'"),
        ("json/../../etc/passwd", "'..'"),
        ("/etc/passwd", "absolute"),
        ("~/.ssh/id_rsa", "absolute"),
        ("C:/Windows/win.ini", "absolute"),
        ("json\\decoder.py", "Windows-style"),
        ("..\\..\\etc\\passwd", "Windows-style"),
        ("%2e%2e/%2e%2e/etc/passwd", "after URL-decoding"),
        ("json%2F..%2F..%2Fsecret", "after URL-decoding"),
        ("%252e%252e%252fetc", "after URL-decoding"),
        ("%2Fetc%2Fpasswd", "after URL-decoding"),
        ("private/keys.py", "ignore rules"),
        ("alias/decoder.py", "symlink"),
        ("json", "is a directory"),
        ("jsn/decoder.py", "not in the index"),
        ("", "empty path"),
    ],
)
async def test_read_source_refuses_paths_outside_what_is_served(repo: Path, path: str, reason: str) -> None:
    async with connect(repo) as client:
        result = await client.call_tool("read_source", {"path": path})
    assert reason in error_text(result)
    assert "never served" not in error_text(result)


async def test_newly_ignored_file_is_refused_although_indexed(repo: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(repo / "json", root / "json")
    index_repository(root, target="claude", workers=1)
    async with connect(root) as client:
        before = await client.call_tool("read_source", {"path": "json/tool.py", "start_line": 1, "end_line": 1})
        (root / ".gitignore").write_text("tool.py\n")
        after = await client.call_tool("read_source", {"path": "json/tool.py"})
        hits = await client.call_tool("search", {"pattern": "def main"})
        definitions = await client.call_tool("find_symbol", {"name": "main"})
    assert not before.is_error
    assert "excluded by the repository's ignore rules" in error_text(after)
    assert "no hits" in texts(hits)[0]
    assert "no definition named 'main'" in error_text(definitions)


async def test_results_respect_the_size_cap_and_say_how_to_continue(repo: Path) -> None:
    original = (repo / "json" / "decoder.py").read_text().splitlines()
    async with connect(repo, max_tokens=3_000) as client:
        pages = await client.call_tool("get_pages", {"module": "json"})
        sent = sum(isinstance(block, ImageContent) for block in pages.content)
        rest = await client.call_tool("get_pages", continuation(pages))
        lines: list[str] = []
        arguments: dict[str, object] = {"path": "json/decoder.py"}
        parts = 0
        while True:
            part = await client.call_tool("read_source", arguments)
            parts += 1
            lines += [line.split("\t", 1)[1] for line in texts(part)[0].splitlines()[1:]]
            if "for the rest" not in texts(part)[-1]:
                break
            arguments = continuation(part)
    assert 0 < sent < 7 and sum(isinstance(block, ImageContent) for block in rest.content) > 0
    assert parts > 1 and lines == original


async def test_no_index_says_how_to_build_one_then_serves_it(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("def answer():\n    return 42\n" * 200)
    async with connect(root) as client:
        missing = await client.call_tool("repo_overview", {})
        index_repository(root, target="claude", workers=1)
        found = await client.call_tool("read_source", {"path": "pkg/mod.py", "start_line": 2, "end_line": 2})
        shutil.rmtree(default_store_dir(root))  # the index folder deleted and built anew under a running server
        (root / "pkg" / "mod.py").write_text("def answer():\n    return 43\n" * 200)
        index_repository(root, target="claude", workers=1)
        rebuilt = await client.call_tool("read_source", {"path": "pkg/mod.py", "start_line": 2, "end_line": 2})
    assert f"codectx index {root.resolve()} --target claude" in error_text(missing)
    assert texts(found)[0].endswith("2\t    return 42\n")
    assert texts(rebuilt)[0].endswith("2\t    return 43\n")


async def test_a_request_stays_on_its_pinned_generation_while_the_index_is_rebuilt(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    module = root / "pkg" / "mod.py"
    module.write_text("VERSION = 1\n" + "x = 0\n" * 400)
    first = index_repository(root, target="claude", workers=1).generation
    reader = IndexReader(root.resolve(), default_store_dir(root.resolve()))
    try:
        with reader.pinned("claude") as snap:
            for version in range(2, 7):  # more rebuilds than the generations an index keeps
                module.write_text(f"VERSION = {version}\n" + "x = 0\n" * 400)
                index_repository(root, target="claude", workers=1)
            row = snap.file("pkg/mod.py")
            assert row is not None
            text = snap.store.source_text(row.sha256)
            pages = snap.pages(snap.modules()[0].name)
            pngs = [snap.page_png(page) for page in pages]
        with reader.pinned("claude") as later:
            later_text = later.store.source_text(later.files()[0].sha256)
        module.write_text("VERSION = 7\n" + "x = 0\n" * 400)
        index_repository(root, target="claude", workers=1)  # unpinned now: collected
        with Store.open(default_store_dir(root), create=False) as store:
            kept = [g for (g,) in store.db.execute("SELECT id FROM generations")]
    finally:
        reader.close()
    assert snap.id == first and text is not None and text.startswith("VERSION = 1\n")
    assert pngs and all(png.startswith(b"\x89PNG") for png in pngs)
    assert later_text is not None and later_text.startswith("VERSION = 6\n")
    assert first not in kept


def test_concurrent_first_callers_share_one_build_per_generation(repo: Path) -> None:
    builds: list[int] = []

    def build(snap: Snapshot) -> int:
        builds.append(snap.id)
        time.sleep(0.3)  # long enough for the other callers to arrive while it runs
        return snap.id

    derived = PerGeneration(build)
    reader = IndexReader(repo.resolve(), default_store_dir(repo.resolve()))

    def first_call(_: int) -> int:
        with reader.pinned("claude") as snap:
            return derived.of(snap)

    try:
        with ThreadPoolExecutor(4) as pool:
            values = list(pool.map(first_call, range(4)))
    finally:
        reader.close()
    assert len(builds) == 1 and values == builds * 4


async def test_resources_list_the_manifest_and_serve_pages(repo: Path) -> None:
    async with connect(repo) as client:
        listed = [str(r.uri) for r in (await client.list_resources()).resources]
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        manifest = json.loads((await client.read_resource("codectx://manifest")).contents[0].text)  # type: ignore[union-attr]
        json_module = next(m for m in manifest["modules"] if m["name"] == "json")
        page = (await client.read_resource(json_module["pages"][1]["uri"])).contents[0]
        with pytest.raises(MCPError, match="unknown module"):
            await client.read_resource("codectx://pages/nope/1")
        with pytest.raises(MCPError):
            await client.read_resource("codectx://pages/%2E%2E%2Fetc/1")
    assert listed == ["codectx://manifest"]
    assert templates == ["codectx://manifest{?part,generation}", "codectx://pages/{module}/{page}"]
    assert page.mime_type == "image/png"
    with Store.open(default_store_dir(repo), create=False) as store:
        stored = store.module_pages(manifest["generation"], "json")[1]
        assert base64.b64decode(page.blob) == store.pages.get(stored.blob)  # type: ignore[union-attr]


async def test_manifest_comes_in_parts_under_the_size_cap(stdlib_index: tuple[Path, Path]) -> None:
    repo, store_dir = stdlib_index
    parts: list[str] = []
    uri: str | None = "codectx://manifest"
    async with Client(build_server(ServerConfig(repo, store_dir=store_dir, max_tokens=2_000))) as client:  # type: ignore[arg-type]
        while uri is not None and len(parts) < 100:
            parts.append((await client.read_resource(uri)).contents[0].text)  # type: ignore[union-attr]
            uri = json.loads(parts[-1]).get("next")
        with pytest.raises(MCPError, match=f"has {len(parts)} parts, numbered 1-{len(parts)}"):
            await client.read_resource(f"codectx://manifest?part={len(parts) + 1}")
    documents = [json.loads(part) for part in parts]
    listed: dict[str, list[int]] = {}
    for document in documents:
        for module in document["modules"]:
            listed.setdefault(module["name"], []).extend(page["page"] for page in module["pages"])
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude").id
        expected = {module.name: list(range(1, module.pages + 1)) for module in store.modules(generation)}
    assert len(parts) > 2 and all(count_tokens(part) <= 2_000 for part in parts)
    assert [(d["part"], d["parts"], d["generation"]) for d in documents] == [
        (n, len(parts), generation) for n in range(1, len(parts) + 1)
    ]
    assert f"Read codectx://manifest?part=2&generation={generation} for the rest" in documents[0]["note"]
    assert listed == expected
    assert any(m["pages"][0]["page"] > 1 for d in documents for m in d["modules"] if m["pages"])  # a module continued


@given(st.text(alphabet=st.sampled_from(list("ab./\\%2eEfF:~ \x00")), max_size=24))
def test_accepted_request_paths_are_plain_relative_paths(raw: str) -> None:
    try:
        path = normalise_request_path(raw)
    except RefusedPath:
        return
    assert not path.startswith("/") and "\\" not in path and ".." not in path.split("/")
    assert "" not in path.split("/") and "." not in path.split("/")


def cursor_of(result: CallToolResult) -> str | None:
    found = re.search(r"cursor='([^']+)'", texts(result)[-1])
    return found.group(1) if found else None


async def test_load_context_with_room_for_text_sends_the_exact_text(repo: Path) -> None:
    async with connect(repo) as client:
        result = await client.call_tool("load_context", {"budget": 20_000})
    body = "\n".join(texts(result))
    assert not result.is_error and result.structured_content is None
    assert "module json as text" in body and "covers json/__init__.py:1-359" in body
    assert (repo / "json" / "decoder.py").read_text() in body
    assert not any(isinstance(block, ImageContent) for block in result.content)


@pytest.mark.parametrize(("budget", "representation"), [(2_000, "outline"), (500, "omitted")])
async def test_load_context_small_budgets(repo: Path, budget: int, representation: str) -> None:
    async with connect(repo) as client:
        result = await client.call_tool("load_context", {"budget": budget})
    body = "\n".join(texts(result))
    if representation == "omitted":
        assert "Omitted for budget" in body and "json" in body.split("Omitted for budget")[1]
    else:
        assert "module json as outline" in body and "class JSONDecoder" in body


async def test_load_context_parts_follow_the_cursor_through_the_whole_pack(repo: Path) -> None:
    with Store.open(default_store_dir(repo), create=False) as store:
        pack = build_pack(store, "claude", 11_000)
    expected = [page.png_path.read_bytes() for item in pack.items for page in item.pages]
    images: list[bytes] = []
    bodies: list[str] = []
    parts = 0
    async with connect(repo, max_tokens=4_000) as client:
        arguments: dict[str, object] = {"budget": 11_000}
        for _ in range(20):
            part = await client.call_tool("load_context", arguments)
            parts += 1
            assert not part.is_error, texts(part)
            images += [base64.b64decode(b.data) for b in part.content if isinstance(b, ImageContent)]
            bodies += texts(part)
            cursor = cursor_of(part)
            if cursor is None:
                break
            arguments = {"budget": 11_000, "cursor": cursor}
    assert {"pages", "glossary"} <= {item.representation for item in pack.items}
    # The pages alone cost more than one result may carry, so the pack arrives in several parts.
    assert images == expected and len(images) >= 2 and parts >= 2
    glossary = next(item for item in pack.items if item.representation == "glossary")
    assert glossary.text is not None and glossary.text in "\n".join(bodies)
    first = f"[item 1/{len(pack.items)}] "
    assert sum(body.startswith(first) for body in bodies) == 1  # later parts say "continued from page N"


async def test_load_context_cursor_keeps_its_generation_across_a_rebuild(repo: Path, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(repo / "json", root / "json")
    first = index_repository(root, target="claude", workers=1).generation
    with Store.open(default_store_dir(root), create=False) as store:
        old_pages = [store.pages.get(p.blob) for p in store.module_pages(first, "json")]
    async with connect(root, max_tokens=4_000) as client:
        part = await client.call_tool("load_context", {"budget": 11_000})
        sent = sum(isinstance(b, ImageContent) for b in part.content)
        decoder = root / "json" / "decoder.py"
        decoder.write_text(decoder.read_text().replace("JSONDecoder", "JSONDecoderRenamed"))
        assert index_repository(root, target="claude", workers=1).generation > first
        following = await client.call_tool("load_context", {"budget": 11_000, "cursor": cursor_of(part)})
        mismatched = await client.call_tool("load_context", {"budget": 12_000, "cursor": cursor_of(part)})
        garbled = await client.call_tool("load_context", {"budget": 11_000, "cursor": "1.2.x"})
        for _ in range(4):  # push the first generation out of the kept ones
            decoder.write_text(decoder.read_text() + "\n# edit\n")
            index_repository(root, target="claude", workers=1)
        gone = await client.call_tool("load_context", {"budget": 11_000, "cursor": cursor_of(part)})
    images = [base64.b64decode(b.data) for b in following.content if isinstance(b, ImageContent)]
    assert f"generation {first}." in texts(following)[0]
    assert images == old_pages[sent : sent + len(images)] and images
    assert "another budget, target or query" in error_text(mismatched)
    assert "bad cursor" in error_text(garbled)
    assert "no longer kept" in error_text(gone)


def hit_lines(result: CallToolResult) -> list[str]:
    return texts(result)[0].splitlines()[1:]


async def test_search_returns_exact_path_line_hits(repo: Path) -> None:
    lines = (repo / "json" / "__init__.py").read_text().splitlines()
    expected = [f"json/__init__.py:{n}: {line}" for n, line in enumerate(lines, start=1) if "def load" in line]
    async with connect(repo) as client:
        fixed = await client.call_tool("search", {"pattern": "def load"})
        pattern = await client.call_tool("search", {"pattern": r"^def load[s]?\(", "regex": True})
        nothing = await client.call_tool("search", {"pattern": "no such text anywhere"})
        broken = await client.call_tool("search", {"pattern": "(", "regex": True})
    assert hit_lines(fixed) == expected and len(expected) == 2
    assert hit_lines(pattern) == expected
    assert not nothing.is_error and "no hits" in texts(nothing)[0]
    assert "bad regular expression" in error_text(broken)


async def test_search_listing_continues_past_the_cap(repo: Path) -> None:
    with Store.open(default_store_dir(repo), create=False) as store:
        generation = store.require_generation("claude").id
        expected = [f"{h.path}:{h.line}: {h.text}" for h in search(store, generation, "e")]
    collected: list[str] = []
    async with connect(repo, max_tokens=2_000) as client:
        arguments: dict[str, object] = {"pattern": "e"}
        parts = 0
        for _ in range(50):
            part = await client.call_tool("search", arguments)
            parts += 1
            collected += hit_lines(part)
            if "for the rest" not in texts(part)[-1]:
                break
            arguments = continuation(part)
    assert parts > 2 and collected == expected


async def test_find_symbol_finds_definitions_and_suggests_close_names(repo: Path) -> None:
    async with connect(repo) as client:
        plain = await client.call_tool("find_symbol", {"name": "JSONDecoder"})
        qualified = await client.call_tool("find_symbol", {"name": "JSONDecoder.raw_decode"})
        folded = await client.call_tool("find_symbol", {"name": "jsondecoder"})
        missing = await client.call_tool("find_symbol", {"name": "JSONDecodr"})
    source = (repo / "json" / "decoder.py").read_text().splitlines()
    path, _, rest = hit_lines(plain)[0].partition(":")
    start = int(rest.split("-")[0])
    assert path == "json/decoder.py" and source[start - 1].startswith("class JSONDecoder")
    assert re.fullmatch(r"json/decoder\.py:\d+-\d+ method JSONDecoder\.raw_decode", hit_lines(qualified)[0])
    assert hit_lines(folded) == hit_lines(plain)
    assert "close names: JSONDecoder" in error_text(missing)


@pytest.fixture(scope="module")
def fuzzing(repo: Path) -> Iterator[FuzzSession]:
    with FuzzSession(repo) as session:
        yield session


def test_fuzzed_calls_give_results_or_tool_errors_and_open_nothing_outside(fuzzing: FuzzSession) -> None:
    tallies = fuzzing.fuzz(cases=280)  # bench/mcp_fuzz.py runs 10,000
    assert [v for tally in tallies.values() for v in tally.violations] == []
    assert all(tally.ok and tally.errors for tally in tallies.values())  # both outcomes reached, for every tool


def test_fuzzing_findings_stay_fixed(fuzzing: FuzzSession, repo: Path) -> None:
    past_each_item = [forge_cursor(fuzzing.facts.continuations[0], str(item), "1000000") for item in range(4)]
    cases = [
        ("search", {"pattern": "def", "offset": 2**63}),  # past sys.maxsize: islice raised
        ("read_source", {"path": "outside_link/secret.py"}),  # the ignore rules read through the link
        ("read_source", {"path": "json/tool.py"}),  # the root's .codectxignore links outside: not followed
        *(("load_context", arguments) for arguments in past_each_item),  # a text item's lines[offset] raised
    ]
    assert [fuzzing.outcome(tool, arguments) for tool, arguments in cases] == ["ok", "error", "ok"] + ["error"] * 4
    with recorded_opens() as opened:  # the check itself sees a read through a link to outside the root
        (repo / "leak.py").read_text()
    assert outside(opened, repo.resolve())
