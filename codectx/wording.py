"""Counted nouns for messages: '1 file', '2 files', '1,234 lines'."""

from __future__ import annotations

IRREGULAR = {"directory": "directories", "entry": "entries", "this": "these", "was": "were"}


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`count` and `noun`, the noun in its plural form unless the count is exactly 1 (thousands separated)."""
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {many or IRREGULAR.get(noun) or noun + 's'}"
