from __future__ import annotations

from pathlib import Path

import pytest
from outline_check import check_outline

from codectx.languages import detect_language
from codectx.structure import Outline, grammar_for, outline

FIXTURES = Path(__file__).parent / "fixtures" / "outline"

# file -> (grammar, [(kind, name, start, end, parent name or None)], [import targets])
EXPECTED: dict[str, tuple[str, list[tuple[str, str, int, int, str | None]], list[str]]] = {
    "shapes.py": (
        "python",
        [
            ("variable", "LIMIT", 5, 5, None),
            ("class", "Shape", 8, 13, None),
            ("method", "area", 9, 10, "Shape"),
            ("class", "Inner", 12, 13, "Shape"),
            ("function", "make_shape", 16, 19, None),
            ("function", "helper", 17, 18, "make_shape"),
        ],
        ["os.path", "collections.OrderedDict", ".sibling"],
    ),
    "shapes.js": (
        "javascript",
        [
            ("class", "Shape", 4, 8, None),
            ("method", "area", 5, 7, "Shape"),
            ("function", "makeShape", 10, 12, None),
            ("function", "double", 14, 14, None),
        ],
        ["./io.js", "path"],
    ),
    "routes.js": (
        "javascript",
        [
            ("method", "status", 6, 10, None),
            ("method", "sendFile", 12, 14, None),
            ("function", "normalize", 16, 18, None),
            ("variable", "etag", 20, 20, None),
            ("function", "parse", 21, 21, None),
            ("function", "Store", 23, 25, None),
            ("method", "lookup", 27, 29, None),
            ("property", "fresh", 31, 33, None),
            ("property", "stale", 35, 37, None),
            ("method", "set", 39, 39, None),
            ("method", "header", 39, 41, None),
        ],
        [],
    ),
    "helpers.js": (
        "javascript",
        [("function", "quote", 2, 4, None), ("method", "trim", 5, 7, None), ("variable", "limit", 8, 8, None)],
        [],
    ),
    "macro_tests.rs": (
        "rust",
        [
            ("module", "macros", 2, 2, None),
            ("test", "r16", 4, 6, None),
            ("test", "ignore_hidden", 8, 10, None),
            ("function", "helper", 12, 14, None),
        ],
        [],
    ),
    "shapes.ts": (
        "typescript",
        [
            ("interface", "Sized", 3, 5, None),
            ("method", "size", 4, 4, "Sized"),
            ("type", "Point", 7, 7, None),
            ("enum", "Color", 9, 9, None),
            ("class", "Circle", 11, 15, None),
            ("method", "size", 12, 14, "Circle"),
            ("function", "area", 17, 19, None),
        ],
        ["./thing"],
    ),
    "widget.tsx": (
        "tsx",
        [("interface", "Props", 3, 5, None), ("function", "Button", 7, 9, None), ("function", "Panel", 11, 11, None)],
        ["react"],
    ),
    "shapes.go": (
        "go",
        [("type", "Shape", 8, 10, None), ("method", "Area", 12, 14, None), ("function", "MakeShape", 16, 19, None)],
        ["fmt", "strings"],
    ),
    "shapes.rs": (
        "rust",
        [
            ("struct", "Shape", 3, 5, None),
            ("trait", "Area", 7, 9, None),
            ("method", "area", 8, 8, "Area"),
            ("impl", "Shape", 11, 15, None),
            ("method", "area", 12, 14, "Shape"),
            ("function", "make_shape", 17, 20, None),
        ],
        ["std::collections::HashMap"],
    ),
    "Shapes.java": (
        "java",
        [
            ("class", "Shapes", 5, 15, None),
            ("constructor", "Shapes", 6, 6, "Shapes"),
            ("method", "area", 8, 10, "Shapes"),
            ("interface", "Visitor", 12, 14, "Shapes"),
            ("method", "visit", 13, 13, "Visitor"),
        ],
        ["java.util.List"],
    ),
    "shapes.c": (
        "c",
        [
            ("macro", "MAX_SHAPES", 4, 4, None),
            ("struct", "shape", 6, 8, None),
            ("type", "shape_t", 10, 10, None),
            ("function", "area", 12, 14, None),
            ("function", "shape_name", 16, 18, None),
        ],
        ["stdio.h", "shapes.h"],
    ),
    "shapes.cpp": (
        "cpp",
        [
            ("namespace", "geo", 4, 15, None),
            ("class", "Shape", 6, 9, "geo"),
            ("method", "area", 8, 8, "Shape"),
            ("function", "area", 11, 13, "geo"),
            ("function", "main", 17, 20, None),
        ],
        ["vector", "shapes.hpp"],
    ),
    "shapes.rb": (
        "ruby",
        [
            ("module", "Geometry", 4, 14, None),
            ("class", "Shape", 5, 13, "Geometry"),
            ("method", "area", 6, 8, "Shape"),
            ("method", "build", 10, 12, "Shape"),
            ("function", "make_shape", 16, 18, None),
        ],
        ["set", "helpers"],
    ),
    "Shapes.cs": (
        "c_sharp",
        [
            ("namespace", "Demo", 4, 19, None),
            ("interface", "IShape", 6, 9, "Demo"),
            ("method", "Area", 8, 8, "IShape"),
            ("class", "Square", 11, 18, "Demo"),
            ("property", "Side", 13, 13, "Square"),
            ("constructor", "Square", 15, 15, "Square"),
            ("method", "Area", 17, 17, "Square"),
        ],
        ["System", "System.Collections.Generic"],
    ),
}


def outline_of(name: str) -> Outline:
    text = (FIXTURES / name).read_text()
    shape = outline(name, detect_language(name, text) or "text", text)
    assert shape is not None
    return shape


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_outline_definitions_and_imports(name: str) -> None:
    check_outline(FIXTURES / name, *EXPECTED[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_outline_lines_point_at_the_definitions(name: str) -> None:
    """Each symbol's first line shows its name, so path:line from an outline lands on the definition."""
    lines = (FIXTURES / name).read_text().split("\n")
    for symbol in outline_of(name).symbols:
        assert symbol.name in lines[symbol.start_line - 1]


def test_references_count_identifiers_used() -> None:
    references = dict(outline_of("shapes.py").references)
    assert references["OD"] == 2 and references["Shape"] == 2
    go = dict(outline_of("shapes.go").references)
    assert go["Println"] == 1 and go["Shape"] >= 3
    assert dict(outline_of("shapes.rs").references)["HashMap"] == 3


def test_other_languages_have_no_outline() -> None:
    assert grammar_for("server.erl", "erlang") is None
    assert outline("server.erl", "erlang", "-module(server).\n") is None
    assert outline("README", "text", "hello\n") is None
    assert grammar_for("api.h", "objective-c") == "cpp"


def test_broken_source_still_outlines_what_parses() -> None:
    text = "def ok():\n    return 1\n\ndef broken(:\n    pass\n\nclass Later:\n    pass\n"
    shape = outline("broken.py", "python", text)
    assert shape is not None
    assert {"ok", "Later"} <= {s.name for s in shape.symbols}
    assert outline("empty.py", "python", "") == Outline("python", (), (), ())


def test_go_module_files_are_not_modula2() -> None:
    assert detect_language("go.mod", "module example.com/x\n\ngo 1.22\n") == "go-mod"
    assert detect_language("tools/go.work", "go 1.22\n\nuse ./a\n") == "go-work"
    assert detect_language("go.sum", "example.com/x v1.0.0 h1:abc=\n") == "go-sum"
    assert detect_language("lib/parser.mod", "MODULE Parser;\nEND Parser.\n") == "modula2"


def test_scripts_are_read_by_their_shebangs_interpreter() -> None:
    script = {
        "#!/usr/bin/env python3 -u": "python", "#!/usr/bin/python3.11": "python", "#!/bin/sh": "bash",
        "#!/usr/bin/env zsh": "bash", "#!/usr/bin/env node": "javascript", "#!/usr/bin/perl -w": "perl",
        "#!/usr/bin/env ruby": "ruby", "#!/usr/bin/env -S FOO=1 lua5.4": "lua",
    }  # fmt: skip
    for shebang, language in script.items():
        assert detect_language("tools/run", f"{shebang}\necho hi\n") == language, shebang
    assert detect_language("tools/notes", "just words\n") == "text"
    assert detect_language("COPYING", "#!/no/such/interpreter\nwords\n") == "text"


def test_find_symbol_lands_on_member_assignments() -> None:
    """`res.sendFile = function ...` is found by its name, at the line that assigns it."""
    from codectx.mcp_server.symbols import SymbolIndex

    index = SymbolIndex({"lib/routes.js": outline_of("routes.js")})
    assert [d.label() for d in index.find("sendFile")] == ["lib/routes.js:12-14 method sendFile"]
    assert [d.start_line for d in index.find("fresh")] == [31]
