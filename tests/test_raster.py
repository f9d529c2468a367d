from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from codectx.render.fonts import GlyphAtlas
from codectx.render.highlight import highlight
from codectx.render.layout import FileLines, LayoutSettings, PageLayout, layout_pages
from codectx.render.raster import atlas_for, encode_png, page_pixels, rasterize
from codectx.render.theme import ALPHA_LEVELS, LIGHT

SETTINGS = LayoutSettings(page_width=1024, page_height=1024, font_px=8, line_height=9, columns=2)
UNICODE = 'names = ["café", "日本語", "\U0001f600", "Ωmega"]  # ✓ non-ASCII\n\tindented = "tab"'


def reference_pixels(page: PageLayout, atlas: GlyphAtlas) -> np.ndarray:
    """The page drawn cell by cell: coverage level plus ink * ALPHA_LEVELS where a glyph covers a pixel."""
    grid = page.grid
    pixels = np.zeros((page.height, page.width), dtype=np.uint8)
    for row in range(page.codepoints.shape[0]):
        for column in range(page.codepoints.shape[1]):
            bitmap = atlas.bitmaps[atlas.glyph_id(int(page.codepoints[row, column]))]
            y, x = grid.margin + row * grid.cell_height, grid.margin + column * grid.cell_width
            cell = np.where(bitmap > 0, bitmap + page.inks[row, column] * ALPHA_LEVELS, 0)
            pixels[y : y + grid.cell_height, x : x + grid.cell_width] = cell
    return pixels


@pytest.fixture
def pages(stdlib) -> list[PageLayout]:
    text = (stdlib / "json" / "decoder.py").read_text()
    files = [FileLines("u.py", highlight(UNICODE, "python")), FileLines("json/decoder.py", highlight(text, "python"))]
    return layout_pages(files, SETTINGS)


def test_composition_matches_drawing_each_cell(pages):
    atlas = atlas_for(SETTINGS.font, SETTINGS.font_px, SETTINGS.line_height)
    for page in pages[:2]:
        assert np.array_equal(page_pixels(page, SETTINGS), reference_pixels(page, atlas))


def test_png_decodes_to_the_composed_pixels_and_palette(pages):
    png = rasterize(pages[0], SETTINGS)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.mode == "P" and image.size == (1024, 1024)
    assert np.array_equal(np.asarray(image), page_pixels(pages[0], SETTINGS))
    assert image.getpalette() == LIGHT.palette()
    assert 0.01 < (np.asarray(image.convert("L")) < 128).mean() < 0.3  # text is there, not a solid block


def test_pages_are_byte_identical_across_atlases(pages):
    first = [rasterize(page, SETTINGS) for page in pages]
    # A fresh atlas meets the glyphs in another order; glyph ids differ, page bytes must not.
    atlas_for.cache_clear()
    atlas_for(SETTINGS.font, SETTINGS.font_px, SETTINGS.line_height).ids_for(np.array([0x1F600, 0x65E5, 0x2713]))
    assert [rasterize(page, SETTINGS) for page in reversed(pages)] == first[::-1]


def test_unseen_code_points_get_glyphs_once():
    atlas = GlyphAtlas(SETTINGS.font, SETTINGS.font_px, SETTINGS.line_height)
    codepoints = np.array([[ord("a"), 0x1F600, 0x65E5], [0x65E5, 0x7, ord(" ")]], dtype=np.uint32)
    before = atlas.glyph_count
    ids = atlas.ids_for(codepoints)
    assert atlas.glyph_count == before + 3  # emoji, CJK, and a control character drawn as '?'
    assert ids[0, 2] == ids[1, 0] and ids[1, 2] == 0
    assert np.array_equal(atlas.bitmaps[ids[1, 1]], atlas.bitmaps[atlas.glyph_id(ord("?"))])
    assert np.array_equal(atlas.ids_for(codepoints), ids)


def test_encode_png_round_trips_any_palette_image():
    pixels = np.random.default_rng(7).integers(0, 256, size=(37, 53), dtype=np.uint8)
    image = Image.open(io.BytesIO(encode_png(pixels)))
    assert np.array_equal(np.asarray(image), pixels)
