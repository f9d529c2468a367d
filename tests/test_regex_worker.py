"""The regular-expression helper process: kept between searches, replaced when it dies or runs too long."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from codectx import regex_worker
from codectx.indexer import index_repository
from codectx.regex_worker import TooSlow, matching_lines
from codectx.store import Store


@pytest.fixture
def indexed(make_repo: Callable[[dict[str, str | bytes]], Path]) -> tuple[Path, list[str]]:
    """A store with two texts: (store folder, their digests in path order)."""
    repo = make_repo({"a.py": "alpha = 1\nbeta = 2\n", "b.py": "x = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'\n"})
    store_dir = repo.parent / "store"
    index_repository(repo, store_dir=store_dir, workers=1)
    with Store.open(store_dir, create=False) as store:
        files = sorted(store.files(store.require_generation("claude").id), key=lambda f: f.path)
    return store_dir, [f.sha256 for f in files]


def helper_pids() -> list[int | None]:
    """The idle helpers' process ids; the one that answered last comes last."""
    return [helper.process.pid for helper in regex_worker._idle]


def test_one_helper_answers_search_after_search(indexed: tuple[Path, list[str]]) -> None:
    store_dir, digests = indexed
    assert matching_lines(store_dir, digests, r"^beta", 5.0) == [(0, 2)]
    first = helper_pids()[-1]
    assert matching_lines(store_dir, digests[::-1], r"= \d$", 5.0) == [(1, 1), (1, 2)]
    assert helper_pids()[-1] == first


def test_a_helper_that_died_or_ran_too_long_is_replaced(indexed: tuple[Path, list[str]]) -> None:
    store_dir, digests = indexed
    matching_lines(store_dir, digests, "alpha", 5.0)
    dead = regex_worker._idle[-1].process
    dead.kill()
    dead.join()
    assert matching_lines(store_dir, digests, "alpha", 5.0) == [(0, 1)]
    before = set(helper_pids())
    with pytest.raises(TooSlow):
        matching_lines(store_dir, digests, r"(a|aa)+$", 0.5)
    assert matching_lines(store_dir, digests, "x =", 5.0) == [(1, 1)]
    assert not before & set(helper_pids())  # the slow search's helper was killed, not kept
