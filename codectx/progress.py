"""Progress for long work: a rich bar on a terminal, silence when piped or serving stdio."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


class Reporter(Protocol):
    def stage(self, description: str, total: int | None) -> None: ...
    def advance(self, amount: int = 1) -> None: ...


class SilentReporter:
    def __enter__(self) -> SilentReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def stage(self, description: str, total: int | None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass


class BarReporter:
    """One bar per stage on stderr."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> BarReporter:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()

    def stage(self, description: str, total: int | None) -> None:
        if self._task is not None:
            self._progress.update(self._task, visible=False)
        self._task = self._progress.add_task(description, total=total)

    def advance(self, amount: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)


def wants_progress(stream: object = None) -> bool:
    """True only for an interactive terminal on stderr."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def make_reporter(enabled: bool | None = None) -> BarReporter | SilentReporter:
    if enabled is None:
        enabled = wants_progress()
    return BarReporter(Console(stderr=True)) if enabled else SilentReporter()
