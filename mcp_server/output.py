"""Tool results under a size cap: text counted in cl100k tokens, images at the target's vision cost.

A result never exceeds its cap; the part that did not fit is announced in a closing note that says
exactly which call returns it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from mcp_types import ContentBlock, ImageContent, TextContent

from codectx.pack import FileRange
from codectx.tokens import count_tokens

DEFAULT_MAX_TOKENS = 25_000
MIN_MAX_TOKENS = 2_000
# Kept back so the closing "how to get the rest" note always fits.
NOTE_RESERVE = 300
COUNT_CHUNK_LINES = 256
CUT_MARK = " [line cut: longer than the size cap]\n"


class CappedContent:
    """Content blocks that add up to at most `limit` tokens."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.blocks: list[ContentBlock] = []
        self._last_count: tuple[str, int] = ("", 0)  # the text checked last is usually the one added next

    def _count(self, text: str) -> int:
        if self._last_count[0] == text:
            return self._last_count[1]
        cost = count_tokens(text)
        self._last_count = (text, cost)
        return cost

    @property
    def room(self) -> int:
        return self.limit - NOTE_RESERVE - self.used

    def add_text(self, text: str, force: bool = False) -> bool:
        """Append a text block if it fits (always when `force`, for short notes within the reserve)."""
        cost = self._count(text)
        if not force and cost > self.room:
            return False
        self.blocks.append(TextContent(type="text", text=text))
        self.used += cost
        return True

    def add_image(self, caption: str, png: bytes, tokens: int) -> bool:
        """Append a caption and its PNG together, or neither."""
        cost = count_tokens(caption) + tokens
        if cost > self.room:
            return False
        self.blocks.append(TextContent(type="text", text=caption))
        self.blocks.append(
            ImageContent(type="image", data=base64.b64encode(png).decode("ascii"), mime_type="image/png")
        )
        self.used += cost
        return True

    def lines_that_fit(self, lines: Sequence[str], overhead: str = "") -> int:
        """How many of `lines` (joined as one text block after `overhead`) fit in the room left."""
        room = self.room - (count_tokens(overhead) if overhead else 0)
        fitting = used = 0
        # A chunk of lines at a time, then a binary search inside the chunk that overflows: a long text
        # costs a few encoder calls, and stops being counted once the room is full.
        for start in range(0, len(lines), COUNT_CHUNK_LINES):
            chunk = lines[start : start + COUNT_CHUNK_LINES]
            cost = count_tokens("".join(chunk))
            if used + cost <= room:
                used += cost
                fitting += len(chunk)
                continue
            low, high = 0, len(chunk)
            while low < high:
                middle = (low + high + 1) // 2
                if used + count_tokens("".join(chunk[:middle])) <= room:
                    low = middle
                else:
                    high = middle - 1
            fitting += low
            break
        # Chunk counts add up to an estimate (tokens can merge across chunk ends): check the joined text.
        while fitting and self._count(overhead + "".join(lines[:fitting])) > self.room:
            fitting = fitting * 9 // 10
        return fitting

    def cut_to_fit(self, line: str, overhead: str = "") -> str:
        """The longest prefix of `line` that fits after `overhead`, marked as cut (for a line longer than the cap)."""
        low, high = 0, len(line)
        while low < high:
            middle = (low + high + 1) // 2
            if self.lines_that_fit([line[:middle] + CUT_MARK], overhead=overhead):
                low = middle
            else:
                high = middle - 1
        return line[:low] + CUT_MARK


def thousands(value: int) -> str:
    return f"{value:,}"


def ranges_label(ranges: Sequence[FileRange], spans: bool = False) -> str:
    """'a.py:1-40,52; b.py:7' for the files and lines a pack item or page covers.

    With `spans`, consecutive ranges of one file merge: on pages the only lines left out between them
    are repeated blank lines, which the layout collapses.
    """
    by_path: list[tuple[str, list[tuple[int, int]]]] = []
    for r in ranges:
        if by_path and by_path[-1][0] == r.path:
            parts = by_path[-1][1]
            if spans:
                parts[-1] = (parts[-1][0], max(parts[-1][1], r.end_line))
            else:
                parts.append((r.start_line, r.end_line))
        else:
            by_path.append((r.path, [(r.start_line, r.end_line)]))
    return "; ".join(
        path + ":" + ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in parts) for path, parts in by_path
    )
