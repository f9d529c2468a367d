"""Tables on stdout that never cut a value a user may copy.

On a terminal: a rich table whose cells fold onto more lines when the window is narrow (never an
ellipsis). Piped or redirected: plain aligned rows, each value whole on its line, no colours and no
box drawing, so that `grep`, `cut` and `awk` see every module name, path and number as it is.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

Column = tuple[str, str]  # (header, "left" | "right")


def is_terminal() -> bool:
    return sys.stdout.isatty()


def print_table(title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    if is_terminal():
        table = Table(title=escape(title) if title else None)
        for header, justify in columns:
            table.add_column(header, justify="right" if justify == "right" else "left", overflow="fold")
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        Console().print(table)
        return
    print(plain_table(title, columns, rows), end="")


def plain_table(title: str | None, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> str:
    """Aligned rows separated by two spaces; the last column is not padded."""
    cells = [[header for header, _ in columns], *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [title] if title else []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            last = i == len(columns) - 1
            if columns[i][1] == "right":
                parts.append(cell.rjust(widths[i]))
            else:
                parts.append(cell if last else cell.ljust(widths[i]))
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines) + "\n"
