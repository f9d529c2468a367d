"""Structure: one file -> outline (definitions, imports, referenced identifiers) with tree-sitter.

Grammars come from the official wheels (tree_sitter_python, ...); codectx.grammars maps languages to
them and holds each one's definitions query (`@definition.<kind>` on the whole node, `@name` on its
name), imports query and identifier node types counted as references. Files in other languages get
no outline.
"""

from __future__ import annotations

import importlib
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import tree_sitter

from codectx.grammars import (
    CLASS_LIKE,
    GRAMMAR_BY_LANGUAGE,
    HEADER_GRAMMAR,
    LOCAL_SCOPES,
    SPECS,
    LanguageSpec,
    grammar_module,
)
from codectx.render.highlight import tree_sitter_source

STRUCTURE_VERSION = 8  # 2: parsed as the highlighter parses; 3: exact values of every length that pages garble;
# 4: JavaScript member assignments, exports and getters; Rust tests defined by macros; 5: 30 more grammars;
# 6: chained JavaScript aliases (`a.x = a.y = function`); 7: no exact values from PEM block bodies;
# 8: a lone capital joins the word after it in identifier parts (ETag -> etag, not e + tag)


class Symbol(NamedTuple):  # a named tuple: an index sends tens of thousands between processes
    kind: str  # class, function, method, struct, interface, type, variable, ...
    name: str
    start_line: int  # 1-based, inclusive
    end_line: int
    parent: int  # index of the enclosing symbol in Outline.symbols, -1 at top level


class Import(NamedTuple):
    target: str  # as written: "urllib.parse", ".decoder", "./util", "fmt", "foo.h"
    line: int


@dataclass(frozen=True, slots=True)
class Outline:
    grammar: str
    symbols: tuple[Symbol, ...]
    imports: tuple[Import, ...]
    references: tuple[tuple[str, int], ...]  # (identifier, occurrences), sorted by identifier


def grammar_for(path: str, language: str) -> str | None:
    """The tree-sitter grammar that outlines this file, or None."""
    if language == "objective-c" and path.endswith(".h"):
        return HEADER_GRAMMAR
    return GRAMMAR_BY_LANGUAGE.get(language)


@cache
def _language(grammar: str) -> tree_sitter.Language:
    module, function = grammar_module(grammar)
    with warnings.catch_warnings():  # older wheels hand over the pointer as an int, which tree-sitter deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        return tree_sitter.Language(getattr(importlib.import_module(module), function)())


@dataclass(frozen=True, slots=True)
class _Compiled:
    parser: tree_sitter.Parser
    # Definitions' patterns, then imports': one query, because walking the tree costs more than its matches.
    shape: tree_sitter.Query
    definition_patterns: int
    identifiers: tree_sitter.Query | None
    spec: LanguageSpec


@cache
def _compiled(grammar: str) -> _Compiled:
    language = _language(grammar)
    spec = SPECS[grammar]
    identifiers = " ".join(f"({kind})" for kind in spec.identifiers)
    return _Compiled(
        parser=tree_sitter.Parser(language),
        shape=tree_sitter.Query(language, f"{spec.definitions}\n{spec.imports}"),
        definition_patterns=tree_sitter.Query(language, spec.definitions).pattern_count,
        identifiers=tree_sitter.Query(language, f"[{identifiers}] @ref") if identifiers else None,
        spec=spec,
    )


def _text(node: Any) -> str:
    raw: bytes = node.text or b""
    return raw.decode("utf-8", errors="replace")


def _lines(node: Any) -> tuple[int, int]:
    start, end = node.start_point, node.end_point
    last = end.row if end.column == 0 and end.row > start.row else end.row + 1
    return start.row + 1, last


_DECLARATOR_NAMES = frozenset(
    {"identifier", "field_identifier", "qualified_identifier", "destructor_name", "operator_name", "type_identifier"}
)


def _declarator_name(node: Any) -> Any | None:
    """The name node inside a C/C++ declarator (through pointers, references and parentheses)."""
    for _ in range(8):
        if node is None or node.type in _DECLARATOR_NAMES:
            return node
        inner = node.child_by_field_name("declarator")
        if inner is None:
            inner = next((child for child in node.named_children if child.type != "parameter_list"), None)
        node = inner
    return None


def _short_name(name: str) -> str:
    """One line, without C++ scopes' or Ruby's `A::` prefixes and generic parameters."""
    name = name.split("\n", 1)[0].strip()
    name = name.split("<", 1)[0].strip() or name
    return name.rsplit("::", 1)[-1] or name


VERBATIM_NAME_CHARS = 80


def _verbatim_name(text: str) -> str:
    """A heading, selector or key as written: its first line, without quotes or an opening brace."""
    name = text.strip().split("\n", 1)[0].strip().removesuffix("{").strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        name = name[1:-1]
    return name if len(name) <= VERBATIM_NAME_CHARS else name[: VERBATIM_NAME_CHARS - 1] + "…"


_Definition = tuple[int, int, str, str, int, int]  # start byte, -end byte, kind, name, first line, last line


_Match = tuple[int, dict[str, list[Any]]]  # a query match: (pattern index, nodes by capture name)


def _definitions(compiled: _Compiled, matches: list[_Match]) -> list[_Definition]:
    found: dict[tuple[int, int], tuple[int, _Definition]] = {}
    verbatim = compiled.spec.verbatim
    for pattern, captures in matches:
        if pattern >= compiled.definition_patterns:
            continue
        definition = next(((k, v[0]) for k, v in captures.items() if k.startswith("definition.")), None)
        if definition is None:
            continue
        kind, node = definition[0].removeprefix("definition."), definition[1]
        name_nodes: list[Any]
        if "name" in captures:
            name_nodes = sorted(captures["name"], key=lambda n: n.start_byte)
        else:
            declared = _declarator_name(captures["declarator"][0]) if "declarator" in captures else None
            name_nodes = [declared] if declared is not None else []
        names = [_verbatim_name(_text(n)) if verbatim else _short_name(_text(n)) for n in name_nodes]
        name = ".".join(n for n in names if n)
        if not name:
            continue
        key = (node.start_byte, node.end_byte)
        start, end = _lines(node)
        # A node matched by several patterns takes the kind of the first one in the query.
        if key not in found or pattern < found[key][0]:
            found[key] = (pattern, (node.start_byte, -node.end_byte, kind, name, start, end))
    return sorted(value for _pattern, value in found.values())


_SKIPPED = -2  # in _nest's open ends: a symbol left out, with everything inside it


def _nest(definitions: list[_Definition], max_depth: int = 0) -> tuple[Symbol, ...]:
    """Symbols in source order with each one's innermost enclosing symbol as parent."""
    symbols: list[Symbol] = []
    depths: list[int] = []
    open_ends: list[tuple[int, int]] = []  # (end byte, symbol index or _SKIPPED)
    for start_byte, negative_end, kind, name, start, end in definitions:
        end_byte = -negative_end
        while open_ends and open_ends[-1][0] <= start_byte:
            open_ends.pop()
        parent = open_ends[-1][1] if open_ends else -1
        depth = depths[parent] + 1 if parent >= 0 else 1
        if parent == _SKIPPED or (max_depth and depth > max_depth):
            open_ends.append((end_byte, _SKIPPED))
            continue
        if kind == "function" and parent >= 0 and symbols[parent].kind in CLASS_LIKE:
            kind = "method"
        elif kind == "variable" and parent >= 0:
            continue
        elif kind == "member":  # `obj.name = function`: a method of obj, unless a function body sets it
            if parent >= 0 and symbols[parent].kind in LOCAL_SCOPES:
                continue
            kind = "method"
        if symbols and symbols[-1].parent == parent and (symbols[-1].kind, symbols[-1].name) == (kind, name):
            # Clauses of one function (Haskell equations, Elixir heads) make one symbol.
            previous = symbols[-1]
            symbols[-1] = Symbol(kind, name, previous.start_line, max(end, previous.end_line), parent)
            open_ends.append((end_byte, len(symbols) - 1))
            continue
        symbols.append(Symbol(kind, name, start, end, parent))
        depths.append(depth)
        open_ends.append((end_byte, len(symbols) - 1))
    return tuple(symbols)


def _python_from_import(node: Any) -> list[str]:
    """`from a.b import c, d` -> ["a.b.c", "a.b.d"] (a name may be a submodule); `from . import x` -> [".x"]."""
    module = node.child_by_field_name("module_name")
    base = _text(module) if module is not None else ""
    names = [_text(n.child_by_field_name("name") or n) for n in node.children_by_field_name("name")]
    if not names:  # from a import *
        return [base]
    separator = "" if base.endswith(".") else "."
    return [f"{base}{separator}{name}" for name in names]


def _imports(compiled: _Compiled, matches: list[_Match]) -> tuple[Import, ...]:
    found: list[Import] = []
    for pattern, captures in matches:
        if pattern < compiled.definition_patterns:
            continue
        for node in captures.get("import", []):
            target = _text(node).strip().removeprefix("import ").strip().strip("\"'<>`")
            if target:
                found.append(Import(target, node.start_point.row + 1))
        for node in captures.get("from_import", []):
            found.extend(Import(target, node.start_point.row + 1) for target in _python_from_import(node))
    return tuple(found)


def _references(compiled: _Compiled, root: Any) -> tuple[tuple[str, int], ...]:
    if compiled.identifiers is None:
        return ()
    captures = tree_sitter.QueryCursor(compiled.identifiers).captures(root)
    counts = Counter(node.text for node in captures.get("ref", []))
    return tuple(sorted((name.decode("utf-8", errors="replace"), n) for name, n in counts.items() if name))


def outline(path: str, language: str, text: str) -> Outline | None:
    """The file's outline, or None when no grammar covers its language."""
    grammar = grammar_for(path, language)
    if grammar is None:
        return None
    compiled = _compiled(grammar)
    root = compiled.parser.parse(tree_sitter_source(text.removesuffix("\n"))).root_node
    matches = tree_sitter.QueryCursor(compiled.shape).matches(root)
    return Outline(
        grammar=grammar,
        symbols=_nest(_definitions(compiled, matches), compiled.spec.max_depth),
        imports=_imports(compiled, matches),
        references=_references(compiled, root),
    )


@dataclass(frozen=True, slots=True)
class OutlineCoverage:
    """Which of a generation's files have an outline: counts per grammar, and the files without one."""

    by_grammar: dict[str, int]
    without: tuple[tuple[str, str], ...]  # (path, language), sorted by path

    @property
    def outlined(self) -> int:
        return sum(self.by_grammar.values())

    def languages_without(self) -> list[tuple[str, int]]:
        """(language, files) of the files without an outline, most files first."""
        return Counter(language for _path, language in self.without).most_common()

    def as_json(self) -> dict[str, object]:
        return {
            "outlined": self.outlined,
            "by_grammar": dict(sorted(self.by_grammar.items())),
            "not_outlined": [{"path": path, "language": language} for path, language in self.without],
        }


def outline_coverage(files: Iterable[tuple[str, str]]) -> OutlineCoverage:
    """Outline coverage of (path, language) pairs: the grammar each file is outlined with, or none."""
    by_grammar: Counter[str] = Counter()
    without: list[tuple[str, str]] = []
    for path, language in files:
        grammar = grammar_for(path, language)
        if grammar is None:
            without.append((path, language))
        else:
            by_grammar[grammar] += 1
    return OutlineCoverage(dict(by_grammar), tuple(sorted(without)))
