"""Glossary: exact strings that page images do not carry reliably.

A real reader (a hosted multimodal assistant) reads ordinary code on dense pages almost perfectly
but swaps and drops characters of random strings: hex, base64, digests, UUIDs, long numbers and
random-looking literals (docs/READERS.md). Candidates are found per file at index time; a pack lists,
for each module it sends as pages, every such value with its `path:line` as exact text, and the long
identifiers that are rare in the whole repository.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from functools import lru_cache

from codectx.secrets import looks_random

MIN_HEX = 8
MIN_DIGITS = 5
MIN_IDENTIFIER = 24
MIN_LITERAL = 8
RARE_AT_MOST = 2  # occurrences (lines) in the whole repository, for long identifiers

_CANDIDATE = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"  # UUID
    r"|\b0[xX][0-9a-fA-F_]{4,}\b"  # hex literal
    rf"|\b[0-9a-fA-F]{{{MIN_HEX},}}\b"  # bare hex: digests, keys
    rf"|\b\d(?:_?\d){{{MIN_DIGITS - 1},}}(?:\.\d+)?\b|\b\d+\.\d{{6,}}\b"  # long numbers
    rf"|\b[A-Za-z_][A-Za-z0-9_]{{{MIN_IDENTIFIER - 1},}}\b"  # long identifiers
)
# The inside of a quoted literal without blanks: base64, tokens, random-looking strings.
_LITERAL = re.compile(rf"""(["'`])([A-Za-z0-9+/=_.~:@!$%^&*-]{{{MIN_LITERAL},256}})\1""")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PEM_EDGE = re.compile(r"-----(?:BEGIN|END) [A-Z0-9 ]+-----")
_HAS_DIGIT = re.compile(r"\d")


def _keep(match: str) -> bool:
    if _is_bare_hex(match):  # digits only (a long number) or a digest-like hex string with digits in it
        return bool(_HAS_DIGIT.search(match)) and (match.isdigit() or not match.isalpha())
    return True


def _is_bare_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


# Kept: a server asks again for each generation's strings, nearly all of them the last generation's.
@lru_cache(maxsize=1 << 16)
def is_identifier(text: str) -> bool:
    """A long name rather than a value: listed only where rare (a value is listed wherever it stands)."""
    return bool(_IDENTIFIER.fullmatch(text)) and not _HAS_DIGIT.search(text[:1]) and not looks_random(text)


def exact_candidates(text: str) -> list[tuple[int, str]]:
    """(line, string) for every candidate in the text, distinct per line, in reading order; never the
    body of a PEM block (a certificate's or key's base64 is material, not a value anyone asks for).

    Each pattern runs once over the whole text (no candidate spans a line end)."""
    blocked = _pem_lines(text) if "-----BEGIN" in text else frozenset()
    by_line: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for number, match in _numbered(text, _CANDIDATE.finditer(text)):
        if number not in blocked and _keep(match.group()):
            by_line[number].append((match.start(), match.group()))
    for number, match in _numbered(text, _LITERAL.finditer(text)):
        literal = match.group(2)
        if number in blocked or not looks_random(literal):
            continue
        if not any(literal in string for _, string in by_line.get(number, ())):
            by_line[number].append((match.start(2), literal))
    found: list[tuple[int, str]] = []
    for number in sorted(by_line):
        seen: set[str] = set()
        for _, string in sorted(by_line[number]):
            if string not in seen:
                seen.add(string)
                found.append((number, string))
    return found


def _numbered(text: str, matches: Iterable[re.Match[str]]) -> Iterator[tuple[int, re.Match[str]]]:
    """Each match (in text order) with its 1-based line: newlines counted from one match to the next
    (listing every line's start cost more than the patterns themselves)."""
    line, position = 1, 0
    for match in matches:
        line += text.count("\n", position, match.start())
        position = match.start()
        yield line, match


def _pem_lines(text: str) -> frozenset[int]:
    """1-based numbers of the lines of PEM blocks, their BEGIN and END lines included."""
    blocked: set[int] = set()
    in_block = False
    for number, line in enumerate(text.split("\n"), start=1):
        edge = _PEM_EDGE.search(line)
        if edge or in_block:
            blocked.add(number)
        if edge:
            in_block = "-----BEGIN" in line and "-----END" not in line
    return frozenset(blocked)


def glossary_text(module: str, entries: Iterable[tuple[str, int, str]]) -> str:
    """The exact-text item for one module: each file's path once, then one `line  string` per entry
    (a path repeated on every line would cost more tokens than the strings themselves)."""
    lines = [f"Exact strings in {module} (the pages may misread them), as line number and string per file:"]
    current = None
    for path, line, string in entries:
        if path != current:
            lines.append(f"{path}:")
            current = path
        lines.append(f"{line}  {string}")
    return "\n".join(lines) + "\n"
