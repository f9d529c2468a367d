"""Checks a fixture file's outline against its expected definitions and imports; shared by the outline tests."""

from __future__ import annotations

from pathlib import Path

from codectx.languages import detect_language
from codectx.structure import Outline, outline

Definition = tuple[str, str, int, int, str | None]  # kind, name, first line, last line, enclosing name


def check_outline(path: Path, grammar: str, definitions: list[Definition], imports: list[str]) -> Outline:
    text = path.read_text()
    shape = outline(path.name, detect_language(path.name, text) or "text", text)
    assert shape is not None, f"{path.name} has no outline"
    assert shape.grammar == grammar
    found = [
        (s.kind, s.name, s.start_line, s.end_line, shape.symbols[s.parent].name if s.parent >= 0 else None)
        for s in shape.symbols
    ]
    assert found == definitions
    assert [i.target for i in shape.imports] == imports
    return shape
