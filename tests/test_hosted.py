"""Hosted readers against a local server that speaks the Anthropic, OpenAI and Gemini wire formats.

The official SDKs make real HTTP requests to 127.0.0.1; the server records each one, so the tests
check what would reach the vendor: the key header, the model, the exact PNG bytes and the prompt.
"""

from __future__ import annotations

import base64
import io
import json
import re
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from codectx import hosted
from codectx.cli import main
from codectx.hosted import HostedError, ReaderOptions, answer_tasks, make_reader

KEY_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")
BASE_URL_VARIABLES = ("ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "GOOGLE_GEMINI_BASE_URL")
GEMINI_PATH = re.compile(r"^/(v1|v1beta)/models/([^/:]+):generateContent$")
INSTRUCTIONS = "You see one page of source code. Answer from the picture only."


@dataclass
class Seen:
    """One request as it reached the server, reduced to what the tests check."""

    api: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    model: str
    image: bytes
    prompt: str
    system: str


def _anthropic_parts(body: dict[str, Any]) -> tuple[bytes, str, str]:
    content = body["messages"][0]["content"]
    image = next(block for block in content if block["type"] == "image")
    assert image["source"]["type"] == "base64" and image["source"]["media_type"] == "image/png"
    text = "".join(block["text"] for block in content if block["type"] == "text")
    system = body.get("system", "")
    if isinstance(system, list):
        system = "".join(block["text"] for block in system)
    return base64.b64decode(image["source"]["data"], validate=True), text, system


def _openai_parts(body: dict[str, Any]) -> tuple[bytes, str, str]:
    system = "".join(m["content"] for m in body["messages"] if m["role"] in ("system", "developer"))
    user = next(m for m in body["messages"] if m["role"] == "user")["content"]
    image = next(part for part in user if part["type"] == "image_url")["image_url"]
    assert image["detail"] == "high"
    prefix = "data:image/png;base64,"
    assert image["url"].startswith(prefix)
    text = "".join(part["text"] for part in user if part["type"] == "text")
    return base64.b64decode(image["url"][len(prefix) :], validate=True), text, system


def _gemini_parts(body: dict[str, Any]) -> tuple[bytes, str, str]:
    parts = [part for content in body["contents"] for part in content["parts"]]
    inline = next(part["inlineData"] for part in parts if "inlineData" in part)
    assert inline.get("mimeType", inline.get("mime_type")) == "image/png"  # protobuf JSON accepts either
    text = "".join(part.get("text", "") for part in parts)
    system = "".join(part.get("text", "") for part in body.get("systemInstruction", {}).get("parts", []))
    return _proto_bytes(inline["data"]), text, system


def _proto_bytes(data: str) -> bytes:
    """Base64 as protobuf's JSON parser reads it: standard or URL-safe alphabet, padding optional."""
    return base64.b64decode(data.replace("-", "+").replace("_", "/") + "=" * (-len(data) % 4), validate=True)


def _error_body(api: str, status: int, message: str) -> dict[str, Any]:
    if api == "anthropic":
        kinds = {401: "authentication_error", 429: "rate_limit_error", 500: "api_error"}
        return {"type": "error", "error": {"type": kinds.get(status, "invalid_request_error"), "message": message}}
    if api == "openai":
        return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    states = {401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL"}
    return {"error": {"code": status, "message": message, "status": states.get(status, "INVALID_ARGUMENT")}}


def _success_body(api: str, model: str, text: str, usage: tuple[int, int]) -> dict[str, Any]:
    tokens_in, tokens_out = usage
    if api == "anthropic":
        return {
            "id": "msg_test", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        }  # fmt: skip
    if api == "openai":
        return {
            "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000, "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text, "refusal": None}}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out},
        }  # fmt: skip
    return {
        "candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": tokens_in, "candidatesTokenCount": tokens_out,
                          "totalTokenCount": tokens_in + tokens_out},
        "modelVersion": model,
    }  # fmt: skip


@dataclass
class WireServer:
    """A local HTTP server speaking the three APIs; `fail_with` makes every request fail with that status."""

    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    fail_with: int | None = None
    reply: Callable[[Seen], str] = lambda seen: f"echo: {seen.prompt}"
    usage: tuple[int, int] = (1600, 12)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        body = json.loads(raw)
        gemini = GEMINI_PATH.match(path)
        if path == "/v1/messages":
            api, model, (image, prompt, system) = "anthropic", body["model"], _anthropic_parts(body)
        elif path == "/v1/chat/completions":
            api, model, (image, prompt, system) = "openai", body["model"], _openai_parts(body)
        elif gemini is not None:
            api, model, (image, prompt, system) = "google", gemini.group(2), _gemini_parts(body)
        else:
            return 404, {"error": {"message": f"no route {path}"}}
        seen = Seen(api, path, headers, body, model, image, prompt, system)
        self.seen.append(seen)
        if self.fail_with is not None:
            return self.fail_with, _error_body(api, self.fail_with, f"test failure {self.fail_with}")
        return 200, _success_body(api, model, self.reply(seen), self.usage)


@pytest.fixture
def server() -> Iterator[WireServer]:
    wire = WireServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, payload = wire.handle(self.path, headers, raw)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    wire.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield wire
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, server: WireServer) -> WireServer:
    """Keys and base URLs of all three providers pointed at the local server, as a user would set them."""
    for name in (*KEY_VARIABLES, *BASE_URL_VARIABLES, "ANTHROPIC_PROFILE", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test-key")
    monkeypatch.setenv("GEMINI_API_KEY", "gemini-test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
    return server


def _png(seed: int, size: tuple[int, int] = (96, 64)) -> bytes:
    """A small noisy PNG: any re-encoding or resizing on the way would change its bytes."""
    image = Image.effect_noise(size, 40 + seed).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


@pytest.fixture
def tasks_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tasks"
    (folder / "pages").mkdir(parents=True)
    for page in (1, 2):
        (folder / "pages" / f"page-00{page}.png").write_bytes(_png(page))
    tasks = [
        {
            "id": "t001",
            "image": "pages/page-001.png",
            "kind": "transcribe",
            "question": "Transcribe the first 3 lines.",
        },
        {"id": "t002", "image": "pages/page-001.png", "kind": "line", "question": "Which line defines `load`?"},
        {"id": "t003", "image": "pages/page-002.png", "kind": "value", "question": "What is MAX_DEPTH set to?"},
    ]
    manifest = {"version": 1, "target": "claude", "layout": "test", "page_tokens": 12, "instructions": INSTRUCTIONS,
                "tasks": tasks}  # fmt: skip
    (folder / "tasks.json").write_text(json.dumps(manifest))
    return folder


FAST = ReaderOptions(max_retries=0, timeout=10.0)
KEYS = {"anthropic": "sk-ant-test-key", "openai": "sk-openai-test-key", "google": "gemini-test-key"}


def _key_sent(provider: str, headers: dict[str, str]) -> bool:
    key = KEYS[provider]
    if provider == "google":
        return headers.get("x-goog-api-key") == key
    return headers.get("x-api-key") == key or headers.get("authorization") == f"Bearer {key}"


@pytest.mark.parametrize(
    ("spec", "provider", "model"),
    [
        ("anthropic", "anthropic", "claude-sonnet-4-6"),
        ("anthropic:claude-opus-4-1", "anthropic", "claude-opus-4-1"),
        ("openai:gpt-4.1", "openai", "gpt-4.1"),
        ("google", "google", "gemini-2.5-pro"),
    ],
)
def test_answer_tasks_sends_exact_pages_and_records_usage(
    environment: WireServer, tasks_dir: Path, tmp_path: Path, spec: str, provider: str, model: str
) -> None:
    reader = make_reader(spec, FAST)
    assert (reader.provider, reader.model) == (provider, model)
    out = tmp_path / "answers"
    run = answer_tasks(tasks_dir, out, reader)

    tasks = json.loads((tasks_dir / "tasks.json").read_text())["tasks"]
    assert len(environment.seen) == len(tasks)
    for seen, task in zip(environment.seen, tasks, strict=True):
        assert seen.api == provider
        assert _key_sent(provider, seen.headers), seen.headers
        assert seen.model == model
        assert seen.image == (tasks_dir / task["image"]).read_bytes()  # base64-identical to the file on disk
        assert task["question"] in seen.prompt
        assert seen.system == INSTRUCTIONS
    if provider == "anthropic":
        assert environment.seen[0].headers.get("anthropic-version")
        assert environment.seen[0].body["max_tokens"] == hosted.DEFAULT_MAX_OUTPUT_TOKENS
        image_block = environment.seen[0].body["messages"][0]["content"][0]
        assert image_block["transformations"] == {"oversized_image": "error"}  # never silently downsized

    answers = json.loads((out / "answers.json").read_text())
    assert answers == {task["id"]: f"echo: {task['question']}" for task in tasks}
    usage = json.loads((out / "usage.json").read_text())
    assert usage["reader"] == f"{provider}:{model}"
    assert [call["tasks"] for call in usage["calls"]] == [[task["id"]] for task in tasks]
    assert all(call["input_tokens"] == 1600 and call["output_tokens"] == 12 for call in usage["calls"])
    assert all(call["model"] == model for call in usage["calls"])
    assert usage["totals"] == {"calls": 3, "answers": 3, "input_tokens": 4800, "output_tokens": 36}
    assert (run.input_tokens, run.output_tokens) == (4800, 36)


def test_gemini_base_url_from_options(server: WireServer, tasks_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_GEMINI_BASE_URL", raising=False)
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
    options = ReaderOptions(api_key="explicit-key", base_url=server.url, max_retries=0, timeout=10.0)
    reply = make_reader("google:gemini-2.5-flash", options).ask(b"\x89PNG\r\n\x1a\nnot really", "Read it.")
    assert reply.text == "echo: Read it." and reply.model == "gemini-2.5-flash"
    assert (reply.input_tokens, reply.output_tokens) == (1600, 12)
    assert server.seen[0].headers["x-goog-api-key"] == "explicit-key"
    assert server.seen[0].image == b"\x89PNG\r\n\x1a\nnot really"


def test_interrupted_run_keeps_answers_and_resumes(environment: WireServer, tasks_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "answers"
    reader = make_reader("openai", FAST)
    calls = 0

    def reply(seen: Seen) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            environment.fail_with = 500
        return "first"

    environment.reply = reply
    with pytest.raises(HostedError) as failure:
        answer_tasks(tasks_dir, out, reader)
    message = str(failure.value)
    assert "task t003" in message and "500" in message and "2 answers so far" in message
    assert "\n" not in message
    assert json.loads((out / "answers.json").read_text()) == {"t001": "first", "t002": "first"}

    environment.fail_with = None
    environment.reply = lambda seen: "second"
    run = answer_tasks(tasks_dir, out, reader)
    assert run.skipped == 2
    assert json.loads((out / "answers.json").read_text()) == {"t001": "first", "t002": "first", "t003": "second"}
    assert json.loads((out / "usage.json").read_text())["totals"]["calls"] == 3

    with pytest.raises(HostedError, match=re.escape("answers by openai:gpt-4.1, not anthropic")):
        answer_tasks(tasks_dir, out, make_reader("anthropic", FAST))


def test_one_call_per_page(environment: WireServer, tasks_dir: Path, tmp_path: Path) -> None:
    def reply(seen: Seen) -> str:
        ids = re.findall(r"\[(t\d+)\]", seen.prompt)
        if not ids:
            return f"alone: {seen.prompt}"
        return "```json\n" + json.dumps({task_id: f"answer {task_id}" for task_id in ids[:1]}) + "\n```"

    environment.reply = reply
    out = tmp_path / "answers"
    answer_tasks(tasks_dir, out, make_reader("anthropic", FAST), one_call_per_task=False)
    answers = json.loads((out / "answers.json").read_text())
    # page 1: one call for t001 and t002, whose reply leaves t002 out, which is then asked on its own
    assert answers == {"t001": "answer t001", "t002": "alone: Which line defines `load`?",
                       "t003": "alone: What is MAX_DEPTH set to?"}  # fmt: skip
    calls = json.loads((out / "usage.json").read_text())["calls"]
    assert [call["tasks"] for call in calls] == [["t001", "t002"], ["t002"], ["t003"]]
    assert "Which line defines `load`?" in environment.seen[0].prompt


@pytest.mark.parametrize("provider", ["anthropic", "openai", "google"])
@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, "rejected the API key (401)"), (429, "rate limit or quota reached (429)"), (500, "server error (500)")],
)
def test_api_errors_are_one_line(
    environment: WireServer, tasks_dir: Path, tmp_path: Path, provider: str, status: int, expected: str
) -> None:
    environment.fail_with = status
    with pytest.raises(HostedError) as failure:
        answer_tasks(tasks_dir, tmp_path / "answers", make_reader(provider, FAST))
    message = str(failure.value)
    assert message.startswith(f"task t001: {provider} {expected}")
    assert f"test failure {status}" in message and "\n" not in message
    assert len(environment.seen) == 1  # no retries with max_retries=0
    if status == 401:
        assert hosted.KEY_VARIABLES[provider][0] in message


def test_retries_follow_max_retries(environment: WireServer, tmp_path: Path) -> None:
    environment.fail_with = 500
    options = ReaderOptions(max_retries=1, timeout=10.0)
    with pytest.raises(HostedError, match=r"after 2 attempts"):
        make_reader("google", options).ask(_png(0), "Read it.")
    assert len(environment.seen) == 2


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("provider", ["anthropic", "openai", "google"])
def test_connection_refused(environment: WireServer, monkeypatch: pytest.MonkeyPatch, provider: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    options = ReaderOptions(base_url=url + ("/v1" if provider == "openai" else ""), max_retries=0, timeout=5.0)
    with pytest.raises(HostedError) as failure:
        make_reader(provider, options).ask(_png(0), "Read it.")
    message = str(failure.value)
    assert message.startswith(f"cannot reach {provider} at {url}")
    assert hosted.BASE_URL_VARIABLES[provider] in message and "\n" not in message


@pytest.mark.parametrize("provider", ["anthropic", "openai", "google"])
def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch, provider: str) -> None:
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(HostedError) as failure:
        make_reader(provider)
    assert str(failure.value) == f"no API key for {provider}: set {' or '.join(hosted.KEY_VARIABLES[provider])}"


@pytest.mark.parametrize(("provider", "module"), [("anthropic", "anthropic"), ("openai", "openai"),
                                                  ("google", "google.genai")])  # fmt: skip
def test_missing_sdk_says_what_to_install(monkeypatch: pytest.MonkeyPatch, provider: str, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    monkeypatch.setenv(hosted.KEY_VARIABLES[provider][0], "key")
    with pytest.raises(HostedError, match=re.escape("pip install 'codectx[readers]'")):
        make_reader(provider)


def test_reader_spec() -> None:
    assert hosted.parse_reader_spec("openai") == ("openai", "gpt-4.1")
    assert hosted.parse_reader_spec("Google:gemini-2.5-flash") == ("google", "gemini-2.5-flash")
    with pytest.raises(HostedError, match="unknown reader 'mistral'"):
        hosted.parse_reader_spec("mistral")


def test_task_folder_is_checked(tmp_path: Path, tasks_dir: Path) -> None:
    with pytest.raises(HostedError, match="does not exist"):
        hosted.load_tasks(tmp_path / "nowhere")
    manifest = json.loads((tasks_dir / "tasks.json").read_text())
    manifest["tasks"][0]["image"] = "../outside.png"
    (tasks_dir / "tasks.json").write_text(json.dumps(manifest))
    with pytest.raises(HostedError, match="not inside"):
        hosted.load_tasks(tasks_dir)
    manifest["tasks"][0]["image"] = "tasks.json"
    (tasks_dir / "tasks.json").write_text(json.dumps(manifest))
    with pytest.raises(HostedError, match="not a PNG"):
        hosted.load_tasks(tasks_dir)


def test_cli_ask(environment: WireServer, tasks_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "answers"
    status = main(["ask", str(tasks_dir), "--reader", "google:gemini-2.5-flash", "--out", str(out), "--max-retries",
                   "0", "--json"])  # fmt: skip
    assert status == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reader"] == "google:gemini-2.5-flash" and summary["answers"] == 3
    assert summary["input_tokens"] == 4800 and summary["output_tokens"] == 36
    assert set(json.loads((out / "answers.json").read_text())) == {"t001", "t002", "t003"}


def test_cli_ask_errors(
    environment: WireServer, tasks_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.delenv("OPENAI_API_KEY")
    assert main(["ask", str(tasks_dir), "--reader", "openai", "--out", str(tmp_path / "a")]) == 2
    assert capsys.readouterr().err == "codectx: error: no API key for openai: set OPENAI_API_KEY\n"
    environment.fail_with = 401
    assert (
        main(["ask", str(tasks_dir), "--reader", "anthropic", "--out", str(tmp_path / "b"), "--max-retries", "0"]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("codectx: error: task t001: anthropic rejected the API key (401)")
    assert err.count("\n") == 1 and "Traceback" not in err
