"""History: what changed lately in the repository, read from git (the `git` command, run as a subprocess).

Two things are read, both for the indexed root only (which may be a folder inside a larger git work
tree; every path here is relative to the indexed root):
  - per file, when it last changed and how often, over the newest HISTORY_COMMITS commits, with
    uncommitted changes and untracked files counting as changed now (read_history);
  - the hunks that changed between a revision and the working tree: committed, staged and unstaged
    edits, plus new untracked files (changes_since).

Only line numbers and counts come from git. git's diff text is never kept: whoever sends the changes
sends the index's own (secret-masked) text of those lines, and only for files the index holds.
Without git, or outside a git work tree, read_history answers None and ranking works as before.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

# Recency reads at most the newest HISTORY_COMMITS commits (`git log -n`): a bounded read that stays
# well under a second on large histories; files last changed before them count as not recent.
HISTORY_COMMITS = 500
HALF_LIFE_DAYS = 14.0  # a file's recency halves for every HALF_LIFE_DAYS between its last change and the newest
GIT_TIMEOUT_SECONDS = 60.0
_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12, ord("r"): 13}


class HistoryError(Exception):
    """git cannot answer (not installed, not a repository, an unknown revision); the message says what to do."""


class GitMissing(HistoryError):
    """No `git` command to run."""


@dataclass(frozen=True, slots=True)
class FileHistory:
    path: str  # relative to the indexed root
    last_change: float  # Unix time of its newest change (the newest commit's time for uncommitted changes)
    changes: int  # commits among the newest HISTORY_COMMITS that touched it, plus one when changed in the working tree


@dataclass(frozen=True, slots=True)
class History:
    files: dict[str, FileHistory]
    newest: float  # Unix time of the newest commit read: ages are measured from it, not from the clock
    commits: int  # commits read (at most HISTORY_COMMITS)


@dataclass(frozen=True, slots=True)
class Hunk:
    """One changed region. Lines start..end (1-based, inclusive) of the working-tree file are new or
    changed; `removed` lines of the revision's file went in their place. A pure removal has no new
    lines: end == start - 1, and the lines went after line `end`."""

    start: int
    end: int
    removed: int
    old_start: int

    @property
    def added(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str  # relative to the indexed root
    status: str  # "modified" | "added" | "deleted" | "untracked"
    hunks: tuple[Hunk, ...]


@dataclass(frozen=True, slots=True)
class Changes:
    since: str  # the revision as given
    commit: str  # the commit it names
    files: tuple[FileChange, ...]  # in path order

    @property
    def hunks(self) -> int:
        return sum(len(f.hunks) for f in self.files)


def _git(root: Path, *args: str) -> bytes:
    """stdout of `git -C root ARGS`; HistoryError when git is missing or fails (its first line of stderr)."""
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", LC_ALL="C", LANGUAGE="C")
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    command = ["git", "-C", str(root), "-c", "core.quotepath=off", "-c", "diff.noprefix=false", *args]
    try:
        done = subprocess.run(command, capture_output=True, env=env, timeout=GIT_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError:
        raise GitMissing("git is not installed (no `git` command on PATH): install git, or leave out since") from None
    except subprocess.TimeoutExpired:
        raise HistoryError(f"git took over {GIT_TIMEOUT_SECONDS:.0f} s to answer: retry, or leave out since") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise HistoryError(lines[0] if lines else f"git {args[0]} failed with status {done.returncode}")
    return done.stdout


def _in_work_tree(root: Path) -> bool:
    try:
        return _git(root, "rev-parse", "--is-inside-work-tree").strip() == b"true"
    except HistoryError:
        return False


def _names(output: bytes) -> list[str]:
    return [name.decode("utf-8", "surrogateescape") for name in output.split(b"\0") if name]


def _head(root: Path) -> str | None:
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}").decode().strip() or None
    except HistoryError:
        return None  # no commit yet


def _working_changes(root: Path, head: str | None) -> list[str]:
    """Paths under `root` changed in the working tree or the staging area since HEAD, and untracked files."""
    if head is None:  # no commit yet: every tracked file is new
        changed = _names(_git(root, "ls-files", "-z", "--", "."))
    else:
        changed = _names(_git(root, "diff", "--name-only", "-z", "--no-renames", "--relative", head, "--", "."))
    return changed + _names(_git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", "."))


_LOGS: OrderedDict[tuple[str, str], tuple[dict[str, tuple[float, int]], float, int]] = OrderedDict()
_LOGS_LOCK = threading.Lock()


def _log(root: Path, head: str) -> tuple[dict[str, tuple[float, int]], float, int]:
    """path -> (newest change, changes) over the newest HISTORY_COMMITS commits; the newest time; commits read.

    Kept per root and HEAD: a commit is never rewritten, so the same HEAD reads the same."""
    key = (str(root), head)
    with _LOGS_LOCK:
        if key in _LOGS:
            return _LOGS[key]
    output = _git(
        root, "log", "-n", str(HISTORY_COMMITS), "--format=%x01%ct", "-z", "--name-only", "--no-renames",
        "--relative", head, "--", ".",
    )  # fmt: skip
    files: dict[str, tuple[float, int]] = {}
    newest, commits = 0.0, 0
    for chunk in output.split(b"\x01")[1:]:
        stamp, _, names = chunk.partition(b"\0")
        when = float(stamp.strip() or 0)
        newest, commits = max(newest, when), commits + 1
        for path in _names(names.lstrip(b"\n")):
            last, count = files.get(path, (0.0, 0))
            files[path] = (max(last, when), count + 1)
    if commits == 0:  # the root's folder has no commits of its own: ages count from HEAD's time
        newest = float(_git(root, "log", "-1", "--format=%ct", head).strip() or 0)
    with _LOGS_LOCK:
        _LOGS[key] = (files, newest, commits)
        while len(_LOGS) > 16:
            _LOGS.popitem(last=False)
    return files, newest, commits


_RECENT: dict[Path, tuple[float, History | None]] = {}
_RECENT_LOCK = threading.Lock()


def read_history(root: Path, max_age: float = 0.0) -> History | None:
    """Recency of every file under `root` that git knows; None without git or outside a git work tree.

    With `max_age`, an answer read for `root` at most that many seconds ago is reused: a server answering
    many requests a second need not run git (three processes) for each."""
    if max_age > 0:
        with _RECENT_LOCK:
            earlier = _RECENT.get(root)
        if earlier is not None and time.monotonic() - earlier[0] <= max_age:
            return earlier[1]
    history = _read_history(root)
    if max_age > 0:
        with _RECENT_LOCK:
            _RECENT[root] = (time.monotonic(), history)
    return history


def _read_history(root: Path) -> History | None:
    if not _in_work_tree(root):
        return None
    try:
        head = _head(root)
        logged, newest, commits = _log(root, head) if head else ({}, 0.0, 0)
        working = _working_changes(root, head)
    except HistoryError:
        return None
    files = {path: FileHistory(path, when, count) for path, (when, count) in logged.items()}
    for path in working:
        earlier = files.get(path)
        files[path] = FileHistory(path, newest, (earlier.changes if earlier else 0) + 1)
    return History(files, newest, commits)


def recency_scores(history: History | None) -> dict[str, float]:
    """path -> recency in [0, 1]: halves every HALF_LIFE_DAYS of age (from the newest commit), and a file
    changed often keeps more of it (log of its change count against the most changed file's)."""
    if history is None or not history.files:
        return {}
    most = max(f.changes for f in history.files.values())
    scores = {}
    for path, entry in history.files.items():
        age_days = max(history.newest - entry.last_change, 0.0) / 86400.0
        decay = 0.5 ** (age_days / HALF_LIFE_DAYS)
        often = math.log1p(entry.changes) / math.log1p(most) if most else 0.0
        scores[path] = round(decay * (0.5 + 0.5 * often), 6)
    return scores


def resolve_revision(root: Path, since: str) -> str:
    """The commit `since` names in the repository holding `root`; HistoryError (what to do) when it names none."""
    if not since.strip():
        raise HistoryError("since is empty: pass a git revision, e.g. HEAD~1, a branch, a tag or a commit id")
    if len(since) > 1000 or any(ord(c) < 32 or ord(c) == 127 for c in since):
        raise HistoryError(f"{since[:40]!r} is not a git revision: pass one like HEAD~1, a branch, a tag or a commit")
    try:
        _git(root, "rev-parse", "--is-inside-work-tree")
    except GitMissing:
        raise
    except HistoryError:
        raise HistoryError(
            f"{root} is not in a git work tree: since needs git history; leave it out, or run `git init` and commit"
        ) from None
    try:
        found = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{since}^{{commit}}")
    except HistoryError:
        found = b""
    if not found.strip():
        raise HistoryError(
            f"unknown revision {since!r}: pass a commit, branch or tag that `git log` knows, e.g. HEAD~1"
        )
    return found.decode().strip()


def changes_since(root: Path, since: str) -> Changes:
    """The hunks that changed under `root` between revision `since` and the working tree (staged and unstaged
    edits included), and every untracked file that git does not ignore, as wholly added."""
    commit = resolve_revision(root, since)
    patch = _git(
        root, "diff", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--relative",
        "--src-prefix=a/", "--dst-prefix=b/", commit, "--", ".",
    )  # fmt: skip
    files = {change.path: change for change in parse_patch(patch)}
    for path in _names(_git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")):
        files.setdefault(path, FileChange(path, "untracked", ()))
    return Changes(since, commit, tuple(files[p] for p in sorted(files)))


def parse_patch(patch: bytes) -> list[FileChange]:
    """The files and hunk line ranges of a `git diff -U0` patch (no content is kept)."""
    changes: list[FileChange] = []
    old: str | None = None
    new: str | None = None
    hunks: list[Hunk] = []
    started = False

    def flush() -> None:
        if not started or (old is None and new is None):
            return
        if new is None:
            changes.append(FileChange(str(old), "deleted", tuple(hunks)))
        else:
            changes.append(FileChange(new, "added" if old is None else "modified", tuple(hunks)))

    for line in patch.split(b"\n"):
        if line.startswith(b"diff --git "):
            flush()
            old, new, hunks, started = None, None, [], True
        elif line.startswith(b"--- "):
            old = _header_path(line[4:], b"a/")
        elif line.startswith(b"+++ "):
            new = _header_path(line[4:], b"b/")
        elif line.startswith(b"@@ "):
            match = _HUNK.match(line)
            if match is None:
                continue
            old_start, old_count = int(match.group(1)), int(match.group(2) or b"1")
            new_start, new_count = int(match.group(3)), int(match.group(4) or b"1")
            if new_count == 0:  # a pure removal: git names the line after which the lines went
                hunks.append(Hunk(new_start + 1, new_start, old_count, old_start))
            else:
                hunks.append(Hunk(new_start, new_start + new_count - 1, old_count, old_start))
    flush()
    return [c for c in changes if c.hunks or c.status in ("added", "deleted")]


def _header_path(raw: bytes, prefix: bytes) -> str | None:
    """The path of a `--- a/...` or `+++ b/...` header; None for /dev/null."""
    raw = raw.rstrip(b"\r")
    if raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2:
        raw = _unquote(raw[1:-1])
    if raw == b"/dev/null":
        return None
    if raw.endswith(b"\t"):  # git ends a header path holding a space with a tab
        raw = raw[:-1]
    return raw.removeprefix(prefix).decode("utf-8", "surrogateescape")


def _unquote(quoted: bytes) -> bytes:
    """git's C-style quoting of a path: backslash escapes and octal bytes."""
    out = bytearray()
    i = 0
    while i < len(quoted):
        byte = quoted[i]
        if byte != ord("\\") or i + 1 >= len(quoted):
            out.append(byte)
            i += 1
            continue
        following = quoted[i + 1]
        octal = quoted[i + 1 : i + 4]
        if len(octal) == 3 and all(48 <= b <= 55 for b in octal):  # \ooo
            out.append(int(octal, 8) & 0xFF)
            i += 4
        else:
            out.append(_ESCAPES.get(following, following))
            i += 2
    return bytes(out)
