from __future__ import annotations

import shutil
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest
from trees import write_files

STDLIB = Path(sysconfig.get_paths()["stdlib"])


@pytest.fixture
def stdlib() -> Path:
    return STDLIB


@pytest.fixture
def stdlib_copy(tmp_path: Path) -> Callable[..., Path]:
    """Copy stdlib packages (without tests or caches) into a fresh repository folder."""

    def make(*packages: str) -> Path:
        repo = tmp_path / "repo"
        for package in packages:
            shutil.copytree(
                STDLIB / package, repo / package, ignore=shutil.ignore_patterns("__pycache__", "test", "tests")
            )
        return repo

    return make


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[dict[str, str | bytes]], Path]:
    """Create a repository from {relative path: text or bytes}."""

    def make(files: dict[str, str | bytes]) -> Path:
        return write_files(tmp_path / "repo", files)

    return make


@pytest.fixture(scope="session")
def stdlib_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """json, urllib, http and email copied into a repository and indexed once for claude: (repo, store dir).

    Shared by several test modules: tests must not change it (copy it first).
    """
    from codectx.indexer import index_repository

    repo = tmp_path_factory.mktemp("stdlib-repo")
    for package in ("json", "urllib", "http", "email"):
        shutil.copytree(STDLIB / package, repo / package, ignore=shutil.ignore_patterns("__pycache__", "test", "tests"))
    store = tmp_path_factory.mktemp("stdlib-store")
    index_repository(repo, store_dir=store, workers=2)
    return repo, store


@pytest.fixture
def anyio_backend() -> str:
    """The event loop for `pytest.mark.anyio` tests (MCP clients and servers)."""
    return "asyncio"
