from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from codectx.catalog import file_facts, generation_ids, outlines
from codectx.cli import main
from codectx.graph import ImportResolver, module_edges, pagerank, reference_edges
from codectx.indexer import index_repository
from codectx.relevance import rank
from codectx.search import SearchError, _TextCache, narrowing_query, prime_texts, search
from codectx.store import EdgeRow, Store


@pytest.fixture
def indexed(stdlib_index: tuple[Path, Path]) -> tuple[Path, Path]:
    return stdlib_index


def open_current(store_dir: Path) -> tuple[Store, int]:
    store = Store.open(store_dir, create=False)
    return store, store.require_generation("claude").id


def store_files(store_dir: Path) -> list[str]:
    store, generation = open_current(store_dir)
    with store:
        return [f.path for f in store.files(generation)]


def store_edges(store_dir: Path) -> list[EdgeRow]:
    store, generation = open_current(store_dir)
    with store:
        return store.edges(generation)


def module_of(store_dir: Path) -> dict[str, str]:
    store, generation = open_current(store_dir)
    with store:
        return {f.path: f.module for f in store.files(generation)}


def grep(repo: Path, pattern: str, regex: bool = False) -> set[tuple[str, int]]:
    compiled = re.compile(pattern) if regex else None
    hits = set()
    for path in repo.rglob("*"):
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text().split("\n"), start=1):
            if compiled.search(line) if compiled else pattern in line:
                hits.add((path.relative_to(repo).as_posix(), number))
    return hits


@pytest.mark.parametrize(
    "pattern",
    ["def redirect_request(", "HTTPRedirectHandler", "self.", "json.loads", "0x", "_header_value_parser", "é", " = N"],
)
def test_search_matches_a_full_grep(indexed: tuple[Path, Path], pattern: str) -> None:
    repo, store_dir = indexed
    store, generation = open_current(store_dir)
    with store:
        hits = list(search(store, generation, pattern))
    assert {(h.path, h.line) for h in hits} == grep(repo, pattern)
    assert all(pattern in h.text for h in hits)
    assert hits == sorted(hits, key=lambda h: (h.path, h.line))


def test_narrowing_requires_only_whole_words() -> None:
    assert narrowing_query("def redirect_request(") == '"redirect" AND "request"'
    assert narrowing_query(".loads(s") == '"loads" AND "s"*'
    assert narrowing_query("HTTPRedirectHandler") is None
    assert narrowing_query("héllo wörld") is None


@pytest.mark.parametrize("pattern", [r"^class \w+Redirect", r"\bloads?\(", r"\d{4,}"])
def test_regex_search_matches_re(indexed: tuple[Path, Path], pattern: str) -> None:
    repo, store_dir = indexed
    store, generation = open_current(store_dir)
    with store:
        found = {(h.path, h.line) for h in search(store, generation, pattern, regex=True)}
    assert found == grep(repo, pattern, regex=True) and found


def test_bad_patterns_are_refused(indexed: tuple[Path, Path]) -> None:
    store, generation = open_current(indexed[1])
    with store:
        for pattern, regex in (("", False), ("a\nb", False), ("(unclosed", True)):
            with pytest.raises(SearchError):
                list(search(store, generation, pattern, regex=regex))


def test_backtracking_regex_is_stopped_at_its_time_limit(make_repo: Callable[[dict[str, str]], Path]) -> None:
    # `(a|aa)+$` against 60 a's and a '!' backtracks through ~10^12 paths: without the limit it never ends.
    repo = make_repo(
        {"slow.py": "x = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'\n", "ok.py": "y = 1\n"}
    )
    store_dir = repo.parent / "store"
    index_repository(repo, store_dir=store_dir)
    store, generation = open_current(store_dir)
    with store:
        with pytest.raises(SearchError, match=r"ran longer than 0.5 s and was stopped"):
            list(search(store, generation, r"(a|aa)+$", regex=True, regex_seconds=0.5))
        found = [(h.path, h.line, h.text) for h in search(store, generation, r"^y = \d", regex=True, regex_seconds=0.5)]
    assert found == [("ok.py", 1, "y = 1")]


def test_symbols_and_imports_are_indexed(indexed: tuple[Path, Path]) -> None:
    repo, store_dir = indexed
    store, generation = open_current(store_dir)
    with store:
        shapes = outlines(store, generation_ids(store, generation))
    request = shapes["urllib/request.py"]
    handler = next(s for s in request.symbols if s.name == "HTTPRedirectHandler")
    lines = (repo / "urllib/request.py").read_text().split("\n")
    assert handler.kind == "class" and lines[handler.start_line - 1].startswith("class HTTPRedirectHandler")
    method = next(s for s in request.symbols if s.name == "redirect_request")
    assert method.kind == "method" and request.symbols[method.parent].name == "HTTPRedirectHandler"
    assert {"urllib.parse.urlparse", "http.client"} <= {i.target for i in request.imports}


def test_reference_graph_links_importers_and_users(indexed: tuple[Path, Path]) -> None:
    store, generation = open_current(indexed[1])
    with store:
        edges = {(e.source, e.target): e.weight for e in store.edges(generation)}
        facts = file_facts(store, generation_ids(store, generation))
    assert edges[("urllib/request.py", "urllib/parse.py")] > 0
    assert edges[("urllib/request.py", "http/client.py")] > 0
    assert edges[("email/headerregistry.py", "email/_header_value_parser.py")] > 0
    owner = module_of(indexed[1])
    modules = {(e.source, e.target) for e in module_edges(store_edges(indexed[1]), owner)}
    package_edges = {(s.partition("[")[0], t.partition("[")[0]) for s, t in modules}  # split parts -> packages
    assert {("urllib", "http"), ("http", "email"), ("urllib", "email")} <= package_edges
    assert all(source != target for source, target in modules)
    assert [(e.source, e.target, e.weight) for e in reference_edges(facts)] == [
        (s, t, w) for (s, t), w in sorted(edges.items())
    ]


def test_import_resolution() -> None:
    resolver = ImportResolver(["json/__init__.py", "json/decoder.py", "urllib/parse.py", "web/app.ts", "web/util.ts"])
    assert resolver.resolve("json/__init__.py", ".decoder.JSONDecoder") == ["json/decoder.py"]
    assert resolver.resolve("urllib/parse.py", "json") == ["json/__init__.py"]
    assert resolver.resolve("json/decoder.py", "urllib.parse.urlsplit") == ["urllib/parse.py"]
    assert resolver.resolve("web/app.ts", "./util") == ["web/util.ts"]
    assert resolver.resolve("web/app.ts", "react") == []


def test_pagerank_follows_links_and_personalisation() -> None:
    edges = [EdgeRow("a", "hub", 1.0), EdgeRow("b", "hub", 1.0), EdgeRow("c", "hub", 1.0), EdgeRow("hub", "a", 0.1)]
    ranks = pagerank(["a", "b", "c", "hub"], edges)
    assert max(ranks, key=ranks.__getitem__) == "hub"
    assert abs(sum(ranks.values()) - 1) < 1e-6
    personal = pagerank(["a", "b", "c", "hub"], edges, {"c": 1.0})
    assert personal["c"] > ranks["c"] and personal["b"] < ranks["b"]


def test_query_ranks_the_answering_file_with_reasons(indexed: tuple[Path, Path]) -> None:
    store, generation = open_current(indexed[1])
    with store:
        ranking = rank(store, generation, "where are HTTP redirects followed")
        central = rank(store, generation, "the of and")  # stop words only: centrality
    assert ranking.terms == ("http", "redirect", "follow")
    assert ranking.files[0].path == "urllib/request.py"
    assert "HTTPRedirectHandler" in ranking.files[0].reason
    assert ranking.modules[0].module == module_of(indexed[1])["urllib/request.py"] and ranking.modules[0].score == 1.0
    top_symbols = [s.name for s in ranking.symbols[:5]]
    assert "HTTPRedirectHandler" in top_symbols
    assert central.terms == () and central.symbols == ()
    assert central.modules[0].score == 1.0 and central.modules[0].reason.startswith("central")
    assert len(central.files) == len(store_files(indexed[1]))


def test_warm_index_parses_nothing_and_edits_parse_one_file(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    repo, store_dir = indexed
    warm = index_repository(repo, store_dir=store_dir, workers=1)
    assert warm.extra["files_outlined"] == 0
    edited = tmp_path / "repo"
    shutil.copytree(repo, edited)
    store_copy = tmp_path / "store"
    shutil.copytree(store_dir, store_copy)
    with (edited / "json" / "tool.py").open("a") as handle:
        handle.write("\ndef brand_new_helper_function():\n    return 1\n")
    after = index_repository(edited, store_dir=store_copy, workers=1)
    assert after.extra["files_outlined"] == 1
    store, generation = open_current(store_copy)
    with store:
        hits = list(search(store, generation, "brand_new_helper_function"))
        last = len((edited / "json/tool.py").read_text().split("\n"))
        assert [(h.path, h.line) for h in hits] == [("json/tool.py", last - 2)]
        # Keeping one generation drops the old tool.py content's rows, full-text lines included (as the
        # full-text index itself lists them).
        store.db.execute("CREATE VIRTUAL TABLE temp.postings USING fts5vocab(main, line_fts, instance)")
        indexed_before = {doc >> 21 for (doc,) in store.db.execute("SELECT DISTINCT doc FROM temp.postings")}
        store.collect_garbage(keep=1, grace_seconds=0)
        live = {sha for (sha,) in store.db.execute("SELECT sha256 FROM files")}
        catalogued = {sha for (sha,) in store.db.execute("SELECT sha256 FROM catalog")}
        assert catalogued == live
        ids = {i for (i,) in store.db.execute("SELECT id FROM catalog")}
        indexed = {doc >> 21 for (doc,) in store.db.execute("SELECT DISTINCT doc FROM temp.postings")}
        assert indexed_before - ids and indexed and indexed <= ids


def test_cli_query_and_search(indexed: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    repo, store_dir = indexed
    assert main(["query", str(repo), "where are HTTP redirects followed", "--store", str(store_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["files"][0]["path"] == "urllib/request.py"
    assert {"module", "score", "path", "line", "reason"} <= data["modules"][0].keys()
    assert {"name", "kind", "path", "line", "reason"} <= data["symbols"][0].keys()
    assert main(["query", str(repo), "where are HTTP redirects followed", "--store", str(store_dir)]) == 0
    text = capsys.readouterr().out
    assert "urllib/request.py:" in text and "class HTTPRedirectHandler" in text

    assert main(["search", str(repo), "def redirect_request", "--store", str(store_dir), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    hits = [(h["path"], h["text"].strip()[:20]) for h in found["hits"]]
    assert hits == [("urllib/request.py", "def redirect_request")]
    assert main(["search", str(repo), "zzz-not-anywhere", "--store", str(store_dir)]) == 1
    assert main(["search", str(repo), "(", "--regex", "--store", str(store_dir)]) == 2
    assert "bad regular expression" in capsys.readouterr().err
    assert main(["search", str(repo), "self.", "--limit", "3", "--store", str(store_dir)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_cli_without_index_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", str(tmp_path), "anything"]) == 2
    assert "run `codectx index" in capsys.readouterr().err


def test_kept_lines_count_against_the_text_cache_limit() -> None:
    """A text's lines are split once and kept with it; they count as many characters again toward the limit."""
    cache = _TextCache(limit=100)
    first, second = (Path("store"), "a", ()), (Path("store"), "b", ())
    entry = cache.put(first, "one\ntwo\n" * 5)
    lines = cache.lines(first, entry)
    assert lines == ["one", "two"] * 5 + [""] and cache.lines(first, entry) is lines
    assert cache.chars == 80
    cache.put(second, "x" * 30)  # past the limit: the least recently used text goes, with its lines
    assert cache.get(first) is None and cache.chars == 30


def test_search_after_an_edit_reads_the_new_text_not_a_kept_one(tmp_path: Path) -> None:
    """Texts are kept between searches by content: the same path with new content is searched as it is now."""
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("OLD_MARKER = 1\n")
    (root / "pkg" / "b.py").write_text("def beta():\n    return 2\n")
    index_repository(root, workers=1)
    store, generation = open_current(root / ".codectx")
    with store:
        assert prime_texts(store, generation) == 2 and prime_texts(store, generation) == 0
        assert [(h.path, h.line) for h in search(store, generation, "MARKER")] == [("pkg/a.py", 1)]
    (root / "pkg" / "a.py").write_text("x = 0\nNEW_MARKER = 1\n")
    index_repository(root, workers=1)
    store, generation = open_current(root / ".codectx")
    with store:
        assert [(h.path, h.line, h.text) for h in search(store, generation, "MARKER")] == [
            ("pkg/a.py", 2, "NEW_MARKER = 1")
        ]
        assert [h.path for h in search(store, generation, r"^def \w+", regex=True)] == ["pkg/b.py"]
