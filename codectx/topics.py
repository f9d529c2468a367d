"""Topics: kinds of file that a question asks for by name.

"Which CI workflow runs the tests", "which extra do I install for SOCKS", "what does the make target
do" and "which docs page explains timeouts" each name the kind of file that answers them: a CI
workflow, the package manifest, the build file, a documentation page (or the contributing guide,
the changelog, the security policy). Class weights put code first
(codectx.classes), which is right for most questions and wrong for these; a question that names a
topic weighs the files of that topic TOPIC_WEIGHT times, above code that merely shares its words.

A topic is named by whole words or phrases of the question, chosen so that a file's subject is not
mistaken for a request for it: "documentation page" asks for a document, "generated documentation"
(a feature of the code) does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

TOPIC_WEIGHT = 2.0  # the weight of a named topic's files, in place of their class weight (source is 1.0)


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    phrases: tuple[str, ...]  # lower-case words, or words in a row, any of which in a question names the topic
    holds: Callable[[str, str], bool]  # (path, class) -> whether the file is of this topic


_CI_NAMES = frozenset(
    {".gitlab-ci.yml", ".travis.yml", "appveyor.yml", ".appveyor.yml", "azure-pipelines.yml", "jenkinsfile",
     "bitbucket-pipelines.yml", ".cirrus.yml", "cloudbuild.yaml", "cloudbuild.yml"}
)  # fmt: skip
_CI_DIRS = frozenset({".circleci", ".buildkite", ".woodpecker", ".drone", "ci"})
_MANIFEST_NAMES = frozenset(
    {"pyproject.toml", "setup.py", "setup.cfg", "package.json", "cargo.toml", "go.mod", "gemfile", "composer.json",
     "pom.xml", "build.gradle", "build.gradle.kts", "pipfile", "environment.yml", "deno.json", "mix.exs",
     "pubspec.yaml", "project.clj", "build.sbt", "dune-project", "stack.yaml", "package.swift"}
)  # fmt: skip
_MANIFEST_SUFFIXES = (".gemspec", ".cabal", ".nimble", ".csproj", ".fsproj", ".rockspec", ".opam")
_BUILD_NAMES = frozenset(
    {"makefile", "gnumakefile", "justfile", "cmakelists.txt", "build.rs", "noxfile.py", "tox.ini", "rakefile",
     "build.sh", "magefile.go", "taskfile.yml", "meson.build", "build.zig", "sconstruct", "build.xml"}
)  # fmt: skip
_BUILD_SUFFIXES = (".mk", ".cmake")


def _parts(path: str) -> tuple[list[str], str]:
    parts = path.lower().split("/")
    return parts[:-1], parts[-1]


def _is_ci(path: str, _kind: str) -> bool:
    dirs, name = _parts(path)
    if dirs[:2] == [".github", "workflows"] or name in _CI_NAMES:
        return True
    return bool(dirs) and dirs[0] in _CI_DIRS


def _is_manifest(path: str, _kind: str) -> bool:
    _dirs, name = _parts(path)
    if name in _MANIFEST_NAMES or name.endswith(_MANIFEST_SUFFIXES):
        return True
    return name.startswith("requirements") and name.endswith((".txt", ".in"))


def _is_build(path: str, _kind: str) -> bool:
    _dirs, name = _parts(path)
    return name in _BUILD_NAMES or name.endswith(_BUILD_SUFFIXES)


def _is_document(_path: str, kind: str) -> bool:
    return kind == "docs"


def _named(*stems: str) -> Callable[[str, str], bool]:
    """Prose files whose name starts with one of `stems` (CONTRIBUTING.md, docs/changes.rst; not history.py)."""

    def holds(path: str, kind: str) -> bool:
        return kind in ("docs", "licence") and _parts(path)[1].replace("-", "_").startswith(stems)

    return holds


_CI_PHRASES = (
    "ci", "workflow", "workflows", "github actions", "github action", "continuous integration", "travis", "appveyor",
    "circleci",
)  # fmt: skip
_MANIFEST_PHRASES = (
    "dependency", "dependencies", "extras", "optional extra", "package metadata", "entry point", "entry points",
    "console script", "console scripts", "manifest",
    "package declares", "requires python", "python requires", "minimum supported", "msrv", "crate features",
    "cargo features", "requirements file",
)  # fmt: skip
_BUILD_PHRASES = (
    "makefile", "make target", "make targets", "make command", "justfile", "build script", "nox session",
    "nox sessions", "tox", "cmake",
)  # fmt: skip
_DOCS_PHRASES = (
    "docs page", "docs pages", "doc page", "documentation page", "documentation pages", "which docs", "in the docs",
    "docs explain", "docs describe", "docs site", "documentation site", "user guide", "tutorial", "documented",
    "readme",
)  # fmt: skip
_CONTRIBUTING_PHRASES = (
    "contribute", "contributing", "contribution guide", "contributor guide", "development environment",
    "dev environment", "development setup", "set up for development", "pull request process",
)  # fmt: skip
_CHANGELOG_PHRASES = ("changelog", "change log", "release notes", "changes file", "news file")
_POLICY_PHRASES = (
    "security policy", "report a vulnerability", "reporting a vulnerability", "reporting vulnerabilities",
    "code of conduct",
)  # fmt: skip
_SUPPORT_PHRASES = (
    "test helper", "test helpers", "helper that the tests", "helpers the tests", "tests use",
    "in my tests", "test utility", "test utilities", "testing utilities",
    "test runner", "test client", "test server", "test fixture", "test fixtures", "fixtures",
)  # fmt: skip
# A test file proper: it holds tests, not the helpers tests share.
_TEST_FILE = re.compile(r"^(test_.*|.*_tests?\.[^.]+|.*[._-](test|spec)s?\.[^.]+)$")
_SUPPORT_STEMS = ("testing", "testutil", "testutils", "conftest", "helpers", "fixtures", "testserver")


def _is_test_support(path: str, kind: str) -> bool:
    """Helpers that tests share: a test-class file that is not itself a test file, or a testing module."""
    name = _parts(path)[1]
    if kind == "test":
        return not _TEST_FILE.match(name)
    return kind == "source" and name.split(".")[0] in _SUPPORT_STEMS


_TESTS_PHRASES = (
    "which tests", "what tests", "which test", "tests check", "tests cover", "tests that",
    "tests for", "test for", "test cases", "test case", "test files", "integration tests", "unit tests", "tested",
)  # fmt: skip
TOPICS: tuple[Topic, ...] = (
    Topic("ci", _CI_PHRASES, _is_ci),
    Topic("manifest", _MANIFEST_PHRASES, _is_manifest),
    Topic("build", _BUILD_PHRASES, _is_build),
    Topic("docs", _DOCS_PHRASES, _is_document),
    Topic("tests", _TESTS_PHRASES, lambda _path, kind: kind == "test"),
    Topic("test support", _SUPPORT_PHRASES, _is_test_support),
    Topic("contributing", _CONTRIBUTING_PHRASES, _named("contributing", "hacking", "development", "developing")),
    Topic("changelog", _CHANGELOG_PHRASES, _named("changelog", "changes", "history", "news", "release_notes")),
    Topic("policy", _POLICY_PHRASES, _named("security", "code_of_conduct")),
)
_WORD = re.compile(r"[a-z0-9]+")


def asked_topics(question: str | None) -> tuple[Topic, ...]:
    """The topics a question names."""
    words = " ".join(_WORD.findall((question or "").lower()))
    padded = f" {words} "
    return tuple(t for t in TOPICS if any(f" {phrase} " in padded for phrase in t.phrases))


def topic_weight(topics: tuple[Topic, ...], path: str, kind: str, weight: float) -> float:
    """A file's class `weight`, or TOPIC_WEIGHT when it belongs to a topic the question names."""
    return TOPIC_WEIGHT if any(t.holds(path, kind) for t in topics) else weight
