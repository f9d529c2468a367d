"""Secrets: find credentials in a file's text and mask them before anything renders, stores or serves it.

Detection is detect-secrets' own plugins and filters, run in-process line by line, plus a few precise
rules for what they miss (private-key bodies, unquoted .env assignments, newer GitHub, GitLab and
Slack token formats). A masked secret keeps its first characters and its length class, e.g.
`AKIA************`; the line count never changes, so every line number stays exact.

Running ~25 plugins on every line is slow, so a cheap gate picks the candidate lines first: each
plugin's own patterns (or, for entropy plugins, the shortest quoted string that can pass their
limit) are searched over the text, and each plugin analyses only the lines its own patterns touch.
A pattern with required literals (codectx.clues) is searched only on the lines holding one of them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib.metadata import version
from typing import TYPE_CHECKING

from codectx.clues import required_literals

if TYPE_CHECKING:  # detect-secrets (and the HTTP client it pulls in) loads when the first text is scanned
    from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector

# Public IP addresses are not credentials; masking them would only hurt legibility.
EXCLUDED_PLUGINS = frozenset({"IPPublicDetector"})
MASK_CHAR = "*"
# Detection results are cached under this key: a new detector version or rule set scans every file again.
RULES_VERSION = f"secrets-1/detect-secrets-{version('detect-secrets')}"

PRIVATE_KEY = "Private Key"
# Non-secret vendor prefixes that a masked value keeps, so a reader still sees what kind of key it was.
_VENDOR_PREFIX = re.compile(
    r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|gl[a-z]{1,6}-|GR1348941|xox[a-z]-|xoxe\.|xapp-"
    r"|eyJ|sk_live_|rk_live_|sk-|npm_|pypi-)"
)
_PEM_BLOCK = re.compile(  # an unterminated block is masked to the end of the file
    r"-----BEGIN[A-Z0-9 _-]*PRIVATE KEY(?: BLOCK)?-----(?P<body>.*?)"
    r"(?:-----END[A-Z0-9 _-]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_KEY_MATERIAL = re.compile(r"\S{8,}")
_DOTENV_NAME = re.compile(r"(?:^|/)(?:\.env(?:\.[\w.-]+)?|[\w.-]+\.env)$")
_DOTENV_ASSIGNMENT = re.compile(
    r"^\s*(?:export\s+)?[\w.-]*(?:pass(?:word|wd)?|pwd|secret|token|api_?key|private_?key|access_?key|credentials?)"
    r"[\w.-]*\s*=\s*(?P<q>['\"]?)(?P<secret>[^\s'\"$#{][^\s'\"]*)(?P=q)\s*(?:#.*)?$",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]


# Formats detect-secrets does not know (it matches classic GitHub/GitLab/Slack tokens only), and whole
# JSON Web Tokens (its pattern stops before the signature).
_OWN_RULES = (  # each starts with a literal, which keeps the search fast
    _Rule("JSON Web Token", re.compile(r"(?P<secret>eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*)")),
    _Rule("GitHub Token", re.compile(r"(?P<secret>github_pat_[A-Za-z0-9_]{22,255})")),
    _Rule("GitLab Token", re.compile(r"(?P<secret>gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas|ffct|cit|rtr)-"
                                     r"[A-Za-z0-9_\-]{20,}(?:\.[A-Za-z0-9_\-]+)*)")),
    _Rule("Slack Token", re.compile(r"(?P<secret>x(?:app-\d-|oxe(?:\.xox[a-z])?-\d-)[A-Za-z0-9-]{10,})")),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SecretSpan:
    """One masked run of characters. Offsets index the newline-normalised text before masking;
    a span never crosses a line end."""

    line: int  # 1-based
    start: int
    stop: int
    kind: str  # the detector's name for it, e.g. 'AWS Access Key'
    keep: int  # leading characters left visible


def default_keep(value: str) -> int:
    """How many leading characters stay visible: a vendor prefix, else at most 4 (fewer for short values)."""
    prefix = _VENDOR_PREFIX.match(value)
    return len(prefix.group()) if prefix else min(4, len(value) // 8)


def mask_value(value: str, keep: int) -> str:
    """`value` as its first `keep` characters plus stars up to its length class (a power of two, 8 to 64)."""
    length_class = min(64, max(8, 1 << (max(len(value), 1).bit_length() - 1)))
    keep = min(keep, length_class - 4, len(value))
    return value[:keep] + MASK_CHAR * (length_class - keep)


@cache
def _plugins() -> tuple[BasePlugin, ...]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    classes: list[type[BasePlugin]] = sorted(get_mapping_from_secret_type_to_class().values(), key=lambda c: c.__name__)
    return tuple(cls() for cls in classes if cls.__name__ not in EXCLUDED_PLUGINS)


@dataclass(frozen=True, slots=True)
class _Gate:
    plugin: int  # the index in _plugins() of the plugin whose candidate lines it finds
    pattern: re.Pattern[str]
    lowered: bool  # searched case-sensitively in the lower-cased text: many times faster than IGNORECASE
    # Literals every match contains (codectx.clues); () when none can be told.
    clues: tuple[str, ...] = ()
    clues_lowered: bool = False  # the clues are lower case, looked for in the lower-cased text


# What RegexBasedDetector.build_assignment_regex puts first: a zero-width test, then two optional groups.
_ASSIGNMENT_LEAD = r"""(?:(?<=\W)|(?<=^))(?:\[|)(?:"|\'|)"""
_CHARACTER_ESCAPES = re.compile(r"\\[xuUN0-7]")
_UPPER_RANGE = re.compile(r"(?<!\\)A-Z")  # under IGNORECASE, the range A-Z is the range a-z
# Besides str.lower(), Python's IGNORECASE also equates these with ASCII letters.
_CASE_EXTRAS = str.maketrans({"\u017f": "s", "\u0131": "i"})


def _gate(plugin: int, pattern: re.Pattern[str]) -> _Gate:
    """A pattern matching wherever `pattern` matches, cheaper to search where that can be shown.

    An IGNORECASE pattern with no upper-case letter (once A-Z ranges read a-z, and with no character
    escape that could hide a letter) matches the lower-cased text case-sensitively exactly where it
    matches the text. Dropping a
    leading zero-width or optional part only widens what matches; it then leaves a literal first,
    which the case-sensitive engine skips to quickly (with IGNORECASE it only slows the search).
    """
    flags = pattern.flags | re.MULTILINE  # ^ and $ stay per line
    source = _UPPER_RANGE.sub("a-z", pattern.pattern) if flags & re.IGNORECASE else pattern.pattern
    plain = re.sub(r"\\.", "", source)
    if flags & re.IGNORECASE and not re.search("[A-Z]", plain) and not _CHARACTER_ESCAPES.search(source):
        return _clued(_Gate(plugin, re.compile(source.removeprefix(_ASSIGNMENT_LEAD), flags & ~re.IGNORECASE), True))
    return _clued(_Gate(plugin, re.compile(pattern.pattern, flags), False))


def _clued(gate: _Gate) -> _Gate:
    clues = required_literals(gate.pattern) or ()
    if gate.pattern.flags & re.IGNORECASE:
        # An ASCII literal matches, ignoring case, where the lower-cased text holds it in lower case.
        if not all(c.isascii() for c in clues):
            return gate
        return replace(gate, clues=tuple(sorted({c.lower() for c in clues})), clues_lowered=True)
    return replace(gate, clues=clues, clues_lowered=gate.lowered)


@cache
def _gates() -> tuple[_Gate, ...]:
    """Patterns whose matches cover every line a plugin could flag."""
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
    from detect_secrets.plugins.keyword import DENYLIST as KEYWORD_DENYLIST
    from detect_secrets.plugins.keyword import KeywordDetector

    gates: list[_Gate] = []
    for index, plugin in enumerate(_plugins()):
        if isinstance(plugin, RegexBasedDetector):
            gates += [_gate(index, p) for p in plugin.denylist]
        elif isinstance(plugin, HighEntropyStringsPlugin):
            # Shannon entropy of n characters is at most log2(n): shorter strings cannot pass the limit.
            shortest = int(2**plugin.entropy_limit) + 1
            gates.append(_Gate(index, re.compile(rf"(['\"])[{re.escape(plugin.charset)}]{{{shortest},}}\1"), False))
        elif isinstance(plugin, KeywordDetector):
            gates.append(_clued(_Gate(index, re.compile("|".join(KEYWORD_DENYLIST)), True)))  # lower-case keywords
        else:
            gates.append(_Gate(index, re.compile(r"^", re.MULTILINE), False))  # unknown: every line is a candidate
    return tuple(gates)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    position = text.find("\n")
    while position != -1:
        starts.append(position + 1)
        position = text.find("\n", position + 1)
    return starts


def _lines_touched(matches: Iterable[tuple[int, int]], starts: list[int]) -> set[int]:
    """0-based indexes of the lines (start, stop) ranges touch (a range spanning lines touches all of them)."""
    touched: set[int] = set()
    for start, stop in matches:
        first = bisect_right(starts, start) - 1
        last = bisect_right(starts, max(start, stop - 1)) - 1
        touched.update(range(first, last + 1))
    return touched


def _occurrences(literal: str, text: str) -> Iterator[tuple[int, int]]:
    position = text.find(literal)
    while position != -1:
        yield position, position + len(literal)
        position = text.find(literal, position + 1)


def _gate_lines(gate: _Gate, text: str, lowered: str, starts: list[int], clue_lines: dict[str, set[int]]) -> set[int]:
    """The lines where the gate matches (searching `lowered`, the lower-cased text, for a lowered gate).

    A gate with clues runs only on the lines that hold one, each line searched alone (without its
    trailing white space, as detect-secrets sees it): str.find looks for literals at C speed, far
    faster than a pattern that starts with optional parts. `clue_lines` keeps the lines of each clue
    (a lower-case one prefixed with "\0") for the other gates.
    """
    haystack = lowered if gate.lowered else text
    clued: set[int] = set()
    for clue in gate.clues:
        key = f"\0{clue}" if gate.clues_lowered else clue
        if key not in clue_lines:
            clue_lines[key] = _lines_touched(_occurrences(clue, lowered if gate.clues_lowered else text), starts)
        clued |= clue_lines[key]
    if not gate.clues or len(clued) > len(starts) // 2:  # then one search of the whole text costs less
        return _lines_touched((m.span() for m in gate.pattern.finditer(haystack)), starts)
    found: set[int] = set()
    for index in clued:
        start = starts[index]
        stop = starts[index + 1] - 1 if index + 1 < len(starts) else len(text)
        if gate.pattern.search(haystack, start, start + len(text[start:stop].rstrip())):
            found.add(index)
    return found


def _candidate_lines(text: str, starts: list[int]) -> dict[int, set[int]]:
    """0-based line index -> the indexes of the plugins whose gates match that line."""
    lowered = text.lower()
    if "\u017f" in lowered or "\u0131" in lowered:
        lowered = lowered.translate(_CASE_EXTRAS)
    gates: Iterable[_Gate] = _gates()
    if len(lowered) != len(text):  # a few characters lower-case to two; then search the text itself
        lowered = text
        gates = [
            _Gate(g.plugin, re.compile(g.pattern.pattern, g.pattern.flags | (re.IGNORECASE if g.lowered else 0)), False)
            if g.clues_lowered or g.lowered
            else g
            for g in gates
        ]
    candidates: dict[int, set[int]] = {}
    clue_lines: dict[str, set[int]] = {}
    for gate in gates:
        for index in _gate_lines(gate, text, lowered, starts, clue_lines):
            candidates.setdefault(index, set()).add(gate.plugin)
    return candidates


def _regex_spans(plugin: RegexBasedDetector, value: str, line: str) -> Iterator[tuple[int, int]]:
    """Where a regex plugin's `value` sits in `line`: its group when that is the secret, else the whole match.

    detect-secrets reports a pattern's groups when it has any, so a GitHub token comes back as 'ghp'.
    """
    for regex in plugin.denylist:
        for match in regex.finditer(line):
            if match.group() == value:
                yield match.span()
            for index, group in enumerate(match.groups(), start=1):
                if group == value:
                    yield match.span(index) if len(value) >= 8 else match.span()


def _value_spans(value: str, text: str) -> Iterator[tuple[int, int]]:
    start = text.find(value)
    while value and start != -1:
        yield start, start + len(value)
        start = text.find(value, start + len(value))


_Raw = tuple[int, int, str, int]  # start, stop, kind, keep


def _detect_secrets_spans(path: str, text: str, starts: list[int]) -> Iterator[_Raw]:
    """detect-secrets' per-line scan (plugins, then its line, secret and context filters) on the candidate lines."""
    from detect_secrets.core.scan import _is_filtered_out, _scan_line  # the per-line steps of its scan
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.util.code_snippet import get_code_snippet

    candidates = _candidate_lines(text, starts)
    if not candidates:
        return
    lines = text.split("\n")
    for index in sorted(candidates):
        number = index + 1
        line = lines[index].rstrip()
        context = get_code_snippet(lines=lines, line_number=number)
        if _is_filtered_out(required_filter_parameters=["line"], filename=path, line=line, context=context):
            continue
        for plugin in (p for i, p in enumerate(_plugins()) if i in candidates[index]):
            for secret in _scan_line(plugin=plugin, filename=path, line=line, line_number=number, context=context):
                value = str(secret.secret_value or "")
                if not value or plugin.secret_type == PRIVATE_KEY:
                    continue  # a key's header is reported; its body is masked by the PEM rule
                if _is_filtered_out(
                    required_filter_parameters=["context"], filename=path, secret=value, plugin=plugin, line=line,
                    context=context,
                ):  # fmt: skip
                    continue
                spans = list(_regex_spans(plugin, value, line)) if isinstance(plugin, RegexBasedDetector) else []
                for start, stop in spans or _value_spans(value, line):
                    whole = line[start:stop]
                    yield starts[index] + start, starts[index] + stop, plugin.secret_type, default_keep(whole)


def _own_spans(path: str, text: str) -> Iterator[_Raw]:
    for block in _PEM_BLOCK.finditer(text):
        offset = block.start("body")
        for material in _KEY_MATERIAL.finditer(block.group("body")):
            yield offset + material.start(), offset + material.end(), PRIVATE_KEY, 0
    for rule in _OWN_RULES:
        for match in rule.pattern.finditer(text):
            yield match.start("secret"), match.end("secret"), rule.kind, default_keep(match.group("secret"))
    if _DOTENV_NAME.search(path):
        for match in _DOTENV_ASSIGNMENT.finditer(text):
            yield match.start("secret"), match.end("secret"), "Secret Keyword", default_keep(match.group("secret"))


def _repeats(text: str, spans: list[_Raw]) -> Iterator[_Raw]:
    """Every other occurrence of a detected value (8+ characters) in the same file, with its kind."""
    seen: dict[str, _Raw] = {}
    for span in spans:
        value = text[span[0] : span[1]]
        if len(value) >= 8 and span[2] != PRIVATE_KEY:
            seen.setdefault(value, span)
    for value, (_, _, kind, keep) in seen.items():
        for start, stop in _value_spans(value, text):
            yield start, stop, kind, keep


@cache
def _generic_kinds() -> frozenset[str]:
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin

    return frozenset(str(p.secret_type) for p in _plugins() if isinstance(p, HighEntropyStringsPlugin))


def merge_spans(spans: Iterable[SecretSpan]) -> tuple[SecretSpan, ...]:
    """Sorted, with overlapping spans joined; the earliest, then longest, then most specific span names the kind."""
    generic = _generic_kinds()
    merged: list[SecretSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.stop, s.kind in generic)):
        if merged and span.start < merged[-1].stop:
            merged[-1] = replace(merged[-1], stop=max(merged[-1].stop, span.stop))
        else:
            merged.append(span)
    return tuple(merged)


def find_secrets(path: str, text: str) -> tuple[SecretSpan, ...]:
    """Every secret in `text` (newline-normalised) as spans to mask; `path` selects file-type rules."""
    starts = _line_starts(text)
    found = [*_own_spans(path, text), *_detect_secrets_spans(path, text, starts)]
    if not found:
        return ()
    return merge_spans(
        SecretSpan(bisect_right(starts, start), start, stop, kind, keep)
        for start, stop, kind, keep in [*found, *_repeats(text, found)]
    )


def apply_masks(text: str, spans: Sequence[SecretSpan]) -> str:
    """`text` with each span (from find_secrets or merge_spans on this text) replaced by its mask."""
    pieces: list[str] = []
    cursor = 0
    for span in spans:
        pieces += [text[cursor : span.start], mask_value(text[span.start : span.stop], span.keep)]
        cursor = span.stop
    pieces.append(text[cursor:])
    return "".join(pieces)
