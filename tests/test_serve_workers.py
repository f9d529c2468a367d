"""`codectx serve --http --workers N` as real processes: several uvicorn workers over one store, the watcher in a
process of its own publishing while they serve, and every answer from one generation."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp_types import CallToolResult, TextContent
from serve_process import SERVE, free_port, http_serve
from trees import indexed_json_copy

from codectx.mcp_server.processes import GenerationFollower

GENERATION = re.compile(r"\bgeneration (\d+)\b")
pytestmark = pytest.mark.anyio


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_until(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def text_of(result: CallToolResult) -> str:
    assert not result.is_error, result.content
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


def generation_of(text: str) -> int:
    named = set(GENERATION.findall(text))
    assert len(named) == 1, f"not one generation: {sorted(named)} in {text[:300]}"
    return int(named.pop())


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return indexed_json_copy(tmp_path_factory.mktemp("workers") / "repo")


async def test_several_workers_answer_alike(repo: Path) -> None:
    """Concurrent clients of 3 workers get the same answers a direct read gives, each from one generation."""
    expected = (repo / "json" / "decoder.py").read_text().splitlines()[9:30]
    answers: list[tuple[str, str, str]] = []

    async def client(url: str, number: int) -> None:
        async with Client(url) as session:
            for _ in range(6):
                arguments = {"path": "json/decoder.py", "start_line": 10, "end_line": 30}
                source = text_of(await session.call_tool("read_source", arguments))
                found = text_of(await session.call_tool("find_symbol", {"name": "JSONDecoder"}))
                packed = text_of(await session.call_tool("load_context", {"budget": 8000, "query": "decoder"}))
                answers.append((source, found, packed.split("\n", 1)[0]))

    with http_serve(repo, "--workers", "3") as (url, process):
        wait_until(lambda: len(children(process.pid)) >= 3, "3 worker processes")
        workers = children(process.pid)
        async with anyio.create_task_group() as group:
            for number in range(6):
                group.start_soon(client, url, number)
    assert len(answers) == 36 and len(set(answers)) == 1
    source, found, packed = answers[0]
    assert [line.split("\t", 1)[1] for line in source.splitlines()[1:]] == expected
    assert "json/decoder.py:" in found and "class JSONDecoder" in found
    assert {generation_of(source), generation_of(found), generation_of(packed)} == {1}
    wait_until(lambda: not any(alive(pid) for pid in workers), "every worker to stop", timeout=20)


async def test_watcher_process_publishes_while_workers_serve(tmp_path: Path) -> None:
    """Edits land through the watcher's own process; no client ever sees a generation go back."""
    module = tmp_path / "repo" / "pkg" / "mod.py"
    module.parent.mkdir(parents=True)
    module.write_text("VERSION = 0\n")
    seen: dict[int, list[int]] = {}

    async def client(url: str, number: int, last: int) -> None:
        history = seen.setdefault(number, [])
        async with Client(url) as session:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                text = text_of(await session.call_tool("search", {"pattern": "VERSION = "}))
                history.append(generation_of(text))
                if f"VERSION = {last}" in text:
                    return
                await anyio.sleep(0.02)
            raise AssertionError(f"VERSION = {last} never served; last answer: {text}")

    with http_serve(tmp_path / "repo", "--watch", "--workers", "2") as (url, process):
        wait_until(lambda: (tmp_path / "repo" / ".codectx" / "index.sqlite").exists(), "the first index")
        wait_until(lambda: len(children(process.pid)) >= 3, "2 workers and the watcher")
        async with anyio.create_task_group() as group:
            for number in range(4):
                group.start_soon(client, url, number, 5)
            for version in range(1, 6):
                await anyio.sleep(0.3)
                module.write_text(f"VERSION = {version}\n")
    for history in seen.values():
        assert history == sorted(history), history
    assert max(max(history) for history in seen.values()) >= 2


def test_no_process_outlives_a_killed_server(tmp_path: Path) -> None:
    """The watcher and the HTTP workers end with `codectx serve`, even one killed with SIGKILL."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "mod.py").write_text("X = 1\n")
    port = str(free_port())
    command = [*SERVE, str(tmp_path / "repo"), "--watch", "--http", "--workers", "2", "--port", port]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: (tmp_path / "repo" / ".codectx" / "index.sqlite").exists(), "the first index")
        wait_until(lambda: len(children(process.pid)) >= 3, "2 workers and the watcher")
        started = children(process.pid)
    finally:
        process.kill()
        process.communicate(timeout=30)
    wait_until(lambda: not any(alive(pid) for pid in started), "the watcher and workers to end", timeout=20)


def test_follower_prepares_a_generation_once_it_settles() -> None:
    current = {"generation": 1}
    prepared: list[int] = []

    def prepare() -> None:
        prepared.append(current["generation"])

    follower = GenerationFollower(lambda: current["generation"], prepare, interval=0.01, delay=0.2, settle=lambda: None)
    follower.start()
    try:
        wait_until(lambda: prepared == [1], "the start-up preparation", timeout=10)
        for generation in range(2, 8):  # a burst: each current for less than the delay
            current["generation"] = generation
            time.sleep(0.03)
        wait_until(lambda: follower.prepared == 7, "the burst's last generation prepared", timeout=10)
    finally:
        follower.stop()
    assert prepared == [1, 7], prepared


@pytest.mark.parametrize(
    ("options", "message"),
    [(["--http", "--workers", "0"], "--workers must be at least 1"), (["--workers", "2"], "--workers needs --http")],
)
def test_workers_option_mistakes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    from codectx.cli import main

    assert main(["serve", str(tmp_path), *options]) == 2
    assert message in capsys.readouterr().err
