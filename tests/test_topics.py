"""Questions that name the kind of file they want: CI workflows, manifests, build files, docs pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from codectx.indexer import index_repository
from codectx.relevance import rank
from codectx.store import Store
from codectx.topics import asked_topics


@pytest.mark.parametrize(
    ("question", "topics"),
    [
        ("which CI workflow runs the tests on windows", {"ci"}),
        ("what python versions do the GitHub Actions jobs use", {"ci"}),
        ("which optional extra do I install for socks proxies", {"manifest"}),
        ("what is the minimum node version the package declares", {"manifest"}),
        ("what does the make target for tests do", {"build"}),
        ("which docs page explains timeouts", {"docs"}),
        ("how do I set up a development environment to contribute", {"contributing"}),
        ("where are the release notes for 2.0", {"changelog"}),
        ("how do I report a vulnerability", {"policy"}),
        ("which tests check mutually exclusive flags", {"tests"}),
        ("how does the test client capture output", {"test support"}),
        ("is there a test helper that sets environment variables", {"test support"}),
        # Words that name a subject of the code, not a kind of file:
        ("when does generated documentation include a see also section", set()),
        ("where is the variable declared that holds extra headers", set()),
        ("how does the parser make a target list", set()),
        ("how are citations handled", set()),  # "ci" only as a whole word
    ],
)
def test_a_question_names_a_topic_only_in_so_many_words(question: str, topics: set[str]) -> None:
    assert {t.name for t in asked_topics(question)} == topics


WORKFLOW = """name: tests
on: [push, pull_request]
jobs:
  tests:
    strategy:
      matrix:
        os: [ubuntu-latest, windows-latest]
        python: ["3.10", "3.12"]
    runs-on: ${{ matrix.os }}
    steps:
      - run: pytest
"""
RUNNER = '''"""Details for bug reports: the python version and operating system this runs on."""

import platform


def python_version():
    return platform.python_version()


def operating_system():
    return platform.system()
'''


def test_a_named_topic_outranks_code_that_shares_its_words(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    repo = make_repo(
        {
            ".github/workflows/tests.yml": WORKFLOW,
            "src/app/matrix.py": RUNNER,
            "docs/timeouts.md": "# Timeouts\n\nA request's connect timeout and read timeout are set apart.\n",
            "src/app/timeouts.py": "def connect_timeout(request):\n    return request.connect_timeout or 10\n"
            "def read_timeout(request):\n    return request.read_timeout or 30\n",
        }
    )
    store_dir = tmp_path / "store"
    index_repository(repo, store_dir=store_dir)
    questions = (
        "what python version and operating system does a bug report show",
        "which CI workflow runs the test suite, on which python versions and operating systems",
        "how are the connect and read timeouts of a request chosen",
        "which docs page explains connect and read timeouts",
    )
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude").id
        first = [rank(store, generation, q).files[0].path for q in questions]
    assert first == ["src/app/matrix.py", ".github/workflows/tests.yml", "src/app/timeouts.py", "docs/timeouts.md"]


def test_helpers_the_tests_share_are_test_support_but_tests_are_not() -> None:
    from codectx.topics import TOPICS

    (support,) = [t for t in TOPICS if t.name == "test support"]
    assert support.holds("tests/utils.py", "test") and support.holds("tests/conftest.py", "test")
    assert support.holds("src/click/testing.py", "source")
    assert not support.holds("tests/test_utils.py", "test") and not support.holds("command_test.go", "test")
    assert not support.holds("src/click/core.py", "source")
