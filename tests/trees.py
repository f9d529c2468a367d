"""Write a small repository from {relative path: text or bytes}; shared by fixtures of every scope."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def write_files(root: Path, files: Mapping[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def indexed_json_copy(root: Path) -> Path:
    """The standard library's json package copied into `root` and indexed for claude in its default store."""
    import shutil
    import sysconfig

    from codectx.indexer import index_repository

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(stdlib / "json", root / "json", ignore=shutil.ignore_patterns("__pycache__"))
    index_repository(root, target="claude", workers=1)
    return root
