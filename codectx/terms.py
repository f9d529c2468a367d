"""Terms: the words that code and questions are matched on.

Identifiers are split at underscores and case changes ("HTTPRedirectHandler" -> http, redirect,
handler; a lone capital stays with the word after it: "createETagGenerator" -> create, etag,
generator) so that a question's plain words meet the code's compound names. Two words that code
runs together as a shorthand ("memory map" -> "mmap") meet it too. A question's words are reduced
to their Snowball (Porter 2) English stems, which are matched as prefixes ("redirects" ->
"redirect*", "names" -> "name*"); a noun made from a verb also matches the verb ("conversion" ->
"convers*" or "convert*", "resolution" -> "resolut*" or "resolv*").
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from itertools import pairwise

import snowballstemmer  # type: ignore[import-untyped]  # ships no type hints

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CASE_CHANGE = re.compile(r"[a-z0-9][A-Z]|[A-Z][A-Z][a-z]")
_CAMEL = re.compile(r"[A-Za-z0-9]*(?:[a-z0-9][A-Z]|[A-Z][A-Z][a-z])[A-Za-z0-9]*")
# A lone capital before a capitalised word is part of it ("ETag", "XPath"): the first alternative.
_PARTS = re.compile(r"(?<![A-Z])[A-Z][A-Z][a-z]+|[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_WORD = re.compile(r"[A-Za-z0-9]+")
_DOTTED = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+\b")

_STOPWORD_TEXT = """a an and are as at be been being but by can could do does done for from has have how i if in
into is it its me my of on or our should so than that the their them then there these they this those to was we were
what when where which while who whom why will with would you your
any each every some such only own same also just very whether about like sure"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Words this short are matched as they are: stemming "is" or "ids" finds too much.
MIN_STEM = 3
# Words shorter than this match whole words only: as prefixes, "ca" or "io" would find "call" and
# "ioctl". Words of just this length match themselves and their inflections: "out" finds outs and
# outer but not output, "add" finds added but not address, "run" finds running.
MIN_PREFIX = 3
INFLECTIONS = ("ed", "er", "ers", "ing")  # and the plural's "s" and "es"
WHOLE = "$"  # a form that ends with it matches the whole word only
# Names code commonly gives a concept instead of the question's word, by the word's stem. Short ones
# match whole words only ("cfg$"), lest "conf" find "confirm".
RELATED: dict[str, tuple[str, ...]] = {
    "configur": ("config", "cfg$", "conf$", "settings"),
    "repositori": ("repo$", "repos$"),
    "directori": ("dir$", "dirs$", "folder"),
    "environ": ("env$",),
    "authent": ("auth$",),
    "author": ("auth$",),
    "argument": ("arg$", "args$", "argv$"),
    "paramet": ("param$", "params$"),
    "messag": ("msg$",),
    "temporari": ("temp$", "tmp$", "tempfile"),
    "initi": ("init$",),
    "execut": ("exec$",),
    "regular": ("regex", "regexp"),
    "databas": ("db$",),
    "certif": ("cert",),
    "connect": ("conn$",),
    "librari": ("lib$", "libs$"),
    "applic": ("app$", "apps$"),
    "distanc": ("levenshtein", "difflib", "close match", "did you mean"),
    "mistyp": ("suggest", "did you mean", "close match"),
    "misspel": ("suggest", "did you mean", "close match"),
    "typo": ("suggest", "did you mean", "close match"),
}
# Irregular past forms, which stemming leaves alone ("sent" would never find `send`), and the verb
# each comes from: general English, as in a lemmatiser's list of exceptions.
_IRREGULAR_TEXT = """begin began begun; bind bound; break broke broken; bring brought; build built; buy bought;
catch caught; choose chose chosen; draw drew drawn; drive drove driven; fall fell fallen; feed fed; find found;
forget forgot forgotten; freeze froze frozen; get got gotten; give gave given; go went gone; grow grew grown;
hang hung; hide hid hidden; hold held; keep kept; know knew known; lead led; leave left; lose lost; make made;
mean meant; meet met; override overrode overridden; pay paid; rewrite rewrote rewritten; run ran; say said;
see saw seen; sell sold; send sent; show shown; shrink shrank shrunk; sleep slept; speak spoke spoken;
spend spent; spin spun; stick stuck; strike struck; swear swore sworn; take took taken; teach taught;
tear tore torn; tell told; think thought; throw threw thrown; wake woke woken; win won; wind wound;
write wrote written"""
IRREGULAR: dict[str, str] = {
    form: verb for verb, *forms in (entry.split() for entry in _IRREGULAR_TEXT.split(";")) for form in forms
}
_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a Snowball stemmer keeps its state between calls: one word at a time


def split_identifier(name: str) -> list[str]:
    """Lower-cased parts of an identifier: "parse_HTTPHeaders2" -> ["parse", "http", "headers", "2"]."""
    return [part.lower() for part in _PARTS.findall(name)]


def with_camel_parts(line: str, known: dict[str, str]) -> str:
    """The line with the parts of its camelCase identifiers appended, space-separated, so that "redirect"
    finds "HTTPRedirectHandler" (the full-text tokenizer already splits snake_case at underscores).
    `known` keeps identifiers split before. Most lines have no case change, and a cheap test finds them.
    """
    if line.islower() or not _CASE_CHANGE.search(line):
        return line
    parts = []
    for word in _CAMEL.findall(line):
        split = known.get(word)
        if split is None:
            split = known[word] = " ".join(split_identifier(word))
        parts.append(split)
    return f"{line} {' '.join(parts)}" if parts else line


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """The word's Snowball English stem, lower-cased ("conversions" -> "convers", "names" -> "name")."""
    word = word.lower()
    if len(word) <= MIN_STEM:
        return word
    with _STEMMER_LOCK:
        return str(_STEMMER.stemWord(word))


def word_forms(word: str) -> tuple[str, ...]:
    """The prefixes a question's word matches: its stem, and the verb's stem for a noun made from one.

    Snowball leaves derivation alone ("conversion" -> "convers", "convert" -> "convert"), so a
    question about conversion would miss convert(); the common Latin patterns are added here.
    """
    word = word.lower()
    root = stem(word)
    forms = [root]
    if root.endswith("i") and word.endswith(("y", "ies", "ied")):
        forms.append(root[:-1] + "y")  # queries -> queri, query
    if word.endswith(("sion", "sions")) and len(root) > 4:
        if root.endswith("ss"):
            forms.append(root[:-2] + "t")  # permission -> permit
        elif root.endswith("s"):
            forms += [root[:-1] + "t", root[:-1] + "d"]  # conversion -> convert, extension -> extend
    elif word.endswith(("ution", "utions")) and root.endswith("ut"):
        forms.append(root[:-2] + "v")  # resolution -> resolv
    elif word.endswith(("ption", "ptions")) and root.endswith("pt"):
        forms.append(root[:-2] + "b")  # description -> describ
    if word in IRREGULAR:
        forms.append(stem(IRREGULAR[word]))  # sent -> send, found -> find
    if len(root) == MIN_PREFIX:  # as a prefix "out" would find output, "per" permission: inflections only
        forms += [f"{root}{end}{WHOLE}" for end in ("s", "es", *INFLECTIONS)]
        if root[-1] not in "aeiouwxy":  # run -> running, runner; set -> setting, setter
            forms += [f"{root}{root[-1]}{end}{WHOLE}" for end in INFLECTIONS]
    return tuple(forms) + RELATED.get(root, ())


def is_whole(form: str) -> bool:
    """Whether a form matches whole words only (it ends in WHOLE, or it is no longer than MIN_PREFIX)."""
    return form.endswith(WHOLE) or len(form) <= MIN_PREFIX


def bare(form: str) -> str:
    """The form's text, without the WHOLE mark."""
    return form.removesuffix(WHOLE)


def form_matches(word: str, form: str) -> bool:
    """Whether an indexed word matches a question's form: as a prefix, or whole (see is_whole)."""
    return word == bare(form) if is_whole(form) else word.startswith(form)


def query_forms(question: str) -> list[tuple[str, ...]]:
    """Per distinct word of the question (identifiers split, stop words left out), the prefixes it matches;
    an identifier of several parts adds itself as a phrase ("get current context")."""
    found: list[tuple[str, ...]] = []
    for token in _IDENTIFIER.findall(question) + [w for w in _WORD.findall(question) if w.isdigit()]:
        parts = split_identifier(token) or [token.lower()]
        for part in parts:
            if part in STOPWORDS or len(part) < 2:
                continue
            forms = word_forms(part)
            if all(forms[0] != known[0] for known in found):
                found.append(forms)
        if len(parts) > 1 and (phrase := " ".join(parts)) not in (known[0] for known in found):
            found.append((phrase,))  # the identifier itself (get_current_context), its parts in a row
    for dotted in _DOTTED.findall(question):  # res.send, requests.get: the name as code writes it
        phrase = " ".join(part for name in dotted.split(".") for part in split_identifier(name))
        if phrase not in (known[0] for known in found):
            found.append((phrase,))
    return found


def _question_words(question: str) -> list[str | None]:
    """The question's words in order (identifiers split, lower-cased); None where a stop word breaks the run."""
    words: list[str | None] = []
    for token in re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[^\sA-Za-z_]+", question):
        if not _IDENTIFIER.fullmatch(token):
            words.append(None)  # punctuation or digits between words
            continue
        for part in split_identifier(token) or [token.lower()]:
            words.append(None if part in STOPWORDS or len(part) < 2 else part)
    return words


def shorthand_forms(question: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Shorter ways code may write two neighbouring words of the question as one: (the stems of the
    words, candidate tokens). Which candidates count is up to the index, which holds them or not.

    "memory map" -> "memmap" (the first word's first three letters) or "mmap" (its initial). Written
    out whole ("hostname") they already match as a prefix. A word's own leading part ("mark" for
    "markdown", "rest" for "restricting") is left alone: too often a word of its own.
    """
    found: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    words = _question_words(question)
    for first, second in pairwise(words):
        if first and second and first != second and len(first) > 3:
            found.append(((stem(first), stem(second)), (first[:3] + second, first[0] + second)))
    return found


def compound_splits(question: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """Ways the code may write a question's compound word as two ("newline" -> new line, "hostname"
    -> `HostName`): (the word's stem, its splits into two parts of three letters or more). Which
    splits count is up to the index, which must write the two parts in a row (relevance)."""
    found: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for word in dict.fromkeys(w for w in _question_words(question) if w and len(w) >= 2 * MIN_PREFIX):
        splits = tuple(
            (word[:cut], word[cut:])
            for cut in range(MIN_PREFIX, len(word) - MIN_PREFIX + 1)
            if word[:cut] not in STOPWORDS and word[cut:] not in STOPWORDS
        )
        found.append((stem(word), splits))
    return found


def neighbour_phrases(question: str) -> list[tuple[str, ...]]:
    """Each two neighbouring words of the question as a phrase of their stems ("program name" for
    "the program name is"), to meet the names that run the same words together
    (`_detect_program_name`, `ParseSizeError` for "parsing sizes"). A stop word breaks the run."""
    found: list[tuple[str, ...]] = []
    for first, second in pairwise(_question_words(question)):
        if first and second and first != second:
            phrase = f"{stem(first)} {stem(second)}"
            if (phrase,) not in found:
                found.append((phrase,))
    return found


def query_terms(question: str) -> list[str]:
    """Distinct stems of the question's words (identifiers split), without stop words, in order."""
    return [forms[0] for forms in query_forms(question)]


def name_words(name: str) -> str:
    """What a symbol name is indexed as: the name and its parts."""
    parts = split_identifier(name)
    return name if parts == [name.lower()] else f"{name} {' '.join(parts)}"


def path_words(path: str) -> list[str]:
    """Lower-cased words of a path's components, without the extension: "urllib/request.py" -> urllib, request."""
    stem_path = path.rsplit(".", 1)[0] if "." in path.rpartition("/")[2] else path
    return [w.lower() for w in _WORD.findall(stem_path)]
