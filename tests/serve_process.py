"""`codectx serve` as a subprocess on a free loopback port; shared by the tests that serve over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVE = [sys.executable, "-m", "codectx", "serve"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def http_serve(
    repo: Path, *options: str, stderr: list[bytes] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(its /mcp URL, the process) once the port answers; the server's stderr is appended to `stderr` on exit."""
    port = free_port()
    process = subprocess.Popen([*SERVE, str(repo), "--http", "--port", str(port), *options], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1].decode()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", process
    finally:
        process.terminate()
        _, err = process.communicate(timeout=60)
        if stderr is not None:
            stderr.append(err)
