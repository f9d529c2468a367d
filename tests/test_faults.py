"""A full disk during `index`: the index fails with a clear message and the previous generation stays served."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from codectx.cli import main
from codectx.indexer import index_repository
from codectx.store import Store, is_disk_full

STDLIB_PACKAGES = ("json",)
GROWTH = "email"  # far more pages than the small file system has room for


@contextlib.contextmanager
def small_file_system(folder: Path, size_kb: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """`folder` on a tmpfs of `size_kb` where mounting is allowed (root, CAP_SYS_ADMIN); elsewhere the page
    store refuses to publish past the same budget, as SQLite on a full disk would."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "codectx-test", str(folder)], capture_output=True
    ).returncode == 0  # fmt: skip
    if mounted:
        try:
            yield "tmpfs"
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=True)
        return
    real_publish = Store.publish

    def publish(self: Store, *args: object, **kwargs: object) -> int:
        used = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        if used > size_kb * 1024:
            raise sqlite3.OperationalError("database or disk is full (simulated)")
        return real_publish(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "publish", publish)
    yield "simulated"


def served(store_dir: Path) -> tuple[int, list[tuple[str, int, str]], dict[str, str | None]]:
    """What a reader gets: the current generation, its pages (each blob a readable PNG), its files' texts."""
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude")
        pages = []
        for module in store.modules(generation.id):
            for page in store.module_pages(generation.id, module.name):
                with Image.open(store.pages.path_for(page.blob)) as image:
                    image.verify()
                pages.append((module.name, page.page_no, page.blob))
        texts = {f.path: store.source_text(f.sha256) for f in store.files(generation.id)}
        return generation.id, pages, texts


def test_full_disk_keeps_the_previous_generation(stdlib_copy, stdlib, tmp_path, monkeypatch, capsys):
    repo = stdlib_copy(*STDLIB_PACKAGES)
    store_dir = tmp_path / "store"
    with small_file_system(store_dir, size_kb=2048, monkeypatch=monkeypatch) as mode:
        first = index_repository(repo, store_dir=store_dir, workers=1)
        before = served(store_dir)
        assert before[0] == first.generation and before[1] and all(before[2].values())

        shutil.copytree(stdlib / GROWTH, repo / GROWTH, ignore=shutil.ignore_patterns("__pycache__"))
        with pytest.raises((OSError, sqlite3.OperationalError)) as failure:
            index_repository(repo, store_dir=store_dir, workers=1)
        assert is_disk_full(failure.value)
        assert served(store_dir) == before

        # The command line says what happened, and the index is still intact afterwards.
        assert main(["index", str(repo), "--store", str(store_dir)]) == 1
        assert "the disk is full" in capsys.readouterr().err
        assert served(store_dir) == before

        # Once there is room again, indexing works. Room means a bigger disk: the failed run's content-keyed
        # catalog rows stay in SQLite as a cache, so deleting the repository files alone frees nothing.
        if mode == "tmpfs":
            subprocess.run(["mount", "-o", "remount,size=65536k", str(store_dir)], check=True)
        else:
            monkeypatch.undo()
        shutil.rmtree(repo / GROWTH)
        with (repo / "json" / "tool.py").open("a") as handle:
            handle.write("\n# an edit\n")
        after = index_repository(repo, store_dir=store_dir, workers=1)
        assert after.published and after.generation > first.generation
