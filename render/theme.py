"""Syntax colours chosen for legibility at small sizes: dark, saturated inks on white.

Light greys and pastels vanish at 7-9 px, so every ink here keeps a contrast ratio of at
least 4.5:1 against white (WCAG's bar for small text), line numbers included: a reader that cannot
read them counts rows and cites the wrong line.
"""

from __future__ import annotations

from dataclasses import dataclass

from pygments.token import (
    Comment,
    Error,
    Generic,
    Keyword,
    Name,
    Number,
    Operator,
    String,
    Token,
    _TokenType,
)

INK_TEXT = 0
INK_KEYWORD = 1
INK_STRING = 2
INK_COMMENT = 3
INK_NUMBER = 4
INK_DEFINITION = 5
INK_BUILTIN = 6
INK_GUTTER = 7
INK_HEADER = 8
INK_MARK = 9
INK_DECORATOR = 10
INK_ERROR = 11
INK_COUNT = 16  # palette layout: INK_COUNT inks x ALPHA_LEVELS coverage levels = 256 entries
ALPHA_LEVELS = 16


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    background: tuple[int, int, int]
    inks: tuple[tuple[int, int, int], ...]

    def palette(self) -> list[int]:
        """A 256-entry RGB palette: entry ink*ALPHA_LEVELS + level blends background towards ink."""
        flat: list[int] = []
        for ink_index in range(INK_COUNT):
            ink = self.inks[ink_index] if ink_index < len(self.inks) else self.inks[INK_TEXT]
            for level in range(ALPHA_LEVELS):
                a = level / (ALPHA_LEVELS - 1)
                flat.extend(round(bg + (fg - bg) * a) for bg, fg in zip(self.background, ink, strict=True))
        return flat


LIGHT = Theme(
    name="light",
    background=(255, 255, 255),
    inks=(
        (0, 0, 0),  # text
        (0, 0, 170),  # keyword: deep blue
        (150, 0, 0),  # string: dark red
        (0, 110, 0),  # comment: dark green
        (120, 0, 140),  # number: purple
        (0, 90, 130),  # definition names: teal
        (130, 70, 0),  # builtins: brown
        (56, 56, 56),  # gutter line numbers: dark grey (11:1; a 7 px digit's thin strokes show lighter)
        (90, 0, 90),  # file headers: dark plum, distinct from every syntax ink
        (200, 0, 100),  # wrap / continuation marks
        (150, 90, 0),  # decorators
        (200, 0, 0),  # errors
    ),
)

_INK_BY_TOKEN: tuple[tuple[_TokenType, int], ...] = (
    (Comment, INK_COMMENT),
    (String, INK_STRING),
    (Number, INK_NUMBER),
    (Keyword, INK_KEYWORD),
    (Operator.Word, INK_KEYWORD),
    (Name.Function, INK_DEFINITION),
    (Name.Class, INK_DEFINITION),
    (Name.Builtin, INK_BUILTIN),
    (Name.Decorator, INK_DECORATOR),
    (Name.Exception, INK_BUILTIN),
    (Generic.Heading, INK_KEYWORD),
    (Generic.Deleted, INK_STRING),
    (Generic.Inserted, INK_COMMENT),
    (Error, INK_TEXT),
)
_cache: dict[_TokenType, int] = {}


def ink_for(token_type: _TokenType) -> int:
    """The ink for a pygments token type (walks up the type hierarchy, cached)."""
    ink = _cache.get(token_type)
    if ink is None:
        ink = INK_TEXT
        for parent, candidate in _INK_BY_TOKEN:
            if token_type in parent:
                ink = candidate
                break
        _cache[token_type] = ink
    return ink


__all__ = ["LIGHT", "Theme", "Token", "ink_for"]
