from __future__ import annotations

import io

import numpy as np
from PIL import Image

from codectx.render.highlight import highlight
from codectx.render.layout import FileLines, LayoutSettings, layout_pages
from codectx.render.raster import rasterize

SETTINGS = LayoutSettings(page_width=1024, page_height=1024, font_px=8, line_height=9, columns=2)


def test_highlight_keeps_one_entry_per_line(stdlib):
    text = (stdlib / "json" / "decoder.py").read_text()
    lines = highlight(text, "python")
    assert len(lines) == text.count("\n") + 1
    assert [line_text for line_text, _ in lines] == text.split("\n")
    assert {ink for _, inks in lines for ink in inks} >= {0, 1, 2, 3}  # text, keyword, string, comment


def test_line_map_covers_every_line_once(stdlib):
    text = (stdlib / "json" / "encoder.py").read_text().rstrip("\n")
    pages = layout_pages([FileLines("json/encoder.py", highlight(text, "python"))], SETTINGS)
    assert len(pages) >= 2
    shown = [s.line for p in pages for s in p.spans if s.kind == "code" and s.part == 0]
    source = text.split("\n")
    blank_skipped = {n for n in range(2, len(source) + 1) if not source[n - 1].strip() and not source[n - 2].strip()}
    assert sorted(shown) == [n for n in range(1, len(source) + 1) if n not in blank_skipped]
    kinds = [s.kind for p in pages for s in p.spans]
    assert kinds[0] == "header" and "continuation" in kinds


def test_wrapping_and_tabs():
    long_line = "x = [" + ", ".join(str(i) for i in range(200)) + "]"
    files = [FileLines("a.py", highlight(f"def f():\n\treturn 1\n{long_line}", "python"))]
    page = layout_pages(files, SETTINGS)[0]
    parts = [s.part for s in page.spans if s.kind == "code" and s.line == 3]
    assert parts == list(range(len(parts))) and len(parts) > 3
    row = next(s for s in page.spans if s.kind == "code" and s.line == 2)
    text = "".join(chr(c) for c in page.codepoints[row.row, :40]).rstrip()
    assert "\t" not in text and text.endswith("    return 1")


def test_raster_is_a_deterministic_palette_png(stdlib):
    text = (stdlib / "json" / "scanner.py").read_text()
    page = layout_pages([FileLines("json/scanner.py", highlight(text, "python"))], SETTINGS)[0]
    first, second = rasterize(page, SETTINGS), rasterize(page, SETTINGS)
    assert first == second
    image = Image.open(io.BytesIO(first))
    assert image.mode == "P" and image.size == (1024, 1024)
    # Ink covers a plausible share of the page: text is there, the page is not a solid block.
    dark = (np.asarray(image.convert("L")) < 128).mean()
    assert 0.01 < dark < 0.3
