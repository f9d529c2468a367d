"""Property-based fuzzing of the MCP server through the SDK's in-process client.

Hypothesis draws every tool's arguments and the page resource's URIs, traversal attempts included:
'..', absolute and home paths, drive letters, Windows-style separators, percent-encoded and
double-encoded forms, NUL bytes, symlinks inside the repository that point outside it, unicode,
huge and negative numbers, wrong types, missing and unknown arguments, forged cursors.

Allowed outcomes: a result, a tool error (isError) or, for a resource, the protocol's "not found"
error (resources have no isError). Violations: an exception out of the client, any other protocol
error, a crash inside the server (logged at ERROR; the SDK then answers "Error executing tool X"),
or a file opened outside the repository root (an audit hook sees every `open` in this process, and
each path is resolved through symlinks).

Shared by tests/test_mcp_server.py (a few hundred cases) and bench/mcp_fuzz.py (10,000 by default).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import sys
import sysconfig
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from mcp import Client, MCPError
from mcp_types import INVALID_PARAMS, BlobResourceContents, TextContent, TextResourceContents

from codectx.indexer import index_repository
from codectx.mcp_server.server import ServerConfig, build_server
from codectx.mcp_server.tools import MANIFEST_URI, page_uri
from codectx.model.targets import TARGETS
from codectx.store import Store, default_store_dir

STDLIB = Path(sysconfig.get_paths()["stdlib"])
MAX_TOKENS = 4_000  # a small result cap, so that continuation notes and cursors are fuzzed too
NEVER_SERVED = "never served"
PAGE_RESOURCE = "page resource"
SYMBOLS = ["JSONDecoder", "JSONDecoder.decode", "loads", "dumps", "scanstring", "JSONEncoder.default", "main"]

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
NUMBERS = st.none() | st.integers() | st.sampled_from([2**31, 2**63, -(2**63), 10**30, -(10**30)])
TRAVERSAL = [
    "..", "../..", ".", "/", "~", "~root", "C:", "c:\\", "\\\\host\\share", "%2e%2e", "%2E%2E%2F", "%252e%252e%252f",
    "..%2f", "..%5c", "..\\", ".%2e", "%c0%ae%c0%ae", "....", "file:", "\x00", "%00", "etc/passwd", ".codectx",
    ".codectx/index.sqlite",
]  # fmt: skip
SEPARATORS = ["/", "\\", "%2f", "%2F", "%5c", "%255c", "//", "/./", ""]
REGEX_BITS = st.sampled_from(["(", ")", "[", "\\", "*", "+?", "(a+)+$", ".*", "{99999}", "(?P<x>", r"\d+", "^", "|"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


def fuzz_repository(base: Path) -> Path:
    """`base/repo`, indexed: the stdlib json package, an ignored folder, a symlink to a folder inside, and
    symlinks to `base/outside` (a folder, a source file and an ignore file outside the root)."""
    root = base / "repo"
    shutil.copytree(STDLIB / "json", root / "json", ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".gitignore").write_text("private/\n")
    (root / "private").mkdir()
    (root / "private" / "keys.py").write_text(f"KEY = '{NEVER_SERVED}'\n")
    (root / "alias").symlink_to(root / "json", target_is_directory=True)
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(f"SECRET = '{NEVER_SERVED}'\n")
    (outside / ".gitignore").write_text("*.never\n")
    (root / "outside_link").symlink_to(outside, target_is_directory=True)
    (root / "leak.py").symlink_to(outside / "secret.py")
    (root / ".codectxignore").symlink_to(outside / ".gitignore")
    index_repository(root, target="claude", workers=1)
    return root


# --- what the server opens ------------------------------------------------------------------------

_recording: list[list[str]] = []


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _recording and isinstance(args[0], str | bytes | os.PathLike):
        _recording[-1].append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # an audit hook cannot be removed: installed once, it records only inside recorded_opens()


@contextmanager
def recorded_opens() -> Iterator[list[str]]:
    """Every path any thread of this process opens meanwhile (open, os.open, io.open_code), except the files
    of modules first imported meanwhile (a lazy import opens its .pyc like any other file)."""
    opened: list[str] = []
    before = set(sys.modules)
    _recording.append(opened)
    try:
        yield opened
    finally:
        _recording.remove(opened)
        imported = {getattr(sys.modules[name], "__file__", None) for name in set(sys.modules) - before}
        code = {path for source in imported if source for path in (source, importlib.util.cache_from_source(source))}
        opened[:] = [path for path in opened if path not in code]


def outside(opened: list[str], root: Path) -> list[str]:
    return [path for path in opened if not Path(path).resolve().is_relative_to(root)]


class _Crashes(logging.Handler):
    """ERROR records: the SDK logs a tool or resource that raised something it did not expect."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# --- what is drawn --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """Real names from the index, so that a share of the draws reaches the code behind the refusals."""

    paths: list[str]  # indexed files, plus ignored, symlinked and outside names
    modules: list[str]
    pages: list[str]  # every page's URI
    continuations: list[dict[str, Any]]  # load_context arguments with a cursor the server handed out


@st.composite
def _with_mistakes(draw: st.DrawFn, arguments: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """Mostly well-formed arguments; one call in four breaks the input schema: a key missing, or any JSON value
    (a wrong type) under a known or unknown key."""
    drawn = dict(draw(arguments))
    mistake = draw(st.sampled_from(["none", "none", "none", "missing", "wrong"]))
    if mistake == "missing" and drawn:
        del drawn[draw(st.sampled_from(sorted(drawn)))]
    elif mistake == "wrong":
        drawn[draw(st.sampled_from([*sorted(drawn), "x"]))] = draw(JSON_VALUES)
    return drawn


def _mix(*choices: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One of `choices`, each as likely as the others (st.one_of weighs every alternative nested in them alike)."""
    return st.sampled_from(choices).flatmap(lambda chosen: chosen)


def strategies(facts: Facts) -> dict[str, st.SearchStrategy[Any]]:
    """Per tool, its arguments; for the page resource, URIs. Real names and plausible numbers are drawn about
    as often as hostile ones, so the code past the refusals is reached too."""
    part = st.sampled_from(facts.paths + TRAVERSAL) | TEXT
    joined = st.builds(str.join, st.sampled_from(SEPARATORS), st.lists(part, min_size=1, max_size=5))
    paths = _mix(st.sampled_from(facts.paths), joined | joined.map(quote) | joined.map(lambda p: quote(quote(p))))
    text = TEXT | paths
    modules = _mix(st.sampled_from(facts.modules), text)
    small = _mix(st.integers(-2, 12), st.integers(-2, 400), NUMBERS)
    continued = st.sampled_from(facts.continuations)
    number = _mix(st.integers(0, 12), st.integers(0, 10**12)).map(str)
    forged = st.builds(forge_cursor, continued, number, number)  # the cursor's seal binds arguments, not its numbers
    cursors = st.none() | continued.map(lambda arguments: arguments["cursor"]) | text
    targets = _mix(st.none() | st.sampled_from(sorted(TARGETS)), text)
    shaped = st.from_regex(r"\A\d{1,14}\.\d{1,10}\.\d{1,10}\.[0-9a-f]{10}\Z")
    tools = {
        "repo_overview": st.fixed_dictionaries({}, optional={"offset": small}),
        "load_context": _mix(
            st.fixed_dictionaries(
                {"budget": _mix(st.integers(1, 200_000), NUMBERS)},
                optional={"target": targets, "query": st.none() | text, "cursor": cursors | shaped},
            ),
            continued,
            forged,
        ),
        "get_pages": st.fixed_dictionaries({"module": modules}, optional={"pages": st.none() | st.lists(small)}),
        "read_source": st.fixed_dictionaries({"path": paths}, optional={"start_line": small, "end_line": small}),
        "search": st.fixed_dictionaries(
            {"pattern": _mix(text, st.lists(REGEX_BITS | TEXT, min_size=1, max_size=4).map("".join))},
            optional={"regex": st.booleans(), "offset": small},
        ),
        "find_symbol": st.fixed_dictionaries(
            {"name": _mix(st.sampled_from(SYMBOLS), text)}, optional={"offset": small}
        ),
    }
    module_forms = _mix(
        modules, modules.map(lambda m: quote(m, safe="").replace(".", "%2E")), modules.map(lambda m: quote(quote(m)))
    )
    uris = _mix(
        st.sampled_from(facts.pages),
        st.builds(page_uri, st.sampled_from(facts.modules), st.integers(-2, 12)),
        st.builds("codectx://pages/{}/{}".format, module_forms, _mix(small.map(str), TEXT)),
        st.builds(MANIFEST_URI.__add__, st.just("") | TEXT),
        text.map("codectx://".__add__),
    )
    return {name: _with_mistakes(drawn) for name, drawn in tools.items()} | {PAGE_RESOURCE: uris}


# --- running --------------------------------------------------------------------------------------


@dataclass
class Tally:
    cases: int = 0
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)


class FuzzSession:
    """One in-process server and its client, driven from synchronous code (hypothesis) through a portal."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._stack = ExitStack()
        self._crashes = _Crashes()

    def __enter__(self) -> FuzzSession:
        self.portal: BlockingPortal = self._stack.enter_context(start_blocking_portal())
        server = build_server(ServerConfig(self.root, max_tokens=MAX_TOKENS))
        self.client = self._stack.enter_context(self.portal.wrap_async_context_manager(Client(server, cache=None)))
        logging.getLogger().addHandler(self._crashes)
        self._stack.callback(logging.getLogger().removeHandler, self._crashes)
        self.facts = self._facts()  # also calls every tool once: lazy imports happen before any recording
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _facts(self) -> Facts:
        with Store.open(default_store_dir(self.root), create=False) as store:
            generation = store.require_generation("claude").id
            files = [f.path for f in store.files(generation)]
            modules = [m.name for m in store.modules(generation)]
            pages = [page_uri(m.name, number) for m in store.modules(generation) for number in range(1, m.pages + 1)]
        continuations: list[dict[str, Any]] = []
        for arguments in ({"budget": 11_000}, {"budget": 30_000, "query": "decoder"}):
            while len(continuations) < 8:
                result = self.portal.call(self.client.call_tool, "load_context", arguments)
                found = re.search(r"cursor='([^']+)'", _text(result.content))
                if found is None:
                    break
                arguments = {**arguments, "cursor": found.group(1)}
                continuations.append(arguments)
        assert continuations, "load_context handed out no cursor: the fuzzed repository fits one result"
        extra = [".gitignore", "private/keys.py", "alias/decoder.py", "outside_link/secret.py", "leak.py"]
        absolute = [str(self.root / files[0]), str(self.root.parent / "outside" / "secret.py")]
        for name, arguments in (("repo_overview", {}), ("search", {"pattern": "de(f)", "regex": True}),
                                ("find_symbol", {"name": "x"}), ("get_pages", {"module": "?"})):  # fmt: skip
            self.portal.call(self.client.call_tool, name, arguments)
        return Facts(files + extra + absolute, modules, pages, continuations)

    def outcome(self, kind: str, drawn: Any) -> str:
        """'ok', 'error' (a tool error, or a resource not found), or what went wrong."""
        self._crashes.messages.clear()
        with recorded_opens() as opened:
            try:
                found = self._read(drawn) if kind == PAGE_RESOURCE else self._call(kind, drawn)
            except Exception as error:
                found = f"{type(error).__name__} out of the client: {error}"
        if self._crashes.messages:  # first: the crash's traceback may read source files anywhere
            return f"server crash: {self._crashes.messages[0]}"
        leaked = outside(opened, self.root)
        return f"opened outside the root: {leaked[:3]}" if leaked else found

    def _call(self, tool: str, arguments: dict[str, Any]) -> str:
        result = self.portal.call(self.client.call_tool, tool, arguments)
        text = _text(result.content)
        if not result.content:
            return "empty result"
        if NEVER_SERVED in text:
            return f"served a file it must not: {text[:200]!r}"
        if not result.is_error:
            return "ok"
        return "server crash" if text.strip() == f"Error executing tool {tool}" else "error"

    def _read(self, uri: str) -> str:
        try:
            result = self.portal.call(self.client.read_resource, uri)
        except MCPError as error:
            return "error" if error.code == INVALID_PARAMS else f"protocol error {error.code}: {error.message}"
        content = result.contents[0]
        if isinstance(content, BlobResourceContents):
            return "ok" if content.blob.startswith("iVBORw0KGgo") else "not a PNG"  # base64 of the PNG signature
        assert isinstance(content, TextResourceContents)
        return "ok" if json.loads(content.text)["modules"] else "empty manifest"

    def fuzz(self, cases: int, seed_value: int = 0) -> dict[str, Tally]:
        """`cases` in all, shared out evenly over the tools and the page resource; violations are kept, not raised."""
        kinds = strategies(self.facts)
        each = -(-cases // len(kinds))
        return {kind: self._fuzz(kind, drawn, each, seed_value) for kind, drawn in kinds.items()}

    def _fuzz(self, kind: str, drawn: st.SearchStrategy[Any], cases: int, seed_value: int) -> Tally:
        tally = Tally()

        @seed(seed_value)
        @settings(
            max_examples=cases, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(arguments=drawn)
        def case(arguments: Any) -> None:
            started = time.perf_counter()
            found = self.outcome(kind, arguments)
            tally.seconds += time.perf_counter() - started
            tally.cases += 1
            tally.ok += found == "ok"
            tally.errors += found == "error"
            if found not in ("ok", "error"):
                tally.violations.append(f"{kind}({arguments!r}): {found}"[:600])

        case()
        return tally


def forge_cursor(arguments: dict[str, Any], item: str, offset: str) -> dict[str, Any]:
    generation, _, _, seal = arguments["cursor"].split(".")
    return {**arguments, "cursor": f"{generation}.{item}.{offset}.{seal}"}


def _text(content: list[Any]) -> str:
    return "\n".join(block.text for block in content if isinstance(block, TextContent))
