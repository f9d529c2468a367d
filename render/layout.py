"""Layout: a module's highlighted files -> pages of character cells, each with an exact line map.

A page is a grid of monospace cells split into columns. Every row of every column records which
path and line it shows (and which wrapped part), so a reader can always go from pixels to source.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from codectx.render.fonts import DEFAULT_FONT, cell_metrics
from codectx.render.highlight import StyledLine
from codectx.render.theme import INK_GUTTER, INK_HEADER, INK_MARK

WRAP_MARK = "»"  # in every page font (↪ is not in Source Code Pro)
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
    blank_rows: int = 1  # rows kept per run of blank lines; the line numbers show every gap either way

    def key(self) -> str:
        return (
            f"{self.page_width}x{self.page_height}/{self.font}@{self.font_px}/{self.line_height}"
            f"/c{self.columns}/m{self.margin}/g{self.column_gap}/t{self.tab_size}/n{int(self.line_numbers)}"
            f"/b{self.blank_rows}"
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


class RowSpan(NamedTuple):  # a named tuple: a large module makes hundreds of thousands of them
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

    def line_map_json(self) -> dict[str, Any]:
        """The line map as readers get it: every row with its path, line, part and pixel box."""
        return {
            "width": self.width,
            "height": self.height,
            "cell": [self.grid.cell_width, self.grid.cell_height],
            "rows": [span.as_json() for span in self.spans],
        }

    def stored_line_map(self) -> str:
        """The line map as the index keeps it: each path once and no boxes, which follow from the grid
        (a fifth of line_map_json's size, which was larger than the source it maps). read_line_map
        gives back line_map_json()."""
        grid = self.grid
        paths: dict[str, int] = {}
        rows = [
            [s.column, s.row, _KIND_CODES[s.kind], paths.setdefault(s.path, len(paths)), s.line, s.part]
            for s in self.spans
        ]
        compact = {
            "v": 2, "width": self.width, "height": self.height, "cell": [grid.cell_width, grid.cell_height],
            "margin": grid.margin, "columns_x": [grid.column_x(c) for c in range(grid.columns)],
            "row_width": grid.column_chars * grid.cell_width, "paths": list(paths), "rows": rows,
        }  # fmt: skip
        return json.dumps(compact, separators=(",", ":"))


_KINDS = ("code", "header", "continuation")
_KIND_CODES = {kind: code for code, kind in enumerate(_KINDS)}


def read_line_map(stored: str) -> dict[str, Any]:
    """A stored line map (PageLayout.stored_line_map, or the full form older indexes kept) in full form."""
    data: dict[str, Any] = json.loads(stored)
    if data.get("v") != 2:
        return data
    cell_width, cell_height = data["cell"]
    margin, columns_x, row_width, paths = data["margin"], data["columns_x"], data["row_width"], data["paths"]
    rows = [
        {
            "kind": _KINDS[kind], "path": paths[path], "line": line, "part": part, "column": column, "row": row,
            "box": [columns_x[column], margin + row * cell_height, row_width, cell_height],
        }
        for column, row, kind, path, line, part in data["rows"]
    ]
    return {"width": data["width"], "height": data["height"], "cell": [cell_width, cell_height], "rows": rows}


@dataclass(frozen=True, slots=True)
class FileLines:
    """Input to layout: one file's highlighted lines."""

    path: str
    lines: Sequence[StyledLine]


class _Row(NamedTuple):
    kind: str
    path: str
    line: int
    part: int
    text: str
    inks: bytes


def _expand_tabs(line: StyledLine, tab_size: int) -> StyledLine:
    text, inks = line
    if "\t" not in text:
        return line
    pieces: list[str] = []
    ink_pieces: list[bytes] = []
    column = 0
    for ch, ink in zip(text, inks, strict=True):
        width = tab_size - column % tab_size if ch == "\t" else 1
        pieces.append(" " * width if ch == "\t" else ch)
        ink_pieces.append(bytes((ink,)) * width)
        column += width
    return "".join(pieces), b"".join(ink_pieces)


def gutter_chars(line_count: int, settings: LayoutSettings) -> int:
    """Cells taken by the line-number gutter of a file with `line_count` lines (number + one space)."""
    return len(str(line_count)) + 1 if settings.line_numbers else 0


def _file_rows(file: FileLines, width: int, settings: LayoutSettings) -> Iterator[_Row]:
    """Rows for one file: a header, then code rows (wrapped), with blank runs collapsed to `blank_rows` rows."""
    header = f"{HEADER_FILL * 2} {file.path} ({len(file.lines)} lines) "
    header = (header + HEADER_FILL * width)[:width]
    yield _Row("header", file.path, 1, 0, header, bytes([INK_HEADER]) * width)
    gutter = gutter_chars(len(file.lines), settings)
    body = width - gutter
    wrap_label = WRAP_MARK.rjust(gutter - 1) + " "  # the same for every wrapped row of the file
    number_inks, wrap_inks = bytes([INK_GUTTER]) * gutter, bytes([INK_MARK]) * gutter
    blank_run = 0
    tab_size = settings.tab_size
    for number, (text, inks) in enumerate(file.lines, start=1):
        # Tabs and trailing blanks are rare: tested inline, this loop runs once per source line.
        if "\t" in text:
            text, inks = _expand_tabs((text, inks), tab_size)
        stripped = text.rstrip()
        if len(stripped) != len(text):
            text, inks = stripped, inks[: len(stripped)]
        blank_run = blank_run + 1 if not text else 0
        if blank_run > settings.blank_rows:
            continue  # the next line number shows the gap
        part = 0
        while True:
            chunk, chunk_inks = text[:body], inks[:body]
            text, inks = text[body:], inks[body:]
            if gutter:
                label = str(number).rjust(gutter - 1) + " " if part == 0 else wrap_label
                inks_before = number_inks if part == 0 else wrap_inks
                yield _Row("code", file.path, number, part, label + chunk, inks_before + chunk_inks)
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
            # One conversion and one block copy per column: rows padded to the column width.
            cells = slice(0, len(column)), slice(x0, x0 + grid.column_chars)
            text = "".join(row.text.ljust(grid.column_chars) for row in column).encode("utf-32-le")
            inks = b"".join(row.inks.ljust(grid.column_chars, b"\0") for row in column)
            page.codepoints[cells] = np.frombuffer(text, dtype=np.uint32).reshape(len(column), -1)
            page.inks[cells] = np.frombuffer(inks, dtype=np.uint8).reshape(len(column), -1)
            x, width, height = grid.column_x(column_index), grid.column_chars * grid.cell_width, grid.cell_height
            page.spans.extend(
                RowSpan(row.kind, row.path, row.line, row.part, column_index, row_index, x,
                        grid.margin + row_index * height, width, height)
                for row_index, row in enumerate(column)
            )  # fmt: skip
        pages.append(page)
    return pages
