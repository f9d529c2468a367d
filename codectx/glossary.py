"""Glossary: rare exact strings that page images do not carry reliably.

Dense renders make readers confabulate long hex strings, UUIDs, long numbers and rare long
identifiers. Candidates are found per file at index time; a pack lists, for each module it sends as
pages, the candidates that are rare in the whole repository, as exact text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MIN_HEX = 12
MIN_DIGITS = 8
MIN_IDENTIFIER = 24
RARE_AT_MOST = 2  # occurrences (lines) in the whole repository

_CANDIDATE = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"  # UUID
    r"|\b0[xX][0-9a-fA-F_]{8,}\b"  # hex literal
    rf"|\b[0-9a-fA-F]{{{MIN_HEX},}}\b"  # bare hex: digests, keys
    rf"|\b\d(?:_?\d){{{MIN_DIGITS - 1},}}(?:\.\d+)?\b|\b\d+\.\d{{6,}}\b"  # long numbers
    rf"|\b[A-Za-z_][A-Za-z0-9_]{{{MIN_IDENTIFIER - 1},}}\b"  # long identifiers
)
_HAS_DIGIT = re.compile(r"\d")


def _keep(match: str) -> bool:
    if _is_bare_hex(match):  # digits only (a long number) or a digest-like hex string with digits in it
        return bool(_HAS_DIGIT.search(match))
    return True


def _is_bare_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def exact_candidates(text: str) -> list[tuple[int, str]]:
    """(line, string) for every candidate in the text, distinct per line."""
    found: list[tuple[int, str]] = []
    line, position = 1, 0
    for match in _CANDIDATE.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        string = match.group()
        if _keep(string) and (line, string) not in found[-8:]:
            found.append((line, string))
    return found


def glossary_text(module: str, entries: Iterable[tuple[str, int, str]]) -> str:
    """The exact-text item for one module: one `path:line  string` per entry."""
    lines = [f"Exact strings in {module} (the pages may misread them):"]
    lines += [f"{path}:{line}  {string}" for path, line, string in entries]
    return "\n".join(lines) + "\n"
