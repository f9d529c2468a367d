"""Question words: Snowball stems matched as prefixes, and the verb behind a noun made from one."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from codectx.indexer import index_repository
from codectx.relevance import Ranking, rank
from codectx.store import Store
from codectx.terms import (
    compound_splits,
    form_matches,
    neighbour_phrases,
    query_forms,
    query_terms,
    shorthand_forms,
    split_identifier,
    stem,
    word_forms,
)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("names", "name"),
        ("redirects", "redirect"),
        ("following", "follow"),
        ("conversions", "convers"),
        ("converted", "convert"),
        ("distance", "distanc"),
        ("parsing", "pars"),
        ("ids", "ids"),
    ],
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


def test_nouns_made_from_verbs_also_match_the_verb() -> None:
    assert "convert" in word_forms("conversion")
    assert "extend" in word_forms("extensions")
    assert "permit" in word_forms("permission")
    assert "resolv" in word_forms("resolution")
    assert "describ" in word_forms("description")
    assert "query" in word_forms("queries")
    assert word_forms("class") == ("class",)


def test_query_terms() -> None:
    assert query_terms("edit distance for mistyped command names") == ["edit", "distanc", "mistyp", "command", "name"]
    assert query_forms("type conversion")[1][:2] == ("convers", "convert")


LICENSE = """Copyright 2014 Example. All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are permitted
provided that the following conditions are met: redistributions of source code must retain the
above copyright notice. Neither the name of the copyright holder nor the names of its contributors
may be used to endorse or promote products derived from this software.
"""

TYPES = '''"""Parameter values."""


def convert(value, kind):
    """Turn a raw value into the parameter's kind."""
    if kind is int:
        return int(value)
    return str(value)
'''

SUGGEST = '''"""Suggestions for unknown commands."""


def edit_distance(left, right):
    """Levenshtein distance between two strings."""
    previous = list(range(len(right) + 1))
    for i, a in enumerate(left, 1):
        current = [i]
        for j, b in enumerate(right, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1]


def suggest(typed, commands):
    """Command names close to a mistyped one."""
    return [name for name in commands if edit_distance(typed, name) <= 2]
'''

HINTS = '''"""Type hints for the documentation."""

TYPE_NAMES = {"int": "integer type", "str": "string type", "bool": "boolean type"}


def type_name(kind):
    """The type's name, for the type table."""
    return TYPE_NAMES.get(kind.__name__, "other type")
'''


def test_verbs_and_stems_in_a_repository(make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path) -> None:
    repo = make_repo({"LICENSE.txt": LICENSE, "pkg/params.py": TYPES, "pkg/suggest.py": SUGGEST, "pkg/hints.py": HINTS})
    conversion, mistyped = _rankings(repo, tmp_path, "type conversion", "edit distance for mistyped command names")
    assert conversion.files[0].path == "pkg/params.py"
    assert "'convers'" in conversion.files[0].reason
    paths = [f.path for f in mistyped.files]
    assert paths[0] == "pkg/suggest.py"
    assert "LICENSE.txt" not in paths[:2]


def test_identifiers_in_a_question_are_also_phrases() -> None:
    forms = query_forms("where is get_current_context stored")
    assert ("get current context",) in forms and forms[0][0] == "get"
    assert ("res send",) in query_forms("which tests cover res.send with a buffer")
    assert query_forms("redirects") == [("redirect",)]


def test_a_files_own_name_counts_more_than_its_folders(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    body = "def run(value):\n    return value\n"
    repo = make_repo({"parser/helpers.py": body * 3, "tools/parser.py": body * 3, "parser/__init__.py": ""})
    (ranking,) = _rankings(repo, tmp_path, "parser")
    assert ranking.files[0].path == "tools/parser.py"


def test_a_lone_capital_stays_with_the_word_after_it() -> None:
    assert split_identifier("createETagGenerator") == ["create", "etag", "generator"]
    assert split_identifier("XPath") == ["xpath"]
    assert split_identifier("HTTPRedirectHandler") == ["http", "redirect", "handler"]
    assert split_identifier("IOError") == ["io", "error"]
    assert split_identifier("parse_HTTPHeaders2") == ["parse", "http", "headers", "2"]


def test_shorthands_of_two_neighbouring_words() -> None:
    assert ((stem("memory"), "map"), ("memmap", "mmap")) in shorthand_forms("searching through a memory map")
    # A stop word between them breaks the run; words of three letters or fewer lend no shorthand.
    assert shorthand_forms("memory of a map") == []
    assert shorthand_forms("the raw map") == []
    assert shorthand_forms("command") == []  # a word's own leading part ("comma") is no shorthand


def test_a_shorthand_the_code_uses_matches_the_words_it_stands_for(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    body = "def open_file(path):\n    # read the whole file, then search it\n    return path.read()\n"
    mmap = "class MmapReader:\n    def open(self, path):\n        return mmap.mmap(path.fileno(), 0)\n"
    repo = make_repo({"search/read.py": body * 3, "search/mmap.py": mmap, "search/other.py": body})
    (ranking,) = _rankings(repo, tmp_path, "searching a file through a memory map")
    assert ranking.files[0].path == "search/mmap.py"
    assert "path matches 'search', 'memori', 'map'" in ranking.files[0].reason  # mmap.py, for both words


def test_common_shorter_names_and_short_words_match_whole_words() -> None:
    forms = word_forms("configuration")
    assert "config" in forms and any(form_matches("cfg", f) for f in forms)
    assert not any(form_matches("confirm", f) for f in forms)  # "conf" matches the whole word only
    assert any(form_matches("levenshtein", f) for f in word_forms("distance"))
    # Words shorter than three letters are whole words: "ca" is not a prefix of "call".
    assert form_matches("ca", word_forms("ca")[0]) and not form_matches("call", word_forms("ca")[0])


def test_examples_yield_to_the_code_they_use_unless_asked_for(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    body = "def sign_cookie(value, secret):\n    # the cookie is signed with the secret\n    return value + secret\n"
    repo = make_repo({"lib/cookies.py": body, "examples/cookies/app.py": body + "\n\nsign_cookie('a', 'b')\n"})
    plain, asked = _rankings(repo, tmp_path, "where is a cookie signed", "an example that signs a cookie")
    assert plain.files[0].path == "lib/cookies.py"
    scores = {f.path: f.score for f in asked.files}
    assert scores["examples/cookies/app.py"] >= 0.9 * scores["lib/cookies.py"]


def test_a_file_named_after_an_identifier_in_the_question_matches_it(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    body = "test('sends', () => {\n  res.send(Buffer.from('hello'))\n  res.json({})\n})\n"
    repo = make_repo({"test/res.send.js": body, "test/res.json.js": body * 2, "test/app.send.js": body * 2})
    (ranking,) = _rankings(repo, tmp_path, "which tests cover res.send with a buffer")
    assert ranking.files[0].path == "test/res.send.js"
    assert "'res send'" in ranking.files[0].reason


def _rankings(repo: Path, tmp_path: Path, *questions: str) -> list[Ranking]:
    """Index `repo` into a store under tmp_path and rank it for each question."""
    store_dir = tmp_path / "store"
    index_repository(repo, store_dir=store_dir)
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude").id
        return [rank(store, generation, question) for question in questions]


def _ranked(make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path, files: dict[str, str], question: str):
    (ranking,) = _rankings(make_repo(dict(files)), tmp_path, question)
    return [f.path for f in ranking.files]


def test_a_short_file_about_the_question_outranks_a_long_one_that_mentions_its_words_apart(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    # The long file holds every word of the question more often, but never two within a screen.
    filler = "".join(f"    step_{i} = compute(step_{i - 1})\n" for i in range(1, 60))
    scattered = "".join(
        f"def stage_{n}():\n    # the {word} is noted here\n{filler}\n"
        for n, word in enumerate(["cache", "entry", "expired", "evicted"] * 4)
    )
    focused = "def tidy(store):\n    # an expired cache entry is evicted here\n    return store\n" + filler * 2
    paths = _ranked(
        make_repo, tmp_path, {"app/pipeline.py": scattered, "app/tidy.py": focused}, "expired cache entry evicted"
    )
    assert paths[0] == "app/tidy.py"


def test_neighbouring_words_of_the_question_run_together_in_a_name(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    assert ("program name",) in neighbour_phrases("how is the program name worked out")
    assert neighbour_phrases("program of the name") == []  # a stop word breaks the run
    # Both names hold the three words; only the second runs "program name" together, as the question does.
    files = {
        "app/a.py": "def name_detect_program(argv):\n    return argv[0]\n",
        "app/b.py": "def program_name_detect(argv):\n    return argv[0]\n",
    }
    assert _ranked(make_repo, tmp_path, files, "how is the program name detected")[0] == "app/b.py"


def test_a_name_among_a_files_hundreds_of_definitions_says_less(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    table = "".join(f"def flag_{i}():\n    return {i}\n\n" for i in range(300))
    table += (
        "def proxy_timeout():\n    # the proxy timeout: how long the proxy waits before the timeout\n    return 9\n"
    )
    # As long as the table, in lines: what tells them apart is how many names each defines.
    small = (
        "def proxy_timeout(seconds):\n    return seconds\n\n\nNOTES = [\n" + "    'a line of notes',\n" * 900 + "]\n"
    )
    files = {"app/flags.py": table, "app/net.py": small}
    assert _ranked(make_repo, tmp_path, files, "proxy timeout")[0] == "app/net.py"


def test_a_compound_word_matches_the_two_words_code_writes_for_it(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    assert ("new", "line") in dict(compound_splits("never match a newline"))[stem("newline")]
    files = {
        "rx/clean.py": "def clean(expr):\n    # the new line must never match, so strip it\n    return expr\n",
        "rx/spaces.py": "def strip_spaces(expr):\n    return expr.strip()\n",
    }
    assert _ranked(make_repo, tmp_path, files, "where is the newline stripped")[0] == "rx/clean.py"


def test_irregular_verbs_stop_words_and_short_words() -> None:
    assert "send" in word_forms("sent") and "find" in word_forms("found") and "write" in word_forms("written")
    assert query_terms("only any such like") == []
    out = word_forms("out")  # three letters: the word and its inflections, not every word it begins
    assert any(form_matches("outs", f) for f in out) and not any(form_matches("output", f) for f in out)
    assert any(form_matches("running", f) for f in word_forms("run"))


def test_a_short_word_matches_its_numbered_forms(
    make_repo: Callable[[dict[str, str | bytes]], Path], tmp_path: Path
) -> None:
    files = {
        "enc/codec.py": "def convert(data):\n    return data.decode('utf8')\n",
        "enc/batch.py": "def decode_all(data):\n    return [decode(d) for d in data]\n",
    }
    assert _ranked(make_repo, tmp_path, files, "utf decoding")[0] == "enc/codec.py"


def test_stemming_from_many_threads_gives_the_same_stems():
    from concurrent.futures import ThreadPoolExecutor

    from codectx.terms import stem

    words = [
        f"{base}{suffix}"
        for base in ("connect", "handl", "pars", "render", "configur")
        for suffix in ("ing", "ed", "ions", "ers", "ation", "ement")
    ] * 40
    expected = {word: stem.__wrapped__(word) for word in set(words)}
    stem.cache_clear()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch inside a stemming call, as they do under load
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(stem.__wrapped__, words))
    finally:
        sys.setswitchinterval(interval)
    assert results == [expected[word] for word in words]
