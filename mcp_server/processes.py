"""The processes of `codectx serve`: the watcher in its own process, and serving processes that follow it.

With `--watch` the watcher runs in a child process of its own, so re-indexing never competes with
requests for one interpreter. It publishes generations into the store; every serving process (the
stdio server, or each HTTP worker) reads the store's current generation per request (SQLite WAL:
readers never wait for the writer) and follows new generations with a `GenerationFollower`, which
builds the newest generation's overview and pack basis in the background once it has stayed current
for a moment (a stream of edits builds only what requests ask for).

Several HTTP workers are uvicorn server processes, each with a listening socket of its own on the
same port (SO_REUSEPORT), so the kernel spreads connections over them. MCP streamable HTTP runs
stateless with JSON responses there: no request depends on which worker answered the one before,
and each answer comes from the one generation current when its request started. A client therefore
never sees an older generation after a newer one: a request that starts after an answer arrived
starts after that answer's generation was published, and every reader sees the newest commit.
"""

from __future__ import annotations

import gc
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

log = logging.getLogger("codectx.mcp")

CONFIG_ENV = "CODECTX_SERVE_CONFIG"  # how `codectx serve --http` hands its settings to uvicorn's workers
FOLLOW_INTERVAL = 0.25  # seconds between looks at the store's current generation
WARM_DELAY = 0.3  # a generation current this long gets its overview and pack basis built ahead of requests
MAX_DEFAULT_WORKERS = 8
STARTUP_SECONDS = 10.0  # a worker that ends sooner failed to start: no point in starting another


def default_workers() -> int:
    """HTTP worker processes when `--workers` is not given: one per CPU this process may use, at most 8."""
    return max(1, min(len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS))


def settle_heap() -> None:
    """Collect what is garbage now, then exempt every surviving object from later collections (gc.freeze).

    A serving process or the watcher holds large, long-lived structures (file texts, outlines, pack
    bases, the reference graph); left to the cyclic collector, each full collection walks all of them
    and stalls whatever runs then for a tenth of a second or more. They are freed by reference
    counting as before when dropped.
    """
    gc.collect()
    gc.freeze()


# --- the watcher's process ---------------------------------------------------------------------


def _watch(root: str, target: str, store_dir: str, debounce: float, stop: Any) -> None:
    """The watcher process: keeps the index current until `stop` is set or the serving process is gone."""
    from codectx.watch import UpdateReport, Watcher

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="codectx serve: %(message)s")

    def published(update: UpdateReport) -> None:
        log.info(update.describe())

    watcher = Watcher(Path(root), target, Path(store_dir), debounce=debounce, on_update=published, log=log.warning)
    watcher.after_update = settle_heap
    watcher.start()
    parent = multiprocessing.parent_process()
    try:
        while not stop.is_set() and not watcher.stopped.is_set():
            # The parent's sentinel turns ready when it dies, even by SIGKILL: never outlive it.
            if parent is not None and wait([parent.sentinel], timeout=0.2):
                break
    finally:
        watcher.stop()


class WatcherProcess:
    """A Watcher in a child process (multiprocessing, spawn), stopped with `stop()` or when this process dies."""

    def __init__(self, root: Path, target: str, store_dir: Path, debounce: float | None = None) -> None:
        from codectx.watch import DEFAULT_DEBOUNCE  # the watcher's modules load in the child only

        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self.process = context.Process(
            target=_watch,
            args=(str(root), target, str(store_dir), DEFAULT_DEBOUNCE if debounce is None else debounce, self._stop),
            name="codectx-watch",
        )

    def start(self) -> None:
        self.process.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.process.join(timeout)
        if self.process.is_alive():  # an update that would not finish: the store survives a kill at any point
            self.process.kill()
            self.process.join()


# --- serving processes ---------------------------------------------------------------------------


class GenerationFollower:
    """Watches the store's current generation from a serving process and prepares each new one.

    `current` reads the current generation's identity (or None without an index); `prepare` builds
    what requests on it need. A generation is prepared once it has been current for `delay` seconds,
    so a burst of edits does not build every intermediate generation. After each preparation `settle`
    runs (by default settle_heap: what was built stays out of the cyclic collector's way).
    """

    def __init__(
        self,
        current: Callable[[], object | None],
        prepare: Callable[[], None],
        interval: float = FOLLOW_INTERVAL,
        delay: float = WARM_DELAY,
        settle: Callable[[], None] = settle_heap,
    ) -> None:
        self._current = current
        self._prepare = prepare
        self._settle = settle
        self._interval = interval
        self._delay = delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="codectx-follow", daemon=True)
        self.prepared: object | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        self._safely(self._prepare)  # at start: the tokenizer and the current generation, if any
        self.prepared = self._safely(self._current)
        self._settle()
        seen, since = self.prepared, time.monotonic()
        while not self._stop.wait(self._interval):
            current = self._safely(self._current)
            if current != seen:
                seen, since = current, time.monotonic()
            elif current is not None and current != self.prepared and time.monotonic() - since >= self._delay:
                self._safely(self._prepare)
                self.prepared = current
                self._settle()

    @staticmethod
    def _safely(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:  # only a head start: the request that needs it reports any failure
            log.info("nothing prepared ahead of requests: %s", error)
            return None


# --- HTTP workers --------------------------------------------------------------------------------


def end_with_parent() -> None:
    """In a worker process started by multiprocessing: stop (SIGTERM, a graceful shutdown) once the parent is
    gone, even if it was killed with SIGKILL, so that no orphan keeps answering or holding the port."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch_parent() -> None:
        wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_parent, name="codectx-parent", daemon=True).start()


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port with SO_REUSEPORT: every worker binds its own, and the kernel spreads
    new connections over them (one shared socket hands a burst of connections to whichever worker wakes first,
    and a client keeps its connection, so one worker would serve them all)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _http_worker(host: str, port: int, app: str) -> None:
    """One HTTP worker process: a uvicorn server of `app` (an app factory's import string) on its own socket."""
    import uvicorn

    sock = listening_socket(host, port)
    config = uvicorn.Config(app, factory=True, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])


def run_http_workers(host: str, port: int, workers: int, app: str) -> None:
    """Run `workers` uvicorn worker processes of `app` on host:port until SIGINT or SIGTERM; a worker that ends
    is replaced, unless it ends during start-up (then all stop, with the error)."""
    try:  # bound, never listening: the port is ours, and a port already taken fails here, once
        reserved = listening_socket(host, port)
    except OSError as error:
        log.error("cannot listen on %s port %d: %s", host, port, error.strerror or error)
        raise SystemExit(1) from None
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()

    def start() -> tuple[multiprocessing.process.BaseProcess, float]:
        process = context.Process(target=_http_worker, args=(host, port, app), name="codectx-http")
        process.start()
        return process, time.monotonic()

    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in (signal.SIGINT, signal.SIGTERM)}
    running = [start() for _ in range(workers)]
    reserved.close()
    try:
        while not stop.is_set():
            wait([process.sentinel for process, _ in running], timeout=0.5)
            for index, (process, started) in enumerate(running):
                if process.is_alive() or stop.is_set():
                    continue
                if time.monotonic() - started < STARTUP_SECONDS:
                    raise RuntimeError(f"an HTTP worker failed to start (exit status {process.exitcode})")
                log.warning("HTTP worker %d ended (exit status %s); starting another", process.pid, process.exitcode)
                running[index] = start()
    finally:
        for process, _ in running:
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process, _ in running:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join()
        for number, handler in previous.items():
            signal.signal(number, handler)


def http_config_env(root: Path, store_dir: Path | None, target: str, max_tokens: int, host: str) -> str:
    return json.dumps(
        {"root": str(root), "store_dir": None if store_dir is None else str(store_dir), "target": target,
         "max_tokens": max_tokens, "host": host}
    )  # fmt: skip


def http_settings() -> dict[str, Any]:
    """The settings `codectx serve --http` put in the environment for its workers."""
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"{CONFIG_ENV} is not set: start HTTP workers with `codectx serve --http`")
    settings: dict[str, Any] = json.loads(raw)
    return settings
