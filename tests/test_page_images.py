"""Pages are laid out at index time and drawn on first request: same bytes as drawing them at once."""

from __future__ import annotations

import pytest

from codectx.indexer import index_repository, layout_key
from codectx.page_images import PageImages
from codectx.render.cells import decode_cells, encode_cells
from codectx.render.highlight import highlight
from codectx.render.layout import FileLines, LayoutSettings, layout_pages
from codectx.render.raster import rasterize
from codectx.store import Store

SETTINGS = LayoutSettings(page_width=640, page_height=480, font_px=8, line_height=9, columns=2)
SOURCE = "".join(f"def f{i}(x):\n    return x * {i}  # émoji-free ünïcode 漢字\n" for i in range(90))


@pytest.fixture(scope="module")
def pages():
    return layout_pages([FileLines("m.py", highlight(SOURCE, "python"))], SETTINGS)


def test_cells_round_trip_to_the_same_png(pages):
    ascii_only = layout_pages([FileLines("a.py", highlight("x = 1\n" * 50, "python"))], SETTINGS)
    astral = layout_pages([FileLines("e.py", highlight("s = '\U0001f600'\n", "python"))], SETTINGS)
    assert len(pages) > 1
    for page in [*pages, *ascii_only, *astral]:
        restored, settings = decode_cells(encode_cells(page, SETTINGS))
        assert settings == SETTINGS
        assert rasterize(restored, settings) == rasterize(page, SETTINGS)


def test_cells_refuse_other_bytes():
    with pytest.raises(ValueError, match="not a codectx cells file"):
        decode_cells(b"\x89PNG\r\n\x1a\n")


def test_a_page_is_drawn_once_on_first_request(pages, tmp_path):
    images = PageImages(tmp_path)
    key = layout_key(pages[0], SETTINGS)
    images.keep(key, pages[0], SETTINGS)
    png, cells = images.stored_files(key)
    assert cells.exists() and not png.exists()
    assert images.path_for(key) == png
    assert png.read_bytes() == rasterize(pages[0], SETTINGS)
    first_drawn = png.stat().st_mtime_ns
    assert images.get(key) == rasterize(pages[0], SETTINGS)
    assert png.stat().st_mtime_ns == first_drawn
    assert set(images.all_digests()) == {key}


def test_a_missing_page_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        PageImages(tmp_path).path_for("0" * 64)


def test_index_draws_no_page_until_asked_and_collects_both_files(make_repo, tmp_path):
    repo = make_repo({"pkg/a.py": SOURCE, "pkg/b.py": "B = 2\n"})
    store_dir = tmp_path / "store"
    index_repository(repo, "claude", store_dir, workers=1)
    assert not list((store_dir / "pages").rglob("*.png"))
    with Store.open(store_dir) as store:
        generation = store.require_generation("claude")
        page = store.module_pages(generation.id, store.modules(generation.id)[0].name)[0]
        assert store.pages.get(page.blob).startswith(b"\x89PNG")
    (repo / "pkg" / "a.py").write_text("A = 1\n")
    for _ in range(4):  # older generations are kept a while; each index drops the oldest
        index_repository(repo, "claude", store_dir, workers=1)
        (repo / "pkg" / "b.py").write_text((repo / "pkg" / "b.py").read_text() + "B += 1\n")
    with Store.open(store_dir) as store:
        assert not any(path.exists() for path in store.pages.stored_files(page.blob))


def test_stored_line_maps_read_back_in_full(pages):
    import json

    from codectx.render.layout import read_line_map

    for page in pages:
        full = page.line_map_json()
        stored = page.stored_line_map()
        assert read_line_map(stored) == full
        assert len(stored) * 3 < len(json.dumps(full, separators=(",", ":")))
    older = json.dumps(pages[0].line_map_json())  # what indexes written before kept
    assert read_line_map(older) == pages[0].line_map_json()
