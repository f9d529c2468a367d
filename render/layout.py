"""Layout: a module's highlighted files -> pages of character cells, each with an exact line map.

A page is a grid of monospace cells split into columns. Every row of every column records which
path and line it shows (and which wrapped part), so a reader can always go from pixels to source.
Where rows go depends only on line lengths: plan_pages finds every page's line map from the plain
text, and draw_page fills one planned page's cells from the highlighted lines when it is drawn.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
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

    def span(self, kind: str, path: str, line: int, part: int, column: int, row: int) -> RowSpan:
        """A row of the line map, with its pixel box."""
        x, y = self.column_x(column), self.margin + row * self.cell_height
        return RowSpan(kind, path, line, part, column, row, x, y, self.column_chars * self.cell_width, self.cell_height)


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

    def line_map_json(self) -> dict[str, Any]:
        """The line map as readers get it: every row with its path, line, part and pixel box."""
        return {
            "width": self.width,
            "height": self.height,
            "cell": [self.grid.cell_width, self.grid.cell_height],
            "rows": [span.as_json() for span in self.spans],
        }


@dataclass(slots=True)
class PagePlan:
    """Where every row of a page goes, without its cells: all an index needs (its line map), and all
    draw_page needs besides the files' highlighted lines.

    rows: one (column, row, kind code, index into paths, line, part) per row, in page order.
    """

    width: int
    height: int
    grid: Grid
    paths: list[str]
    rows: np.ndarray  # (n, 6) int64

    def code_bounds(self) -> tuple[tuple[str, int], tuple[str, int]]:
        """(path, line) of the first and the last source line shown (of the first row when none is)."""
        code = self.rows[self.rows[:, 2] == _KIND_CODES["code"]]
        if not len(code):
            code = self.rows[:1]
        first, last = code[0], code[-1]
        return (self.paths[first[3]], int(first[4])), (self.paths[last[3]], int(last[4]))

    def spans(self) -> list[RowSpan]:
        return [
            self.grid.span(_KINDS[kind], self.paths[path], line, part, column, row)
            for column, row, kind, path, line, part in self.rows.tolist()
        ]

    def stored_line_map(self) -> str:
        """The line map as the index keeps it: each path once and no boxes, which follow from the grid
        (a fifth of line_map_json's size, which was larger than the source it maps). read_line_map
        gives back the full form, PageLayout.line_map_json()."""
        grid = self.grid
        compact = {
            "v": 2, "width": self.width, "height": self.height, "cell": [grid.cell_width, grid.cell_height],
            "margin": grid.margin, "columns_x": [grid.column_x(c) for c in range(grid.columns)],
            "row_width": grid.column_chars * grid.cell_width, "paths": self.paths, "rows": self.rows.tolist(),
        }  # fmt: skip
        return json.dumps(compact, separators=(",", ":"))

    @classmethod
    def from_stored(cls, stored: str, settings: LayoutSettings) -> PagePlan:
        """The plan of a line map stored by stored_line_map (with the settings it was laid out with)."""
        data = json.loads(stored)
        if data.get("v") != 2:
            raise ValueError("not a compact line map")
        rows = np.array(data["rows"], dtype=np.int64).reshape(-1, 6)
        return cls(data["width"], data["height"], grid_for(settings), data["paths"], rows)


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
            "kind": _KINDS[kind],
            "path": paths[path],
            "line": line,
            "part": part,
            "column": column,
            "row": row,
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
    column = position = 0
    segments = text.split("\t")
    for number, segment in enumerate(segments):
        pieces.append(segment)
        ink_pieces.append(inks[position : position + len(segment)])
        column += len(segment)
        position += len(segment)
        if number < len(segments) - 1:  # a tab follows: blanks in its ink up to the next tab stop
            width = tab_size - column % tab_size
            pieces.append(" " * width)
            ink_pieces.append(inks[position : position + 1] * width)
            column += width
            position += 1
    return "".join(pieces), b"".join(ink_pieces)


def gutter_chars(line_count: int, settings: LayoutSettings) -> int:
    """Cells taken by the line-number gutter of a file with `line_count` lines (number + one space)."""
    return len(str(line_count)) + 1 if settings.line_numbers else 0


def _header(file: FileLines, width: int) -> _Row:
    text = f"{HEADER_FILL * 2} {file.path} ({len(file.lines)} lines) "
    return _Row("header", file.path, 1, 0, (text + HEADER_FILL * width)[:width], bytes([INK_HEADER]) * width)


def _line_rows(path: str, number: int, line: StyledLine, gutter: int, body: int, tab_size: int) -> list[_Row]:
    """The rows of one source line: its number in the gutter, then its text, wrapped at `body` cells."""
    text, inks = line
    # Tabs and trailing blanks are rare: tested inline, this runs once per source line.
    if "\t" in text:
        text, inks = _expand_tabs((text, inks), tab_size)
    stripped = text.rstrip()
    if len(stripped) != len(text):
        text, inks = stripped, inks[: len(stripped)]
    rows: list[_Row] = []
    while True:
        chunk, chunk_inks = text[:body], inks[:body]
        text, inks = text[body:], inks[body:]
        if not gutter:
            rows.append(_Row("code", path, number, len(rows), chunk, chunk_inks))
        elif not rows:
            label = str(number).rjust(gutter - 1) + " "
            rows.append(_Row("code", path, number, 0, label + chunk, bytes([INK_GUTTER]) * gutter + chunk_inks))
        else:
            label = WRAP_MARK.rjust(gutter - 1) + " "
            rows.append(_Row("code", path, number, len(rows), label + chunk, bytes([INK_MARK]) * gutter + chunk_inks))
        if not text:
            return rows


def _file_rows(file: FileLines, width: int, settings: LayoutSettings) -> Iterator[_Row]:
    """Rows for one file: a header, then code rows (wrapped), with blank runs collapsed to `blank_rows` rows."""
    yield _header(file, width)
    gutter = gutter_chars(len(file.lines), settings)
    blank_run = 0
    for number, line in enumerate(file.lines, start=1):
        blank_run = blank_run + 1 if not line[0].strip() else 0
        if blank_run > settings.blank_rows:
            continue  # the next line number shows the gap
        yield from _line_rows(file.path, number, line, gutter, width - gutter, settings.tab_size)


def _continuation(row: _Row, width: int) -> _Row:
    text = f"{CONTINUATION_FILL * 2} {row.path} (continued, line {row.line}) "
    text = (text + CONTINUATION_FILL * width)[:width]
    return _Row("continuation", row.path, row.line, 0, text, bytes([INK_MARK]) * width)


def _pour(rows: Iterator[_Row], grid: Grid) -> list[list[_Row]]:
    """The rows poured into columns, in order: one list of rows per column, across all pages."""
    slots: list[list[_Row]] = [[]]
    for row in rows:
        column = slots[-1]
        # A header alone at the foot of a column starts the next column instead.
        if len(column) >= grid.rows or (row.kind == "header" and len(column) >= grid.rows - 1):
            column = []
            slots.append(column)
            if row.kind != "header":
                column.append(_continuation(row, grid.column_chars))
        column.append(row)
    return [] if slots == [[]] else slots


def _spans(columns: Sequence[list[_Row]], grid: Grid) -> list[RowSpan]:
    return [
        grid.span(row.kind, row.path, row.line, row.part, column_index, row_index)
        for column_index, column in enumerate(columns)
        for row_index, row in enumerate(column)
    ]


def _cells(columns: Sequence[list[_Row]], grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    codepoints = np.full((grid.rows, grid.total_chars), 32, dtype=np.uint32)
    inks = np.zeros((grid.rows, grid.total_chars), dtype=np.uint8)
    for column_index, column in enumerate(columns):
        if not column:
            continue
        x0 = column_index * (grid.column_chars + grid.column_gap)
        # One conversion and one block copy per column: rows padded to the column width.
        cells = slice(0, len(column)), slice(x0, x0 + grid.column_chars)
        text = "".join(row.text.ljust(grid.column_chars) for row in column).encode("utf-32-le")
        ink_bytes = b"".join(row.inks.ljust(grid.column_chars, b"\0") for row in column)
        codepoints[cells] = np.frombuffer(text, dtype=np.uint32).reshape(len(column), -1)
        inks[cells] = np.frombuffer(ink_bytes, dtype=np.uint8).reshape(len(column), -1)
    return codepoints, inks


def layout_pages(files: Sequence[FileLines], settings: LayoutSettings) -> list[PageLayout]:
    """Pour the files' rows into columns and pages, in order."""
    grid = grid_for(settings)
    slots = _pour((row for file in files for row in _file_rows(file, grid.column_chars, settings)), grid)
    pages: list[PageLayout] = []
    for start in range(0, len(slots), grid.columns):
        columns = slots[start : start + grid.columns]
        codepoints, inks = _cells(columns, grid)
        pages.append(
            PageLayout(settings.page_width, settings.page_height, grid, codepoints, inks, _spans(columns, grid))
        )
    return pages


@dataclass(frozen=True, slots=True)
class PlainFile:
    """Input to plan_pages: one file's lines, without inks."""

    path: str
    lines: Sequence[str]


def _line_lengths(lines: Sequence[str], tab_size: int) -> np.ndarray:
    """Each line's length as _file_rows draws it: tabs expanded, trailing blanks dropped."""
    return np.fromiter((len(_expanded(t, tab_size).rstrip()) if "\t" in t else len(t.rstrip()) for t in lines),
                       dtype=np.int64, count=len(lines))  # fmt: skip


def _expanded(text: str, tab_size: int) -> str:
    """_expand_tabs' text. str.expandtabs gives the same but restarts its count at a carriage return."""
    return text.expandtabs(tab_size) if "\r" not in text else _expand_tabs((text, bytes(len(text))), tab_size)[0]


def _file_plan(lines: Sequence[str], width: int, settings: LayoutSettings) -> tuple[np.ndarray, np.ndarray]:
    """The (line, part) of every code row _file_rows yields for these lines, as two arrays."""
    lengths = _line_lengths(lines, settings.tab_size)
    body = width - gutter_chars(len(lines), settings)
    index = np.arange(len(lengths))
    blank = lengths == 0
    # How many blank lines precede each one within its run (0 for the first blank line of a run).
    run_start = np.maximum.accumulate(np.where(blank, -1, index))
    kept = index[~blank | (index - run_start <= settings.blank_rows)]
    parts = np.maximum(1, -(-lengths[kept] // body))
    starts = np.cumsum(parts) - parts
    numbers = np.repeat(kept + 1, parts)
    return numbers, np.arange(int(parts.sum())) - np.repeat(starts, parts)


def plan_pages(files: Sequence[PlainFile], settings: LayoutSettings) -> list[PagePlan]:
    """layout_pages' pages without their cells (the same spans), at a fraction of the cost: rows are
    poured a column at a time instead of one by one."""
    grid = grid_for(settings)
    code, header, continuation = (_KIND_CODES[k] for k in _KINDS)
    # Pieces of columns: (column, first row, kind, path index, lines, parts).
    pieces: list[tuple[int, int, int, int, np.ndarray, np.ndarray]] = []
    column, used = 0, 0
    for path_index, file in enumerate(files):
        if used >= grid.rows - 1:  # a header alone at the foot of a column starts the next column instead
            column, used = column + 1, 0
        pieces.append((column, used, header, path_index, np.array([1]), np.array([0])))
        used += 1
        numbers, parts = _file_plan(file.lines, grid.column_chars, settings)
        done = 0
        while done < len(numbers):
            if used >= grid.rows:
                column, used = column + 1, 0
                pieces.append((column, 0, continuation, path_index, numbers[done : done + 1], np.array([0])))
                used = 1
            take = min(grid.rows - used, len(numbers) - done)
            pieces.append((column, used, code, path_index, numbers[done : done + take], parts[done : done + take]))
            used += take
            done += take
    if not pieces:
        return []
    paths = [file.path for file in files]
    plans: list[PagePlan] = []
    by_page: dict[int, list[np.ndarray]] = {}
    for column, first_row, kind, path_index, numbers, parts in pieces:
        count = len(numbers)
        block = np.empty((count, 6), dtype=np.int64)
        block[:, 0] = column % grid.columns
        block[:, 1] = np.arange(first_row, first_row + count)
        block[:, 2] = kind
        block[:, 3] = path_index
        block[:, 4] = numbers
        block[:, 5] = parts
        by_page.setdefault(column // grid.columns, []).append(block)
    for page in range(max(by_page) + 1):
        rows = np.concatenate(by_page[page])
        # Each page names only its own paths, in order of appearance (files are poured in order).
        shown, rows[:, 3] = np.unique(rows[:, 3], return_inverse=True)
        plans.append(PagePlan(settings.page_width, settings.page_height, grid, [paths[i] for i in shown], rows))
    return plans


def draw_page(plan: PagePlan, files: Mapping[str, FileLines], settings: LayoutSettings) -> PageLayout:
    """The cells of a planned page, from the highlighted lines of the files it shows (by path): equal to
    the page layout_pages lays out for those files."""
    grid = grid_for(settings)
    spans = plan.spans()
    columns: list[list[_Row]] = [[] for _ in range(grid.columns)]
    lines: dict[tuple[str, int], list[_Row]] = {}  # the rows of each source line shown
    for span in spans:
        file = files[span.path]
        if span.kind == "header":
            row = _header(file, grid.column_chars)
        elif span.kind == "continuation":
            row = _continuation(_Row("code", span.path, span.line, 0, "", b""), grid.column_chars)
        else:
            if (span.path, span.line) not in lines:
                gutter = gutter_chars(len(file.lines), settings)
                lines[span.path, span.line] = _line_rows(
                    span.path,
                    span.line,
                    file.lines[span.line - 1],
                    gutter,
                    grid.column_chars - gutter,
                    settings.tab_size,
                )
            row = lines[span.path, span.line][span.part]
        columns[span.column].append(row)
    codepoints, inks = _cells(columns, grid)
    return PageLayout(plan.width, plan.height, grid, codepoints, inks, spans)
