"""Ask a hosted multimodal model about page images, through each vendor's official Python SDK.

A reader sends one page, exactly as codectx stored it (the PNG bytes, never resized or re-encoded,
as `load_context` sends it), with a prompt, and returns the reply with the token usage the API
reported. `answer_tasks` runs a reader over a reading-task folder:

    TASKS_DIR/tasks.json    {"version": 1, "instructions": "...",
                             "tasks": [{"id": "t001", "image": "pages/page-001.png", "question": "..."}]}
    ANSWERS_DIR/answers.json  {"t001": "answer text", ...}, rewritten after every answer
    ANSWERS_DIR/usage.json    every call's input and output tokens, and the totals

The SDKs (`pip install 'codectx[readers]'`) are imported only when a reader is made. Keys come from
ANTHROPIC_API_KEY, OPENAI_API_KEY and GEMINI_API_KEY (or GOOGLE_API_KEY); base URLs from
ANTHROPIC_BASE_URL, OPENAI_BASE_URL and GOOGLE_GEMINI_BASE_URL, read by the SDKs themselves.
Every failure a user can act on is a `HostedError` with a one-line message.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from codectx.jsonfiles import read_json, write_json

if TYPE_CHECKING:
    import anthropic
    import openai
    from google import genai

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INSTALL_HINT = "pip install 'codectx[readers]'"
DEFAULT_MODELS = {"anthropic": "claude-sonnet-4-6", "openai": "gpt-4.1", "google": "gemini-2.5-pro"}
KEY_VARIABLES = {"anthropic": ("ANTHROPIC_API_KEY",), "openai": ("OPENAI_API_KEY",),
                 "google": ("GEMINI_API_KEY", "GOOGLE_API_KEY")}  # fmt: skip
BASE_URL_VARIABLES = {
    "anthropic": "ANTHROPIC_BASE_URL",
    "openai": "OPENAI_BASE_URL",
    "google": "GOOGLE_GEMINI_BASE_URL",
}
SDK_MODULES = {"anthropic": "anthropic", "openai": "openai", "google": "google.genai"}
DEFAULT_MAX_OUTPUT_TOKENS = 16384  # a full transcription of a dense page, plus a thinking model's reasoning
DEFAULT_MAX_RETRIES = 2
DEFAULT_TIMEOUT = 600.0


class HostedError(Exception):
    """A failure the user can act on: its message is one line that says what happened and what to do."""


@dataclass(frozen=True, slots=True)
class ReaderReply:
    """One answer and the usage the API reported for it (output tokens include any reasoning tokens)."""

    text: str
    input_tokens: int
    output_tokens: int
    model: str


class HostedReader(Protocol):
    """A hosted multimodal model that answers a prompt about one PNG page."""

    provider: str
    model: str

    def ask(self, image_png: bytes, prompt: str, *, system: str = "") -> ReaderReply: ...


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    """Settings shared by every reader; `None` base URL and key mean the usual environment variables."""

    api_key: str | None = None
    base_url: str | None = None
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    max_retries: int = DEFAULT_MAX_RETRIES
    timeout: float = DEFAULT_TIMEOUT


def parse_reader_spec(spec: str) -> tuple[str, str]:
    """`PROVIDER[:MODEL]` -> (provider, model); the provider's default model when none is given."""
    provider, _, model = spec.strip().partition(":")
    provider = provider.lower()
    if provider not in DEFAULT_MODELS:
        raise HostedError(f"unknown reader {spec!r}: use one of {', '.join(DEFAULT_MODELS)}, optionally with :MODEL")
    return provider, model.strip() or DEFAULT_MODELS[provider]


def make_reader(spec: str, options: ReaderOptions | None = None) -> HostedReader:
    """The reader that `spec` (`anthropic:claude-sonnet-4-5`, `openai`, `google:gemini-2.5-pro`, ...) names."""
    provider, model = parse_reader_spec(spec)
    options = options or ReaderOptions()
    _require_sdk(provider)
    api_key = options.api_key or _key_from_environment(provider)
    if provider == "anthropic":
        return AnthropicReader(model, api_key, options)
    if provider == "openai":
        return OpenAIReader(model, api_key, options)
    return GoogleReader(model, api_key, options)


def _require_sdk(provider: str) -> None:
    import importlib

    try:
        importlib.import_module(SDK_MODULES[provider])
    except ImportError:
        raise HostedError(f"the {SDK_MODULES[provider]} SDK is not installed: {INSTALL_HINT}") from None


def _key_from_environment(provider: str) -> str:
    for variable in KEY_VARIABLES[provider]:
        value = os.environ.get(variable, "").strip()
        if value:
            return value
    names = " or ".join(KEY_VARIABLES[provider])
    raise HostedError(f"no API key for {provider}: set {names}")


def _one_line(text: object, limit: int = 240) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _body_message(body: object) -> str:
    """The `message` of an API error body (`{"error": {"message": ...}}` or `{"message": ...}`), if any."""
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if body.get("message"):
            return str(body["message"])
    return ""


def status_message(provider: str, model: str, status: int, detail: str, retries: int) -> str:
    """One line for an HTTP error status from a provider: what happened and what to do."""
    said = f": {_one_line(detail)}" if detail else ""
    keys = " or ".join(KEY_VARIABLES[provider])
    tried = f" after {retries + 1} attempts" if retries else ""
    if status == 401:
        return f"{provider} rejected the API key (401){said}; check {keys}"
    if status == 403:
        return f"{provider} refused access (403){said}; check that the key may use {model}"
    if status == 404:
        return f"{provider} does not know model {model!r} (404){said}; pass another with --reader {provider}:MODEL"
    if status == 429:
        return f"{provider} rate limit or quota reached (429){tried}{said}; wait a minute and run again"
    if status >= 500:
        return f"{provider} server error ({status}){tried}{said}; try again later"
    return f"{provider} refused the request ({status}){said}"


def connection_message(provider: str, base_url: str, detail: str) -> str:
    said = f" ({_one_line(detail, 120)})" if detail else ""
    where = f" at {base_url}" if base_url else ""
    return f"cannot reach {provider}{where}{said}; check the network connection or {BASE_URL_VARIABLES[provider]}"


class AnthropicReader:
    """Claude through the Messages API: one base64 PNG image block, then the prompt."""

    provider = "anthropic"

    def __init__(self, model: str, api_key: str, options: ReaderOptions) -> None:
        import anthropic

        self.model = model
        self.options = options
        self._client: anthropic.Anthropic = anthropic.Anthropic(
            api_key=api_key, base_url=options.base_url, max_retries=options.max_retries, timeout=options.timeout
        )

    def ask(self, image_png: bytes, prompt: str, *, system: str = "") -> ReaderReply:
        import anthropic

        image: anthropic.types.ImageBlockParam = {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": "image/png",
                "data": base64.b64encode(image_png).decode("ascii"),
            },
            # Reject, never silently shrink, a page larger than the model reads: the page is what is measured.
            "transformations": {"oversized_image": "error"},
        }
        text: anthropic.types.TextBlockParam = {"type": "text", "text": prompt}
        try:
            message = self._client.messages.create(
                model=self.model,
                max_tokens=self.options.max_output_tokens,
                system=system or anthropic.omit,
                messages=[{"role": "user", "content": [image, text]}],
            )
        except anthropic.APIStatusError as error:
            detail = error.api_message or _body_message(error.body)
            raise HostedError(
                status_message(self.provider, self.model, error.status_code, detail, self.options.max_retries)
            ) from None
        except anthropic.APIConnectionError as error:
            raise HostedError(connection_message(self.provider, str(self._client.base_url), str(error))) from None
        answer = "".join(block.text for block in message.content if block.type == "text")
        usage = message.usage
        input_tokens = (
            usage.input_tokens + (usage.cache_creation_input_tokens or 0) + (usage.cache_read_input_tokens or 0)
        )
        return ReaderReply(answer, input_tokens, usage.output_tokens, str(message.model))


class OpenAIReader:
    """GPT through Chat Completions: the page as a `data:image/png;base64` URL at detail "high"."""

    provider = "openai"

    def __init__(self, model: str, api_key: str, options: ReaderOptions) -> None:
        import openai

        self.model = model
        self.options = options
        self._client: openai.OpenAI = openai.OpenAI(
            api_key=api_key, base_url=options.base_url, max_retries=options.max_retries, timeout=options.timeout
        )

    def ask(self, image_png: bytes, prompt: str, *, system: str = "") -> ReaderReply:
        import openai
        from openai.types.chat import ChatCompletionMessageParam

        url = "data:image/png;base64," + base64.b64encode(image_png).decode("ascii")
        messages: list[ChatCompletionMessageParam] = []
        if system:
            messages.append({"role": "system", "content": system})
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": url, "detail": "high"}},
                    {"type": "text", "text": prompt},
                ],
            }
        )
        try:
            completion = self._client.chat.completions.create(
                model=self.model, messages=messages, max_completion_tokens=self.options.max_output_tokens
            )
        except openai.APIStatusError as error:
            detail = _body_message(error.body) or _body_message({"error": error.body})
            raise HostedError(
                status_message(self.provider, self.model, error.status_code, detail, self.options.max_retries)
            ) from None
        except openai.APIConnectionError as error:
            raise HostedError(connection_message(self.provider, str(self._client.base_url), str(error))) from None
        answer = (completion.choices[0].message.content or "") if completion.choices else ""
        usage = completion.usage
        if usage is None:
            return ReaderReply(answer, 0, 0, completion.model)
        return ReaderReply(answer, usage.prompt_tokens, usage.completion_tokens, completion.model)


def _is_transport_error(error: BaseException) -> bool:
    """httpx / httpx2 network failures (connection refused, timeouts), whichever one the SDK uses."""
    return isinstance(error, OSError) or any(
        cls.__name__ in ("TransportError", "RequestError") for cls in type(error).__mro__
    )


class GoogleReader:
    """Gemini through `google.genai`: generate_content with the page as inline PNG bytes, then the prompt."""

    provider = "google"

    def __init__(self, model: str, api_key: str, options: ReaderOptions) -> None:
        from google import genai
        from google.genai import types

        self.model = model
        self.options = options
        self.base_url = options.base_url or os.environ.get(BASE_URL_VARIABLES["google"], "")
        http_options = types.HttpOptions(
            base_url=self.base_url or None,
            timeout=int(options.timeout * 1000),  # milliseconds
            # One attempt plus `max_retries` on 408, 429 and 5xx, as the other SDKs do.
            retry_options=types.HttpRetryOptions(attempts=options.max_retries + 1),
        )
        self._client: genai.Client = genai.Client(api_key=api_key, vertexai=False, http_options=http_options)

    def ask(self, image_png: bytes, prompt: str, *, system: str = "") -> ReaderReply:
        from google.genai import errors, types

        config = types.GenerateContentConfig(
            max_output_tokens=self.options.max_output_tokens, system_instruction=system or None
        )
        parts = [types.Part.from_bytes(data=image_png, mime_type="image/png"), types.Part.from_text(text=prompt)]
        contents = [types.Content(role="user", parts=parts)]
        try:
            response = self._client.models.generate_content(model=self.model, contents=contents, config=config)
        except errors.APIError as error:
            detail = error.message or _body_message(error.details)
            raise HostedError(
                status_message(self.provider, self.model, error.code, detail, self.options.max_retries)
            ) from None
        except Exception as error:
            if not _is_transport_error(error):
                raise
            base_url = self.base_url or "https://generativelanguage.googleapis.com"
            raise HostedError(connection_message(self.provider, base_url, str(error))) from None
        usage = response.usage_metadata
        input_tokens = (usage.prompt_token_count or 0) if usage else 0
        output_tokens = ((usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)) if usage else 0
        return ReaderReply(_gemini_text(response), input_tokens, output_tokens, response.model_version or self.model)


def _gemini_text(response: genai.types.GenerateContentResponse) -> str:
    """The answer's text parts, without thought summaries; empty when the answer was blocked."""
    if not response.candidates:
        return ""
    content = response.candidates[0].content
    if content is None or not content.parts:
        return ""
    return "".join(part.text for part in content.parts if part.text and not part.thought)


# --- reading tasks --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadingTask:
    id: str
    image: str
    question: str
    kind: str = ""


@dataclass(frozen=True, slots=True)
class TaskSet:
    directory: Path
    instructions: str
    tasks: tuple[ReadingTask, ...]
    target: str = ""

    def image_bytes(self, task: ReadingTask) -> bytes:
        return (self.directory / task.image).read_bytes()


def load_tasks(tasks_dir: Path) -> TaskSet:
    """Read and check TASKS_DIR/tasks.json: version 1, unique ids, PNG images inside the folder."""
    manifest = tasks_dir / "tasks.json"
    data = read_json(manifest, HostedError, "pass a folder that holds tasks.json")
    if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(data.get("tasks"), list):
        raise HostedError(f"{manifest} is not a version 1 task list (expected 'version': 1 and a 'tasks' list)")
    root = tasks_dir.resolve()
    tasks: list[ReadingTask] = []
    seen: set[str] = set()
    for number, raw in enumerate(data["tasks"], start=1):
        if not isinstance(raw, dict) or not all(isinstance(raw.get(key), str) for key in ("id", "image", "question")):
            raise HostedError(f"{manifest}: task {number} needs string 'id', 'image' and 'question'")
        task = ReadingTask(raw["id"], raw["image"], raw["question"], str(raw.get("kind", "")))
        if task.id in seen:
            raise HostedError(f"{manifest}: task id {task.id!r} appears twice")
        seen.add(task.id)
        image = (root / task.image).resolve()
        if Path(task.image).is_absolute() or not image.is_relative_to(root):
            raise HostedError(f"{manifest}: task {task.id} image {task.image!r} is not inside {tasks_dir}")
        try:
            with image.open("rb") as handle:
                signature = handle.read(len(PNG_SIGNATURE))
        except OSError:
            raise HostedError(f"{manifest}: task {task.id} image {task.image} cannot be read") from None
        if signature != PNG_SIGNATURE:
            raise HostedError(f"{manifest}: task {task.id} image {task.image} is not a PNG file")
        tasks.append(task)
    instructions = data.get("instructions", "")
    return TaskSet(
        root, instructions if isinstance(instructions, str) else "", tuple(tasks), str(data.get("target", ""))
    )


@dataclass(frozen=True, slots=True)
class CallUsage:
    """One API call of a run: the tasks it answered and the tokens the API reported."""

    tasks: tuple[str, ...]
    image: str
    model: str
    input_tokens: int
    output_tokens: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "tasks": list(self.tasks), "image": self.image, "model": self.model, "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens, "seconds": self.seconds,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallUsage:
        return cls(
            tuple(map(str, data.get("tasks", ()))), str(data.get("image", "")), str(data.get("model", "")),
            int(data.get("input_tokens", 0)), int(data.get("output_tokens", 0)), float(data.get("seconds", 0)),
        )  # fmt: skip


@dataclass(slots=True)
class AnswerRun:
    """What `answer_tasks` did: answers by task id and one usage record per API call."""

    answers_dir: Path
    reader: str
    answers: dict[str, str] = field(default_factory=dict)
    calls: list[CallUsage] = field(default_factory=list)
    skipped: int = 0  # tasks already answered by an earlier, interrupted run

    @property
    def input_tokens(self) -> int:
        return sum(call.input_tokens for call in self.calls)

    @property
    def output_tokens(self) -> int:
        return sum(call.output_tokens for call in self.calls)

    def usage_json(self) -> dict[str, Any]:
        return {
            "reader": self.reader,
            "calls": [call.as_json() for call in self.calls],
            "totals": {"calls": len(self.calls), "answers": len(self.answers), "input_tokens": self.input_tokens,
                       "output_tokens": self.output_tokens},
        }  # fmt: skip


def reader_name(reader: HostedReader) -> str:
    return f"{reader.provider}:{reader.model}"


def _resume(answers_dir: Path, reader: str) -> AnswerRun:
    """An earlier run's answers and usage in `answers_dir`, when it used the same reader."""
    run = AnswerRun(answers_dir, reader)
    answers_path, usage_path = answers_dir / "answers.json", answers_dir / "usage.json"
    if not answers_path.exists():
        return run
    try:
        answers = json.loads(answers_path.read_text(encoding="utf-8"))
        usage = json.loads(usage_path.read_text(encoding="utf-8")) if usage_path.exists() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HostedError(f"{answers_dir} holds unreadable answers ({_one_line(error)}): pass another --out") from None
    if not isinstance(answers, dict) or not isinstance(usage, dict):
        raise HostedError(f"{answers_dir} holds answers in another format: pass another --out")
    earlier = usage.get("reader")
    if earlier and earlier != reader:
        raise HostedError(f"{answers_dir} holds answers by {earlier}, not {reader}: pass another --out")
    run.answers = {str(key): str(value) for key, value in answers.items()}
    try:
        run.calls = [CallUsage.from_json(call) for call in usage.get("calls", []) if isinstance(call, dict)]
    except (TypeError, ValueError):
        raise HostedError(f"{answers_dir}/usage.json is not in the expected format: pass another --out") from None
    return run


def per_page_prompt(tasks: Sequence[ReadingTask]) -> str:
    """All of one page's questions in one prompt, answered as one JSON object keyed by task id."""
    lines = ["Answer each question below about this page. Reply with one JSON object only, mapping each",
             "question's id to its answer as a string, e.g. {\"" + tasks[0].id + "\": \"...\"}.", ""]  # fmt: skip
    lines += [f"[{task.id}] {task.question}" for task in tasks]
    return "\n".join(lines)


def parse_per_page_reply(text: str, ids: Sequence[str]) -> dict[str, str]:
    """The answers found in a per-page reply (a JSON object, possibly in a code fence); others are missing."""
    match = re.search(r"\{.*\}", text, flags=re.DOTALL)
    if match is None:
        return {}
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in data.items() if key in ids}


def answer_tasks(
    tasks_dir: Path | str,
    answers_dir: Path | str,
    reader: HostedReader,
    *,
    one_call_per_task: bool = True,
    on_call: Callable[[CallUsage], None] | None = None,
) -> AnswerRun:
    """Ask `reader` every task of `tasks_dir`; write answers.json and usage.json after every call.

    Tasks already answered in `answers_dir` by the same reader are kept and not asked again, so an
    interrupted run resumes. With `one_call_per_task=False`, the questions about one image go in one
    call (the page is sent, and paid for, once); a question that the reply leaves unanswered is then
    asked on its own. A `HostedError` names the task it stopped at; the answers so far stay written.
    """
    task_set = load_tasks(Path(tasks_dir))
    out = Path(answers_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = _resume(out, reader_name(reader))
    pending = [task for task in task_set.tasks if task.id not in run.answers]
    run.skipped = len(task_set.tasks) - len(pending)

    def call(tasks: Sequence[ReadingTask], prompt: str) -> ReaderReply:
        started = time.perf_counter()
        try:
            reply = reader.ask(task_set.image_bytes(tasks[0]), prompt, system=task_set.instructions)
        except HostedError as error:
            kept = f"; {len(run.answers)} answers so far are in {out / 'answers.json'}" if run.answers else ""
            raise HostedError(f"task {tasks[0].id}: {error}{kept}") from None
        record = CallUsage(
            tuple(task.id for task in tasks),
            tasks[0].image,
            reply.model,
            reply.input_tokens,
            reply.output_tokens,
            round(time.perf_counter() - started, 3),
        )
        run.calls.append(record)
        return reply

    def save(record_answers: dict[str, str]) -> None:
        run.answers.update(record_answers)
        write_json(out / "answers.json", run.answers)
        write_json(out / "usage.json", run.usage_json())
        if on_call is not None:
            on_call(run.calls[-1])

    if one_call_per_task:
        for task in pending:
            save({task.id: call([task], task.question).text.strip()})
        return run
    by_image: dict[str, list[ReadingTask]] = {}
    for task in pending:
        by_image.setdefault(task.image, []).append(task)
    for group in by_image.values():
        if len(group) == 1:
            save({group[0].id: call(group, group[0].question).text.strip()})
            continue
        found = parse_per_page_reply(call(group, per_page_prompt(group)).text, [task.id for task in group])
        save({task_id: text.strip() for task_id, text in found.items()})
        for task in group:
            if task.id not in found:
                save({task.id: call([task], task.question).text.strip()})
    return run
