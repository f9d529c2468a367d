"""Request paths: a path a client names must be a plain relative path inside the repository.

Refusals happen on the string alone, before any lookup: absolute paths, `..`, Windows-style
separators and drive letters, and percent-encoded forms of any of these. Paths that pass are then
served only from the index (never read from disk), and only when the ignore rules still allow them
and no component on disk is a symlink.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from urllib.parse import unquote

from codectx.scan import IgnoreRules

_DRIVE = re.compile(r"^[A-Za-z]:")
_MAX_DECODE_ROUNDS = 4
MAX_PATH_CHARS = 4096


class RefusedPath(ValueError):
    """The path is not served; the message says why and what to pass instead."""


def _decoded_forms(raw: str) -> list[str]:
    """`raw` and each successive percent-decoding of it (catches double encoding)."""
    forms = [raw]
    for _ in range(_MAX_DECODE_ROUNDS):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    return forms


def normalise_request_path(raw: str) -> str:
    """Return `raw` as a normalised relative path ('a/b.py'), or raise RefusedPath."""
    if not raw or not raw.strip():
        raise RefusedPath("empty path: pass a file path relative to the repository root, e.g. 'pkg/module.py'")
    if len(raw) > MAX_PATH_CHARS:
        raise RefusedPath(f"path longer than {MAX_PATH_CHARS} characters")
    for form in _decoded_forms(raw):
        encoded = " (after URL-decoding)" if form is not raw else ""
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in form):
            raise RefusedPath(f"path contains control characters{encoded}: refused")
        if "\\" in form:
            raise RefusedPath(
                f"Windows-style separators{encoded} are refused: use forward slashes, relative to the repository root"
            )
        if form.startswith(("/", "~")) or _DRIVE.match(form):
            raise RefusedPath(
                f"absolute paths{encoded} are refused: pass a path relative to the repository root, e.g. 'pkg/mod.py'"
            )
        if ".." in form.split("/"):
            raise RefusedPath(f"'..' in a path{encoded} is refused: only files inside the repository are served")
    parts = [part for part in raw.split("/") if part not in ("", ".")]
    if not parts:
        raise RefusedPath("the path names the repository root: pass a file path, e.g. 'pkg/module.py'")
    return "/".join(parts)


def refusal_on_disk(root: Path, rel_path: str, rules: IgnoreRules) -> str | None:
    """Why `rel_path` must not be served given the tree as it is now, or None.

    Components are only lstat'ed, and symlinks refused, before the ignore rules read the ignore files
    of the directories on the path: those reads must not follow a link out of the root.
    """
    current = root
    for part in rel_path.split("/"):
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            break  # gone from disk: the pinned index still has it, unless the rules exclude it now
        if stat.S_ISLNK(mode):
            return f"{rel_path} goes through a symlink ({current.relative_to(root)}): symlinks are never followed"
    parts = rel_path.split("/")
    for depth in range(1, len(parts) + 1):
        reason = rules.exclusion_reason("/".join(parts[:depth]), is_dir=depth < len(parts))
        if reason is None:
            continue
        if reason.startswith("built-in exclude"):
            what = f"inside {'/'.join(parts[:depth])}/, " if depth < len(parts) else ""
            detail = reason.partition("(")[2].rstrip(")") or "dependencies, caches, build outputs or VCS data"
            return (
                f"{rel_path} is {what}one of codectx's built-in excludes ({detail}): never indexed or served; "
                "read_source serves indexed source files"
            )
        return f"{rel_path} is excluded by the repository's ignore rules: refused"
    return None
