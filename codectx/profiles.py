"""Profiles: a target's cost rule paired with the layout that renders its pages.

Defaults are the densest settings that measured legible on the standard-library sample
(docs/FRONTIER.md); every page size is one the target never resizes.
"""

from __future__ import annotations

from dataclasses import dataclass

from codectx.model.targets import DEFAULT_TARGET, TARGETS, Target, get_target
from codectx.render.layout import LayoutSettings


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


# (font px, line height, columns) per target.
_DEFAULT_LAYOUT: dict[str, tuple[int, int, int]] = {
    "claude": (9, 10, 2),
    "claude-hires": (9, 10, 3),
    "gpt-4o": (9, 10, 1),
    "gpt-4.1-mini": (9, 10, 3),
    "gemini": (8, 9, 1),
    "qwen2.5-vl": (9, 10, 2),
    "deepseek-ocr": (8, 9, 2),
    "deepseek-ocr-tiny": (8, 9, 1),
    "deepseek-ocr-small": (8, 9, 1),
    "deepseek-ocr-large": (8, 9, 2),
    "deepseek-ocr-gundam": (8, 9, 2),
    "deepseek-ocr2": (8, 9, 2),
}


def get_profile(target_name: str = DEFAULT_TARGET, **overrides: int | str | bool) -> Profile:
    target = get_target(target_name)
    font_px, line_height, columns = _DEFAULT_LAYOUT[target.name]
    settings: dict[str, int | str | bool] = {
        "page_width": target.page_width,
        "page_height": target.page_height,
        "font_px": font_px,
        "line_height": line_height,
        "columns": columns,
    }
    settings.update(overrides)
    layout = LayoutSettings(**settings)  # type: ignore[arg-type]
    if target.resizes(layout.page_width, layout.page_height):
        raise ValueError(f"{layout.page_width}x{layout.page_height} pages would be resized by {target.name}")
    return Profile(target, layout)


def profile_names() -> list[str]:
    return sorted(TARGETS)
