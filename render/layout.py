"""Layout: a module's highlighted files -> pages of character cells, each with an exact line map.

A page is a grid of monospace cells split into columns. Every row of every column records which
path and line it shows (and which wrapped part), so a reader can always go from pixels to source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from codectx.render.fonts import DEFAULT_FONT, cell_metrics
from codectx.render.highlight import StyledLine
from codectx.render.theme import INK_GUTTER, INK_HEADER, INK_MARK

WRAP_MARK = "↪"
HEADER_FILL = "━"
CONTINUATION_FILL = "┄"


@dataclass(frozen=True, slots=True)
class LayoutSettings:
    """Everything that decides where characters land; part of every page's cache key."""

    page_width: int
    page_height: int
    font_px: int = 8
    line_height: int = 9
    columns: int = 2
    margin: int = 4
    column_gap: int = 2  # in cells
    tab_size: int = 4
    font: str = DEFAULT_FONT
    line_numbers: bool = True

    def key(self) -> str:
        return (
            f"{self.page_width}x{self.page_height}/{self.font}@{self.font_px}/{self.line_height}"
            f"/c{self.columns}/m{self.margin}/g{self.column_gap}/t{self.tab_size}/n{int(self.line_numbers)}"
        )


@dataclass(frozen=True, slots=True)
class Grid:
    """Cell geometry derived from settings and the font's metrics."""

    cell_width: int
    cell_height: int
    rows: int
    column_chars: int
    columns: int
    margin: int
    column_gap: int

    @property
    def total_chars(self) -> int:
        return self.columns * self.column_chars + (self.columns - 1) * self.column_gap

    def column_x(self, column: int) -> int:
        return self.margin + column * (self.column_chars + self.column_gap) * self.cell_width


def grid_for(settings: LayoutSettings) -> Grid:
    cell = cell_metrics(settings.font, settings.font_px, settings.line_height)
    usable_w = settings.page_width - 2 * settings.margin
    total_chars = usable_w // cell.width
    column_chars = (total_chars - (settings.columns - 1) * settings.column_gap) // settings.columns
    rows = (settings.page_height - 2 * settings.margin) // cell.height
    if column_chars < 24 or rows < 4:
        raise ValueError(f"layout {settings.key()} leaves {column_chars} chars x {rows} rows per column")
    return Grid(cell.width, cell.height, rows, column_chars, settings.columns, settings.margin, settings.column_gap)


@dataclass(frozen=True, slots=True)
class RowSpan:
    """One rendered row: where it is on the page and what it shows.

    kind is 'code' (a source line or a wrapped part of one), 'header' (a file starts here)
    or 'continuation' (a file goes on from the previous column or page).
    """

    kind: str
    path: str
    line: int  # 1-based source line; for header/continuation rows, the next line shown
    part: int  # 0 for the start of a line, 1.. for wrapped continuations
    column: int
    row: int
    x: int
    y: int
    width: int
    height: int

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind, "path": self.path, "line": self.line, "part": self.part,
            "column": self.column, "row": self.row,
            "box": [self.x, self.y, self.width, self.height],
        }  # fmt: skip


@dataclass(slots=True)
class PageLayout:
    """Cells of one page (code points and inks) plus its line map."""

    width: int
    height: int
    grid: Grid
    codepoints: np.ndarray  # (rows, total_chars) uint32
    inks: np.ndarray  # (rows, total_chars) uint8
    spans: list[RowSpan] = field(default_factory=list)

    def line_ranges(self) -> list[tuple[str, int, int]]:
        """(path, first line, last line) for each file shown, in page order."""
        ranges: list[tuple[str, int, int]] = []
        for span in self.spans:
            if span.kind != "code":
                continue
            if ranges and ranges[-1][0] == span.path:
                path, first, _ = ranges[-1]
                ranges[-1] = (path, first, span.line)
            else:
                ranges.append((span.path, span.line, span.line))
        return ranges

    def line_map_json(self) -> dict[str, object]:
        return {
            "width": self.width,
            "height": self.height,
            "cell": [self.grid.cell_width, self.grid.cell_height],
            "rows": [span.as_json() for span in self.spans],
        }


@dataclass(frozen=True, slots=True)
class FileLines:
    """Input to layout: one file's highlighted lines."""

    path: str
    lines: Sequence[StyledLine]


@dataclass(frozen=True, slots=True)
class _Row:
    kind: str
    path: str
    line: int
    part: int
    text: str
    inks: bytes


def _expand_tabs(runs: StyledLine, tab_size: int) -> StyledLine:
    out: StyledLine = []
    column = 0
    for ink, text in runs:
        if "\t" in text:
            pieces = []
            for ch in text:
                if ch == "\t":
                    pad = tab_size - column % tab_size
                    pieces.append(" " * pad)
                    column += pad
                else:
                    pieces.append(ch)
                    column += 1
            text = "".join(pieces)
        else:
            column += len(text)
        out.append((ink, text))
    return out


def _trim_trailing(runs: StyledLine) -> StyledLine:
    runs = list(runs)
    while runs:
        ink, text = runs[-1]
        stripped = text.rstrip()
        if stripped:
            runs[-1] = (ink, stripped)
            break
        runs.pop()
    return runs


def _file_rows(file: FileLines, width: int, settings: LayoutSettings) -> Iterator[_Row]:
    """Rows for one file: a header, then code rows (wrapped), with blank runs collapsed to one row."""
    header = f"{HEADER_FILL * 2} {file.path} ({len(file.lines)} lines) "
    header = (header + HEADER_FILL * width)[:width]
    yield _Row("header", file.path, 1, 0, header, bytes([INK_HEADER]) * width)
    gutter = len(str(len(file.lines))) + 1 if settings.line_numbers else 0
    body = width - gutter
    previous_blank = False
    for number, raw in enumerate(file.lines, start=1):
        runs = _trim_trailing(_expand_tabs(raw, settings.tab_size))
        if not runs:
            if previous_blank:
                continue  # the next line number shows the gap
            previous_blank = True
        else:
            previous_blank = False
        text = "".join(t for _, t in runs)
        inks = b"".join(bytes([ink]) * len(t) for ink, t in runs)
        part = 0
        while True:
            chunk, chunk_inks = text[:body], inks[:body]
            text, inks = text[body:], inks[body:]
            if gutter:
                label = str(number).rjust(gutter - 1) + " " if part == 0 else WRAP_MARK.rjust(gutter - 1) + " "
                ink = INK_GUTTER if part == 0 else INK_MARK
                yield _Row("code", file.path, number, part, label + chunk, bytes([ink]) * gutter + chunk_inks)
            else:
                yield _Row("code", file.path, number, part, chunk, chunk_inks)
            part += 1
            if not text:
                break


def _continuation(row: _Row, width: int) -> _Row:
    text = f"{CONTINUATION_FILL * 2} {row.path} (continued, line {row.line}) "
    text = (text + CONTINUATION_FILL * width)[:width]
    return _Row("continuation", row.path, row.line, 0, text, bytes([INK_MARK]) * width)


def layout_pages(files: Sequence[FileLines], settings: LayoutSettings) -> list[PageLayout]:
    """Pour the files' rows into columns and pages, in order."""
    grid = grid_for(settings)
    rows_per_column = grid.rows
    slots: list[list[_Row]] = [[]]  # one list of rows per column, across all pages

    for file in files:
        for row in _file_rows(file, grid.column_chars, settings):
            column = slots[-1]
            # A header alone at the foot of a column starts the next column instead.
            if len(column) >= rows_per_column or (row.kind == "header" and len(column) >= rows_per_column - 1):
                column = []
                slots.append(column)
                if row.kind != "header":
                    column.append(_continuation(row, grid.column_chars))
            column.append(row)
    if slots == [[]]:
        return []

    pages: list[PageLayout] = []
    for start in range(0, len(slots), grid.columns):
        page = PageLayout(
            width=settings.page_width,
            height=settings.page_height,
            grid=grid,
            codepoints=np.full((rows_per_column, grid.total_chars), 32, dtype=np.uint32),
            inks=np.zeros((rows_per_column, grid.total_chars), dtype=np.uint8),
        )
        for column_index, column in enumerate(slots[start : start + grid.columns]):
            x0 = column_index * (grid.column_chars + grid.column_gap)
            for row_index, row in enumerate(column):
                n = len(row.text)
                page.codepoints[row_index, x0 : x0 + n] = np.frombuffer(row.text.encode("utf-32-le"), dtype=np.uint32)
                page.inks[row_index, x0 : x0 + n] = np.frombuffer(row.inks, dtype=np.uint8)
                page.spans.append(
                    RowSpan(
                        kind=row.kind, path=row.path, line=row.line, part=row.part,
                        column=column_index, row=row_index,
                        x=grid.column_x(column_index), y=grid.margin + row_index * grid.cell_height,
                        width=grid.column_chars * grid.cell_width, height=grid.cell_height,
                    )
                )  # fmt: skip
        pages.append(page)
    return pages
