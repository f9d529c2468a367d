"""Fonts and glyph atlases: every glyph is rendered once per (font, size, cell) with Pillow."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from codectx.render.theme import ALPHA_LEVELS, INK_COUNT

# Monospace fonts shipped on PyPI by fontpkg; the default is chosen by measurement (docs/FONTS.md).
FONT_PACKAGES = {
    "jetbrains-mono": ("fontpkg_jetbrains_mono", "JetBrainsMono[wght].ttf"),
    "ibm-plex-mono": ("fontpkg_ibm_plex_mono", "IBMPlexMono-Regular.ttf"),
    "source-code-pro": ("fontpkg_source_code_pro", "SourceCodePro[wght].ttf"),
    "inconsolata": ("fontpkg_inconsolata", "Inconsolata[wdth,wght].ttf"),
    "roboto-mono": ("fontpkg_roboto_mono", "RobotoMono[wght].ttf"),
}
DEFAULT_FONT = "source-code-pro"
ASCII_PRINTABLE = "".join(chr(c) for c in range(32, 127))
# Fonts that draw what the page font lacks, tried in order; each is a PyPI package installed with
# codectx, so every machine draws a page alike. (module, file in the module's folder or its files/)
FALLBACK_FONTS: tuple[tuple[str, str], ...] = (
    ("fontpkg_noto_sans", "NotoSans[wdth,wght].ttf"),  # Latin, Greek and Cyrillic beyond the page font's
    ("cvttf_NotoSansCJK_Regular", "NotoSansCJKtc-Regular.otf"),  # Chinese, Japanese, Korean, wide symbols
    ("fontpkg_noto_sans_arabic", "NotoSansArabic[wdth,wght].ttf"),
    ("fontpkg_noto_sans_devanagari", "NotoSansDevanagari[wdth,wght].ttf"),
    ("fontpkg_noto_sans_thai", "NotoSansThai[wdth,wght].ttf"),
)


class FontUnavailableError(RuntimeError):
    pass


def font_path(name: str) -> Path:
    try:
        module_name, file_name = FONT_PACKAGES[name]
    except KeyError:
        raise FontUnavailableError(f"unknown font {name!r}; choose one of: {', '.join(FONT_PACKAGES)}") from None
    try:
        module = import_module(module_name)
    except ImportError:
        package = module_name.replace("_", "-")
        raise FontUnavailableError(f"font {name!r} is not installed: pip install {package}") from None
    return Path(module.ROOT) / "files" / file_name


REGULAR_WEIGHT = 400


def load_face(font: str, font_px: int) -> ImageFont.FreeTypeFont:
    """The font at `font_px`. A name may carry a weight ("source-code-pro:500"); without one, variable
    fonts are set to Regular (400) rather than their file's default instance, which for Source Code
    Pro is ExtraLight."""
    name, _, weight_text = font.partition(":")
    weight = int(weight_text) if weight_text.isdigit() else REGULAR_WEIGHT
    if weight_text and not weight_text.isdigit():
        raise FontUnavailableError(f"font {font!r}: the weight after ':' must be a number such as 500")
    face = _face_at(font_path(name), font_px, weight)
    if face is None:
        raise FontUnavailableError(f"font {name!r} is static: only its regular weight is available")
    return face


def _face_at(path: Path, font_px: int, weight: int = REGULAR_WEIGHT) -> ImageFont.FreeTypeFont | None:
    """The font file at `font_px` and `weight`; None when a static font lacks that weight."""
    face = ImageFont.truetype(str(path), font_px)
    try:
        axes = face.get_variation_axes()
    except OSError:  # a static font has its one weight
        return face if weight == REGULAR_WEIGHT else None
    face.set_variation_by_axes([weight if axis["name"] == b"Weight" else axis["default"] or 0 for axis in axes])
    return face


def fallback_paths() -> list[Path]:
    """The installed fallback fonts' files, in the order they are tried."""
    found: list[Path] = []
    for module_name, file_name in FALLBACK_FONTS:
        try:
            folder = Path(str(import_module(module_name).__file__)).parent
        except ImportError:
            continue
        found.extend(path for path in (folder / "files" / file_name, folder / file_name) if path.is_file())
    return found


@lru_cache(maxsize=32)
def covered(path: Path) -> frozenset[int]:
    """The code points a font file has glyphs for (its character map)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True, fontNumber=0) as font:
        return frozenset(font.getBestCmap() or ())


@dataclass(frozen=True, slots=True)
class CellMetrics:
    width: int
    height: int


@lru_cache(maxsize=32)
def cell_metrics(font: str, font_px: int, line_height: int) -> CellMetrics:
    face = load_face(font, font_px)
    return CellMetrics(width=math.ceil(face.getlength("M") - 0.05), height=line_height)


class GlyphAtlas:
    """Coverage bitmaps quantised to ALPHA_LEVELS, indexed by glyph id; index 0 is the blank cell."""

    def __init__(self, font: str, font_px: int, line_height: int) -> None:
        self.face = load_face(font, font_px)
        self.font_px = font_px
        self._covered = covered(font_path(font.partition(":")[0]))
        self._fallbacks: list[tuple[frozenset[int], ImageFont.FreeTypeFont]] | None = None
        self.cell = cell_metrics(font, font_px, line_height)
        top = min(self.face.getbbox(ch, anchor="ls")[1] for ch in ASCII_PRINTABLE if ch.strip())
        bottom = max(self.face.getbbox(ch, anchor="ls")[3] for ch in ASCII_PRINTABLE if ch.strip())
        ink_height = bottom - top
        # Centre the ASCII ink box in the cell; tall glyphs are clipped rather than overlapping rows.
        self.baseline = -top + max(0, (line_height - ink_height) // 2)
        self._index: dict[int, int] = {32: 0}
        self._bitmaps: list[np.ndarray] = [np.zeros((self.cell.height, self.cell.width), np.uint8)]
        self._stack: np.ndarray | None = None
        self._inked_rows: np.ndarray | None = None
        # Code point -> glyph id (-1: not rendered yet); one gather maps a whole page.
        self._lookup = np.full(128, -1, dtype=np.int32)
        self._lookup[32] = 0
        for ch in ASCII_PRINTABLE:
            self.glyph_id(ord(ch))

    def face_for(self, codepoint: int) -> ImageFont.FreeTypeFont:
        """The page font when it has the character, else the first fallback font that has it, else the
        page font (which draws its missing-glyph box)."""
        if codepoint in self._covered:
            return self.face
        if self._fallbacks is None:  # loaded on the first character the page font lacks
            self._fallbacks = []
            for path in fallback_paths():
                face = _face_at(path, self.font_px)
                if face is not None:
                    self._fallbacks.append((covered(path), face))
        return next((face for chars, face in self._fallbacks if codepoint in chars), self.face)

    def _render(self, codepoint: int) -> np.ndarray:
        ch = chr(codepoint)
        face = self.face_for(codepoint)
        cw, chh = self.cell.width, self.cell.height
        advance = max(1, math.ceil(face.getlength(ch)))
        canvas = Image.new("L", (max(cw, advance), chh), 0)
        ImageDraw.Draw(canvas).text((0, self.baseline), ch, fill=255, font=face, anchor="ls")
        if canvas.width != cw:  # wide glyphs (CJK, emoji) are squeezed into one cell
            canvas = canvas.resize((cw, chh), Image.Resampling.BOX)
        coverage = np.asarray(canvas, dtype=np.uint16)
        return ((coverage * (ALPHA_LEVELS - 1) + 127) // 255).astype(np.uint8)

    def glyph_id(self, codepoint: int) -> int:
        found = self._index.get(codepoint)
        if found is not None:
            return found
        if not chr(codepoint).isprintable() or codepoint in (0xFEFF,):
            glyph = self._bitmaps[self._index[ord("?")]]
        else:
            glyph = self._render(codepoint)
        glyph_id = len(self._bitmaps)
        self._index[codepoint] = glyph_id
        self._bitmaps.append(glyph)
        self._stack = self._inked_rows = None
        if codepoint >= len(self._lookup):
            grown = np.full(max(codepoint + 1, 2 * len(self._lookup)), -1, dtype=np.int32)
            grown[: len(self._lookup)] = self._lookup
            self._lookup = grown
        self._lookup[codepoint] = glyph_id
        return glyph_id

    def ids_for(self, codepoints: np.ndarray) -> np.ndarray:
        """Map an array of code points to glyph ids, adding unseen glyphs."""
        if codepoints.size and int(codepoints.max()) >= len(self._lookup):
            self.glyph_id(int(codepoints.max()))
        ids: np.ndarray = self._lookup[codepoints]
        missing = ids < 0
        if missing.any():
            for codepoint in np.unique(codepoints[missing]).tolist():
                self.glyph_id(codepoint)
            ids = self._lookup[codepoints]
        return ids

    @property
    def glyph_count(self) -> int:
        return len(self._bitmaps)

    @property
    def bitmaps(self) -> np.ndarray:
        if self._stack is None:
            self._stack = np.stack(self._bitmaps)
        return self._stack

    def inked_rows(self) -> np.ndarray:
        """Palette indices of every glyph in every ink, one pixel row at a time.

        Shape (cell height, glyphs * INK_COUNT, cell width); entry [y, glyph * INK_COUNT + ink] is
        pixel row y of that glyph drawn in that ink. Uncovered pixels are 0 whatever the ink, so a
        page's background is a single palette index and compresses well.
        """
        if self._inked_rows is None:
            levels = self.bitmaps[:, None, :, :]  # (glyphs, 1, h, w)
            offsets = (np.arange(INK_COUNT, dtype=np.uint8) * ALPHA_LEVELS)[None, :, None, None]
            inked = np.where(levels > 0, levels + offsets, 0).astype(np.uint8)  # (glyphs, inks, h, w)
            glyphs, inks, height, width = inked.shape
            self._inked_rows = np.ascontiguousarray(inked.reshape(glyphs * inks, height, width).transpose(1, 0, 2))
        return self._inked_rows
