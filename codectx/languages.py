"""Language detection through pygments' lexer lookup by file name, then by content (shebangs)."""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache

from pygments.lexers import find_lexer_class_for_filename, get_lexer_for_filename, guess_lexer
from pygments.lexers._mapping import LEXERS
from pygments.plugin import find_plugin_lexers
from pygments.util import ClassNotFound

# Extensions whose language depends on content (C or Objective-C headers, Perl or Prolog, ...).
AMBIGUOUS_SUFFIXES = frozenset({".h", ".m", ".pl", ".inc", ".v", ".fs", ".ts", ".cls"})
TEXT = "text"
# File names pygments gets wrong (it reads go.mod as Modula-2), with linguist's names for what it lacks.
LANGUAGE_BY_NAME = {
    "go.mod": "go-mod", "go.work": "go-work", "go.sum": "go-sum", "go.work.sum": "go-sum",
    "Containerfile": "docker", "CMakeLists.txt": "cmake",
}  # fmt: skip
# Suffixes pygments gives to a rarer language: .pm is a Perl module far more often than Promela.
LANGUAGE_BY_SUFFIX = {".pm": "perl"}


def _suffix_key(path: str) -> str:
    name = path.rpartition("/")[2]
    stem, dot, ext = name.rpartition(".")
    return f".{ext.lower()}" if dot and stem else name


_SIMPLE_PATTERN = re.compile(r"\*\.[A-Za-z0-9_+-]+")
_Candidates = tuple[tuple[str, str | None], ...]  # (lexer name, its first alias)


@lru_cache(maxsize=1)
def _filename_patterns() -> tuple[dict[str, _Candidates], list[tuple[re.Pattern[str], str, str | None]]] | None:
    """pygments' file-name patterns without importing a lexer: `*.ext` ones by suffix, the rest compiled
    as pygments compiles them. None when lexer plugins are installed (pygments' own lookup sees those)."""
    if next(iter(find_plugin_lexers()), None) is not None:
        return None
    by_suffix: dict[str, list[tuple[str, str | None]]] = {}
    others: list[tuple[re.Pattern[str], str, str | None]] = []
    for _module, name, aliases, filenames, _mimetypes in LEXERS.values():
        alias = aliases[0] if aliases else None
        for pattern in filenames:
            if _SIMPLE_PATTERN.fullmatch(pattern):
                by_suffix.setdefault(pattern[1:], []).append((name, alias))
            else:
                others.append((re.compile(fnmatch.translate(pattern)), name, alias))
    return {suffix: tuple(found) for suffix, found in by_suffix.items()}, others


@lru_cache(maxsize=4096)
def _lexer_alias_by_name(key: str) -> str | None:
    file_name = key if not key.startswith(".") else f"x{key}"
    patterns = _filename_patterns()
    if patterns is not None:
        by_suffix, others = patterns
        dot = file_name.rfind(".")
        found = dict(by_suffix.get(file_name[dot:], ()) if dot > 0 else ())
        found.update((name, alias) for pattern, name, alias in others if pattern.match(file_name))
        if not found:  # the table holds every pattern pygments knows: no lexer claims the name
            return None
        if len(found) == 1:  # one lexer claims the name: its alias, without importing its module
            return next(iter(found.values()))
    try:
        # Several candidates: pygments ranks them by priority. The class, not an instance: building a
        # lexer compiles all its patterns.
        lexer = find_lexer_class_for_filename(file_name)
        return str(lexer.aliases[0]) if lexer is not None else None
    except (ClassNotFound, IndexError):
        return None


def detect_language(path: str, text: str) -> str | None:
    """A pygments lexer alias for the file ('python', 'js', ...), 'text' for plain text."""
    named = LANGUAGE_BY_NAME.get(path.rpartition("/")[2])
    if named is not None:
        return named
    key = _suffix_key(path)
    if key in LANGUAGE_BY_SUFFIX:
        return LANGUAGE_BY_SUFFIX[key]
    if key in AMBIGUOUS_SUFFIXES:
        try:
            return str(get_lexer_for_filename(path.rpartition("/")[2], text[:4000]).aliases[0])
        except (ClassNotFound, IndexError):
            return TEXT
    alias = _lexer_alias_by_name(key)
    if alias is not None:
        return alias
    if text.startswith("#!"):
        interpreter = _interpreter_alias(text[2 : text.find("\n")] if "\n" in text else text[2:])
        if interpreter is not None:
            return interpreter
        try:  # every lexer's analyse_text: imports them all, so only for interpreters the table lacks
            return str(guess_lexer(text[:4000]).aliases[0])
        except (ClassNotFound, IndexError):
            return TEXT
    return TEXT


# Interpreters named differently from the lexer alias that reads their scripts.
INTERPRETER_ALIASES = {"node": "javascript", "nodejs": "javascript", "sh": "bash", "dash": "bash", "ksh": "bash"}


def _interpreter_alias(shebang: str) -> str | None:
    """The lexer alias for a shebang's interpreter (`/usr/bin/env python3 -u` -> python), or None."""
    words = [w for w in shebang.split() if not w.startswith("-")]
    if words and words[0].rpartition("/")[2] == "env":
        words = [w for w in words[1:] if "=" not in w]
    if not words:
        return None
    name = words[0].rpartition("/")[2].rstrip("0123456789.")
    return INTERPRETER_ALIASES.get(name) or _aliases().get(name)


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    """Every alias of every lexer pygments ships -> that lexer's first alias, without importing a lexer."""
    return {alias: aliases[0] for _module, _name, aliases, *_ in LEXERS.values() for alias in aliases}
