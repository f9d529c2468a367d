"""Highlight: source text -> lines of (ink, text) runs, through pygments' lexers."""

from __future__ import annotations

from functools import lru_cache

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from codectx.render.theme import INK_TEXT, ink_for

Run = tuple[int, str]
StyledLine = list[Run]


@lru_cache(maxsize=256)
def _lexer(language: str) -> Lexer | None:
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False, tabsize=0)
    except ClassNotFound:
        return None


def highlight(text: str, language: str) -> list[StyledLine]:
    """Split `text` into lines of coloured runs; one entry per source line ('\\n'-separated)."""
    lexer = _lexer(language)
    lines: list[StyledLine] = [[]]
    if lexer is None:
        return [[(INK_TEXT, line)] if line else [] for line in text.split("\n")]
    for token_type, value in lexer.get_tokens(text):
        ink = ink_for(token_type)
        if "\n" not in value:
            if value:
                lines[-1].append((ink, value))
            continue
        parts = value.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append([])
            if part:
                lines[-1].append((ink, part))
    expected = text.count("\n") + 1
    # Lexers may add or drop a final newline; keep exactly one entry per source line.
    del lines[expected:]
    lines.extend([] for _ in range(expected - len(lines)))
    return lines
