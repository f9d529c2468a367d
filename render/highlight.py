"""Highlight: source text -> one (text, inks) pair per line, one ink byte per character.

tree-sitter highlights the languages whose official grammar wheels ship highlight queries, about
ten times faster than pygments; pygments' lexers cover every other language, and any grammar or
query that fails to load.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module, resources

import numpy as np
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from codectx.render.theme import (
    INK_BUILTIN,
    INK_COMMENT,
    INK_DECORATOR,
    INK_DEFINITION,
    INK_KEYWORD,
    INK_NUMBER,
    INK_STRING,
    INK_TEXT,
    ink_for,
)

StyledLine = tuple[str, bytes]  # a line's text and one ink byte per character

# Capture names of the grammars' highlight queries (and codectx's own, below) -> inks. A name
# maps through its longest dotted prefix listed here; unlisted names (variables, operators,
# punctuation, calls, types...) are drawn as plain text, so their captures are switched off.
# Where captures nest, the inner one is painted last; on the same node the later entry wins.
CAPTURE_INKS: tuple[tuple[str, int], ...] = (
    ("embedded", INK_TEXT),  # code inside string interpolation
    ("attribute", INK_DECORATOR),
    ("decorator", INK_DECORATOR),
    ("string", INK_STRING),
    ("escape", INK_STRING),
    ("function.builtin", INK_BUILTIN),
    ("function.method.builtin", INK_BUILTIN),
    ("function.macro", INK_BUILTIN),
    ("variable.builtin", INK_BUILTIN),
    ("type.builtin", INK_KEYWORD),
    ("constant.builtin", INK_KEYWORD),
    ("keyword", INK_KEYWORD),
    ("number", INK_NUMBER),
    ("definition", INK_DEFINITION),
    ("comment", INK_COMMENT),
)

# codectx's own patterns, appended to the shipped queries: names being defined, decorators, and
# word operators that pygments also draws as keywords.
_DEFINITIONS_PYTHON = """
(function_definition name: (identifier) @definition)
(class_definition name: (identifier) @definition)
(decorator) @decorator
["and" "in" "is" "not" "or" "is not" "not in"] @keyword
"""
_DEFINITIONS_JAVASCRIPT = """
(function_declaration name: (_) @definition)
(generator_function_declaration name: (_) @definition)
(class_declaration name: (_) @definition)
(method_definition name: (_) @definition)
(decorator) @decorator
"""
_DEFINITIONS_TYPESCRIPT = """
(interface_declaration name: (_) @definition)
(type_alias_declaration name: (_) @definition)
(abstract_class_declaration name: (_) @definition)
(enum_declaration name: (_) @definition)
"""
_DEFINITIONS_GO = """
(function_declaration name: (_) @definition)
(method_declaration name: (_) @definition)
(type_spec name: (_) @definition)
"""
_DEFINITIONS_RUST = """
(function_item name: (_) @definition)
(struct_item name: (_) @definition)
(enum_item name: (_) @definition)
(union_item name: (_) @definition)
(trait_item name: (_) @definition)
(type_item name: (_) @definition)
(mod_item name: (_) @definition)
(macro_definition name: (_) @definition)
[(integer_literal) (float_literal)] @number
"""
_DEFINITIONS_JAVA = """
(class_declaration name: (_) @definition)
(interface_declaration name: (_) @definition)
(enum_declaration name: (_) @definition)
(record_declaration name: (_) @definition)
(method_declaration name: (_) @definition)
(constructor_declaration name: (_) @definition)
"""
_DEFINITIONS_C = """
(function_definition declarator: (function_declarator declarator: (_) @definition))
(struct_specifier name: (_) @definition body: (_))
(union_specifier name: (_) @definition body: (_))
(enum_specifier name: (_) @definition body: (_))
(primitive_type) @type.builtin
"""
_DEFINITIONS_CPP = """
(class_specifier name: (_) @definition body: (_))
(namespace_definition name: (_) @definition)
(auto) @type.builtin
"""
_DEFINITIONS_RUBY = """
(method name: (_) @definition)
(singleton_method name: (_) @definition)
(class name: (_) @definition)
(module name: (_) @definition)
"""


@dataclass(frozen=True, slots=True)
class Grammar:
    """Where one language's grammar and highlight queries come from."""

    package: str  # the official grammar wheel's module
    language: str  # its function returning the language pointer
    queries: tuple[tuple[str, str], ...]  # (package, file under queries/), concatenated in order
    definitions: str


_JS = ("tree_sitter_javascript", "highlights.scm")
_JSX = ("tree_sitter_javascript", "highlights-jsx.scm")
_TS = ("tree_sitter_typescript", "highlights.scm")
_C = ("tree_sitter_c", "highlights.scm")
# Keyed by the pygments alias the scanner assigns (codectx.languages).
GRAMMARS: dict[str, Grammar] = {
    "python": Grammar(
        "tree_sitter_python", "language", (("tree_sitter_python", "highlights.scm"),), _DEFINITIONS_PYTHON
    ),
    "javascript": Grammar("tree_sitter_javascript", "language", (_JS,), _DEFINITIONS_JAVASCRIPT),
    "jsx": Grammar("tree_sitter_javascript", "language", (_JS, _JSX), _DEFINITIONS_JAVASCRIPT),
    "typescript": Grammar(
        "tree_sitter_typescript", "language_typescript", (_JS, _TS), _DEFINITIONS_JAVASCRIPT + _DEFINITIONS_TYPESCRIPT
    ),
    "tsx": Grammar(
        "tree_sitter_typescript", "language_tsx", (_JS, _JSX, _TS), _DEFINITIONS_JAVASCRIPT + _DEFINITIONS_TYPESCRIPT
    ),
    "go": Grammar("tree_sitter_go", "language", (("tree_sitter_go", "highlights.scm"),), _DEFINITIONS_GO),
    "rust": Grammar("tree_sitter_rust", "language", (("tree_sitter_rust", "highlights.scm"),), _DEFINITIONS_RUST),
    "java": Grammar("tree_sitter_java", "language", (("tree_sitter_java", "highlights.scm"),), _DEFINITIONS_JAVA),
    "c": Grammar("tree_sitter_c", "language", (_C,), _DEFINITIONS_C),
    "cpp": Grammar(
        "tree_sitter_cpp", "language", (_C, ("tree_sitter_cpp", "highlights.scm")), _DEFINITIONS_C + _DEFINITIONS_CPP
    ),
    "ruby": Grammar("tree_sitter_ruby", "language", (("tree_sitter_ruby", "highlights.scm"),), _DEFINITIONS_RUBY),
}


def capture_ink(name: str) -> tuple[int, int] | None:
    """(ink, paint priority) for a capture name, or None when it is drawn as plain text."""
    for priority, (prefix, ink) in _BY_PREFIX_LENGTH:
        if name == prefix or name.startswith(prefix + "."):
            return ink, priority
    return None


_BY_PREFIX_LENGTH = sorted(enumerate(CAPTURE_INKS), key=lambda item: -len(item[1][0]))


class TreeSitterHighlighter:
    """One language's parser and compiled highlight query (built once per process)."""

    def __init__(self, grammar: Grammar) -> None:
        import tree_sitter

        module = import_module(grammar.package)
        language = tree_sitter.Language(getattr(module, grammar.language)())
        source = "\n".join(
            (resources.files(package) / "queries" / name).read_text(encoding="utf-8")
            for package, name in grammar.queries
        )
        # py-tree-sitter does not evaluate scope predicates such as `(#is-not? local)`, and freeing a
        # query whose pattern pairs one with a text predicate crashes tree-sitter 0.26: drop them.
        source = _SCOPE_PREDICATE.sub("", source)
        self.query = tree_sitter.Query(language, source + "\n" + grammar.definitions)
        self.parser = tree_sitter.Parser(language)
        self.cursor = tree_sitter.QueryCursor
        self._lock = threading.Lock()  # a parser is not safe to share between threads (the watcher's, the server's)
        self.inks: dict[str, tuple[int, int]] = {}
        for index in range(self.query.capture_count):
            name = self.query.capture_name(index)
            found = capture_ink(name)
            if found is None:
                self.query.disable_capture(name)  # drawn as plain text: its nodes are never built
            else:
                self.inks[name] = found

    def paint(self, source: bytes) -> bytearray:
        """One ink per byte of the UTF-8 source."""
        painted: list[tuple[int, int, int, int]] = []
        with self._lock:
            tree = self.parser.parse(source)
            for name, nodes in self.cursor(self.query).captures(tree.root_node).items():
                ink, priority = self.inks[name]
                painted.extend((node.start_byte, -node.end_byte, priority, ink) for node in nodes)
        # Outer ranges first, so nested captures (an escape inside a string) paint over them.
        painted.sort()
        inks = bytearray(len(source))
        for start, negative_end, _priority, ink in painted:
            inks[start:-negative_end] = _INK_BYTE[ink] * (-negative_end - start)
        return inks


_INK_BYTE = [bytes([ink]) for ink in range(256)]
_SCOPE_PREDICATE = re.compile(r"\(#is(?:-not)?\?[^)]*\)")


@lru_cache(maxsize=32)
def tree_sitter_highlighter(language: str) -> TreeSitterHighlighter | None:
    """The tree-sitter highlighter for a pygments alias, or None (no grammar, or it failed to load)."""
    grammar = GRAMMARS.get(language)
    if grammar is None:
        return None
    try:
        return TreeSitterHighlighter(grammar)
    except Exception:  # a missing wheel or a query the installed grammar rejects: pygments takes over
        return None


@lru_cache(maxsize=256)
def _lexer(language: str) -> Lexer | None:
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False, tabsize=0)
    except ClassNotFound:
        return None


def _pygments_inks(text: str, language: str) -> bytes:
    """One ink per character through pygments; plain text when there is no lexer or it alters the text."""
    lexer = _lexer(language)
    if lexer is None:
        return bytes(len(text))
    values: list[str] = []
    inks: list[bytes] = []
    # Lexed with a final newline: some lexers only close a line comment at a newline.
    for token_type, value in lexer.get_tokens(text + "\n"):
        values.append(value)
        inks.append(_INK_BYTE[ink_for(token_type)] * len(value))
    if "".join(values) != text + "\n":  # a lexer that rewrites its input cannot keep the line map exact
        return bytes(len(text))
    return b"".join(inks)[: len(text)]


def tree_sitter_source(text: str) -> bytes:
    """The bytes tree-sitter parses for `text`: surrogatepass keeps exactly one lead byte per character,
    even for lone surrogates."""
    return text.encode("utf-8", "surrogatepass")


def _tree_sitter_inks(text: str, language: str) -> bytes | None:
    highlighter = tree_sitter_highlighter(language)
    if highlighter is None:
        return None
    source = tree_sitter_source(text)
    try:
        inks = highlighter.paint(source)
    except Exception:  # a parser failure on odd input: pygments takes over
        return None
    if len(source) == len(text):
        return bytes(inks)
    raw = np.frombuffer(source, dtype=np.uint8)
    per_character: bytes = np.frombuffer(inks, dtype=np.uint8)[(raw & 0xC0) != 0x80].tobytes()  # lead bytes only
    return per_character


def highlight(text: str, language: str) -> list[StyledLine]:
    """Split `text` into '\\n'-separated lines, each with one ink per character."""
    inks = _tree_sitter_inks(text, language)
    if inks is None:
        inks = _pygments_inks(text, language)
    lines: list[StyledLine] = []
    position = 0
    for line in text.split("\n"):
        end = position + len(line)
        lines.append((line, inks[position:end]))
        position = end + 1
    return lines
