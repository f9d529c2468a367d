"""Budget: choose one representation per module so the total fits and the most relevant stay faithful.

Each module offers options (cost in tokens, faithfulness in [0, 1]). A module's value for an option
is relevance x faithfulness x its source lines, so per token every module competes on relevance
and on how much its option compresses. The choice is the classic greedy for the multiple-choice
knapsack: walk each module's upper convex hull of (cost, value), always taking the best value per
extra token next, while it fits.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

# How much of a module an option conveys, most faithful first. Pages: a hosted Claude model, reading
# unseen code blind on claude pages, got 99.9% of the characters and every line number and value
# right, with the glossary's exact strings beside the pages (docs/READERS.md); text keeps an edge
# for editing. The pages' share is what tilts a pack towards covering every module before it
# upgrades the most relevant to text.
FAITHFULNESS = {"text": 1.0, "pages": 0.97, "reduced_pages": 0.97, "outline": 0.15, "omitted": 0.0}
# Legibility falls faster than the pixel count: a reduced page at scale s conveys pages x s**3.
REDUCED_EXPONENT = 3
# Every module keeps a little worth, so a large budget is spent on the least relevant too; the floor
# is scaled by the module's class weight, so data and licences come after the code.
RELEVANCE_FLOOR = 0.02


@dataclass(frozen=True, slots=True)
class Option:
    representation: str
    tokens: int
    faithfulness: float
    detail: int = 0  # which reduced size, for reduced pages


@dataclass(frozen=True, slots=True)
class Candidate:
    module: str
    relevance: float  # in [0, 1]
    lines: int
    options: tuple[Option, ...]  # must include an omitted option costing 0
    weight: float = 1.0  # the module's class weight (codectx.classes): scales its floor of worth


def _hull(options: Sequence[Option]) -> list[Option]:
    """Options on the upper convex hull of (tokens, value), cheapest first, starting at the free one."""
    ordered = sorted(options, key=lambda o: (o.tokens, -o.faithfulness))
    frontier: list[Option] = []
    for option in ordered:
        if frontier and option.faithfulness <= frontier[-1].faithfulness:
            continue  # costs as much or more and conveys no more
        while len(frontier) >= 2:
            a, b = frontier[-2], frontier[-1]
            # b is under the line from a to option: skipping it is better per token.
            left = (b.faithfulness - a.faithfulness) * (option.tokens - a.tokens)
            right = (option.faithfulness - a.faithfulness) * (b.tokens - a.tokens)
            if left <= right:
                frontier.pop()
            else:
                break
        frontier.append(option)
    return frontier


def allocate(candidates: Sequence[Candidate], budget: int) -> dict[str, Option]:
    """The chosen option per module; their tokens sum to at most `budget`."""
    chosen: dict[str, Option] = {}
    weight: dict[str, float] = {}
    hulls: dict[str, list[Option]] = {}
    options: dict[str, tuple[Option, ...]] = {}
    heap: list[tuple[float, int, str, int]] = []
    for order, candidate in enumerate(candidates):
        free = min(candidate.options, key=lambda o: (o.tokens, -o.faithfulness))
        if free.tokens != 0:
            raise ValueError(f"module {candidate.module} has no free option")
        floor = RELEVANCE_FLOOR * max(candidate.weight, 0.0)
        weight[candidate.module] = (max(candidate.relevance, 0.0) + floor) * max(candidate.lines, 1)
        hulls[candidate.module] = _hull(candidate.options)
        options[candidate.module] = candidate.options
        chosen[candidate.module] = free
        _push(heap, candidate.module, order, hulls[candidate.module], 0, weight[candidate.module])
    spent = 0
    while heap:
        _, order, module, step = heapq.heappop(heap)
        current, hull = chosen[module], hulls[module]
        upgrade = hull[step + 1]
        if spent - current.tokens + upgrade.tokens <= budget:
            spent += upgrade.tokens - current.tokens
            chosen[module] = upgrade
            _push(heap, module, order, hull, step + 1, weight[module])
            continue
        # The next hull step does not fit: the best affordable option off the hull may.
        room = budget - spent + current.tokens
        affordable = [
            o for o in options[module] if current.tokens < o.tokens <= room and o.faithfulness > current.faithfulness
        ]
        if affordable:
            best = max(affordable, key=lambda o: (o.faithfulness - current.faithfulness) / (o.tokens - current.tokens))
            spent += best.tokens - current.tokens
            chosen[module] = best
            later = [o for o in hull if o.faithfulness > best.faithfulness]
            hulls[module] = [best, *later]
            _push(heap, module, order, hulls[module], 0, weight[module])
    return chosen


def _push(
    heap: list[tuple[float, int, str, int]], module: str, order: int, hull: list[Option], step: int, weight: float
) -> None:
    if step + 1 >= len(hull):
        return
    a, b = hull[step], hull[step + 1]
    efficiency = weight * (b.faithfulness - a.faithfulness) / max(b.tokens - a.tokens, 1)
    heapq.heappush(heap, (-efficiency, order, module, step))


def faithfulness(representation: str, scale: float = 1.0) -> float:
    """Faithfulness of a representation; `scale` is a reduced page's linear size relative to the full page."""
    value = FAITHFULNESS[representation]
    return value * scale**REDUCED_EXPONENT if representation == "reduced_pages" else value
