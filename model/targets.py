"""Published vision-token cost rules, one per target, and the page sizes each target never resizes.

Every rule here follows the vendor's published formula (see docs/COSTS.md); tests pin the
documented examples. A page size is valid for a target only when `resizes(w, h)` is False.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Target:
    """One vision model family's cost rule and native page size."""

    name: str
    description: str
    page_width: int
    page_height: int
    cost: Callable[[int, int], int]
    resizes: Callable[[int, int], bool]
    # Smaller native sizes the pack may use for "reduced pages": the page is fitted inside one, keeping
    # its aspect ratio, and costed with the same rule. Only sizes that cost fewer tokens make sense.
    reduced_sizes: tuple[tuple[int, int], ...] = ()

    def page_cost(self) -> int:
        return self.cost(self.page_width, self.page_height)


def claude_cost(width: int, height: int) -> int:
    """Anthropic: one token per 28x28 px patch."""
    return math.ceil(width / 28) * math.ceil(height / 28)


def claude_resizes(width: int, height: int, max_edge: int = 1568, max_tokens: int = 1568) -> bool:
    return max(width, height) > max_edge or claude_cost(width, height) > max_tokens


def claude_hires_resizes(width: int, height: int) -> bool:
    return claude_resizes(width, height, max_edge=2576, max_tokens=4784)


def claude_legacy_cost(width: int, height: int) -> int:
    """Older Anthropic documentation: (w*h)/750."""
    return math.ceil(width * height / 750)


def _gpt4o_scaled(width: int, height: int) -> tuple[float, float]:
    w, h = float(width), float(height)
    if max(w, h) > 2048:
        scale = 2048 / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > 768:
        scale = 768 / min(w, h)
        w, h = w * scale, h * scale
    return w, h


def gpt4o_cost(width: int, height: int) -> int:
    """OpenAI GPT-4o / GPT-4.1, detail high: 85 + 170 per 512 px tile after scaling."""
    w, h = _gpt4o_scaled(width, height)
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def gpt4o_resizes(width: int, height: int) -> bool:
    return _gpt4o_scaled(width, height) != (float(width), float(height))


def patch32_cost(multiplier: float) -> Callable[[int, int], int]:
    """gpt-4.1-mini / nano / o4-mini: 32 px patches (at most 1536), times a model multiplier."""

    def cost(width: int, height: int) -> int:
        patches = min(math.ceil(width / 32) * math.ceil(height / 32), 1536)
        return math.ceil(patches * multiplier)

    return cost


def patch32_resizes(width: int, height: int) -> bool:
    return math.ceil(width / 32) * math.ceil(height / 32) > 1536


def gemini_cost(width: int, height: int) -> int:
    """Gemini 2.x: 258 tokens when both sides <= 384 px, else 258 per 768x768 tile."""
    if width <= 384 and height <= 384:
        return 258
    return 258 * math.ceil(width / 768) * math.ceil(height / 768)


def gemini_resizes(width: int, height: int) -> bool:
    small = width <= 384 and height <= 384
    return not small and (width % 768 != 0 or height % 768 != 0)


def qwen_cost(width: int, height: int) -> int:
    """Qwen2.5-VL: one token per 28x28 px, sides rounded to multiples of 28, 4 to 16384 tokens."""
    w = max(28, round(width / 28) * 28)
    h = max(28, round(height / 28) * 28)
    return min(max((w // 28) * (h // 28), 4), 16384)


def qwen_resizes(width: int, height: int) -> bool:
    tokens = (width // 28) * (height // 28)
    return width % 28 != 0 or height % 28 != 0 or not 4 <= tokens <= 16384


DEEPSEEK_OCR_MODES = {"tiny": (512, 64), "small": (640, 100), "base": (1024, 256), "large": (1280, 400)}


def deepseek_ocr_cost(width: int, height: int) -> int:
    """DeepSeek-OCR native modes: the smallest mode whose side holds the image (padded up to it).

    A page sent at 640 px runs in Small mode (100 tokens), at 512 px in Tiny mode (64 tokens).
    """
    edge = max(width, height)
    for side, tokens in sorted(DEEPSEEK_OCR_MODES.values()):
        if edge <= side:
            return tokens
    return DEEPSEEK_OCR_MODES["large"][1]


def deepseek_mode_resizes(mode: str) -> Callable[[int, int], bool]:
    side, _ = DEEPSEEK_OCR_MODES[mode]

    def resizes(width: int, height: int) -> bool:
        return (width, height) != (side, side)

    return resizes


def deepseek_gundam_cost(width: int, height: int) -> int:
    """Gundam: n 640 px tiles at 100 tokens each plus a 1024 px global view (256)."""
    return 100 * math.ceil(width / 640) * math.ceil(height / 640) + 256


def deepseek_gundam_resizes(width: int, height: int) -> bool:
    return width % 640 != 0 or height % 640 != 0


def deepseek_ocr2_cost(width: int, height: int, tiles: int = 0) -> int:
    """DeepSeek-OCR-2 with crop_to_patches=False: 1024 px global view (256) + 144 per tile + separator."""
    return 256 + 144 * tiles + 1


def deepseek_ocr2_resizes(width: int, height: int) -> bool:
    return (width, height) != (1024, 1024)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("claude", "Anthropic Claude (28 px patches, <=1568 px, <=1568 tokens)",
               1092, 1092, claude_cost, claude_resizes, ((784, 784), (532, 532))),
        Target("claude-hires", "Anthropic Claude high-resolution tier (<=2576 px, <=4784 tokens)",
               1904, 1904, claude_cost, claude_hires_resizes, ((1092, 1092), (784, 784))),
        Target("gpt-4o", "OpenAI GPT-4o / GPT-4.1, detail high (85 + 170 per 512 px tile)",
               2048, 512, gpt4o_cost, gpt4o_resizes, ((1024, 256), (512, 128))),
        Target("gpt-4.1-mini", "OpenAI gpt-4.1-mini (32 px patches x 1.62, <=1536 patches)",
               1536, 1024, patch32_cost(1.62), patch32_resizes, ((1024, 683), (768, 512))),
        Target("gemini", "Google Gemini 2.x (258 tokens per 768 px tile)",
               768, 768, gemini_cost, gemini_resizes),  # 384 px costs 258 tokens too: nothing smaller
        Target("qwen2.5-vl", "Qwen2.5-VL (28 px per token, 4-16384 tokens)",
               1092, 1092, qwen_cost, qwen_resizes, ((784, 784), (532, 532))),
        Target("deepseek-ocr", "DeepSeek-OCR Base mode (1024 px = 256 tokens)",
               1024, 1024, deepseek_ocr_cost, deepseek_mode_resizes("base"), ((640, 640), (512, 512))),
        Target("deepseek-ocr-tiny", "DeepSeek-OCR Tiny mode (512 px = 64 tokens)",
               512, 512, deepseek_ocr_cost, deepseek_mode_resizes("tiny")),
        Target("deepseek-ocr-small", "DeepSeek-OCR Small mode (640 px = 100 tokens)",
               640, 640, deepseek_ocr_cost, deepseek_mode_resizes("small"), ((512, 512),)),
        Target("deepseek-ocr-large", "DeepSeek-OCR Large mode (1280 px = 400 tokens)",
               1280, 1280, deepseek_ocr_cost, deepseek_mode_resizes("large"), ((1024, 1024), (640, 640))),
        Target("deepseek-ocr-gundam", "DeepSeek-OCR Gundam (640 px tiles x 100 + 1024 global view 256)",
               1280, 1280, deepseek_gundam_cost, deepseek_gundam_resizes, ((640, 640),)),
        Target("deepseek-ocr2", "DeepSeek-OCR-2, crop_to_patches=False (1024 px = 256 + 1 separator)",
               1024, 1024, deepseek_ocr2_cost, deepseek_ocr2_resizes),
    )
}  # fmt: skip
DEFAULT_TARGET = "claude"


class UnknownTargetError(ValueError):
    pass


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        known = ", ".join(sorted(TARGETS))
        raise UnknownTargetError(f"unknown target {name!r}; choose one of: {known}") from None
