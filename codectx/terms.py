"""Terms: the words that code and questions are matched on.

Identifiers are split at underscores and case changes ("HTTPRedirectHandler" -> http, redirect,
handler) so that a question's plain words meet the code's compound names.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CASE_CHANGE = re.compile(r"[a-z0-9][A-Z]|[A-Z][A-Z][a-z]")
_CAMEL = re.compile(r"[A-Za-z0-9]*(?:[a-z0-9][A-Z]|[A-Z][A-Z][a-z])[A-Za-z0-9]*")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_WORD = re.compile(r"[A-Za-z0-9]+")

_STOPWORD_TEXT = """a an and are as at be been being but by can could do does done for from has have how i if in
into is it its me my of on or our should so than that the their them then there these they this those to was we were
what when where which while who whom why will with would you your"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Suffixes dropped to reach a word's stem; the stem is matched as a prefix ("redirects" -> "redirect*").
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ers", "ed", "es", "er", "s")
MIN_STEM = 3


def split_identifier(name: str) -> list[str]:
    """Lower-cased parts of an identifier: "parse_HTTPHeaders2" -> ["parse", "http", "headers", "2"]."""
    return [part.lower() for part in _PARTS.findall(name)]


def camel_parts(text: str) -> dict[int, str]:
    """Line number -> the parts of that line's camelCase identifiers, space-separated.

    Indexed beside the line so "redirect" finds "HTTPRedirectHandler"; the full-text tokenizer
    already splits snake_case at underscores. Most lines have no case change, so one cheap pass
    finds the lines that do and only those are split.
    """
    numbers: list[int] = []
    line, position = 1, 0
    for match in _CASE_CHANGE.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        if not numbers or numbers[-1] != line:
            numbers.append(line)
    if not numbers:
        return {}
    lines = text.split("\n")
    split: dict[str, str] = {}
    parts: dict[int, str] = {}
    for number in numbers:
        words = _CAMEL.findall(lines[number - 1])
        for word in words:
            if word not in split:
                split[word] = " ".join(split_identifier(word))
        if words:
            parts[number] = " ".join(split[word] for word in words)
    return parts


def stem(word: str) -> str:
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
            return word[: -len(suffix)]
    return word


def query_terms(question: str) -> list[str]:
    """Distinct stems of the question's words (identifiers split), without stop words, in order."""
    terms: list[str] = []
    for token in _IDENTIFIER.findall(question) + [w for w in _WORD.findall(question) if w.isdigit()]:
        for part in split_identifier(token) or [token.lower()]:
            if part in STOPWORDS or len(part) < 2:
                continue
            stemmed = stem(part)
            if stemmed not in terms:
                terms.append(stemmed)
    return terms


def name_words(name: str) -> str:
    """What a symbol name is indexed as: the name and its parts."""
    parts = split_identifier(name)
    return name if parts == [name.lower()] else f"{name} {' '.join(parts)}"


def path_words(path: str) -> list[str]:
    """Lower-cased words of a path's components, without the extension: "urllib/request.py" -> urllib, request."""
    stem_path = path.rsplit(".", 1)[0] if "." in path.rpartition("/")[2] else path
    return [w.lower() for w in _WORD.findall(stem_path)]
