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


def _contrast(ink: tuple[int, int, int], background: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(rgb: tuple[int, int, int]) -> float:
        linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(ink), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_every_ink_line_numbers_included_reads_at_small_text_contrast():
    from codectx.render.theme import INK_GUTTER, LIGHT

    assert _contrast(LIGHT.inks[INK_GUTTER], LIGHT.background) >= 4.5
    assert all(_contrast(ink, LIGHT.background) >= 4.5 for ink in LIGHT.inks)


def test_layout_marks_are_glyphs_of_every_page_font():
    """A mark the font lacks is drawn as its missing-glyph box (the wrap mark once was)."""
    from PIL import Image, ImageDraw

    from codectx.render.fonts import DEFAULT_FONT, load_face
    from codectx.render.layout import CONTINUATION_FILL, HEADER_FILL, WRAP_MARK

    face = load_face(DEFAULT_FONT, 24)

    def drawn(char: str) -> bytes:
        image = Image.new("L", (32, 32), 0)
        ImageDraw.Draw(image).text((2, 2), char, font=face, fill=255)
        return image.tobytes()

    missing = drawn("\ue000")  # a private-use code point no font draws
    assert drawn("\ue001") == missing  # the comparison can tell
    for mark in (WRAP_MARK, HEADER_FILL, CONTINUATION_FILL):
        assert drawn(mark) != missing, mark


def test_tabs_expand_to_the_next_stop_in_the_tabs_ink():
    from codectx.render.layout import _expand_tabs

    def one_by_one(text: str, inks: bytes, tab_size: int) -> tuple[str, bytes]:
        out, out_inks = "", b""
        for ch, ink in zip(text, inks, strict=True):
            width = tab_size - len(out) % tab_size if ch == "\t" else 1
            out += " " * width if ch == "\t" else ch
            out_inks += bytes([ink]) * width
        return out, out_inks

    for text in ["\tx", "a\tb\t\tc", "ab\r\tc\t", "\t", "abcd\te", "漢\t字"]:
        inks = bytes(range(1, len(text) + 1))
        for tab_size in (1, 4, 8):
            assert _expand_tabs((text, inks), tab_size) == one_by_one(text, inks, tab_size)
