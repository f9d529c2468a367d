"""Clues: literal strings of which every match of a regular expression contains at least one.

Searching for a few literals runs at C speed, far faster than a pattern that starts with optional
parts or alternatives (the regex engine then tries it at every position). A text, or a line, that
holds none of a pattern's clues cannot match it, so the pattern need only run where a clue occurs.

The clues come from the pattern's own parse tree (the `re` module's parser): a run of elements with
finitely many, short possible matches (literals, small character classes, small alternations and
optional parts) yields the products of those matches; repetitions, classes and groups pass their
contents' clues on. Zero-width assertions only narrow where a pattern matches, so they count as
matching the empty string. A pattern with no usable clue gets None.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from importlib import import_module
from typing import Any

_parser: Any = import_module("re._parser")  # the parser re.compile uses; no public API exposes its tree
_op: Any = import_module("re._constants")

MAX_STRINGS = 64  # a larger set of literals is no cheaper to search than the pattern
MAX_CLASS_CHARS = 16
MAX_EXPANDED_REPEAT = 3
GOOD_LENGTH = 4  # a literal this long is rare enough in code

_Strings = frozenset[str]
_NOTHING_KNOWN: tuple[_Strings | None, _Strings | None] = (None, None)


def required_literals(pattern: re.Pattern[str], min_length: int = 2) -> tuple[str, ...] | None:
    """Literals, at least one of which occurs in every match of `pattern`; None when none can be told or
    one is shorter than `min_length` (too common to rule much out). Compare them under the pattern's own
    case flags: a literal of an IGNORECASE pattern matches in any case.
    """
    try:
        parsed = _parser.parse(pattern.pattern, pattern.flags)
    except re.error:
        return None
    literals = _best(_sequence(list(parsed)))
    if not literals or min(len(s) for s in literals) < min_length:
        return None
    # A literal that contains another is redundant: wherever it occurs, the shorter one does too.
    return tuple(sorted(s for s in literals if not any(t != s and t in s for t in literals)))


def _best(analysed: tuple[_Strings | None, _Strings | None]) -> _Strings | None:
    exact, needed = analysed
    return needed if needed else _useful(exact)


def _useful(strings: _Strings | None) -> _Strings | None:
    """A set can serve as clues only if it holds no empty string (which every text contains)."""
    return strings if strings and "" not in strings else None


def _score(strings: _Strings) -> tuple[int, int, int]:
    """Longer literals rule out more, up to a point; past it, fewer literals make a faster search."""
    shortest = min(len(s) for s in strings)
    return min(GOOD_LENGTH, shortest), -len(strings), shortest


def _product(left: _Strings, right: _Strings) -> _Strings | None:
    if len(left) * len(right) > MAX_STRINGS:
        return None
    return frozenset(a + b for a in left for b in right)


def _products(run: list[_Strings]) -> Iterator[_Strings]:
    """What each stretch of consecutive finite elements can match (while the combinations stay few)."""
    for first in range(len(run)):
        joined: _Strings | None = frozenset({""})
        for strings in run[first:]:
            joined = _product(joined, strings) if joined is not None else None
            if joined is None:
                break
            yield joined


def _sequence(items: Sequence[tuple[Any, Any]]) -> tuple[_Strings | None, _Strings | None]:
    """(every string the sequence can match, if few; literals every match contains, if any)."""
    candidates: list[_Strings] = []
    runs: list[list[_Strings]] = [[]]  # stretches of elements with finitely many matches
    for item in items:
        exact, needed = _element(item)
        if needed:
            candidates.append(needed)
        if exact is not None:
            runs[-1].append(exact)
        else:
            runs.append([])
    for run in runs:
        candidates += _products(run)
    whole: _Strings | None = frozenset({""})
    for strings in runs[0] if len(runs) == 1 else ():
        whole = _product(whole, strings) if whole is not None else None
    usable = [c for c in candidates if _useful(c)]
    return (whole if len(runs) == 1 else None), max(usable, key=_score) if usable else None


def _element(item: tuple[Any, Any]) -> tuple[_Strings | None, _Strings | None]:
    code, value = item
    if code is _op.LITERAL:
        return frozenset({chr(value)}), frozenset({chr(value)})
    if code is _op.IN:
        chars = _class_chars(value)
        return chars, chars
    if code in (_op.AT, _op.ASSERT, _op.ASSERT_NOT):
        return frozenset({""}), None  # zero width: narrows where the pattern matches, adds no text
    if code is _op.SUBPATTERN:
        _group, add_flags, del_flags, body = value
        return _sequence(list(body)) if not (add_flags or del_flags) else _NOTHING_KNOWN
    if code is getattr(_op, "ATOMIC_GROUP", None):
        return _sequence(list(value))
    if code is _op.BRANCH:
        return _branch([_sequence(list(alternative)) for alternative in value[1]])
    if code in (_op.MAX_REPEAT, _op.MIN_REPEAT, getattr(_op, "POSSESSIVE_REPEAT", None)):
        low, high, body = value
        return _repeat(low, high, _sequence(list(body)))
    return _NOTHING_KNOWN  # any character, a category, a back-reference, a conditional: no literal to tell


def _class_chars(items: Any) -> _Strings | None:
    chars: set[str] = set()
    for code, value in items:
        if code is _op.LITERAL:
            chars.add(chr(value))
        elif code is _op.RANGE and value[1] - value[0] < MAX_CLASS_CHARS:
            chars.update(chr(c) for c in range(value[0], value[1] + 1))
        else:  # a negation, a category such as \d, a wide range
            return None
        if len(chars) > MAX_CLASS_CHARS:
            return None
    return frozenset(chars)


def _branch(alternatives: list[tuple[_Strings | None, _Strings | None]]) -> tuple[_Strings | None, _Strings | None]:
    exacts = [exact for exact, _ in alternatives]
    exact: _Strings | None = None
    if all(e is not None for e in exacts):
        union = frozenset().union(*(e for e in exacts if e is not None))
        exact = union if len(union) <= MAX_STRINGS else None
    needs = [_best(alternative) for alternative in alternatives]
    needed = frozenset().union(*(n for n in needs if n)) if all(needs) else None
    return exact, needed


def _repeat(
    low: int, high: int, body: tuple[_Strings | None, _Strings | None]
) -> tuple[_Strings | None, _Strings | None]:
    body_exact, _ = body
    exact: _Strings | None = None
    if body_exact is not None and high <= MAX_EXPANDED_REPEAT:
        exact = frozenset({""}) if low == 0 else None
        power: _Strings | None = frozenset({""})
        for count in range(1, high + 1):
            power = _product(power, body_exact) if power is not None else None
            if power is None:
                exact = None
                break
            if count >= low:
                exact = power if exact is None else exact | power
        if exact is not None and len(exact) > MAX_STRINGS:
            exact = None
    needed = _best(body) if low >= 1 else None
    return exact, needed
