"""Language detection through pygments' lexer lookup by file name, then by content (shebangs)."""

from __future__ import annotations

from functools import lru_cache

from pygments.lexers import find_lexer_class_for_filename, get_lexer_for_filename, guess_lexer
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


@lru_cache(maxsize=4096)
def _lexer_alias_by_name(key: str) -> str | None:
    try:
        # The class, not an instance: building a lexer compiles all its patterns.
        found = find_lexer_class_for_filename(key if not key.startswith(".") else f"x{key}")
        return str(found.aliases[0]) if found is not None else None
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
        try:
            return str(guess_lexer(text[:4000]).aliases[0])
        except (ClassNotFound, IndexError):
            return TEXT
    return TEXT
