"""Unseen code: rewrite real source files into realistic code that no model can have memorised.

Reading benchmarks on well-known code partly measure recall, not reading. This command keeps the
shape of real code (structure, indentation, punctuation, keywords, line lengths) and replaces
everything a model could remember:

- identifiers are renamed consistently across the whole corpus to other real English words of the
  same length (`get_user_name` -> `get_seek_done`, `getUserName` -> `getSeekDone`, `HTTPServer` ->
  `BARSSingle`): snake_case, camelCase and capitalisation are kept; a few stopwords (`get`, `the`)
  and pieces of one or two letters stay inside names; language keywords, builtins and
  common library names (Python builtins and methods, standard-library module names, JS/Go/Rust
  library names) stay, unless the source itself defines a file or folder of that name;
- numbers keep their digit count, prefix and suffix (`0x1F`, `10u32`, `1.5e3`); string and comment
  words are replaced like identifiers, other runs keep their character classes (letters, digits);
- file and folder names are renamed like identifiers.

The word list is built from the words of the running Python standard library's comments and
docstrings (lowercase, 3-10 letters, in at least four files); nothing is downloaded. The output is a
pure function of the input files, the seed and the Python version.

`--adversarial M` adds M files of tables a reader must copy exactly, in the forms real code writes
them: quoted hexadecimal strings of 8-64 digits, SHA-256, SHA-1 and MD5 digests as plain quoted hex,
base64 of 16-64 characters, UUIDs, numbers of 5-20 digits and random-looking strings of 8-32 letters
and digits, each bound to a named constant or key. No name is a credential's (`token`, `secret`,
`password`, `key`, `auth`, ...), so codectx's secret masking leaves every value visible: it masks
vendor key formats and random values given to a credential's name, not digests or test vectors.

Usage:
    python bench/unseen_corpus.py --source DIR_OR_FILE [...] --out OUTDIR --seed N [--files K] [--adversarial M]
"""

from __future__ import annotations

import argparse
import base64
import builtins
import keyword
import os
import random
import re
import string
import sys
import sysconfig
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import Comment, Keyword, Name, Number, String, _TokenType
from pygments.util import ClassNotFound

# Languages whose outlines codectx builds (tree-sitter grammars), by file suffix.
SUFFIXES = frozenset(
    {".py", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".go", ".rs", ".java", ".c", ".h", ".cpp", ".cc", ".hpp",
     ".rb", ".cs"}
)  # fmt: skip
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", ".git", "target", "dist", "build", "vendor"})

# --- names that stay ---------------------------------------------------------------------------

_KEYWORDS_TEXT = """
abstract and arguments as assert async await auto bool boolean break byte case catch chan char class const
constructor continue crate debugger declare def default defer del delete do double dyn elif else enum except
explicit export extends extern false fallthrough final finally float fn for friend from func function global go
goto if impl implements import in infer inline instanceof int interface is keyof lambda let long loop macro map
match mod module move mut namespace native never new nil none nonlocal not null object of operator or package
pass private protected pub public raise range readonly ref register return satisfies select self short signed
sizeof static struct super switch symbol synchronized template this throw throws trait transient true try type
typedef typename typeof undefined union unknown unsafe unsigned use using var virtual void volatile where while
with yield elsif unless until begin end rescue ensure redo retry then yield defined alias undef
include define ifdef ifndef endif pragma error line
"""
_LIBRARY_TEXT = """
console window document require exports process globalThis prototype length push pop shift unshift slice splice
forEach filter reduce some every find findIndex includes indexOf join split trim toString valueOf then catch
finally resolve reject Promise Object Array String Number Boolean Symbol Math JSON Date RegExp Error TypeError
Map Set WeakMap WeakSet parseInt parseFloat isNaN NaN Infinity log warn info debug assign keys values entries
fmt Println Printf Sprintf Errorf Error errors strings strconv bytes context time sync http Context Mutex
make cap append copy panic recover print println iota rune uint uint8 uint16 uint32 uint64 int8 int16 int32
int64 float32 float64 complex64 complex128 uintptr
Vec Option Some None Ok Err Result Box Rc Arc RefCell Cell HashMap HashSet BTreeMap String str usize isize u8
u16 u32 u64 u128 i8 i16 i32 i64 i128 f32 f64 vec format assert assert_eq panic unwrap expect clone iter
into_iter collect Self Default Debug Clone Copy PartialEq Eq Hash Display fmt new main lib index init setup
System out java lang Override List ArrayList Integer Exception printf malloc free NULL stdio stdlib std cout
endl puts attr_reader attr_accessor require_relative Console WriteLine Task Func Action
Record Partial Readonly ReadonlyArray Required Pick Omit Uint8Array ArrayBuffer Iterable Iterator size_t ssize_t
uint8_t uint16_t uint32_t uint64_t int8_t int16_t int32_t int64_t number string bigint path
"""
_KEYWORDS = _KEYWORDS_TEXT.split()
_LIBRARY = _LIBRARY_TEXT.split()


@cache
def reserved_names() -> frozenset[str]:
    """Never renamed and never generated: keywords of every language handled, Python builtins, self/this."""
    return frozenset(_KEYWORDS) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))


@cache
def library_names() -> frozenset[str]:
    """Kept unless the source defines a file or folder of the same name: standard-library modules,
    methods of Python's builtin types, common JS/Go/Rust/Java names."""
    methods = {name for kind in (str, bytes, list, dict, set, int, float, tuple, object, BaseException)
               for name in dir(kind)}  # fmt: skip
    return frozenset(sys.stdlib_module_names) | frozenset(methods) | frozenset(_LIBRARY)


# Kept inside names, strings and comments for readable prose; never generated.
_STOPWORDS_TEXT = "the and for not but with from that this are was has have its all any can may into when then than"
STOPWORDS = frozenset((_STOPWORDS_TEXT + " which will each only also must get set add one two").split())

# --- the word list -----------------------------------------------------------------------------

_PROSE = re.compile(r'#[^\n]*|"""(?:.|\n)*?"""|\'\'\'(?:.|\n)*?\'\'\'')
_LOWER_WORD = re.compile(r"(?<![\w.`'\"])[a-z]{3,10}(?![\w(`'\"=])")
MIN_FILES = 4
_VOWEL = re.compile(r"[aeiouy]")
_EXCLUDED_STDLIB_DIRS = frozenset({"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"})


@cache
def stdlib_words() -> tuple[str, ...]:
    """Lowercase words of 3-10 letters from the standard library's comments and docstrings.

    A word must appear in the prose of at least MIN_FILES files (code names quoted in one module's
    docstrings do not), outside quotes and not directly before `(` or `=`.
    """
    files_with: Counter[str] = Counter()
    for directory, dirs, files in os.walk(sysconfig.get_paths()["stdlib"]):
        dirs[:] = sorted(d for d in dirs if d not in _EXCLUDED_STDLIB_DIRS and not d.startswith(("config-", ".")))
        for name in sorted(files):
            if name.endswith(".py"):
                text = Path(directory, name).read_text(encoding="utf-8", errors="replace")
                files_with.update({w for match in _PROSE.finditer(text) for w in _LOWER_WORD.findall(match.group())})
    return tuple(sorted(w for w, n in files_with.items() if n >= MIN_FILES and _VOWEL.search(w)))


# --- renaming ----------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PIECE = re.compile(r"_+|[0-9]+|[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
_DUNDER = re.compile(r"^__\w+__$")
_RUN = re.compile(r"[A-Za-z0-9_]+")


def _with_case(model: str, word: str) -> str:
    if len(model) > 1 and model.isupper():
        return word.upper()
    if model[:1].isupper():
        return word.capitalize()
    return word.lower()


def split_identifier(name: str) -> list[str]:
    """`getHTTPServer_v2` -> ['get', 'HTTP', 'Server', '_', 'v', '2']; joining the pieces gives the name back."""
    pieces = _PIECE.findall(name)
    if "".join(pieces) != name:  # not a plain ASCII identifier: one piece
        return [name]
    return pieces


@dataclass
class Renamer:
    """A seeded, corpus-wide mapping of name pieces to words, and the literal scramblers built on it."""

    seed: int
    words: Sequence[str]
    own_names: frozenset[str] = frozenset()  # file and folder names the source defines: renamed even if kept
    taken: set[str] = field(default_factory=set)  # pieces of the source: generated only when other words run out
    _map: dict[str, str] = field(default_factory=dict)
    _pools: dict[int, list[str]] = field(default_factory=dict)
    _spare: dict[int, list[str]] = field(default_factory=dict)  # words the source uses too: used last

    def __post_init__(self) -> None:
        banned = {w.lower() for w in reserved_names() | library_names()} | STOPWORDS
        rng = random.Random(f"words:{self.seed}")
        for word in self.words:
            if word not in banned:
                (self._spare if word in self.taken else self._pools).setdefault(len(word), []).append(word)
        for pool in [*self._pools.values(), *self._spare.values()]:
            rng.shuffle(pool)

    def kept(self, name: str) -> bool:
        if name in reserved_names() or _DUNDER.match(name):
            return True
        return name in library_names() and name not in self.own_names

    def word_for(self, key: str) -> str:
        """The word standing for one lowercase piece, the same every time it is asked."""
        found = self._map.get(key)
        if found is not None:
            return found
        length = min(max(len(key), 3), 10)
        word = self._draw(self._pools, length) or self._draw(self._spare, length)
        rng = random.Random(f"piece:{self.seed}:{key}")
        while not word or word in self._map.values():  # every pool spent: a made-up word
            word = "".join(rng.choice("bcdfghklmnprstvz" if i % 2 == 0 else "aeiou") for i in range(length))
        self._map[key] = word
        return word

    @staticmethod
    def _draw(pools: dict[int, list[str]], length: int) -> str:
        """A word of `length` letters, else of the nearest length left; "" when every pool is spent."""
        for distance in range(8):
            for size in (length - distance, length + distance):
                if pools.get(size):
                    return pools[size].pop()
        return ""

    def rename(self, name: str) -> str:
        """A name rewritten piece by piece, shape kept; the same name always gives the same result."""
        if self.kept(name) or len(name) <= 2:
            return name
        pieces = split_identifier(name)
        out = [self._piece(p, force=False) for p in pieces]
        if "".join(out) == name and len(name) > 5:  # only short pieces and stopwords: rename them all
            out = [self._piece(p, force=True) for p in pieces]
        return "".join(out)

    def _piece(self, piece: str, force: bool) -> str:
        if not piece[0].isalpha():
            return piece
        key = piece.lower()
        if not force and (len(key) <= 2 or key in STOPWORDS):
            return piece
        return _with_case(piece, self.word_for(key))

    def rewrite_name_token(self, value: str) -> str:
        """Every identifier inside a name token (dotted names, decorators, macros) renamed."""
        return _IDENTIFIER.sub(lambda m: self.rename(m.group()), value)

    def rewrite_prose(self, value: str, before: str = "") -> str:
        """String and comment text: names and words renamed, runs holding digits scrambled by character class.

        `before` is the source text just before `value`: an escape may begin in the previous token.
        """
        out: list[str] = []
        position = 0
        for match in _RUN.finditer(value):
            start, run = match.start(), match.group()
            out.append(value[position:start])
            position = match.end()
            preceding = before + value[:start]
            slashes = len(preceding) - len(preceding.rstrip("\\"))
            if slashes % 2:  # an escape: keep its letter and code digits
                kept = _escape_length(run)
                out.append(run[:kept])
                run = run[kept:]
            if not run:
                continue
            if any(c.isdigit() for c in run):
                out.append(self.scramble(run))
            elif len(run) <= 2:
                out.append(run)
            else:
                out.append(self.rewrite_name_token(run))
        out.append(value[position:])
        return "".join(out)

    def scramble(self, run: str) -> str:
        """Letters stay letters of the same case, digits digits; the same run always gives the same result."""
        rng = random.Random(f"run:{self.seed}:{run}")
        return "".join(
            rng.choice(string.ascii_lowercase) if c.islower() else rng.choice(string.ascii_uppercase)
            if c.isupper() else rng.choice(string.digits) if c.isdigit() else c
            for c in run
        )  # fmt: skip

    def rewrite_number(self, literal: str) -> str:
        """Digits replaced, their count, the base prefix, exponent and type suffix kept."""
        rng = random.Random(f"number:{self.seed}:{literal}")
        hexa = re.match(r"^(0[xX])([0-9A-Fa-f_]+)(.*)$", literal)
        if hexa:
            body = "".join(
                rng.choice("0123456789") if c.isdigit() else rng.choice("abcdef") if c in "abcdef"
                else rng.choice("ABCDEF") if c in "ABCDEF" else c
                for c in hexa.group(2)
            )  # fmt: skip
            return hexa.group(1) + body + hexa.group(3)
        based = re.match(r"^(0[oObB])([0-7_]+)(.*)$", literal)
        if based:
            allowed = "01" if based.group(1) in ("0b", "0B") else "01234567"
            body = "".join(rng.choice(allowed) if c != "_" else c for c in based.group(2))
            return based.group(1) + body + based.group(3)
        suffix = re.search(r"(?:[iu](?:8|16|32|64|128|size)|f32|f64|[A-Za-z]+)$", literal)
        cut = suffix.start() if suffix else len(literal)

        def digits(match: re.Match[str]) -> str:
            run = match.group()
            if set(run) == {"0"}:
                return run
            first = "0" if run[0] == "0" else rng.choice("123456789")
            return first + "".join(rng.choice(string.digits) for _ in run[1:])

        return re.sub(r"[0-9]+", digits, literal[:cut]) + literal[cut:]


def _escape_length(run: str) -> int:
    """Characters of an escape sequence at the start of `run` (the text after a backslash)."""
    width = {"x": 2, "u": 4, "U": 8}.get(run[0])
    if width is not None:
        hex_digits = re.match(r"[0-9A-Fa-f]*", run[1 : 1 + width])
        return 1 + (len(hex_digits.group()) if hex_digits else 0)
    if run[0] in "01234567":
        octal = re.match(r"[0-7]{1,3}", run)
        return len(octal.group()) if octal else 1
    return 1


# --- rewriting files -----------------------------------------------------------------------------


def lexer_for(path: str) -> Lexer | None:
    try:
        return get_lexer_for_filename(path, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _is(token: _TokenType, parent: _TokenType) -> bool:
    return token in parent


def rewrite_source(text: str, lexer: Lexer, renamer: Renamer) -> str:
    """One file rewritten token by token; raises ValueError if the lexer does not give the text back."""
    tokens = list(lexer.get_tokens(text))
    if "".join(value for _, value in tokens) != text:
        raise ValueError("the lexer rewrote its input")
    out: list[str] = []
    position = 0
    for token, value in tokens:
        before = text[max(0, position - 16) : position]
        position += len(value)
        if _is(token, Name.Builtin) or _is(token, Name.Exception):
            out.append(value)
        elif _is(token, Name) or _is(token, Keyword.Type):  # some lexers mark user-defined types as Keyword.Type
            out.append(renamer.rewrite_name_token(value))
        elif _is(token, Number):
            out.append(renamer.rewrite_number(value))
        elif _is(token, String.Escape) or _is(token, String.Affix) or _is(token, Comment.Hashbang):
            out.append(value)
        elif _is(token, String) or _is(token, Comment):
            out.append(renamer.rewrite_prose(value, before))
        else:
            out.append(value)
    return "".join(out)


def source_files(sources: Sequence[Path]) -> list[tuple[str, Path]]:
    """(relative output path, file) for every file of a handled language; a folder keeps its own name."""
    found: list[tuple[str, Path]] = []
    for source in sources:
        if source.is_file():
            found.append((source.name, source))
            continue
        for directory, dirs, files in os.walk(source):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
            for name in sorted(files):
                path = Path(directory, name)
                if path.suffix in SUFFIXES:
                    found.append((path.relative_to(source.parent).as_posix(), path))
    return found


def _own_names(paths: Iterable[str]) -> frozenset[str]:
    names: set[str] = set()
    for rel in paths:
        parts = rel.split("/")
        names.update(parts[:-1])
        names.add(parts[-1].partition(".")[0])
    return frozenset(names)


def rename_path(rel: str, renamer: Renamer) -> str:
    parts = rel.split("/")
    stem, dot, suffix = parts[-1].partition(".")
    return "/".join([renamer.rename(p) for p in parts[:-1]] + [renamer.rename(stem) + dot + suffix])


# --- adversarial tables ----------------------------------------------------------------------------

# No table name holds a credential's name: codectx masks random values given to those (codectx.secrets).
_SAFE_NAME = re.compile(r"key|pass|pwd|secret|token|auth|cred|priv|bearer|sign", re.IGNORECASE)
VALUE_KINDS = ("hex", "sha256", "sha1", "md5", "base64", "uuid", "long_number", "random_string")
HEX_LENGTHS = (8, 10, 12, 16, 20, 24, 32, 40, 48, 56, 64)
DIGEST_KINDS = ("sha256", "sha1", "md5")


class _Values:
    """Random values of each hard kind, written as real code writes them (quoted, plain, unlabelled).

    Bound to names that are not a credential's, none of them is a secret to codectx, so the page shows
    them as they are. `max_digits` bounds long numbers where the language's integers are narrower
    (JavaScript's exact integers, Go's int64).
    """

    def __init__(self, rng: random.Random, max_digits: int = 20) -> None:
        self.rng = rng
        self.max_digits = max_digits

    def _hex(self, size: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(size))

    def hex(self) -> str:  # a hex payload, key id or fingerprint of 8-64 digits
        return f'"{self._hex(self.rng.choice(HEX_LENGTHS))}"'

    def sha256(self) -> str:
        return f'"{self._hex(64)}"'

    def sha1(self) -> str:
        return f'"{self._hex(40)}"'

    def md5(self) -> str:
        return f'"{self._hex(32)}"'

    def digest(self) -> str:
        value: str = getattr(self, self.rng.choice(DIGEST_KINDS))()
        return value

    def base64(self) -> str:  # 16-64 characters, padded as encoders write it
        raw = bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(10, 49)))
        return '"' + base64.b64encode(raw).decode() + '"'

    def uuid(self) -> str:
        return '"' + str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) + '"'

    def long_number(self) -> str:
        size = self.rng.randrange(5, self.max_digits + 1)
        return str(self.rng.randrange(10 ** (size - 1), 10**size))

    def random_string(self) -> str:  # an opaque identifier, nonce or short link of 8-32 letters and digits
        alphabet = string.ascii_letters + string.digits
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(self.rng.randrange(8, 33)))
            if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
                return f'"{value}"'

    def any(self) -> tuple[str, str]:
        kind = self.rng.choice(VALUE_KINDS)
        value: str = getattr(self, kind)()
        return kind, value


def _names(rng: random.Random, words: Sequence[str], count: int) -> list[list[str]]:
    """Distinct two- or three-word names, as word lists."""
    pool = [w for w in words if 4 <= len(w) <= 8 and not _SAFE_NAME.search(w) and w not in reserved_names()]
    seen: set[tuple[str, ...]] = set()
    names: list[list[str]] = []
    while len(names) < count:
        name = tuple(rng.sample(pool, rng.choice((2, 2, 3))))
        if name not in seen:
            seen.add(name)
            names.append(list(name))
    return names


def adversarial_python(rng: random.Random, words: Sequence[str]) -> str:
    values = _Values(rng)
    names = _names(rng, words, 60)
    title = " ".join(rng.sample(words, 3))
    lines = [f'"""Fixed vectors for the {title} checks: every value is compared exactly."""', "",
             "from __future__ import annotations", ""]  # fmt: skip
    for words_ in names[:18]:
        lines.append(f"{'_'.join(words_).upper()} = {values.any()[1]}")
    lines += ["", f"{'_'.join(names[18]).upper()} = {{"]
    for words_ in names[19:31]:
        lines.append(f'    "{"_".join(words_)}": {values.any()[1]},')
    lines += ["}", "", f"{'_'.join(names[31]).upper()} = ["]
    for words_ in names[32:42]:
        lines.append(
            f'    {{"name": "{"-".join(words_)}", "digest": {values.digest()}, "size": {values.long_number()}}},'
        )
    lines += ["]", ""]
    function = "_".join(names[42])
    lines += ["def differs(table: dict[str, object], name: str, expected: object) -> list[str]:",
              "    return [] if table.get(name) == expected else [name]", "", ""]  # fmt: skip
    lines += [f"def {function}(table: dict[str, object]) -> list[str]:",
              f'    """The {" ".join(names[43])} entries that differ from the fixed vectors."""',
              "    found: list[str] = []"]  # fmt: skip
    for words_ in names[44:52]:
        lines.append(f'    found += differs(table, "{"_".join(words_)}", expected={values.any()[1]})')
    lines += ["    return found", ""]
    return "\n".join(lines)


def adversarial_javascript(rng: random.Random, words: Sequence[str]) -> str:
    values = _Values(rng, max_digits=15)  # Number.MAX_SAFE_INTEGER has 16 digits
    names = _names(rng, words, 50)

    def camel(parts: list[str]) -> str:
        return parts[0] + "".join(p.capitalize() for p in parts[1:])

    lines = [f"// Fixtures for the {' '.join(rng.sample(words, 3))} table: exact values only.",
             'import { register } from "./registry.js";', ""]  # fmt: skip
    for words_ in names[:16]:
        lines.append(f"export const {'_'.join(words_).upper()} = {values.any()[1]};")
    lines += ["", f"export const {camel(names[16])} = {{"]
    for words_ in names[17:29]:
        lines.append(f"  {camel(words_)}: {values.any()[1]},")
    lines += ["};", "", f"export function {camel(names[29])}(entry) {{", "  switch (entry.kind) {"]
    for words_ in names[30:38]:
        lines.append(f'    case "{"-".join(words_)}": return {values.any()[1]};')
    lines += ["    default:", "      return null;", "  }", "}", ""]
    for words_ in names[38:46]:
        lines.append(f'register("{camel(words_)}", {values.any()[1]});')
    lines.append("")
    return "\n".join(lines)


def adversarial_go(rng: random.Random, words: Sequence[str]) -> str:
    values = _Values(rng, max_digits=18)  # within int64
    names = _names(rng, words, 40)

    def pascal(parts: list[str]) -> str:
        return "".join(p.capitalize() for p in parts)

    lines = [f"// Package {names[0][0]} holds the {' '.join(rng.sample(words, 2))} test vectors.",
             f"package {names[0][0]}", "", "const ("]  # fmt: skip
    for words_ in names[1:15]:
        lines.append(f"\t{pascal(words_)} = {values.any()[1]}")
    lines += [")", "", f"var {pascal(names[15])} = map[string]any{{"]
    for words_ in names[16:28]:
        lines.append(f'\t"{"_".join(words_)}": {values.any()[1]},')
    lines += ["}", ""]
    return "\n".join(lines)


ADVERSARIAL = (("py", adversarial_python), ("js", adversarial_javascript), ("go", adversarial_go))


def adversarial_files(count: int, seed: int, words: Sequence[str]) -> list[tuple[str, str]]:
    """(relative path, text) of `count` files dense with exact values, in Python, JavaScript and Go."""
    rng = random.Random(f"adversarial:{seed}")
    pool = [w for w in words if 4 <= len(w) <= 9 and w not in reserved_names() and not _SAFE_NAME.search(w)]
    files: list[tuple[str, str]] = []
    for index in range(count):
        suffix, make = ADVERSARIAL[index % len(ADVERSARIAL)]
        name = f"{rng.choice(pool)}_{rng.choice(pool)}"
        files.append((f"vectors/{name}_{index + 1:02d}.{suffix}", make(rng, pool)))
    return files


# --- the command -----------------------------------------------------------------------------------


@dataclass
class Summary:
    written: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    adversarial: list[str] = field(default_factory=list)


def build_corpus(
    sources: Sequence[Path], out: Path, seed: int, files: int | None = None, adversarial: int = 0
) -> Summary:
    """Rewrite the sources' files (a seeded sample of `files` of them) into `out`, plus adversarial tables."""
    found = source_files(sources)
    if files is not None and files < len(found):
        found = sorted(random.Random(f"sample:{seed}").sample(found, files))
    texts: dict[str, str] = {}
    summary = Summary()
    for rel, path in found:
        try:
            texts[rel] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            summary.skipped.append((rel, f"unreadable: {error}"))
    taken: set[str] = set()
    for text in texts.values():
        for name in _IDENTIFIER.findall(text):
            taken.update(p.lower() for p in split_identifier(name) if p[0].isalpha())
    renamer = Renamer(seed, stdlib_words(), own_names=_own_names(texts), taken=taken)
    written: set[str] = set()
    for rel, text in texts.items():
        lexer = lexer_for(rel)
        if lexer is None:
            summary.skipped.append((rel, "no lexer"))
            continue
        try:
            rewritten = rewrite_source(text, lexer, renamer)
        except ValueError as error:
            summary.skipped.append((rel, str(error)))
            continue
        target = rename_path(rel, renamer)
        while target in written:
            stem, dot, suffix = target.rpartition("/")[2].partition(".")
            target = target[: len(target) - len(stem + dot + suffix)] + f"{stem}_{len(written)}{dot}{suffix}"
        written.add(target)
        (out / target).parent.mkdir(parents=True, exist_ok=True)
        (out / target).write_text(rewritten, encoding="utf-8")
        summary.written.append(target)
    for rel, text in adversarial_files(adversarial, seed, stdlib_words()):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")
        summary.adversarial.append(rel)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--source", nargs="+", required=True, type=Path, metavar="DIR_OR_FILE",
                        help="folders (walked recursively) or files to rewrite")  # fmt: skip
    parser.add_argument("--out", required=True, type=Path, help="output folder (must be empty or absent)")
    parser.add_argument("--seed", type=int, required=True, help="seed of the renaming and of the literals")
    parser.add_argument("--files", type=int, metavar="K", help="rewrite a seeded sample of K files (default: all)")
    parser.add_argument("--adversarial", type=int, default=0, metavar="M", help="also write M tables of exact values")
    args = parser.parse_args(argv)
    missing = [str(s) for s in args.source if not s.exists()]
    if missing:
        parser.error(f"no such source: {', '.join(missing)}")
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty")
    if (args.files is not None and args.files < 1) or args.adversarial < 0:
        parser.error("--files must be at least 1 and --adversarial at least 0")
    args.out.mkdir(parents=True, exist_ok=True)
    summary = build_corpus(args.source, args.out, args.seed, args.files, args.adversarial)
    for rel, reason in summary.skipped:
        print(f"skipped {rel}: {reason}", file=sys.stderr)
    print(f"{len(summary.written)} rewritten and {len(summary.adversarial)} adversarial files written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
