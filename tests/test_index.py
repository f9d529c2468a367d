from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from codectx.cli import main
from codectx.indexer import index_repository
from codectx.profiles import get_profile
from codectx.store import Store, StoreError

JSON_KEYS = {"files", "modules", "pages", "text_tokens", "vision_tokens", "ratio", "target", "skipped"}


def snapshot(store_dir: Path, target: str = "claude") -> tuple[object, ...]:
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation(target)
        modules = store.modules(generation.id)
        pages = [p for m in modules for p in store.module_pages(generation.id, m.name)]
        return (store.files(generation.id), [m for m in modules], pages, store.skipped(generation.id))


def test_index_twice_is_identical_and_renders_nothing(stdlib_copy, tmp_path):
    repo = stdlib_copy("json", "email")
    store = tmp_path / "store"
    first = index_repository(repo, store_dir=store, workers=2)
    assert first.files >= 30 and first.pages > 10 and first.pages_rendered == first.pages
    assert first.text_tokens > 50_000 and first.vision_tokens == first.pages * get_profile("claude").page_tokens
    before = snapshot(store)
    second = index_repository(repo, store_dir=store, workers=2)
    assert second.pages_rendered == 0 and not second.published
    assert second.generation == first.generation
    assert snapshot(store) == before


def test_edit_rerenders_only_its_module(stdlib_copy, tmp_path):
    repo = stdlib_copy("json", "email")
    store = tmp_path / "store"
    before = index_repository(repo, store_dir=store, workers=1)
    with (repo / "json" / "tool.py").open("a") as handle:
        handle.write("\n# an edit\n")
    after = index_repository(repo, store_dir=store, workers=1)
    assert after.published and after.modules_rendered == 1
    json_module = next(m for m in after.by_module if m.name == "json")
    assert after.pages_rendered == json_module.pages
    with Store.open(store, create=False) as opened:  # a comment changes no reference: one copy of the edges
        assert opened.edges(after.generation) == opened.edges(before.generation) != []
        assert opened.db.execute("SELECT COUNT(DISTINCT edges_key) FROM edges").fetchone() == (1,)


def test_fresh_index_equals_incremental(stdlib_copy, tmp_path):
    repo = stdlib_copy("json")
    index_repository(repo, store_dir=tmp_path / "a", workers=1)
    (repo / "json" / "decoder.py").write_text((repo / "json" / "decoder.py").read_text() + "\nX = 1\n")
    index_repository(repo, store_dir=tmp_path / "a", workers=1)
    index_repository(repo, store_dir=tmp_path / "b", workers=1)
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def test_index_of_another_schema_is_refused_to_readers_and_rebuilt_by_the_indexer(stdlib_copy, tmp_path):
    repo = stdlib_copy("json")
    store = tmp_path / "store"
    index_repository(repo, store_dir=store, workers=1)
    expected = snapshot(store)
    with sqlite3.connect(store / "index.sqlite") as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="run `codectx index` to rebuild it"):
        Store.open(store, create=False)
    rebuilt = index_repository(repo, store_dir=store, workers=1)
    assert rebuilt.published and snapshot(store) == expected


def test_cli_json_outputs(stdlib_copy, tmp_path, capsys):
    repo = stdlib_copy("json")
    (repo / "blob.bin").write_bytes(b"\x00\xff" * 10)
    assert main(["index", str(repo), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data.keys() >= JSON_KEYS
    assert {"path": "blob.bin", "reason": "binary"} in data["skipped"]
    assert main(["index", str(repo), "--target", "gpt-4o"]) == 0
    capsys.readouterr()
    assert main(["stats", str(repo), "--json", "--target", "gpt-4o"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["target"] == "gpt-4o" and stats["by_module"][0]["module"] == "json"
    assert stats["vision_tokens"] == stats["pages"] * get_profile("gpt-4o").page_tokens
    assert abs(stats["ratio"] - stats["text_tokens"] / stats["vision_tokens"]) < 0.01

    out = tmp_path / "pages"
    assert main(["pages", str(repo), "--module", "json", "--target", "gpt-4o", "--out", str(out)]) == 0
    manifest = json.loads((out / "pages.json").read_text())
    assert len(manifest["pages"]) == stats["pages"]
    first = manifest["pages"][0]
    assert (out / first["file"]).stat().st_size > 1000
    assert first["line_map"]["rows"][0]["kind"] == "header"
    assert all(len(row["box"]) == 4 for row in first["line_map"]["rows"])


def test_cli_tables_show_names_with_brackets_verbatim(make_repo, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that no cell wraps
    repo = make_repo({"pkg[red]/app.py": "def main():\n    return 1\n" * 300})  # big enough to be a module
    assert main(["index", str(repo)]) == 0
    assert main(["stats", str(repo)]) == 0
    assert "pkg[red]" in capsys.readouterr().out  # not taken for rich markup


def test_cli_errors_are_clear(tmp_path, capsys):
    assert main(["index", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["pages", str(tmp_path), "--module", "x", "--out", str(tmp_path / "o")]) == 2
    assert "run `codectx index" in capsys.readouterr().err


def test_console_script_is_quiet_when_piped(stdlib_copy):
    repo = stdlib_copy("json")
    done = subprocess.run(
        [sys.executable, "-m", "codectx", "index", str(repo)], capture_output=True, text=True, check=True
    )
    assert done.stderr == "" and "generation" in done.stdout
