"""DeepSeek-OCR-2 as a fidelity judge: it reads whole pages, as a local assistant would.

OCR engines read row crops; a vision-language model reads the page it is given (here, the very
image `codectx encode` turns into 257 vision tokens) and answers with free text. The reader
splits that text into lines and aligns them to the page's drawn rows, so the harness scores it
row by row exactly as it scores the OCR engines. Lines the model adds are charged to the row
before them, so extra output costs accuracy instead of vanishing.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PIL import Image

from codectx.fidelity import edit_distance, normalise
from codectx.model.encoder import DEFAULT_PROMPT, GLOBAL_VIEW_PX, OpticalEncoder

if TYPE_CHECKING:
    from codectx.fidelity import Row

ENGINE = "deepseek-ocr2"
BAND_MARGIN_PX = 8
_DP_LIMIT = 4096  # largest rows x lines block aligned by dynamic programming; bigger blocks pair in order


def output_lines(text: str) -> list[str]:
    """The model's non-blank lines, without a code fence wrapped around the whole answer."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) >= 2 and lines[0].lstrip().startswith("```") and lines[-1].strip() == "```":
        lines = lines[1:-1]
    return lines


def _pair_block(truths: Sequence[str], lines: Sequence[str]) -> list[list[str]]:
    """Monotone alignment of a small block: each line goes to one row or is charged as extra."""
    rows, cols = len(truths), len(lines)
    if rows * cols > _DP_LIMIT:
        in_order = [[line] for line in lines[:rows]] + [[] for _ in range(rows - min(rows, cols))]
        if cols > rows and rows:
            in_order[-1].extend(lines[rows:])
        return in_order
    inf = float("inf")
    # cost[i][j]: best cost of aligning truths[:i] with lines[:j].
    cost = [[inf] * (cols + 1) for _ in range(rows + 1)]
    move: list[list[str]] = [[""] * (cols + 1) for _ in range(rows + 1)]
    cost[0][0] = 0
    for i in range(rows + 1):
        for j in range(cols + 1):
            if i and cost[i - 1][j] + len(truths[i - 1]) < cost[i][j]:
                cost[i][j], move[i][j] = cost[i - 1][j] + len(truths[i - 1]), "skip_row"
            if j and cost[i][j - 1] + len(lines[j - 1]) < cost[i][j]:
                cost[i][j], move[i][j] = cost[i][j - 1] + len(lines[j - 1]), "extra_line"
            if i and j:
                matched = cost[i - 1][j - 1] + edit_distance(truths[i - 1], lines[j - 1])
                if matched < cost[i][j]:
                    cost[i][j], move[i][j] = matched, "match"
    paired: list[list[str]] = [[] for _ in range(rows)]
    extras: list[str] = []
    i, j = rows, cols
    while i or j:
        step = move[i][j]
        if step == "match":
            paired[i - 1] = [lines[j - 1], *extras]
            extras = []
            i, j = i - 1, j - 1
        elif step == "skip_row":
            i -= 1
        else:
            extras.insert(0, lines[j - 1])
            j -= 1
    if extras:  # lines before the first matched row
        target = next((p for p in paired if p), paired[0] if paired else None)
        if target is not None:
            target[:0] = extras
    return paired


def lines_to_rows(truths: Sequence[str], lines: Sequence[str]) -> list[str]:
    """One reading per drawn row, from a page reader's free-text lines.

    Exactly matching lines anchor the alignment (a line diff, as difflib computes it); the rows and
    lines between anchors are aligned by edit distance. Lines matching no row are appended to the
    reading of the row before them, so they count as inserted characters.
    """
    norm_truths = [normalise(t) for t in truths]
    norm_lines = [normalise(line) for line in lines]
    readings: list[list[str]] = [[] for _ in truths]
    leading: list[str] = []
    matcher = difflib.SequenceMatcher(None, norm_truths, norm_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(i2 - i1):
                readings[i1 + offset].append(norm_lines[j1 + offset])
        elif tag in ("replace", "insert"):
            block = _pair_block(norm_truths[i1:i2], norm_lines[j1:j2]) if i2 > i1 else []
            for offset, parts in enumerate(block):
                readings[i1 + offset].extend(parts)
            if i2 == i1:  # lines with no rows in between: charge them to the row before
                (readings[i1 - 1] if i1 else leading).extend(norm_lines[j1:j2])
    if leading and readings:
        readings[0][:0] = leading
    return [" ".join(parts) for parts in readings]


def bands(rows: Sequence[Row], height: int, limit: int = GLOBAL_VIEW_PX) -> list[tuple[int, int, list[Row]]]:
    """Horizontal bands of at most `limit` px, cut between rows, each with the rows it holds.

    A page within the limit is one band (the page itself); a taller reference rendering is cut
    so every band is read at the model's native resolution, as a page would be.
    """
    if height <= limit:
        return [(0, height, list(rows))]
    result: list[tuple[int, int, list[Row]]] = []
    current: list[Row] = []
    top = 0
    for row in sorted(rows, key=lambda r: r.box[1]):
        bottom = row.box[1] + row.box[3] + BAND_MARGIN_PX
        if current and bottom - top > limit:
            result.append((top, current[-1].box[1] + current[-1].box[3] + BAND_MARGIN_PX, current))
            current, top = [], max(0, row.box[1] - BAND_MARGIN_PX)
        current.append(row)
    if current:
        result.append((top, min(height, current[-1].box[1] + current[-1].box[3] + BAND_MARGIN_PX), current))
    return result


class DeepseekReader:
    """Fidelity engine `deepseek-ocr2`: whole pages in, one reading per drawn row out."""

    name = ENGINE

    def __init__(self, encoder: OpticalEncoder, prompt: str = DEFAULT_PROMPT) -> None:
        self.encoder = encoder
        self.prompt = prompt

    @classmethod
    def load(cls, model: str, device: str | None = None) -> DeepseekReader:
        return cls(OpticalEncoder.load(model, device))

    def read_page(self, page: Image.Image, rows: Sequence[Row]) -> list[str]:
        """Readings in the order of `rows`."""
        by_row: dict[int, str] = {}
        for top, bottom, band_rows in bands(rows, page.height):
            image = page if (top, bottom) == (0, page.height) else page.crop((0, top, page.width, bottom))
            # A bound that real text never reaches (code averages 3-4 characters per token) and
            # that stops a confused model from running on.
            budget = 16 + sum(len(r.text) for r in band_rows) // 2
            text = self.encoder.read(image.convert("RGB"), self.prompt, max_new_tokens=budget)
            readings = lines_to_rows([r.text for r in band_rows], output_lines(text))
            by_row.update((id(row), reading) for row, reading in zip(band_rows, readings, strict=True))
        return [by_row[id(row)] for row in rows]
