"""Set-up on a fresh machine: `make test` brings the Debian packages (or says how), torch comes as CPU wheels
when their index answers, and CI runs nothing but `make test`."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "system-packages"
PACKAGES = "tesseract-ocr chromium npm"
BASH = shutil.which("bash") or "/bin/bash"


def stub(folder: Path, name: str, body: str = "exit 0") -> None:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


def system_packages(path: Path) -> subprocess.CompletedProcess[str]:
    """The script with nothing on PATH but `path`: only the commands stubbed there exist."""
    return subprocess.run(
        [BASH, str(SCRIPT)], env={"PATH": str(path)}, capture_output=True, text=True, timeout=30, check=False
    )


def test_ci_only_runs_make_test() -> None:
    commands = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert commands[-1] == "make test" and not any("apt-get" in line for line in commands)


def test_make_test_starts_with_the_system_packages() -> None:
    rule = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("test:"))
    assert rule.split(":")[1].split()[0] == "system-packages"
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    dry = subprocess.run(
        ["make", "-n", "system-packages"], cwd=ROOT, capture_output=True, text=True, check=True, env=env
    )
    assert "scripts/system-packages" in dry.stdout


def test_missing_packages_stop_at_once_with_the_command_to_run(tmp_path: Path) -> None:
    started = time.monotonic()
    done = system_packages(tmp_path)  # no tesseract, chromium, npm or apt-get here
    assert done.returncode == 1 and time.monotonic() - started < 10
    sudo = "" if os.geteuid() == 0 else "sudo "
    assert f"    {sudo}apt-get update && {sudo}apt-get install -y {PACKAGES}\n" in done.stderr
    assert "apt-get is not on this system" in done.stderr


def test_root_with_apt_get_installs_what_is_missing(tmp_path: Path) -> None:
    log = tmp_path / "apt.log"
    stub(tmp_path, "apt-get", f'echo "$*" >> {log}')
    stub(tmp_path, "npm")
    done = system_packages(tmp_path)
    if os.geteuid() != 0:  # only root may install: everyone else is told the command
        assert done.returncode == 1 and "sudo apt-get install -y tesseract-ocr chromium\n" in done.stderr
        assert not log.exists()
        return
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == ["update -q", "install -y -q tesseract-ocr chromium"]


def test_nothing_to_do_when_everything_is_there(tmp_path: Path) -> None:
    for name in ("tesseract", "chromium", "npm"):
        stub(tmp_path, name)
    stub(tmp_path, "apt-get", "exit 99")
    done = system_packages(tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A stand-in virtualenv whose pip only writes down how it was called."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    stub(bin_dir, "pip", f'echo "$*" >> {tmp_path / "pip.log"}')
    return tmp_path / "venv"


@pytest.fixture
def index_server(tmp_path: Path) -> Iterator[str]:
    """A local stand-in for the CPU wheel index."""
    (tmp_path / "site" / "whl" / "cpu").mkdir(parents=True)
    (tmp_path / "site" / "whl" / "cpu" / "index.html").write_text("<a href='torch/'>torch</a>\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "site"))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    server.shutdown()


def install_torch(venv: Path, index: str) -> tuple[list[str], float]:
    started = time.monotonic()
    # Under `make test` the outer make's flags and variables would reach this make too: leave them out.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    subprocess.run(
        ["make", "-s", f"VENV={venv}", f"TORCH_INDEX={index}", "TORCH_INDEX_TIMEOUT=2", f"{venv}/.all"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60, env=env,
    )  # fmt: skip
    return (venv.parent / "pip.log").read_text().splitlines(), time.monotonic() - started


def test_torch_comes_from_the_cpu_index_when_it_answers(venv: Path, index_server: str) -> None:
    calls, _ = install_torch(venv, index_server)
    pin = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("TORCH ?="))
    torch = pin.split("?=")[1].strip()
    assert calls == [f"install -q --extra-index-url {index_server} {torch}", "install -q -e .[model,dev]"]


def test_torch_falls_back_to_the_plain_pin_quickly_offline(venv: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/whl/cpu"
    calls, _ = install_torch(venv, closed)
    assert calls[0].startswith("install -q torch==") and "--extra-index-url" not in calls[0]
    (venv / ".all").unlink()
    (venv.parent / "pip.log").unlink()
    calls, seconds = install_torch(venv, "http://10.255.255.1/whl/cpu")  # unroutable: the connect would hang
    assert "--extra-index-url" not in calls[0] and seconds < 2 + 2 + 3


def test_torch_stays_in_the_model_extra() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(requirement.startswith("torch") for requirement in extras["model"])
