"""Fidelity: how much of a rendered page a real OCR engine reads back, against exactly what is drawn.

Protocol (identical for the profile's pages and for the reference rendering):
1. Render a seeded sample of pages through the normal pipeline (highlight -> layout -> raster).
2. Cut every non-blank code row out of its column using the line map, without the line-number
   gutter (numbers are not source text); turn it grey (darkened for tesseract), upscale it so the
   font is READ_FONT_PX tall and pad it with white.
3. Read the crops: tesseract gets them restacked into strips with white gaps (LSTM, dictionaries
   off, printable-ASCII whitelist) and its words are put back on rows by position; RapidOCR's
   recogniser reads each crop (no detection needed on line crops).
4. Compare each row's reading with the row's drawn text (tabs expanded, trailing blanks trimmed),
   with indentation dropped and inner blank runs counted as one blank on both sides.

char_accuracy = 1 - edit distance / drawn characters, over all sampled rows. The ceiling is the same
rows drawn at REFERENCE_FONT_PX in one column, read the same way: what the engine manages on large,
clean text. relative_accuracy = char_accuracy / ceiling separates the page's legibility from the
engine's own habits (a lone quote read as a colon, runs of dashes miscounted).
"""

from __future__ import annotations

import io
import os
import random
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image

from codectx.modules import Module, group_modules
from codectx.profiles import Profile
from codectx.render.highlight import StyledLine, highlight
from codectx.render.layout import FileLines, LayoutSettings, PageLayout, grid_for, gutter_chars, layout_pages
from codectx.render.raster import page_pixels, rasterize
from codectx.render.theme import LIGHT
from codectx.scan import scan
from codectx.tokens import count_tokens_batch

REFERENCE_FONT_PX = 16
REFERENCE_LINE_HEIGHT = 20
READ_FONT_PX = 32  # crops are upscaled so the font is this tall (30-40 px read best; larger is only slower)
DEFAULT_SAMPLE = 4
DEFAULT_SEED = 0
ENGINES = ("tesseract", "rapidocr", "deepseek-ocr2")
PRINTABLE_ASCII = "".join(chr(c) for c in range(33, 127))


class FidelityError(ValueError):
    """The measurement cannot run (no engine, nothing to sample); the message says why."""


# --- comparison -----------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Indentation dropped and blank runs collapsed; applied to the drawn text and the reading alike."""
    return " ".join(text.split())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions all cost 1."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@dataclass(frozen=True, slots=True)
class Score:
    chars: int  # drawn characters compared, after normalise
    errors: int  # edit distance summed over rows

    @property
    def accuracy(self) -> float:
        return max(0.0, 1.0 - self.errors / self.chars) if self.chars else 1.0

    def __add__(self, other: Score) -> Score:
        return Score(self.chars + other.chars, self.errors + other.errors)


def score_rows(truths: Sequence[str], readings: Sequence[str]) -> Score:
    """Character errors row by row; readings[i] is what the engine read for truths[i]."""
    if len(truths) != len(readings):
        raise ValueError(f"{len(readings)} readings for {len(truths)} rows")
    chars = errors = 0
    for truth, reading in zip(truths, readings, strict=True):
        expected = normalise(truth)
        chars += len(expected)
        errors += edit_distance(expected, normalise(reading))
    return Score(chars, errors)


# --- alignment: OCR words back onto the rows they were read from ----------------------------


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    left: int
    top: int
    width: int
    height: int


def words_to_rows(words: Iterable[Word], row_tops: Sequence[int], row_height: int) -> list[str]:
    """Put each word on the row whose band centre is nearest its own centre, then join each row by x.

    Nearest rather than "inside" keeps every word the engine read (a stray mark in a gap still
    counts against the row beside it), so misreadings cannot fall out of the comparison.
    """
    rows: list[list[Word]] = [[] for _ in row_tops]
    if not rows:
        return []
    centres = np.asarray(row_tops, dtype=np.float64) + row_height / 2
    for word in words:
        if word.text.strip():
            rows[int(np.argmin(np.abs(centres - (word.top + word.height / 2))))].append(word)
    return [" ".join(w.text for w in sorted(row, key=lambda w: w.left)) for row in rows]


# --- engines --------------------------------------------------------------------------------


class Reader(Protocol):
    name: str
    gamma: float  # grey levels are raised to this power before reading (1: as drawn)

    def read(self, crops: Sequence[np.ndarray]) -> list[str]:
        """One string per crop; each crop is a greyscale uint8 image of one text row."""
        ...


@runtime_checkable
class PageReader(Protocol):
    """A reader of whole page images (a vision-language model) rather than row crops."""

    name: str

    def read_page(self, page: Image.Image, rows: Sequence[Row]) -> list[str]:
        """One reading per row of `rows` (the rows drawn on `page`), in that order."""
        ...


class TesseractReader:
    """Tesseract 5 (LSTM) on row crops restacked into strips, one process per strip."""

    name = "tesseract"
    gamma = 2.0  # darker anti-aliased strokes lifted every font's accuracy at 8 px (docs/FONTS.md)
    rows_per_strip = 80

    def __init__(self, config_dir: Path) -> None:
        try:
            import pytesseract

            pytesseract.get_tesseract_version()
        except Exception as error:  # the module or the binary is missing
            raise FidelityError(
                "tesseract is unavailable: install Debian `tesseract-ocr` and `pip install pytesseract`"
            ) from error
        self._tesseract = pytesseract
        # One thread per process: OpenMP threads only fight each other on a busy machine.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self._config = config_dir / "codectx-fidelity.cfg"
        # A config file sidesteps shell quoting of the whitelist's quotes and backslash. The blank
        # inside the whitelist keeps word spaces: without one, tesseract 5 glues words together.
        self._config.write_text(
            "load_system_dawg 0\nload_freq_dawg 0\n"
            f"tessedit_char_whitelist {PRINTABLE_ASCII[0]} {PRINTABLE_ASCII[1:]}\n"
        )

    def read(self, crops: Sequence[np.ndarray]) -> list[str]:
        readings: list[str] = []
        for start in range(0, len(crops), self.rows_per_strip):
            readings.extend(self._read_strip(crops[start : start + self.rows_per_strip]))
        return readings

    def _read_strip(self, crops: Sequence[np.ndarray]) -> list[str]:
        if not crops:
            return []
        height = max(c.shape[0] for c in crops)
        # A crop-high white gap between rows and around the strip.
        strip = np.full((height * (2 * len(crops) + 1), max(c.shape[1] for c in crops) + 2 * height), 255, np.uint8)
        tops = [height * (2 * index + 1) for index in range(len(crops))]
        for top, crop in zip(tops, crops, strict=True):
            strip[top : top + crop.shape[0], height : height + crop.shape[1]] = crop
        data: dict[str, list[Any]] = self._tesseract.image_to_data(
            Image.fromarray(strip), lang="eng", config=f"--oem 1 --psm 6 {self._config}",
            output_type=self._tesseract.Output.DICT,
        )  # fmt: skip
        words = [
            Word(str(text), int(left), int(top), int(width), int(h))
            for text, left, top, width, h, level in zip(
                data["text"], data["left"], data["top"], data["width"], data["height"], data["level"], strict=True
            )
            if int(level) == 5  # word level
        ]
        return words_to_rows(words, tops, height)


class RapidOcrReader:
    """RapidOCR's PP-OCRv4 recogniser (ONNX) on each row crop."""

    name = "rapidocr"
    gamma = 1.0  # darkening cost RapidOCR two points at 7 px

    def __init__(self) -> None:
        self._engine = _rapidocr()

    def read(self, crops: Sequence[np.ndarray]) -> list[str]:
        if not crops:
            return []
        results, _elapsed = self._engine.text_rec([np.repeat(c[:, :, None], 3, axis=2) for c in crops])
        # The Chinese-English model writes some ASCII punctuation in full-width forms; NFKC maps
        # them back, as a character whitelist does for tesseract.
        return [unicodedata.normalize("NFKC", text) for text, _score in results]


@lru_cache(maxsize=1)
def _rapidocr() -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as error:
        raise FidelityError("RapidOCR is unavailable: pip install rapidocr-onnxruntime") from error
    # One inference thread: measured fastest on a busy 2-core machine, and results do not depend on it.
    return RapidOCR(print_verbose=False, intra_op_num_threads=1, inter_op_num_threads=1)


def make_reader(engine: str, work_dir: Path, model: str | None = None) -> Reader | PageReader:
    if engine == "deepseek-ocr2":
        if not model:
            raise FidelityError("the deepseek-ocr2 engine needs --model: a model folder or hub id")
        from codectx.model.loading import ModelNotFoundError

        try:
            from codectx.model.judge import DeepseekReader  # torch and transformers: only for this engine

            return DeepseekReader.load(model)
        except ImportError as error:
            raise FidelityError(f"{error.name} is missing: pip install 'codectx[model]'") from None
        except ModelNotFoundError as error:
            raise FidelityError(str(error)) from None
    if engine == "tesseract":
        return TesseractReader(work_dir)
    if engine == "rapidocr":
        return RapidOcrReader()
    raise FidelityError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")


# --- rows and crops -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One drawn code row: its text and inks without the gutter, and its pixel box on the page."""

    path: str
    line: int
    part: int
    styled: StyledLine
    box: tuple[int, int, int, int]  # x, y, width, height

    @property
    def text(self) -> str:
        return self.styled[0]


def code_rows(page: PageLayout, settings: LayoutSettings, line_counts: dict[str, int]) -> list[Row]:
    """Every non-blank code row of a page, taken from the cells the rasterizer draws."""
    grid = page.grid
    rows: list[Row] = []
    for span in page.spans:
        if span.kind != "code":
            continue
        gutter = gutter_chars(line_counts[span.path], settings)
        start = span.column * (grid.column_chars + grid.column_gap)
        text = "".join(map(chr, page.codepoints[span.row, start + gutter : start + grid.column_chars].tolist()))
        text = text.rstrip()
        if not text:
            continue
        inks = page.inks[span.row, start + gutter : start + gutter + len(text)].tobytes()
        box = (span.x + gutter * grid.cell_width, span.y, len(text) * grid.cell_width, span.height)
        rows.append(Row(span.path, span.line, span.part, (text, inks), box))
    return rows


@lru_cache(maxsize=4)
def _grey_levels(gamma: float) -> np.ndarray:
    """Palette index -> grey level; gamma > 1 darkens thin anti-aliased strokes."""
    palette = np.asarray(LIGHT.palette(), dtype=np.float64).reshape(-1, 3)
    luminance = palette @ np.array([0.299, 0.587, 0.114]) / 255
    grey: np.ndarray = np.round(255 * luminance**gamma).astype(np.uint8)
    return grey


def crop_rows(pixels: np.ndarray, rows: Sequence[Row], font_px: int, gamma: float = 1.0) -> list[np.ndarray]:
    """Grey crops of the rows, upscaled so the font is READ_FONT_PX tall, on a white margin.

    Readers are trained on padded line images: without the margin RapidOCR drops word spaces.
    """
    grey = _grey_levels(gamma)[pixels]
    scale = READ_FONT_PX / font_px
    margin = READ_FONT_PX // 4
    crops = []
    for row in rows:
        x, y, w, h = row.box
        size = (round(w * scale), round(h * scale))
        band = np.asarray(Image.fromarray(grey[y : y + h, x : x + w]).resize(size, Image.Resampling.LANCZOS))
        crop = np.full((size[1] + 2 * margin, size[0] + 4 * margin), 255, dtype=np.uint8)
        crop[margin : margin + size[1], 2 * margin : 2 * margin + size[0]] = band
        crops.append(crop)
    return crops


def reference_layout(rows: Sequence[Row], settings: LayoutSettings) -> tuple[PageLayout, LayoutSettings]:
    """The same rows, font and inks at REFERENCE_FONT_PX, one row per line, in one column on one page."""
    probe = LayoutSettings(
        page_width=4096, page_height=4096, font_px=REFERENCE_FONT_PX, line_height=REFERENCE_LINE_HEIGHT,
        columns=1, font=settings.font, line_numbers=False, tab_size=settings.tab_size,
    )  # fmt: skip
    chars = max(24, max(len(r.text) for r in rows) + 1)
    reference = replace(
        probe,
        page_width=2 * probe.margin + chars * grid_for(probe).cell_width,
        page_height=2 * probe.margin + (max(len(rows), 3) + 2) * REFERENCE_LINE_HEIGHT,
    )
    pages = layout_pages([FileLines("reference", [r.styled for r in rows])], reference)
    if len(pages) != 1:
        raise AssertionError("the reference rendering must fit one page")
    return pages[0], reference


# --- sampling -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampledPage:
    module: str
    page_no: int
    layout: PageLayout
    source_lines: dict[str, list[str]]  # path -> source lines of the module's files

    def line_counts(self) -> dict[str, int]:
        return {path: len(lines) for path, lines in self.source_lines.items()}

    def shown_text(self) -> str:
        """The source lines that start on this page, as the text a reader would otherwise be sent."""
        shown = [(s.path, s.line) for s in self.layout.spans if s.kind == "code" and s.part == 0]
        return "\n".join(self.source_lines[path][line - 1] for path, line in shown)


def sample_pages(root: Path, settings: LayoutSettings, sample: int, seed: int = DEFAULT_SEED) -> list[SampledPage]:
    """A seeded random sample of distinct pages across the repository's modules.

    Each draw picks a module with probability proportional to its size and a random relative
    position inside it, so one seed shows much the same code under every layout setting.
    """
    modules = [m for m in group_modules(scan(root).files) if m.chars]
    if not modules or sample < 1:
        return []
    rng = random.Random(seed)
    draws: list[tuple[Module, float]] = [
        (rng.choices(modules, [m.chars for m in modules])[0], rng.random()) for _ in range(4 * sample)
    ]
    laid_out: dict[str, list[PageLayout]] = {}
    picked: list[SampledPage] = []
    for module, position in draws:
        if module.name not in laid_out:
            files = [FileLines(f.path, highlight(f.text.removesuffix("\n"), f.language)) for f in module.files]
            laid_out[module.name] = layout_pages(files, settings)
        pages = laid_out[module.name]
        page_no = min(int(position * len(pages)), len(pages) - 1)
        if any(p.module == module.name and p.page_no == page_no for p in picked):
            continue
        lines = {f.path: f.text.removesuffix("\n").split("\n") for f in module.files}
        picked.append(SampledPage(module.name, page_no, pages[page_no], lines))
        if len(picked) == sample:
            break
    return picked


# --- measurement ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageFidelity:
    module: str
    page_no: int
    rows: int
    score: Score
    ceiling: Score
    text_tokens: int

    def as_json(self) -> dict[str, object]:
        return {
            "module": self.module, "page": self.page_no + 1, "rows": self.rows, "chars": self.score.chars,
            "char_accuracy": round(self.score.accuracy, 4), "ceiling": round(self.ceiling.accuracy, 4),
            "text_tokens": self.text_tokens,
        }  # fmt: skip


@dataclass(slots=True)
class FidelityReport:
    target: str
    engine: str
    settings: LayoutSettings
    page_tokens: int
    pages: list[PageFidelity] = field(default_factory=list)

    @property
    def score(self) -> Score:
        return sum((p.score for p in self.pages), Score(0, 0))

    @property
    def char_accuracy(self) -> float:
        return self.score.accuracy

    @property
    def ceiling(self) -> float:
        return sum((p.ceiling for p in self.pages), Score(0, 0)).accuracy

    @property
    def relative_accuracy(self) -> float:
        return self.char_accuracy / self.ceiling if self.ceiling else 0.0

    @property
    def text_tokens(self) -> int:
        return sum(p.text_tokens for p in self.pages)

    @property
    def vision_tokens(self) -> int:
        return self.page_tokens * len(self.pages)

    @property
    def ratio(self) -> float:
        return self.text_tokens / self.vision_tokens if self.vision_tokens else 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "engine": self.engine,
            "layout": self.settings.key(),
            "char_accuracy": round(self.char_accuracy, 4),
            "ceiling": round(self.ceiling, 4),
            "relative_accuracy": round(self.relative_accuracy, 4),
            "text_tokens": self.text_tokens,
            "vision_tokens": self.vision_tokens,
            "ratio": round(self.ratio, 3),
            "pages": [p.as_json() for p in self.pages],
        }


class Judge:
    """An engine plus a memo of its readings of reference rows (they recur across settings)."""

    def __init__(self, engine: str, work_dir: Path, model: str | None = None) -> None:
        self.reader = make_reader(engine, work_dir, model)
        self._reference: dict[tuple[str, StyledLine], str] = {}

    def read_page(self, page: PageLayout, settings: LayoutSettings, rows: Sequence[Row]) -> list[str]:
        if isinstance(self.reader, PageReader):
            with Image.open(io.BytesIO(rasterize(page, settings))) as image:
                return self.reader.read_page(image.convert("RGB"), rows)
        return self.reader.read(crop_rows(page_pixels(page, settings), rows, settings.font_px, self.reader.gamma))

    def read_reference(self, rows: Sequence[Row], settings: LayoutSettings) -> list[str]:
        """Readings of the rows drawn at the reference size; rows read before are not read again."""
        missing = [r for r in dict.fromkeys(r.styled for r in rows) if (settings.font, r) not in self._reference]
        if missing:
            page, reference = reference_layout([Row("reference", 0, 0, s, (0, 0, 0, 0)) for s in missing], settings)
            drawn = code_rows(page, reference, {"reference": len(missing)})
            if [r.styled for r in drawn] != missing:
                raise AssertionError("the reference rendering must draw exactly the sampled rows")
            for styled, reading in zip(missing, self.read_page(page, reference, drawn), strict=True):
                self._reference[(settings.font, styled)] = reading
        return [self._reference[(settings.font, r.styled)] for r in rows]

    def measure_page(self, sampled: SampledPage, settings: LayoutSettings, text_tokens: int) -> PageFidelity:
        rows = code_rows(sampled.layout, settings, sampled.line_counts())
        truths = [r.text for r in rows]
        readings = self.read_page(sampled.layout, settings, rows) if rows else []
        reference = self.read_reference(rows, settings) if rows else []
        return PageFidelity(
            sampled.module, sampled.page_no, len(rows), score_rows(truths, readings),
            score_rows(truths, reference), text_tokens,
        )  # fmt: skip

    def measure(
        self, root: Path, profile: Profile, sample: int = DEFAULT_SAMPLE, seed: int = DEFAULT_SEED
    ) -> FidelityReport:
        pages = sample_pages(root, profile.layout, sample, seed)
        if not pages:
            raise FidelityError(f"{root} has no source files to render")
        report = FidelityReport(profile.name, self.reader.name, profile.layout, profile.page_tokens)
        for sampled, tokens in zip(pages, count_tokens_batch([p.shown_text() for p in pages]), strict=True):
            report.pages.append(self.measure_page(sampled, profile.layout, tokens))
        return report


def measure(
    root: Path,
    profile: Profile,
    engine: str = "tesseract",
    sample: int = DEFAULT_SAMPLE,
    seed: int = DEFAULT_SEED,
    model: str | None = None,
) -> FidelityReport:
    """Render a seeded sample of `root`'s pages with `profile` and read them back with `engine`.

    `model` names the weights of a model engine (deepseek-ocr2): a folder or a hub id.
    """
    with tempfile.TemporaryDirectory(prefix="codectx-fidelity-") as scratch:
        return Judge(engine, Path(scratch), model).measure(root, profile, sample, seed)
