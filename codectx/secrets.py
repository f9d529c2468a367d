"""Secrets: find credentials in a file's text and mask them before anything renders, stores or serves it.

Four kinds of rule, none of which depends on the code around a value (an assignment, a keyword
argument, an environment lookup's default, a comment, a YAML or `.env` line all read alike):
- vendor formats (codectx.secret_rules): a key with its vendor's prefix is a secret wherever it stands;
- private-key blocks (PEM, OpenSSH, PGP), also written on one line with `\\n` escapes;
- credentials in URLs (`scheme://user:password@host`), database connection strings among them;
- a random-looking value given to a credential's name (`password`, `api_key`, `token`, ...) by any
  operator: `=`, `:`, `=>`, a keyword argument, the default of `getenv("NAME", "...")`, `|| "..."`.
A value that looks like a placeholder or like words (`changeme`, `keyboard cat`, `user_profile_v2`)
is not a secret; nor is a random string with no credential's name and no vendor format (a hash, a
test vector, an ETag), which is what keeps false alarms rare.

A masked secret keeps its vendor prefix (or its first characters) and its length class, e.g.
`AKIA************`; the line count never changes, so every line number stays exact. A repository can
unmask known false alarms in `.codectx-allowlist` (see Allowlist).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import ahocorasick

from codectx.secret_rules import (
    DATABASE_SCHEMES,
    NEAR_CHARS,
    PLACEHOLDER_WORDS,
    SECRET_NAME,
    SECRET_NAME_STARTS,
    VENDOR_RULES,
    VendorRule,
)

MASK_CHAR = "*"
# Detection results are cached under this key: new rules scan every file again.
RULES_VERSION = "secrets-2"
ALLOWLIST_NAME = ".codectx-allowlist"

PRIVATE_KEY = "Private Key"
NAMED_SECRET = "Secret Keyword"
URL_CREDENTIALS = "URL Credentials"
DATABASE_PASSWORD = "Database Password"
# Kinds that name how a value was found rather than what it is: a vendor's kind wins over them.
GENERIC_KINDS = frozenset({NAMED_SECRET, URL_CREDENTIALS, DATABASE_PASSWORD})

_KEY_BEGIN = re.compile(r"-----BEGIN[A-Z0-9 _-]*PRIVATE KEY(?: BLOCK)?-----")
_KEY_END = re.compile(r"-----END[A-Z0-9 _-]*PRIVATE KEY(?: BLOCK)?-----")
_KEY_HEADER_LINE = re.compile(r"^\W*(?:Proc-Type|DEK-Info|Comment|Version|Hash):", re.IGNORECASE)
# A line of key material as code writes it: base64 runs, perhaps commented, quoted, escaped, joined with `+`.
_KEY_MATERIAL_LINE = re.compile(r"""^[\s"'`,;+(\[#/*-]*(?:[A-Za-z0-9+/=]|\\n)+[\s"'`,;+)\]\\]*$""")
_KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/=\\]{2,}")
_URL_SCHEME = r"[A-Za-z][A-Za-z0-9+.:-]{1,30}"
_URL_AFTER_SCHEME = r"://(?P<user>[^\s:/?#@'\"`<>]{0,128}):(?P<secret>[^\s/?#@'\"`<>]{1,256})@(?=[A-Za-z0-9\[_-])"
_URL_CREDENTIALS = re.compile(f"(?P<scheme>{_URL_SCHEME}){_URL_AFTER_SCHEME}")
# The same matches, found from their "://" (a literal the regex engine can look for quickly) backwards:
# a pattern that starts with a character class tries every position of the text.
_URL_TAIL = re.compile(_URL_AFTER_SCHEME)
_SCHEME_BEFORE = re.compile(f"{_URL_SCHEME}\\Z")
SCHEME_MAX_CHARS = 31  # the longest scheme _URL_SCHEME takes: a letter and 30 more characters
_NAME_TAIL = re.compile(r"[\w.$-]*")
# Between a credential's name and its value, on its line: closing quotes or brackets, a call, an operator.
_SEPARATOR = re.compile(
    r"""["'`]?\]?\)?(?:\.\w+\([ \t]*)?[ \t]*(?P<op>:=|=>|={1,3}|:|,|\(|\|\||\?\?|\bor\b)?[ \t]*(?:\.\w+\([ \t]*)?"""
    r"""[rbuRBU]?(?P<quote>["'`]?)"""
)
# An unquoted value: the characters of keys and passwords, `=` only as base64 padding.
_BARE_VALUE = re.compile(r"[A-Za-z0-9+/_.~!@#$%^&*-]+={0,3}")
_SEPARATORS = re.compile(r"[_\-./:]+")
_WORD_PIECES = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_VERSION = re.compile(r"[vV]?\d{1,4}")
_VOWELS = frozenset("aeiouy")
_CONSONANT_RUN = re.compile(r"[^aeiouy]{5}")


@dataclass(frozen=True, slots=True)
class SecretSpan:
    """One detected run of characters. Offsets index the newline-normalised text before masking;
    a span never crosses a line end."""

    line: int  # 1-based
    start: int
    stop: int
    kind: str  # what was found, e.g. 'AWS Access Key'
    keep: int  # leading characters left visible
    fingerprint: str = ""  # of the whole line (see line_fingerprint): what an allowlist entry names
    digest: str = ""  # SHA-256 of the value, so that a search for it can say it is masked
    allowed: bool = False  # unmasked by the repository's allowlist


def mask_value(value: str, keep: int) -> str:
    """`value` as its first `keep` characters plus stars up to its length class (a power of two, 8 to 64)."""
    length_class = min(64, max(8, 1 << (max(len(value), 1).bit_length() - 1)))
    keep = min(keep, length_class - 4, len(value))
    return value[:keep] + MASK_CHAR * (length_class - keep)


def line_fingerprint(line: str) -> str:
    """What names a line in the allowlist: its text, without surrounding blanks, hashed."""
    return hashlib.sha256(line.strip().encode()).hexdigest()[:16]


def value_digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


# --- what a secret looks like --------------------------------------------------------------------


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(word in lowered for word in PLACEHOLDER_WORDS)


def is_wordy(value: str) -> bool:
    """Made of words (`Normalization`, `user_profile_v2`, `requests.auth.HTTPDigestAuth`): a name or a
    setting, not a generated key.

    Each part between separators must be a version number or camel-case words (two or more letters
    with a vowel, or a short acronym); a generated key almost always has a lone letter or a digit
    inside a part somewhere."""
    letters = [len(piece) for piece in _WORD_PIECES.findall(value) if piece.isalpha()]
    if letters and sum(letters) < 3 * len(letters):  # words average three letters or more; random runs do not
        return False
    return all(
        _VERSION.fullmatch(part)
        or (len(part) == 1 and part.isalpha())  # a module alias (`t.Callable`)
        or (
            "".join(pieces := _WORD_PIECES.findall(part)) == part
            and all(map(_is_word, pieces))
            and not pieces[0].isdigit()
        )
        for part in _SEPARATORS.split(value) if part
    )  # fmt: skip


def _is_word(piece: str) -> bool:
    """A pronounceable word, an acronym (`HTTP`) or a digit inside a name (`symbol2label`)."""
    if piece.isdigit():
        return len(piece) == 1
    if not piece.isalpha() or len(piece) < 2:
        return False
    if piece.isupper():
        return len(piece) <= 4
    vowels = sum(c in _VOWELS for c in piece.lower())
    return vowels >= 0.25 * len(piece) and not _CONSONANT_RUN.search(piece.lower())


def looks_random(value: str, min_length: int = 8) -> bool:
    """A value that reads as a generated credential: long enough, varied, and neither words nor a placeholder."""
    if not min_length <= len(value) <= 1024 or any(c.isspace() for c in value) or len(set(value)) < 6:
        return False
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value)))
    return classes >= 2 and entropy(value) >= 3.0 and not is_wordy(value) and not is_placeholder(value)


# --- the rules ---------------------------------------------------------------------------------

_Raw = tuple[int, int, str, int]  # start, stop, kind, keep


def _automaton(words: Iterable[str]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, word)
    automaton.make_automaton()
    return automaton


# One pass over a text finds every rule keyword in it (about 7x faster than a substring test per keyword).
_KEYWORDS = _automaton(keyword for rule in VENDOR_RULES for keyword in rule.keywords)
# A rule that starts with a literal this long is tried only where the literal stands (rule_matches).
MIN_LITERAL = 2
_NAME_STARTS = _automaton(SECRET_NAME_STARTS)


def secret_names(lowered: str) -> Iterator[re.Match[str]]:
    """The matches of SECRET_NAME.finditer(lowered), found by trying the pattern only where one of its
    starting literals stands (a pattern without a literal prefix tries every position)."""
    starts = sorted({end - len(word) + 1 for end, word in _NAME_STARTS.iter(lowered)})
    resume = 0
    for start in starts:
        if start < resume:
            continue
        match = SECRET_NAME.match(lowered, start)
        if match:
            yield match
            resume = match.end()


def _rules_to_run(lowered: str) -> list[VendorRule]:
    present = {keyword for _, keyword in _KEYWORDS.iter(lowered)}
    return [rule for rule in VENDOR_RULES if not present.isdisjoint(rule.keywords)]


def rule_matches(rule: VendorRule, text: str) -> Iterator[re.Match[str]]:
    """The matches of rule.pattern.finditer(text); a rule that starts with a literal is tried only where
    that literal stands (its pattern opens with a look-behind, which makes the engine try every position)."""
    if len(rule.literal) < MIN_LITERAL:
        yield from rule.pattern.finditer(text)
        return
    start = text.find(rule.literal)
    while start != -1:
        match = rule.pattern.match(text, start)
        if match:
            yield match
        start = text.find(rule.literal, match.end() if match else start + 1)


def _vendor_spans(text: str, lowered: str) -> Iterator[_Raw]:
    for rule in _rules_to_run(lowered):
        for match in rule_matches(rule, text):
            value = match.group("secret")
            if rule.min_entropy and entropy(value) < rule.min_entropy:
                continue
            if rule.near is not None:
                line_start = text.rfind("\n", 0, match.start()) + 1
                if not rule.near.search(text, max(line_start, match.start() - NEAR_CHARS), match.start()):
                    continue
            if "example" in value.lower():  # documentation's sample keys (AKIAIOSFODNN7EXAMPLE)
                continue
            mark = rule.prefix.match(value) if rule.prefix else None
            yield match.start("secret"), match.end("secret"), rule.kind, mark.end() if mark else 0


def _line_end(text: str, position: int) -> int:
    end = text.find("\n", position)
    return len(text) if end == -1 else end


def _private_key_spans(text: str) -> Iterator[_Raw]:
    """The key material after each BEGIN ... PRIVATE KEY header: on its own line, on the following
    lines up to the END line, or up to the first line that is not key material when END is missing."""
    for begin in _KEY_BEGIN.finditer(text):
        position = begin.end()
        while position <= len(text):
            stop = _line_end(text, position)
            line = text[position:stop]
            end = _KEY_END.search(line)
            material = line[: end.start()] if end else line
            is_first = position == begin.end()
            if not (end or is_first or _KEY_MATERIAL_LINE.match(material) or _KEY_HEADER_LINE.match(material)):
                break
            if not _KEY_HEADER_LINE.match(material):
                for run in _KEY_MATERIAL.finditer(material):
                    yield position + run.start(), position + run.end(), PRIVATE_KEY, 0
            if end:
                break
            position = stop + 1


def url_credentials(text: str) -> Iterator[re.Match[str]]:
    """The matches of _URL_CREDENTIALS.finditer(text), found from each "://" backwards."""
    resume = 0
    for tail in _URL_TAIL.finditer(text):
        scheme = _SCHEME_BEFORE.search(text, max(resume, tail.start() - SCHEME_MAX_CHARS), tail.start())
        match = _URL_CREDENTIALS.match(text, scheme.start()) if scheme else None
        if match:
            yield match
            resume = match.end()


def _url_credential_spans(text: str) -> Iterator[_Raw]:
    for match in url_credentials(text):
        password = match.group("secret")
        # Its place makes it a password: only placeholders and words (`user:pass@`) are let through.
        if len(password) < 6 or is_placeholder(password) or entropy(password) < 2.5 or is_wordy(password):
            continue
        kind = DATABASE_PASSWORD if match.group("scheme").lower() in DATABASE_SCHEMES else URL_CREDENTIALS
        yield match.start("secret"), match.end("secret"), kind, min(4, len(password) // 8)


def _is_reference(text: str, op: str, stop: int) -> bool:
    """Whether an unquoted value is code naming something (`f(token)`, `auth = make_auth()`), not a literal."""
    return op in ("(", ",") or text[stop : stop + 1] in ("(", "[")


def _named_value_spans(text: str, lowered: str) -> Iterator[_Raw]:
    """Random-looking values given to a credential's name, whatever the operator or quoting."""
    for name in secret_names(lowered):
        tail = _NAME_TAIL.match(text, name.end())
        separator = _SEPARATOR.match(text, tail.end() if tail else name.end())
        if separator is None or separator.end() == separator.start():
            continue  # the name runs straight into what follows: `secretary`, `tokens`
        op, quote, start = separator.group("op") or "", separator.group("quote"), separator.end()
        if quote:
            stop = text.find(quote, start, _line_end(text, start))
            if stop == -1:
                continue
        else:
            bare = _BARE_VALUE.match(text, start)
            if bare is None or _is_reference(text, op, bare.end()):
                continue
            stop = bare.end()
        value = text[start:stop]
        if looks_random(value) and not SECRET_NAME.search(value.lower()):  # `HTTPPasswordMgr` names one
            yield start, stop, NAMED_SECRET, min(4, len(value) // 8)


def _repeats(text: str, spans: list[_Raw]) -> Iterator[_Raw]:
    """Every other occurrence of a detected value (8+ characters) in the same file, with its kind."""
    seen: dict[str, _Raw] = {}
    for span in spans:
        value = text[span[0] : span[1]]
        if len(value) >= 8 and span[2] != PRIVATE_KEY:
            seen.setdefault(value, span)
    for value, (_, _, kind, keep) in seen.items():
        start = text.find(value)
        while start != -1:
            yield start, start + len(value), kind, keep
            start = text.find(value, start + len(value))


def merge_spans(spans: Iterable[SecretSpan]) -> tuple[SecretSpan, ...]:
    """Sorted, with overlapping spans joined; the earliest, then longest, then most specific span names
    the kind. A joined span is allowed only when every part of it was."""
    merged: list[SecretSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.stop, s.kind in GENERIC_KINDS)):
        if merged and span.start < merged[-1].stop:
            last = merged[-1]
            merged[-1] = replace(last, stop=max(last.stop, span.stop), allowed=last.allowed and span.allowed)
        else:
            merged.append(span)
    return tuple(merged)


def find_secrets(path: str, text: str) -> tuple[SecretSpan, ...]:
    """Every secret in `text` (newline-normalised) as spans to mask, none of them allowed yet.

    No rule depends on the file type today: `path` names the file for rules that will."""
    del path
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two; offsets must stay aligned
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    found = [
        *_private_key_spans(text), *_vendor_spans(text, lowered), *_url_credential_spans(text),
        *_named_value_spans(text, lowered),
    ]  # fmt: skip
    if not found:
        return ()
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    merged = merge_spans(
        SecretSpan(bisect_right(starts, start), start, stop, kind, keep)
        for start, stop, kind, keep in [*found, *_repeats(text, found)]
    )
    lines = text.split("\n")
    return tuple(
        replace(s, fingerprint=line_fingerprint(lines[s.line - 1]), digest=value_digest(text[s.start : s.stop]))
        for s in merged
    )


def apply_masks(text: str, spans: Sequence[SecretSpan]) -> str:
    """`text` with each span that is not allowed (from find_secrets or merge_spans on this text) masked."""
    pieces: list[str] = []
    cursor = 0
    for span in spans:
        if span.allowed:
            continue
        pieces += [text[cursor : span.start], mask_value(text[span.start : span.stop], span.keep)]
        cursor = span.stop
    pieces.append(text[cursor:])
    return "".join(pieces)


# --- the allowlist ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Allowlist:
    """Known false alarms, from `.codectx-allowlist` at the repository root: one `PATH FINGERPRINT`
    per line (`#` starts a comment), as `codectx secrets` prints them. A line of that file whose text
    changes no longer matches its entry and is masked again."""

    entries: frozenset[tuple[str, str]] = frozenset()

    def apply(self, path: str, spans: Sequence[SecretSpan]) -> tuple[SecretSpan, ...]:
        """`spans` with `allowed` set exactly where an entry names their path and line."""
        return tuple(replace(span, allowed=(path, span.fingerprint) in self.entries) for span in spans)

    @classmethod
    def parse(cls, text: str) -> Allowlist:
        entries = set()
        for line in text.splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) == 2:
                entries.add((words[0], words[1].lower()))
        return cls(frozenset(entries))


_allowlists: dict[Path, tuple[tuple[int, int, int], Allowlist]] = {}


def read_allowlist(root: Path) -> Allowlist:
    """The allowlist at `root`, re-read only when the file changes; a symlinked one is not followed."""
    path = root / ALLOWLIST_NAME
    try:
        stat = os.lstat(path)
    except OSError:
        return Allowlist()
    if not os.path.isfile(path) or os.path.islink(path):
        return Allowlist()
    signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _allowlists.get(path)
    if cached is None or cached[0] != signature:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
                cached = (signature, Allowlist.parse(handle.read(1 << 20)))
        except OSError:
            return Allowlist()
        _allowlists[path] = cached
    return cached[1]
