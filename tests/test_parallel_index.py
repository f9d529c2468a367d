"""Indexing in worker processes gives exactly what indexing in one process gives."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest

from codectx import indexer
from codectx.indexer import index_repository
from codectx.scan import scan
from codectx.store import Store

FAKE_KEY = "AKIA" + "Q3ZR7LWN2HXK4VTB"  # split, so that this file itself holds no key


def test_scan_with_a_pool_matches_the_serial_scan(stdlib_copy, tmp_path):
    repo = stdlib_copy("json")
    (repo / "settings.py").write_text(f'aws_key = "{FAKE_KEY}"\n')
    (repo / "blob.bin").write_bytes(b"\x00\x01" * 100)
    serial = scan(repo)
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("forkserver")) as pool:
        parallel = scan(repo, pool=lambda: pool, parallel_above_bytes=0)
    assert parallel.files == serial.files
    assert parallel.skipped == serial.skipped
    masked = next(f for f in parallel.files if f.path == "settings.py")
    assert FAKE_KEY not in masked.text and masked.secrets


def test_pages_from_workers_are_byte_identical(stdlib_copy, tmp_path, monkeypatch: pytest.MonkeyPatch):
    repo = stdlib_copy("json", "logging")
    one = index_repository(repo, store_dir=tmp_path / "one", workers=1)
    monkeypatch.setattr(indexer, "PARALLEL_RENDER_CHARS", 0)  # a pool even for this small tree
    two = index_repository(repo, store_dir=tmp_path / "two", workers=2)
    assert two.pages_rendered == one.pages_rendered > 0
    assert two.by_module == one.by_module
    with Store.open(tmp_path / "one", create=False) as a, Store.open(tmp_path / "two", create=False) as b:
        ga, gb = a.require_generation("claude").id, b.require_generation("claude").id
        for module in one.by_module:
            pages_a, pages_b = a.module_pages(ga, module.name), b.module_pages(gb, module.name)
            assert [p.blob for p in pages_a] == [p.blob for p in pages_b]
            assert [p.line_map for p in pages_a] == [p.line_map for p in pages_b]
            assert all(b.pages.path_for(p.blob).read_bytes() == a.pages.path_for(p.blob).read_bytes() for p in pages_a)
