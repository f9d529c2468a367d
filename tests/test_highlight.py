from __future__ import annotations

import pytest

from codectx.render import highlight as highlighting
from codectx.render.highlight import GRAMMARS, Grammar, highlight, tree_sitter_highlighter
from codectx.render.theme import (
    INK_COMMENT,
    INK_DECORATOR,
    INK_DEFINITION,
    INK_KEYWORD,
    INK_NUMBER,
    INK_STRING,
    INK_TEXT,
)

PYTHON = '''import os
@cache
def area(width, height=3):
    """Docstring."""
    return width and height or None  # why
class Shape: pass
label = "café ✓"
'''

# (language, source, {fragment: expected ink}): each fragment's first occurrence is checked.
CONSTRUCTS = [
    ("javascript", 'function add(a) { // sum\n  return "x" + 42;\n}', {"function": INK_KEYWORD, "add": INK_DEFINITION,
     "// sum": INK_COMMENT, '"x"': INK_STRING, "42": INK_NUMBER}),
    ("typescript", 'interface Shape { n: number }\nconst s = "hi"; // c', {"interface": INK_KEYWORD,
     "Shape": INK_DEFINITION, '"hi"': INK_STRING, "// c": INK_COMMENT}),
    ("tsx", 'const App = () => <div className="x">{1}</div>; // c', {"const": INK_KEYWORD, '"x"': INK_STRING,
     "// c": INK_COMMENT}),
    ("go", 'package main\n// note\nfunc Add(a int) int { return a + 42 }\nvar s = "str"', {"func": INK_KEYWORD,
     "Add": INK_DEFINITION, "// note": INK_COMMENT, '"str"': INK_STRING, "42": INK_NUMBER}),
    ("rust", 'fn add(a: i32) -> i32 { a + 42 } // c\nlet s = "str";', {"fn": INK_KEYWORD, "add": INK_DEFINITION,
     "42": INK_NUMBER, "// c": INK_COMMENT, '"str"': INK_STRING}),
    ("java", 'public class Foo { // c\n  int add() { return 42; }\n  String s = "str";\n}', {"class": INK_KEYWORD,
     "Foo": INK_DEFINITION, "// c": INK_COMMENT, "42": INK_NUMBER, '"str"': INK_STRING}),
    ("c", 'int add(int a) { return a + 42; } /* c */\nchar *s = "str";', {"return": INK_KEYWORD,
     "add": INK_DEFINITION, "/* c */": INK_COMMENT, "42": INK_NUMBER, '"str"': INK_STRING}),
    ("cpp", 'namespace ns { class Foo { int x = 42; }; } // c\nauto s = "str";', {"class": INK_KEYWORD,
     "Foo": INK_DEFINITION, "// c": INK_COMMENT, "42": INK_NUMBER, '"str"': INK_STRING}),
    ("ruby", 'def add(a) # c\n  return a + 42\nend\ns = "str"', {"def": INK_KEYWORD, "add": INK_DEFINITION,
     "# c": INK_COMMENT, "42": INK_NUMBER, '"str"': INK_STRING}),
]  # fmt: skip


def inks_at(text: str, fragment: str, language: str) -> set[int]:
    """The inks drawn under `fragment`'s first occurrence (one set; a fragment should be one colour)."""
    lines = highlight(text, language)
    for line_text, inks in lines:
        column = line_text.find(fragment)
        if column >= 0:
            return set(inks[column : column + len(fragment)])
    raise AssertionError(f"{fragment!r} not in the text")


@pytest.fixture
def pygments_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(highlighting, "tree_sitter_highlighter", lambda _language: None)


def test_every_grammar_and_its_queries_load():
    for language in GRAMMARS:
        assert tree_sitter_highlighter(language) is not None, language


@pytest.mark.parametrize("source", ["json/decoder.py", "email/_header_value_parser.py", "asyncio/base_events.py"])
def test_tree_sitter_and_pygments_agree_on_lines(stdlib, source, monkeypatch):
    text = (stdlib / source).read_text()
    fast = highlight(text, "python")
    monkeypatch.setattr(highlighting, "tree_sitter_highlighter", lambda _language: None)
    slow = highlight(text, "python")
    assert [t for t, _ in fast] == [t for t, _ in slow] == text.split("\n")
    assert all(len(t) == len(i) for t, i in fast + slow)
    # Colours differ only in detail (pygments also colours builtins that are not called, and `self`).
    pairs = [
        (a, b)
        for (t, fi), (_, si) in zip(fast, slow, strict=True)
        for c, a, b in zip(t, fi, si, strict=True)
        if not c.isspace()
    ]
    assert sum(a == b for a, b in pairs) / len(pairs) > 0.9


@pytest.mark.parametrize("path", ["tree-sitter", "pygments"])
def test_python_constructs_get_their_inks(path, request):
    if path == "pygments":
        request.getfixturevalue("pygments_only")
    expected = {"import": INK_KEYWORD, "@cache": INK_DECORATOR, "def": INK_KEYWORD, "area": INK_DEFINITION,
                "3": INK_NUMBER, '"""Docstring."""': INK_STRING, "and": INK_KEYWORD, "None": INK_KEYWORD,
                "# why": INK_COMMENT, "Shape": INK_DEFINITION, '"café ✓"': INK_STRING, "label": INK_TEXT}  # fmt: skip
    for fragment, ink in expected.items():
        assert inks_at(PYTHON, fragment, "python") == {ink}, fragment


@pytest.mark.parametrize(("language", "source", "expected"), CONSTRUCTS, ids=[c[0] for c in CONSTRUCTS])
def test_tree_sitter_languages_colour_common_constructs(language, source, expected):
    assert tree_sitter_highlighter(language) is not None
    for fragment, ink in expected.items():
        assert inks_at(source, fragment, language) == {ink}, fragment


def test_non_ascii_text_keeps_one_ink_per_character():
    text = 's = "日本語 \U0001f600 ñ"  # 注释\n\tx = 1\n'
    lines = highlight(text, "python")
    assert [t for t, _ in lines] == text.split("\n")
    assert all(len(t) == len(i) for t, i in lines)
    assert inks_at(text, '"日本語 \U0001f600 ñ"', "python") == {INK_STRING}
    assert inks_at(text, "# 注释", "python") == {INK_COMMENT}


def test_languages_without_a_grammar_use_pygments():
    assert tree_sitter_highlighter("csharp") is None
    assert inks_at("public class A { } // c", "class", "csharp") == {INK_KEYWORD}
    assert inks_at("public class A { } // c", "// c", "csharp") == {INK_COMMENT}
    assert highlight("plain\ntext", "text") == [("plain", bytes(5)), ("text", bytes(4))]


def test_a_query_the_grammar_rejects_falls_back_to_pygments(monkeypatch):
    broken = Grammar("tree_sitter_python", "language", (("tree_sitter_python", "highlights.scm"),), "(no_such_node) @x")
    monkeypatch.setitem(GRAMMARS, "python", broken)
    tree_sitter_highlighter.cache_clear()
    try:
        assert tree_sitter_highlighter("python") is None
        assert inks_at("def f(): return 1  # c", "# c", "python") == {INK_COMMENT}
    finally:
        tree_sitter_highlighter.cache_clear()


def test_highlighting_is_deterministic(stdlib):
    text = (stdlib / "json" / "encoder.py").read_text()
    assert highlight(text, "python") == highlight(text, "python")
