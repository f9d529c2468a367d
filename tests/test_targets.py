from __future__ import annotations

import pytest

from codectx.model.targets import (
    TARGETS,
    claude_cost,
    claude_legacy_cost,
    deepseek_gundam_cost,
    deepseek_ocr2_cost,
    gemini_cost,
    get_target,
    gpt4o_cost,
    gpt4o_resizes,
    patch32_cost,
    qwen_cost,
)
from codectx.profiles import get_profile


def test_documented_examples():
    assert gpt4o_cost(1024, 1024) == 765  # OpenAI's worked example
    assert gpt4o_cost(2048, 4096) == 1105  # scaled to 1024x2048, then 768x1536: 6 tiles
    assert claude_cost(1000, 1000) == 1296  # 36 x 36 patches of 28 px
    assert claude_legacy_cost(1000, 1000) == 1334
    assert gemini_cost(384, 384) == 258 and gemini_cost(1024, 1024) == 258 * 4
    assert qwen_cost(1092, 1092) == 39 * 39 and qwen_cost(10, 10) == 4
    assert patch32_cost(1.62)(1024, 1024) == 1659
    assert deepseek_gundam_cost(1280, 1280) == 4 * 100 + 256
    assert deepseek_ocr2_cost(1024, 1024) == 257
    assert deepseek_ocr2_cost(1024, 1024, tiles=4) == 833


def test_gpt4o_resize_detection():
    assert gpt4o_resizes(1024, 1024)
    assert not gpt4o_resizes(768, 2048)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_profile_page_is_native(name):
    profile = get_profile(name)
    target = profile.target
    assert not target.resizes(profile.layout.page_width, profile.layout.page_height)
    assert profile.page_tokens == target.page_cost() > 0


def test_unknown_target_message():
    with pytest.raises(ValueError, match="choose one of"):
        get_target("gpt-9")
