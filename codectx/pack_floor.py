"""The smallest budget that packs anything: below it every module is omitted.

A pack sends each module as one of its options (text, pages, reduced pages, outline); the cheapest
option of all modules is the least a budget must allow for the pack to hold one item.
"""

from __future__ import annotations

from dataclasses import dataclass

from codectx.pack import PackBasis, _options
from codectx.profiles import get_profile
from codectx.reduced import reduced_modes


@dataclass(frozen=True, slots=True)
class Floor:
    tokens: int
    module: str
    representation: str

    def describe(self) -> str:
        return f"{self.tokens:,} tokens, for module {self.module} as {self.representation.replace('_', ' ')}"


def smallest_budget(basis: PackBasis) -> Floor | None:
    """The cheapest item any pack of the basis's generation can hold (None for an index without modules)."""
    profile = get_profile(basis.target)
    reduced = reduced_modes(profile.target, profile.layout.page_width, profile.layout.page_height)
    cheapest: Floor | None = None
    for module in basis.modules:
        for option in _options(module, reduced, profile.layout.page_width, basis):
            if option.tokens > 0 and (cheapest is None or option.tokens < cheapest.tokens):
                cheapest = Floor(option.tokens, module.row.name, option.representation)
    return cheapest
