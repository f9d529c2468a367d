"""Structure: one file -> outline (definitions, imports, referenced identifiers) with tree-sitter.

Grammars come from the official wheels (tree_sitter_python, ...). Each language has a definitions
query (`@definition.<kind>` on the whole node, `@name` on its name), an imports query and a list of
identifier node types counted as references. Files in other languages get no outline.
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import Any

import tree_sitter

from codectx.render.highlight import tree_sitter_source

STRUCTURE_VERSION = 4  # 2: parsed as the highlighter parses; 3: exact values of every length that pages garble;
# 4: JavaScript member assignments, exports and getters; Rust tests defined by macros

# pygments alias (codectx.languages) -> grammar name.
GRAMMAR_BY_LANGUAGE = {
    "python": "python", "python3": "python", "py": "python",
    "javascript": "javascript", "js": "javascript", "jsx": "javascript",
    "typescript": "typescript", "ts": "typescript", "tsx": "tsx",
    "go": "go", "rust": "rust", "java": "java", "c": "c", "cpp": "cpp",
    "ruby": "ruby", "csharp": "c_sharp",
}  # fmt: skip
HEADER_GRAMMAR = "cpp"  # .h files pygments calls objective-c are almost always C or C++ headers

# Kinds whose function members are methods.
CLASS_LIKE = frozenset({"class", "struct", "interface", "trait", "impl", "enum", "record", "union"})
# Kinds whose bodies run code: what they assign to an object's member is local, not an API.
LOCAL_SCOPES = frozenset({"function", "method", "property"})

_JS_DEFINITIONS = """
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(class_declaration name: (_) @name) @definition.class
(method_definition name: (_) @name) @definition.method
(variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function) (class)]) @definition.function
(assignment_expression
  left: (member_expression object: (member_expression property: (property_identifier) @_proto)
    property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function)]
  (#eq? @_proto "prototype")) @definition.method
(assignment_expression left: (member_expression object: (identifier) @_obj property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function) (class)]
  (#not-eq? @_obj "exports")) @definition.member
(assignment_expression left: (member_expression object: (identifier) @_obj property: (property_identifier) @name)
  (#eq? @_obj "exports")) @definition.variable
(assignment_expression left: (member_expression object: (identifier) @_obj property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function) (class)]
  (#eq? @_obj "exports")) @definition.function
(assignment_expression
  left: (member_expression object: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
    property: (property_identifier) @name)
  (#eq? @_m "module") (#eq? @_e "exports")) @definition.variable
(assignment_expression
  left: (member_expression object: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
    property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function) (class)]
  (#eq? @_m "module") (#eq? @_e "exports")) @definition.function
(assignment_expression
  left: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
  right: [(function_expression name: (identifier) @name) (class name: (_) @name)]
  (#eq? @_m "module") (#eq? @_e "exports")) @definition.function
(assignment_expression
  left: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
  right: (object (pair key: [(property_identifier) @name (string (string_fragment) @name)]) @definition.variable)
  (#eq? @_m "module") (#eq? @_e "exports"))
(assignment_expression
  left: (member_expression object: (identifier) @_m property: (property_identifier) @_e)
  right: (object (pair key: [(property_identifier) @name (string (string_fragment) @name)]
    value: [(arrow_function) (function_expression) (generator_function)]) @definition.function)
  (#eq? @_m "module") (#eq? @_e "exports"))
(call_expression
  arguments: (arguments . [(identifier) (member_expression) (this)] . (string (string_fragment) @name)
    . [(function_expression) (arrow_function)] .)
  (#match? @name "^[A-Za-z_$][A-Za-z0-9_$]*$")) @definition.property
(call_expression function: (member_expression property: (property_identifier) @_define)
  arguments: (arguments . (_) . (string (string_fragment) @name) . (object) .)
  (#eq? @_define "defineProperty")) @definition.property
"""
_JS_IMPORTS = """
(import_statement source: (string (string_fragment) @import))
(export_statement source: (string (string_fragment) @import))
(call_expression function: (identifier) @_fn arguments: (arguments . (string (string_fragment) @import))
  (#eq? @_fn "require"))
"""
_TS_DEFINITIONS = (
    _JS_DEFINITIONS
    + """
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(internal_module name: (_) @name) @definition.namespace
(function_signature name: (identifier) @name) @definition.function
(method_signature name: (_) @name) @definition.method
(abstract_method_signature name: (_) @name) @definition.method
"""
)
_C_DEFINITIONS = """
(function_definition declarator: (_) @declarator) @definition.function
(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.union
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_def name: (identifier) @name) @definition.macro
(preproc_function_def name: (identifier) @name) @definition.macro
"""


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    definitions: str
    imports: str
    identifiers: tuple[str, ...]


SPECS: dict[str, LanguageSpec] = {
    "python": LanguageSpec(
        """
        (class_definition name: (identifier) @name) @definition.class
        (function_definition name: (identifier) @name) @definition.function
        (module (expression_statement (assignment left: (identifier) @name) @definition.variable))
        """,
        """
        (import_statement name: (dotted_name) @import)
        (import_statement name: (aliased_import name: (dotted_name) @import))
        (import_from_statement) @from_import
        """,
        ("identifier",),
    ),
    "javascript": LanguageSpec(_JS_DEFINITIONS, _JS_IMPORTS, ("identifier", "property_identifier")),
    "typescript": LanguageSpec(_TS_DEFINITIONS, _JS_IMPORTS, ("identifier", "property_identifier", "type_identifier")),
    "tsx": LanguageSpec(_TS_DEFINITIONS, _JS_IMPORTS, ("identifier", "property_identifier", "type_identifier")),
    "go": LanguageSpec(
        """
        (function_declaration name: (identifier) @name) @definition.function
        (method_declaration name: (field_identifier) @name) @definition.method
        (type_spec name: (type_identifier) @name) @definition.type
        (const_spec name: (identifier) @name) @definition.constant
        """,
        "(import_spec path: (_) @import)",
        ("identifier", "type_identifier", "field_identifier", "package_identifier"),
    ),
    "rust": LanguageSpec(
        """
        (struct_item name: (type_identifier) @name) @definition.struct
        (enum_item name: (type_identifier) @name) @definition.enum
        (union_item name: (type_identifier) @name) @definition.union
        (type_item name: (type_identifier) @name) @definition.type
        (trait_item name: (type_identifier) @name) @definition.trait
        (impl_item type: (_) @name) @definition.impl
        (function_item name: (identifier) @name) @definition.function
        (function_signature_item name: (identifier) @name) @definition.function
        (mod_item name: (identifier) @name) @definition.module
        (macro_definition name: (identifier) @name) @definition.macro
        (const_item name: (identifier) @name) @definition.constant
        (static_item name: (identifier) @name) @definition.constant
        (source_file (expression_statement (macro_invocation macro: (identifier) @_macro
          (token_tree . (identifier) @name)) @definition.test) (#match? @_macro "[Tt]est"))
        (source_file (macro_invocation macro: (identifier) @_macro
          (token_tree . (identifier) @name)) @definition.test (#match? @_macro "[Tt]est"))
        (declaration_list (macro_invocation macro: (identifier) @_macro
          (token_tree . (identifier) @name)) @definition.test (#match? @_macro "[Tt]est"))
        """,
        "(use_declaration argument: (_) @import)",
        ("identifier", "type_identifier", "field_identifier"),
    ),
    "java": LanguageSpec(
        """
        (class_declaration name: (identifier) @name) @definition.class
        (interface_declaration name: (identifier) @name) @definition.interface
        (enum_declaration name: (identifier) @name) @definition.enum
        (record_declaration name: (identifier) @name) @definition.record
        (annotation_type_declaration name: (identifier) @name) @definition.interface
        (method_declaration name: (identifier) @name) @definition.method
        (constructor_declaration name: (identifier) @name) @definition.constructor
        """,
        "(import_declaration [(scoped_identifier) (identifier)] @import)",
        ("identifier", "type_identifier"),
    ),
    "c": LanguageSpec(
        _C_DEFINITIONS, "(preproc_include path: (_) @import)", ("identifier", "type_identifier", "field_identifier")
    ),
    "cpp": LanguageSpec(
        _C_DEFINITIONS
        + """
        (class_specifier name: (type_identifier) @name body: (_)) @definition.class
        (namespace_definition name: (_) @name) @definition.namespace
        (field_declaration declarator: (function_declarator declarator: (_) @name)) @definition.method
        """,
        "(preproc_include path: (_) @import)",
        ("identifier", "type_identifier", "field_identifier", "namespace_identifier"),
    ),
    "ruby": LanguageSpec(
        """
        (class name: (_) @name) @definition.class
        (module name: (_) @name) @definition.module
        (method name: (_) @name) @definition.function
        (singleton_method name: (_) @name) @definition.function
        """,
        """
        (call method: (identifier) @_fn arguments: (argument_list . (string (string_content) @import))
          (#match? @_fn "^(require|require_relative|load|autoload)$"))
        """,
        ("identifier", "constant"),
    ),
    "c_sharp": LanguageSpec(
        """
        (class_declaration name: (identifier) @name) @definition.class
        (struct_declaration name: (identifier) @name) @definition.struct
        (interface_declaration name: (identifier) @name) @definition.interface
        (enum_declaration name: (identifier) @name) @definition.enum
        (record_declaration name: (identifier) @name) @definition.record
        (method_declaration name: (identifier) @name) @definition.method
        (constructor_declaration name: (identifier) @name) @definition.constructor
        (property_declaration name: (identifier) @name) @definition.property
        (namespace_declaration name: (_) @name) @definition.namespace
        (file_scoped_namespace_declaration name: (_) @name) @definition.namespace
        """,
        "(using_directive [(qualified_name) (identifier)] @import)",
        ("identifier",),
    ),
}


@dataclass(frozen=True, slots=True)
class Symbol:
    kind: str  # class, function, method, struct, interface, type, variable, ...
    name: str
    start_line: int  # 1-based, inclusive
    end_line: int
    parent: int  # index of the enclosing symbol in Outline.symbols, -1 at top level


@dataclass(frozen=True, slots=True)
class Import:
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
    if grammar in ("typescript", "tsx"):
        typescript = importlib.import_module("tree_sitter_typescript")
        return tree_sitter.Language(typescript.language_tsx() if grammar == "tsx" else typescript.language_typescript())
    return tree_sitter.Language(importlib.import_module(f"tree_sitter_{grammar}").language())


@dataclass(frozen=True, slots=True)
class _Compiled:
    parser: tree_sitter.Parser
    definitions: tree_sitter.Query
    imports: tree_sitter.Query
    identifiers: tree_sitter.Query


@cache
def _compiled(grammar: str) -> _Compiled:
    language = _language(grammar)
    spec = SPECS[grammar]
    identifiers = " ".join(f"({kind})" for kind in spec.identifiers)
    return _Compiled(
        parser=tree_sitter.Parser(language),
        definitions=tree_sitter.Query(language, spec.definitions),
        imports=tree_sitter.Query(language, spec.imports),
        identifiers=tree_sitter.Query(language, f"[{identifiers}] @ref"),
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


def _definitions(compiled: _Compiled, root: Any) -> list[tuple[int, int, str, str, int, int]]:
    found: dict[tuple[int, int], tuple[int, int, str, str, int, int]] = {}
    for _pattern, captures in tree_sitter.QueryCursor(compiled.definitions).matches(root):
        definition = next(((k, v[0]) for k, v in captures.items() if k.startswith("definition.")), None)
        if definition is None:
            continue
        kind, node = definition[0].removeprefix("definition."), definition[1]
        name_node: Any
        if "name" in captures:
            name_node = captures["name"][0]
        else:
            name_node = _declarator_name(captures["declarator"][0]) if "declarator" in captures else None
        if name_node is None:
            continue
        name = _short_name(_text(name_node))
        if not name:
            continue
        key = (node.start_byte, node.end_byte)
        start, end = _lines(node)
        # A node matched by two patterns (a Rust function in an impl) keeps its first kind, unless
        # that was the catch-all `variable` (an exported value that turns out to be a function).
        if key not in found or (found[key][2] == "variable" and kind != "variable"):
            found[key] = (node.start_byte, -node.end_byte, kind, name, start, end)
    return sorted(found.values())


def _nest(definitions: list[tuple[int, int, str, str, int, int]]) -> tuple[Symbol, ...]:
    """Symbols in source order with each one's innermost enclosing symbol as parent."""
    symbols: list[Symbol] = []
    open_ends: list[tuple[int, int]] = []  # (end byte, symbol index)
    for start_byte, negative_end, kind, name, start, end in definitions:
        end_byte = -negative_end
        while open_ends and open_ends[-1][0] <= start_byte:
            open_ends.pop()
        parent = open_ends[-1][1] if open_ends else -1
        if kind == "function" and parent >= 0 and symbols[parent].kind in CLASS_LIKE:
            kind = "method"
        elif kind == "variable" and parent >= 0:
            continue
        elif kind == "member":  # `obj.name = function`: a method of obj, unless a function body sets it
            if parent >= 0 and symbols[parent].kind in LOCAL_SCOPES:
                continue
            kind = "method"
        symbols.append(Symbol(kind, name, start, end, parent))
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


def _imports(compiled: _Compiled, root: Any) -> tuple[Import, ...]:
    found: list[Import] = []
    for _pattern, captures in tree_sitter.QueryCursor(compiled.imports).matches(root):
        for node in captures.get("import", []):
            target = _text(node).strip().strip("\"'<>`")
            if target:
                found.append(Import(target, node.start_point.row + 1))
        for node in captures.get("from_import", []):
            found.extend(Import(target, node.start_point.row + 1) for target in _python_from_import(node))
    return tuple(found)


def _references(compiled: _Compiled, root: Any) -> tuple[tuple[str, int], ...]:
    captures = tree_sitter.QueryCursor(compiled.identifiers).captures(root)
    counts = Counter(node.text for node in captures.get("ref", []))
    return tuple(sorted((name.decode("utf-8", errors="replace"), n) for name, n in counts.items() if name))


def outline(path: str, language: str, text: str, tree: tree_sitter.Tree | None = None) -> Outline | None:
    """The file's outline, or None when no grammar covers its language.

    The text is parsed as the highlighter parses it (without its final newline), so `tree`, the tree
    highlight_parsed built for this text, can stand in for a second parse when its grammar is the same.
    """
    grammar = grammar_for(path, language)
    if grammar is None:
        return None
    compiled = _compiled(grammar)
    if tree is None or tree.language != compiled.parser.language:
        tree = compiled.parser.parse(tree_sitter_source(text.removesuffix("\n")))
    root = tree.root_node
    return Outline(
        grammar=grammar,
        symbols=_nest(_definitions(compiled, root)),
        imports=_imports(compiled, root),
        references=_references(compiled, root),
    )
