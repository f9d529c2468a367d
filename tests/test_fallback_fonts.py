"""Characters the page font lacks (CJK, Arabic, Thai...) are drawn by fallback fonts, not as missing boxes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from codectx.render.fonts import DEFAULT_FONT, FALLBACK_FONTS, GlyphAtlas, covered, fallback_paths, font_path
from codectx.render.highlight import highlight
from codectx.render.layout import FileLines, LayoutSettings, layout_pages
from codectx.render.raster import page_pixels

SETTINGS = LayoutSettings(page_width=1024, page_height=1024, font_px=8, line_height=9, columns=2)
# express's examples/downloads/index.js, line 20
EXPRESS_LINE = "    '<li>Download <a href=\"/files/CCTV大赛上海分赛区.txt\">CCTV大赛上海分赛区.txt</a>.</li>' +"


@pytest.fixture(scope="module")
def atlas() -> GlyphAtlas:
    return GlyphAtlas(DEFAULT_FONT, SETTINGS.font_px, SETTINGS.line_height)


def cell(atlas: GlyphAtlas, char: str) -> np.ndarray:
    glyph_id = atlas.glyph_id(ord(char))
    return atlas.bitmaps[glyph_id].copy()


def missing_box(atlas: GlyphAtlas, char: str) -> np.ndarray:
    """What the page font alone draws for `char`: its missing-glyph box, as the atlas drew it before."""
    cw, ch = atlas.cell.width, atlas.cell.height
    canvas = Image.new("L", (max(cw, int(atlas.face.getlength(char)) + 1), ch), 0)
    ImageDraw.Draw(canvas).text((0, atlas.baseline), char, fill=255, font=atlas.face, anchor="ls")
    return np.asarray(canvas.resize((cw, ch), Image.Resampling.BOX))


def test_every_fallback_font_is_installed() -> None:
    assert len(fallback_paths()) == len(FALLBACK_FONTS)


def test_two_cjk_characters_draw_different_cells(atlas: GlyphAtlas) -> None:
    big, sea = cell(atlas, "大"), cell(atlas, "海")
    assert big.any() and sea.any()
    assert not np.array_equal(big, sea)
    assert len({cell(atlas, c).tobytes() for c in "大赛上海分区"}) == 6


@pytest.mark.parametrize("char", ["大", "한", "ア", "ع", "ไ", "ह"])
def test_a_character_missing_from_the_page_font_is_drawn_by_a_fallback(atlas: GlyphAtlas, char: str) -> None:
    assert ord(char) not in covered(font_path(DEFAULT_FONT))
    assert atlas.face_for(ord(char)) is not atlas.face
    drawn = cell(atlas, char)
    assert drawn.any()
    box = (missing_box(atlas, char).astype(np.uint16) * 15 + 127) // 255
    assert not np.array_equal(drawn, box.astype(np.uint8))
    # and unlike the box the page font draws for any character it lacks
    assert not np.array_equal(drawn, cell(atlas, "\U0010fffd"))


def test_characters_of_the_page_font_keep_it(atlas: GlyphAtlas) -> None:
    for char in "aZ0{ñΩЖ→":
        assert atlas.face_for(ord(char)) is atlas.face


def test_a_page_draws_the_cjk_file_name(atlas: GlyphAtlas) -> None:
    """On a rendered page each CJK character of the express line is inked, and distinct characters differ."""
    pages = layout_pages([FileLines("examples/downloads/index.js", highlight(EXPRESS_LINE, "javascript"))], SETTINGS)
    page = pages[0]
    pixels = page_pixels(page, SETTINGS)
    grid = page.grid
    found: dict[str, set[bytes]] = {}
    rows, _columns = np.nonzero(page.codepoints == ord("大"))
    assert len(rows) == 2
    for char in "大赛上海分区":
        for row, column in zip(*np.nonzero(page.codepoints == ord(char)), strict=True):
            y, x = grid.margin + row * grid.cell_height, grid.margin + column * grid.cell_width
            drawn = pixels[y : y + grid.cell_height, x : x + grid.cell_width]
            assert drawn.any(), char
            found.setdefault(char, set()).add(drawn.tobytes())
    assert all(len(images) == 1 for images in found.values())  # the same character draws the same
    assert len({next(iter(images)) for images in found.values()}) == 6
