"""Outlines of the languages beyond the first eleven: shell, configuration, markup and more languages."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from outline_check import check_outline

from codectx.grammars import GRAMMAR_BY_LANGUAGE, GRAMMARS, LANGUAGE_NAMES, SPECS
from codectx.structure import outline, outline_coverage

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "outline" / "languages"

# file -> (grammar, [(kind, name, start, end, parent name or None)], [import targets])
EXPECTED: dict[str, tuple[str, list[tuple[str, str, int, int, str | None]], list[str]]] = {
    "Dockerfile": (
        "dockerfile",
        [("stage", "build", 1, 1, None), ("stage", "alpine", 3, 3, None)],
        [],
    ),
    "Makefile": (
        "make",
        [
            ("variable", "CC", 1, 1, None),
            ("target", "all", 3, 3, None),
            ("target", "build", 4, 5, None),
            ("macro", "HELP", 7, 9, None),
            ("target", "%.o", 10, 11, None),
        ],
        ["common.mk"],
    ),
    "sample.css": (
        "css",
        [
            ("rule", "body, html", 2, 2, None),
            ("rule", ".btn:hover", 3, 3, None),
            ("media", "@media (max-width: 600px)", 4, 6, None),
            ("rule", ".btn", 5, 5, "@media (max-width: 600px)"),
            ("keyframes", "spin", 7, 7, None),
        ],
        ["base.css"],
    ),
    "sample.ex": (
        "elixir",
        [
            ("module", "Geo.Shape", 1, 11, None),
            ("function", "area", 5, 5, "Geo.Shape"),
            ("function", "helper", 6, 8, "Geo.Shape"),
            ("function", "m", 9, 9, "Geo.Shape"),
        ],
        ["Geo.Util", "Enum"],
    ),
    "sample.f90": (
        "fortran",
        [
            ("module", "geo", 1, 11, None),
            ("function", "area", 4, 7, "geo"),
            ("subroutine", "show", 8, 10, "geo"),
            ("program", "main", 12, 14, None),
        ],
        ["geo"],
    ),
    "sample.groovy": (
        "groovy",
        [("class", "Shape", 2, 4, None), ("method", "area", 3, 3, "Shape"), ("function", "helper", 5, 5, None)],
        ["groovy.json.JsonSlurper"],
    ),
    "sample.hs": (
        "haskell",
        [
            ("type", "Shape", 4, 4, None),
            ("type", "Id", 5, 5, None),
            ("type", "Name", 6, 6, None),
            ("class", "Sized", 7, 8, None),
            ("method", "size", 8, 8, "Sized"),
            ("instance", "Sized", 9, 10, None),
            ("function", "area", 12, 13, None),
        ],
        ["Data.List", "Data.Map"],
    ),
    "sample.html": (
        "html",
        [
            ("heading", "Welcome home", 5, 5, None),
            ("element", "main", 6, 8, None),
            ("heading", "Section", 7, 7, "main"),
        ],
        ["app.js", "s.css"],
    ),
    "sample.jl": (
        "julia",
        [
            ("module", "Geo", 1, 14, None),
            ("struct", "Point", 4, 6, "Geo"),
            ("type", "Shape", 7, 7, "Geo"),
            ("function", "area", 8, 10, "Geo"),
            ("function", "norm2", 11, 11, "Geo"),
            ("macro", "twice", 12, 12, "Geo"),
            ("constant", "LIMIT", 13, 13, "Geo"),
        ],
        ["LinearAlgebra", "Base"],
    ),
    "sample.json": (
        "json",
        [
            ("key", "name", 2, 2, None),
            ("key", "scripts", 3, 3, None),
            ("key", "test", 3, 3, "scripts"),
            ("key", "build", 3, 3, "scripts"),
            ("key", "list", 4, 4, None),
        ],
        [],
    ),
    "sample.kt": (
        "kotlin",
        [
            ("class", "Shape", 5, 7, None),
            ("method", "area", 6, 6, "Shape"),
            ("class", "Circle", 9, 11, None),
            ("method", "area", 10, 10, "Circle"),
            ("object", "Registry", 13, 15, None),
            ("class", "Color", 17, 17, None),
            ("function", "main", 19, 19, None),
            ("variable", "top", 21, 21, None),
            ("type", "Id", 23, 23, None),
        ],
        ["kotlin.math.PI"],
    ),
    "sample.lua": (
        "lua",
        [
            ("function", "parse", 3, 3, None),
            ("method", "method", 4, 4, None),
            ("function", "helper", 5, 5, None),
            ("function", "global_fn", 6, 6, None),
            ("function", "other", 7, 7, None),
            ("function", "f", 8, 8, None),
        ],
        ["json"],
    ),
    "sample.m": (
        "objc",
        [
            ("interface", "Shape", 3, 5, None),
            ("method", "area", 4, 4, "Shape"),
            ("class", "Shape", 6, 9, None),
            ("method", "area", 7, 7, "Shape"),
            ("method", "make", 8, 8, "Shape"),
            ("protocol", "Drawable", 10, 12, None),
            ("method", "draw", 11, 11, "Drawable"),
            ("function", "helper", 13, 13, None),
        ],
        ["Foundation/Foundation.h", "Shape.h"],
    ),
    "sample.md": (
        "markdown",
        [
            ("heading", "Title", 1, 12, None),
            ("heading", "Install", 5, 12, "Title"),
            ("heading", "Sub", 9, 12, "Install"),
        ],
        [],
    ),
    "sample.ml": (
        "ocaml",
        [
            ("module", "Shape", 2, 5, None),
            ("type", "t", 3, 3, "Shape"),
            ("value", "area", 4, 4, "Shape"),
            ("function", "main", 6, 6, None),
            ("value", "x", 7, 7, None),
            ("exception", "Oops", 8, 8, None),
            ("module", "S", 9, 9, None),
        ],
        ["Printf"],
    ),
    "sample.nix": (
        "nix",
        [
            ("attribute", "helper", 3, 3, None),
            ("attribute", "packages.default", 5, 5, None),
            ("attribute", "devShell", 6, 6, None),
            ("attribute", "buildInputs", 6, 6, "devShell"),
        ],
        [],
    ),
    "sample.php": (
        "php",
        [
            ("namespace", "App\\Http", 2, 2, None),
            ("interface", "Shape", 5, 5, None),
            ("method", "area", 5, 5, "Shape"),
            ("trait", "Greets", 6, 6, None),
            ("method", "hello", 6, 6, "Greets"),
            ("class", "Base", 7, 10, None),
            ("constant", "LIMIT", 8, 8, "Base"),
            ("method", "area", 9, 9, "Base"),
            ("enum", "Suit", 11, 11, None),
            ("function", "make_shape", 12, 12, None),
        ],
        ["App\\Models\\User"],
    ),
    "sample.pm": (
        "perl",
        [("package", "Shape", 1, 1, None), ("function", "new", 4, 4, None), ("function", "area", 5, 7, None)],
        ["strict", "List::Util"],
    ),
    "sample.ps1": (
        "powershell",
        [("function", "Get-Area", 2, 5, None), ("class", "Shape", 6, 8, None), ("method", "Area", 7, 7, "Shape")],
        [],
    ),
    "sample.scala": (
        "scala",
        [
            ("trait", "Shape", 3, 3, None),
            ("method", "area", 3, 3, "Shape"),
            ("class", "Circle", 4, 6, None),
            ("method", "area", 5, 5, "Circle"),
            ("object", "Main", 7, 10, None),
            ("method", "main", 9, 9, "Main"),
            ("enum", "Color", 11, 11, None),
            ("type", "Id", 12, 12, None),
        ],
        ["scala.collection.mutable"],
    ),
    "sample.scss": (
        "scss",
        [
            ("mixin", "flex", 3, 3, None),
            ("function", "double", 4, 4, None),
            ("rule", ".card", 5, 5, None),
            ("rule", ".title", 5, 5, ".card"),
        ],
        ["base"],
    ),
    "sample.sh": (
        "bash",
        [("function", "build", 4, 6, None), ("function", "deploy", 7, 9, None)],
        ["./lib.sh", "other.sh"],
    ),
    "sample.sql": (
        "sql",
        [
            ("table", "users", 1, 1, None),
            ("view", "active", 2, 2, None),
            ("index", "idx_name", 3, 3, None),
            ("function", "add", 4, 4, None),
        ],
        [],
    ),
    "sample.swift": (
        "swift",
        [
            ("protocol", "Shape", 2, 2, None),
            ("method", "area", 2, 2, "Shape"),
            ("struct", "Circle", 3, 7, None),
            ("constructor", "init", 5, 5, "Circle"),
            ("method", "area", 6, 6, "Circle"),
            ("class", "View", 8, 8, None),
            ("enum", "Color", 9, 9, None),
            ("extension", "Circle", 10, 10, None),
            ("function", "main", 11, 11, None),
            ("type", "Id", 12, 12, None),
        ],
        ["Foundation"],
    ),
    "sample.tf": (
        "hcl",
        [
            ("block", "provider.aws", 1, 1, None),
            ("block", "resource.aws_s3_bucket.logs", 2, 4, None),
            ("block", "variable.name", 5, 5, None),
            ("block", "module.vpc", 6, 6, None),
            ("block", "locals", 7, 7, None),
        ],
        [],
    ),
    "sample.toml": (
        "toml",
        [
            ("key", "title", 1, 1, None),
            ("table", "project", 2, 3, None),
            ("key", "name", 3, 3, "project"),
            ("table", "project.scripts", 4, 5, None),
            ("key", "codectx", 5, 5, "project.scripts"),
            ("table", "tool.items", 6, 7, None),
            ("key", "key", 7, 7, "tool.items"),
        ],
        [],
    ),
    "sample.v": (
        "verilog",
        [("module", "counter", 1, 5, None), ("function", "inc", 2, 2, "counter"), ("task", "reset", 3, 3, "counter")],
        [],
    ),
    "sample.xml": (
        "xml",
        [
            ("element", "project", 2, 7, None),
            ("element", "groupId", 3, 3, "project"),
            ("element", "dependencies", 4, 6, "project"),
        ],
        [],
    ),
    "sample.yaml": (
        "yaml",
        [
            ("key", "name", 1, 1, None),
            ("key", "on", 2, 4, None),
            ("key", "push", 3, 4, "on"),
            ("key", "jobs", 5, 9, None),
            ("key", "test", 6, 9, "jobs"),
            ("key", "other", 11, 11, None),
        ],
        [],
    ),
    "sample.zig": (
        "zig",
        [
            ("constant", "std", 1, 1, None),
            ("struct", "Point", 2, 5, None),
            ("method", "len", 4, 4, "Point"),
            ("function", "main", 6, 6, None),
            ("test", "adds", 7, 7, None),
        ],
        ["std"],
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_outline_of_each_language(name: str) -> None:
    check_outline(FIXTURES / name, *EXPECTED[name])


def test_every_fixture_is_checked_and_every_grammar_has_one() -> None:
    assert sorted(p.name for p in FIXTURES.iterdir()) == sorted(EXPECTED)
    first_eleven = {"python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp", "ruby", "c_sharp"}
    assert {grammar for grammar, _defs, _imports in EXPECTED.values()} == set(GRAMMARS) - first_eleven


def test_every_grammar_compiles_and_is_a_dependency() -> None:
    """Each grammar's queries compile against its installed wheel, and pyproject.toml installs that wheel."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    installed = {re.split(r"[<>=!~ ]", d, maxsplit=1)[0] for d in dependencies}
    assert set(SPECS) == set(GRAMMARS) == set(LANGUAGE_NAMES)
    assert set(GRAMMAR_BY_LANGUAGE.values()) <= set(GRAMMARS)
    for grammar, found in GRAMMARS.items():
        assert found.package in installed, f"{found.package} is not in pyproject.toml's dependencies"
        assert outline("x", next(a for a, g in GRAMMAR_BY_LANGUAGE.items() if g == grammar), "") is not None


def test_readme_coverage_table_matches_the_grammars() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = {
        cells[0]: (cells[1], cells[2])
        for line in readme.split("\n")
        if line.startswith("| ")
        and (cells := [c.strip() for c in line.strip("|").split("|")])[1].startswith("`tree-sitter-")
    }
    expected = {LANGUAGE_NAMES[g]: (f"`{found.package}`", found.outlines) for g, found in GRAMMARS.items()}
    assert rows == expected


def test_outlines_skip_deep_and_data_levels() -> None:
    """Configuration files list their top levels, not every key of a large document."""
    big = json.dumps({"name": "x", "items": [{"id": n, "tags": {"a": 1}} for n in range(500)]}, indent=1)
    shape = outline("data.json", "json", big)
    assert shape is not None and [s.name for s in shape.symbols] == ["name", "items"]
    nested = "a:\n  b:\n    c:\n      d: 1\n"
    shape = outline("deep.yaml", "yaml", nested)
    assert shape is not None and [s.name for s in shape.symbols] == ["a", "b"]
    xml = "<a>\n  <b>\n    <c>\n      <d/>\n    </c>\n  </b>\n</a>\n"
    shape = outline("deep.xml", "xml", xml)
    assert shape is not None and [s.name for s in shape.symbols] == ["a", "b"]


def test_outline_coverage_names_the_files_without_an_outline() -> None:
    coverage = outline_coverage(
        [("main.py", "python"), ("notes.txt", "text"), ("go.mod", "go-mod"), ("Makefile", "make"), ("x.erl", "erlang")]
    )
    assert coverage.by_grammar == {"python": 1, "make": 1}
    assert coverage.outlined == 2
    assert coverage.without == (("go.mod", "go-mod"), ("notes.txt", "text"), ("x.erl", "erlang"))
    assert coverage.as_json()["not_outlined"] == [
        {"path": "go.mod", "language": "go-mod"},
        {"path": "notes.txt", "language": "text"},
        {"path": "x.erl", "language": "erlang"},
    ]


def test_stats_says_which_files_have_no_outline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from codectx.cli import main

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text("def run():\n    return 1\n")
    (repo / "deploy.sh").write_text("deploy() {\n  echo ok\n}\n")
    (repo / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (repo / "NOTES.txt").write_text("remember the milk\n")
    store = str(tmp_path / "store")
    assert main(["index", str(repo), "--store", store]) == 0
    capsys.readouterr()
    assert main(["stats", str(repo), "--store", store, "--json"]) == 0
    outlines = json.loads(capsys.readouterr().out)["outlines"]
    assert outlines["outlined"] == 2
    assert outlines["by_grammar"] == {"bash": 1, "python": 1}
    assert outlines["not_outlined"] == [
        {"path": "NOTES.txt", "language": "text"},
        {"path": "go.mod", "language": "go-mod"},
    ]
    assert main(["stats", str(repo), "--store", store]) == 0
    text = capsys.readouterr().out
    assert "no outline: 2 files of 4" in text and "go-mod" in text and "NOTES.txt" in text
