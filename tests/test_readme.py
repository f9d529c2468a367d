"""The README's promises: every target it documents, and every `codectx` command of its examples, run."""

from __future__ import annotations

import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serve_process import free_port

from codectx.cli import build_parser, main
from codectx.model.targets import TARGETS
from codectx.profiles import get_profile

README = Path(__file__).resolve().parent.parent / "README.md"

# Examples that cannot run here, and why.
SKIPPED = {
    "codectx ask ": "puts questions to a hosted model: needs network access and the vendor's API key",
    "codectx encode ": "needs the DeepSeek-OCR-2 weights (several GB, downloaded once online)",
    "codectx decode ": "needs the DeepSeek-OCR-2 weights (several GB, downloaded once online)",
    "--engine deepseek-ocr2": "needs the DeepSeek-OCR-2 weights (several GB, downloaded once online)",
    "--since ": "reads git history, which the sample repository below has none of (tests/test_history.py runs it)",
}
# What the examples' placeholders become: the small repository below, and folders of this test.
REPOSITORY_WORDS = ("/path/to/repo", "path/to/repo", "${workspaceFolder}")
SAMPLE_CAP = "1"  # `fidelity --sample N` reads N pages with tesseract, seconds each: one is enough to run it


def readme_commands() -> list[str]:
    """Every line that starts with `codectx ` inside a ```bash block, in README order."""
    commands, in_bash = [], False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            in_bash = line.strip() == "```bash"
        elif in_bash and line.startswith("codectx "):
            commands.append(line)
    return commands


def skip_reason(command: str) -> str | None:
    return next((reason for marker, reason in SKIPPED.items() if marker in command + " "), None)


def small_repository(root: Path) -> Path:
    """A `json` module (a decoder and an encoder) and HTTP redirect handling: what the examples look for."""
    functions = "".join(f"def helper_{i}(value):\n    return value * {i} + 1\n\n\n" for i in range(60))
    files = {
        "json/__init__.py": '"""A small JSON package."""\nfrom json.decoder import JSONDecoder\n',
        "json/decoder.py": "class JSONDecoder:\n    def decode(self, text):\n        return text\n\n\n" + functions,
        "json/encoder.py": "class JSONEncoder:\n    def encode(self, value):\n        return value\n\n\n" + functions,
        "web/redirects.py": (
            '"""Where HTTP redirects are followed."""\n\n\nclass RedirectHandler:\n'
            "    def redirect_request(self, request, code, headers):\n"
            '        """Follow an HTTP redirect: the new request to send."""\n'
            '        return request.copy(url=headers["Location"])\n'
        ),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def arguments(command: str, repo: Path, scratch: Path, port: int) -> list[str]:
    words = shlex.split(command, comments=True)[1:]
    out = []
    for word in words:
        if word.startswith("/tmp/"):
            word = str(scratch / word.removeprefix("/tmp/"))
        for placeholder in REPOSITORY_WORDS:
            word = word.replace(placeholder, str(repo))
        out.append(word.replace("8765", str(port)))
    if words[0] == "fidelity" and "--sample" in out:
        out[out.index("--sample") + 1] = SAMPLE_CAP
    return out


def run_long(argv: list[str], port: int) -> None:
    """`watch` and `serve` run until stopped: each must start, do its work, and stop on a signal or at EOF."""
    process = subprocess.Popen(
        [sys.executable, "-m", "codectx", *argv],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    try:
        if argv[0] == "watch":
            assert "generation" in process.stdout.readline(), argv
            process.send_signal(signal.SIGTERM)
        elif "--http" in argv:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert process.poll() is None, process.stderr.read()
                time.sleep(0.1)
            else:
                pytest.fail(f"{argv}: nothing listens on port {port}")
            process.send_signal(signal.SIGINT)
        # stdio servers end when their input does: stdin is /dev/null
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert code in (0, 130), (argv, code, process.stderr.read())


def test_readme_examples_are_found() -> None:
    commands = readme_commands()
    assert len(commands) >= 20
    assert {"index", "stats", "modules", "pages", "show", "pack", "query", "search", "watch", "serve"} <= {
        command.split()[1] for command in commands
    }


def test_every_readme_command_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = small_repository(tmp_path / "repo")
    scratch = tmp_path / "out"
    scratch.mkdir()
    port = free_port()
    ran, skipped = [], []
    for command in readme_commands():
        reason = skip_reason(command)
        if reason:
            skipped.append((command, reason))
            continue
        argv = arguments(command, repo, scratch, port)
        if argv[0] in ("watch", "serve"):
            run_long(argv, port)
        else:
            code = main(argv)
            captured = capsys.readouterr()
            assert code == 0, (command, captured.err)
            assert "Traceback" not in captured.err, command
        ran.append(command)
    assert len(ran) >= 18 and {reason for _, reason in skipped} <= set(SKIPPED.values())
    assert (scratch / "json-pages" / "page-001.png").is_file() and (scratch / "pack" / "manifest.json").is_file()


def test_readme_documents_every_target() -> None:
    text = README.read_text()
    section = text.split("\n## Targets\n")[1].split("\n## ")[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| `([\w.-]+)`(?: \(default\))? \| (\d+) x (\d+) \| (\d+) \| (.+) \|$", line)
        if match:
            rows[match.group(1)] = (int(match.group(2)), int(match.group(3)), int(match.group(4)), match.group(5))
    assert set(rows) == set(TARGETS)
    for name, (width, height, tokens, when) in rows.items():
        profile = get_profile(name)
        assert (width, height, tokens) == (profile.layout.page_width, profile.layout.page_height, profile.page_tokens)
        assert len(when) > 20, name
    commands = next(action for action in build_parser()._actions if action.dest == "command")
    index = commands.choices["index"]  # type: ignore[index]
    target_option = next(action for action in index._actions if "--target" in action.option_strings)
    assert set(target_option.choices) == set(TARGETS)  # what `codectx index --help` lists
    for target in re.findall(r"--target ([\w.-]+)|-t ([\w.-]+)", text):
        named = target[0] or target[1]
        assert named in TARGETS or named == "T", named
