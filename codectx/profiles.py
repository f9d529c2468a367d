"""Profiles: a target's cost rule paired with the layout that renders its pages.

Defaults are the densest settings that measured legible on the standard-library sample
(docs/FONTS.md; `python bench/frontier.py sweep` reproduces the frontier); every page size is one
the target never resizes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from codectx.model.targets import DEFAULT_TARGET, Target, get_target
from codectx.render.layout import LayoutSettings, grid_for


@dataclass(frozen=True, slots=True)
class Profile:
    target: Target
    layout: LayoutSettings

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def page_tokens(self) -> int:
        return self.target.cost(self.layout.page_width, self.layout.page_height)


# Every target draws Source Code Pro (Regular) at 7 px in 5 x 8 px cells: the densest cell that the
# tesseract judge reads at >= 97% of its own ceiling on the standard-library sample (docs/FONTS.md;
# `python bench/frontier.py sweep`). What differs per target is the page, so the columns follow from it.
FONT_PX = 7
LINE_HEIGHT = 8
# Columns at least this wide: narrower ones win a little density but wrap a third of all code lines.
MIN_COLUMN_CHARS = 56
# Runs of blank lines take no row at all (the line numbers show each gap): 14% more code per page.
BLANK_ROWS = 0


def densest_columns(settings: LayoutSettings) -> int:
    """The most columns whose width stays at or above MIN_COLUMN_CHARS (at least one)."""
    columns = 1
    while True:
        try:
            if grid_for(replace(settings, columns=columns + 1)).column_chars < MIN_COLUMN_CHARS:
                return columns
        except ValueError:  # no room for another column at all
            return columns
        columns += 1


def get_profile(target_name: str = DEFAULT_TARGET, **overrides: int | str | bool) -> Profile:
    """The target's default layout; `overrides` replace LayoutSettings fields (columns then default to
    the densest that the overridden cell allows)."""
    target = get_target(target_name)
    settings: dict[str, int | str | bool] = {
        "page_width": target.page_width,
        "page_height": target.page_height,
        "font_px": FONT_PX,
        "line_height": LINE_HEIGHT,
        "blank_rows": BLANK_ROWS,
        "columns": 1,
    }
    settings.update(overrides)
    layout = LayoutSettings(**settings)  # type: ignore[arg-type]
    if "columns" not in overrides:
        layout = replace(layout, columns=densest_columns(layout))
    if target.resizes(layout.page_width, layout.page_height):
        raise ValueError(f"{layout.page_width}x{layout.page_height} pages would be resized by {target.name}")
    return Profile(target, layout)
