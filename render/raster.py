"""Raster: page layout -> palette PNG bytes, composed from a glyph atlas with numpy.

Each pixel is `ink * ALPHA_LEVELS + coverage`, so a whole page is one fancy-indexing gather
over the atlas plus one add; the 256-entry palette blends every ink with the background.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image

from codectx.render.fonts import GlyphAtlas
from codectx.render.layout import LayoutSettings, PageLayout
from codectx.render.theme import ALPHA_LEVELS, LIGHT, Theme

PNG_COMPRESS_LEVEL = 6


@lru_cache(maxsize=16)
def atlas_for(font: str, font_px: int, line_height: int) -> GlyphAtlas:
    return GlyphAtlas(font, font_px, line_height)


def page_pixels(page: PageLayout, settings: LayoutSettings) -> np.ndarray:
    """The page as an (height, width) array of palette indices."""
    atlas = atlas_for(settings.font, settings.font_px, settings.line_height)
    grid = page.grid
    glyph_ids = atlas.ids_for(page.codepoints)
    cells = atlas.bitmaps[glyph_ids]  # (rows, chars, cell_h, cell_w)
    cells = cells + (page.inks * ALPHA_LEVELS)[:, :, None, None]
    rows, chars = glyph_ids.shape
    body = cells.transpose(0, 2, 1, 3).reshape(rows * grid.cell_height, chars * grid.cell_width)
    pixels = np.zeros((page.height, page.width), dtype=np.uint8)
    y, x = grid.margin, grid.margin
    pixels[y : y + body.shape[0], x : x + body.shape[1]] = body
    return pixels


def encode_png(pixels: np.ndarray, theme: Theme = LIGHT) -> bytes:
    image = Image.fromarray(pixels, mode="P")
    image.putpalette(theme.palette())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def rasterize(page: PageLayout, settings: LayoutSettings, theme: Theme = LIGHT) -> bytes:
    """Palette PNG bytes for one page; deterministic for the same inputs."""
    return encode_png(page_pixels(page, settings), theme)
