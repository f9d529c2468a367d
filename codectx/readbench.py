"""The blind reading benchmark: questions about an index's page images that only the pictures answer.

`export` copies a seeded sample of the pages that `load_context` sends (the stored PNGs of the
current generation of a target) and writes questions about lines fully visible on each page:

    DIR/tasks/tasks.json      version, target, layout, page_tokens, instructions, tasks
    DIR/tasks/pages/page-001.png ...
    DIR/key.json              the truth: kept out of DIR/tasks, which is all a reader is given

Task kinds: `transcribe` (lines A-B of a file), `line` (write line N), `locate` (the line number of a
quoted line) and `value` (the exact literal bound to a name: hexadecimal, base64, UUIDs, digests
and long numbers first). A reader answers with ANSWERS_DIR/answers.json, an object mapping every
task id to its answer string; `score` compares it with the key, deterministically:

- content accuracy (transcribe and line tasks): each answered line is compared with the line of the
  page it matches best, so right text under a wrong line number still counts; truth characters that
  no answered line accounts for count as errors. 1 - character error rate, with indentation and
  runs of blanks ignored (codectx.fidelity.normalise).
- strict accuracy (the same tasks): answer line i against truth line i.
- exact-line rate: `line` tasks whose answer equals the truth after that same normalisation.
- locate rate: `locate` tasks answered with the exact line number.
- value recall: `value` tasks whose answer, stripped of surrounding blanks, backticks and one pair of
  quotes, equals the literal exactly.
Missing, malformed and unknown answers are reported, and a task without a valid answer is wrong.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codectx.fidelity import Score, edit_distance, normalise
from codectx.jsonfiles import read_json, write_json
from codectx.model.targets import DEFAULT_TARGET, TARGETS
from codectx.pack import capped_glossary, pack_basis
from codectx.render.layout import LayoutSettings, read_line_map
from codectx.store import FileRow, NoIndexError, PageRow, Store, default_store_dir

FORMAT_VERSION = 1
TASK_KINDS = ("transcribe", "line", "locate", "value")
TEXT_KINDS = ("transcribe", "line")
DEFAULT_PAGES = 8
DEFAULT_TASKS_PER_PAGE = 4
DEFAULT_SEED = 0
TRANSCRIBE_LINES = (3, 8)
MIN_LINE_CHARS = 8  # a `line` task's line holds at least this many characters (normalised)
MIN_LOCATE_CHARS = 12  # non-blank characters of a `locate` task's line
PREFIX_CHARS = 40  # at most this much of a line is quoted to point at a value
KEY_FILE = "key.json"
TASKS_DIR = "tasks"
TASKS_FILE = "tasks.json"
ANSWERS_FILE = "answers.json"
SCORE_FILE = "score.json"
UNANSWERED = "?"

INSTRUCTIONS = """\
Each task shows one page image of source code rendered by codectx and asks one question about it. \
Answer from the image alone. On a page, a header row names each file; the small number at the left \
of a row is that line's number in its file; a row that starts with » continues the line above it (a \
long line wrapped onto the next row); runs of blank lines may be shortened or left out, and the line \
numbers show the gaps.

Answer with the answer only: no explanation, no code fences.
- transcribe: the requested lines in order, one source line per line of your answer, joined with \
newlines. Leave out line numbers and » marks; join a wrapped line's rows into one line. Indentation \
and the width of runs of spaces are not scored; every other character is.
- line: that one line, by the same rules.
- locate: the line number only, as digits.
- value: the value only, exactly as written, without its quotes (a number as written, e.g. 0x1F).
If you cannot read something, write "?" as the answer; answer every task.

A complete answer set is a folder holding answers.json: one JSON object mapping every task id to its \
answer as a string, e.g. {"t001": "first line\\nsecond line", "t002": "42"}.
"""
GLOSSARY_NOTE = """
A task may name a text file beside its image: the exact strings that come with that page's module \
(as `path:line  string`). Use the image and that text together.
"""


class BenchmarkError(Exception):
    """A problem the user can fix (no index, no benchmark folder); the message is one line."""


# --- what a page shows ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShownLine:
    path: str
    line: int  # 1-based
    text: str  # as drawn: tabs expanded, trailing blanks trimmed
    whole: bool  # every part of the line is on this page


@dataclass(frozen=True, slots=True)
class Literal:
    path: str
    line: int
    value: str  # between the quotes, or the number as written
    kind: str  # uuid, digest, hex, base64, long_number, random_string, plain or short (under 4 characters)
    description: str  # e.g. "assigned to MAX_SIZE"
    prefix: str  # the line's text before the literal, stripped and cut to PREFIX_CHARS


def drawn_text(line: str, tab_size: int) -> str:
    """A source line as the page draws it."""
    return line.expandtabs(tab_size).rstrip()


def _code_rows(line_map: str) -> list[tuple[str, int, int]]:
    return [(r["path"], int(r["line"]), int(r["part"])) for r in read_line_map(line_map)["rows"] if r["kind"] == "code"]


def shown_lines(
    page: PageRow, next_page: PageRow | None, sources: dict[str, list[str]], tab_size: int
) -> list[ShownLine]:
    """Lines with at least one row on the page, in page order; `whole` when all their rows are on it."""
    rows = _code_rows(page.line_map)
    continued: tuple[str, int] | None = None
    if next_page is not None:
        following = _code_rows(next_page.line_map)
        if following and following[0][2] > 0:
            continued = following[0][0], following[0][1]
    shown: dict[tuple[str, int], bool] = {}
    for path, line, part in rows:
        key = (path, line)
        if key not in shown:
            shown[key] = part == 0
    lines: list[ShownLine] = []
    for (path, line), starts_here in shown.items():
        source = sources.get(path)
        if source is None or not 1 <= line <= len(source):
            continue
        lines.append(
            ShownLine(path, line, drawn_text(source[line - 1], tab_size), starts_here and continued != (path, line))
        )
    return lines


# --- literals -----------------------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DIGEST = re.compile(r"^(?:[a-z0-9]{2,8}[:-])?[0-9a-fA-F]{32,}$")
_HEX = re.compile(r"^(?:0[xX][0-9a-fA-F_]{4,}|[0-9a-fA-F]{6,})$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{12,}={0,2}$")
_LONG_NUMBER = re.compile(r"^[0-9][0-9_]{4,}$")
_QUOTES = ('"""', "'''", '"', "'", "`")
KIND_RANK = {
    "uuid": 0,
    "digest": 0,
    "hex": 1,
    "base64": 1,
    "long_number": 2,
    "random_string": 2,
    "plain": 3,
    "short": 4,
}


def value_kind(value: str) -> str:
    """How hard a literal is to read exactly: the kinds of KIND_RANK."""
    if _UUID.match(value):
        return "uuid"
    if _DIGEST.match(value):
        return "digest"
    if _HEX.match(value) and (
        value.lower().startswith("0x") or (re.search(r"\d", value) and re.search(r"[a-fA-F]", value))
    ):
        return "hex"
    if _LONG_NUMBER.match(value) and sum(c.isdigit() for c in value) >= 5:
        return "long_number"
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d"))
    if _BASE64.match(value) and classes == 3:
        return "base64"
    if len(value) >= 8 and " " not in value and classes >= 2 and re.search(r"\d", value):
        return "random_string"
    return "plain" if len(value) >= 4 else "short"


def _lexer(language: str) -> Any:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _line_tokens(text: str, language: str) -> dict[int, list[tuple[Any, str, int]]]:
    """1-based line -> [(token type, value, column)] of the tokens that start and end on that line."""
    lexer = _lexer(language)
    if lexer is None:
        return {}
    tokens = list(lexer.get_tokens(text))
    if "".join(value for _, value in tokens) != text:
        return {}
    lines: dict[int, list[tuple[Any, str, int]]] = {}
    line, column = 1, 0
    for token, value in tokens:
        if "\n" in value:
            line += value.count("\n")
            column = len(value.rpartition("\n")[2])
            continue
        lines.setdefault(line, []).append((token, value, column))
        column += len(value)
    return lines


def _literal_groups(tokens: list[tuple[Any, str, int]]) -> Iterator[tuple[int, int, str, bool]]:
    """(first token index, last token index, value, is number) of each single-line literal."""
    from pygments.token import Number, String

    index = 0
    while index < len(tokens):
        token, value, _ = tokens[index]
        if token in Number:
            yield index, index, value, True
            index += 1
            continue
        if token in String and token not in String.Doc:
            end = index
            while end + 1 < len(tokens) and tokens[end + 1][0] in String:
                end += 1
            group = tokens[index : end + 1]
            if not any(t in String.Interpol for t, _, _ in group):
                text = "".join(v for t, v, _ in group if t not in String.Affix)
                for quote in _QUOTES:
                    if len(text) >= 2 * len(quote) + 1 and text.startswith(quote) and text.endswith(quote):
                        yield index, end, text[len(quote) : -len(quote)], False
                        break
            index = end + 1
            continue
        index += 1


DEFINING = frozenset({"def", "function", "fn", "func", "fun", "sub"})


def _enclosing_call(tokens: list[tuple[Any, str, int]], significant: list[int]) -> tuple[str, int, bool] | None:
    """(function name, argument number, whether it is the function's definition) when the end of
    `significant` sits inside the parentheses that follow a name."""
    from pygments.token import Name

    depth, commas = 0, 0
    for position in range(len(significant) - 1, -1, -1):
        value = tokens[significant[position]][1].strip()
        if value in (")", "]", "}"):
            depth += 1
        elif value in ("(", "[", "{"):
            if depth == 0:
                if value == "(" and position and tokens[significant[position - 1]][0] in Name:
                    defining = position >= 2 and tokens[significant[position - 2]][1] in DEFINING
                    return tokens[significant[position - 1]][1], commas + 1, defining
                return None
            depth -= 1
        elif value == "," and depth == 0:
            commas += 1
    return None


def _describe(tokens: list[tuple[Any, str, int]], first: int, literal_index: dict[int, str]) -> str | None:
    """What the literal at tokens[first] is bound to, or None when the line does not say."""
    from pygments.token import Keyword, Name, String

    significant = [i for i in range(first) if tokens[i][1].strip()]
    if not significant:
        return None
    previous = tokens[significant[-1]]
    if previous[1].strip() in ("=", ":", ":=", "=>") and len(significant) >= 2:
        holder_index = significant[-2]
        holder = tokens[holder_index]
        if (holder[0] in Name or holder[0] in Keyword.Type) and holder[0] not in Name.Builtin:
            call = _enclosing_call(tokens, significant[:-2]) if previous[1].strip() == "=" else None
            if call is None:
                return f"assigned to {holder[1]}"
            return (
                f"given as the default of {holder[1]} in {call[0]}"
                if call[2]
                else f"passed as {holder[1]} to {call[0]}"
            )
        if holder[0] in String and holder_index in literal_index:
            return f"given for the key {literal_index[holder_index]!r}"
        return None
    if previous[1].strip() in ("(", ","):
        call = _enclosing_call(tokens, significant)
        return f"passed to {call[0]} as argument {call[1]}" if call and not call[2] else None
    if previous[0] in Keyword and previous[1] == "return":
        return "returned"
    return None


def literals(path: str, text: str, language: str, tab_size: int) -> list[Literal]:
    """The file's single-line string and number literals that the line says something about."""
    found: list[Literal] = []
    source = text.split("\n")
    for line, tokens in _line_tokens(text, language).items():
        groups = list(_literal_groups(tokens))
        keys = {i: value for first, last, value, number in groups if not number for i in range(first, last + 1)}
        for first, _, value, _ in groups:
            if not value or "\t" in value or "\n" in value or "`" in value:
                continue
            description = _describe(tokens, first, keys)
            if description is None:
                continue
            drawn = drawn_text(source[line - 1], tab_size)
            start = tokens[first][2]
            prefix = source[line - 1][:start].expandtabs(tab_size).strip()
            if len(prefix) > PREFIX_CHARS:
                prefix = prefix[:PREFIX_CHARS].rstrip()
            if "`" in prefix or value not in drawn:
                continue
            found.append(Literal(path, line, value, value_kind(value), description, prefix))
    return found


# --- export -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportSummary:
    out: Path
    target: str
    generation: int
    pages: int
    tasks: int
    by_kind: dict[str, int]


@dataclass
class _PageTasks:
    page: PageRow
    lines: list[ShownLine]
    tasks: list[dict[str, Any]] = field(default_factory=list)


class _TaskMaker:
    """Chooses one page's tasks from the lines it shows in full."""

    def __init__(
        self, lines: list[ShownLine], sources: dict[str, list[str]], files: dict[str, FileRow],
        secret_lines: set[tuple[str, int]], tab_size: int, rng: random.Random,
    ) -> None:  # fmt: skip
        self.rng = rng
        self.whole = [s for s in lines if s.whole and s.text.strip()]
        self.sources, self.files, self.secret_lines, self.tab_size = sources, files, secret_lines, tab_size
        self.used: set[tuple[str, int]] = set()
        self._literals: dict[str, list[Literal]] = {}

    def _free(self, items: Iterable[ShownLine]) -> list[ShownLine]:
        return [s for s in items if (s.path, s.line) not in self.used]

    def make(self, kind: str) -> dict[str, Any] | None:
        task: dict[str, Any] | None = getattr(self, f"_{kind}")()
        if task is not None:
            task["kind"] = kind
        return task

    def _transcribe(self) -> dict[str, Any] | None:
        runs: list[list[ShownLine]] = []
        for shown in self.whole:
            if runs and runs[-1][-1].path == shown.path and runs[-1][-1].line + 1 == shown.line:
                runs[-1].append(shown)
            else:
                runs.append([shown])
        low, high = TRANSCRIBE_LINES
        runs = [r for r in runs if len(r) >= low]
        fresh = [r for r in runs if not any((s.path, s.line) in self.used for s in r)]
        if not runs:
            return None
        run = self.rng.choice(fresh or runs)
        size = self.rng.randint(low, min(high, len(run)))
        start = self.rng.randrange(len(run) - size + 1)
        chosen = run[start : start + size]
        self.used.update((s.path, s.line) for s in chosen)
        first, last = chosen[0].line, chosen[-1].line
        return {
            "question": f"Transcribe lines {first}-{last} of {chosen[0].path} exactly as shown ({size} lines).",
            "path": chosen[0].path, "first_line": first, "last_line": last, "truth": [s.text for s in chosen],
        }  # fmt: skip

    def _line(self) -> dict[str, Any] | None:
        candidates = self._free(s for s in self.whole if len(normalise(s.text)) >= MIN_LINE_CHARS)
        if not candidates:
            return None
        shown = self.rng.choice(candidates)
        self.used.add((shown.path, shown.line))
        return {"question": f"Write line {shown.line} of {shown.path} exactly.", "path": shown.path,
                "line": shown.line, "truth": shown.text}  # fmt: skip

    def _locate(self) -> dict[str, Any] | None:
        counts: dict[str, dict[str, int]] = {}
        candidates = []
        for shown in self._free(self.whole):
            if sum(not c.isspace() for c in shown.text) < MIN_LOCATE_CHARS or "`" in shown.text:
                continue
            if shown.path not in counts:
                per_line: dict[str, int] = {}
                for line in self.sources[shown.path]:
                    key = normalise(line)
                    per_line[key] = per_line.get(key, 0) + 1
                counts[shown.path] = per_line
            if counts[shown.path].get(normalise(shown.text)) == 1:
                candidates.append(shown)
        if not candidates:
            return None
        shown = self.rng.choice(candidates)
        self.used.add((shown.path, shown.line))
        return {"question": f"Give the line number of this line of {shown.path}: `{shown.text.strip()}`",
                "path": shown.path, "line": shown.line, "truth": str(shown.line)}  # fmt: skip

    def _value(self) -> dict[str, Any] | None:
        whole = {(s.path, s.line) for s in self.whole}
        found: list[Literal] = []
        for path in dict.fromkeys(s.path for s in self.whole):
            row = self.files.get(path)
            if row is None:
                continue
            if path not in self._literals:
                self._literals[path] = literals(path, "\n".join(self.sources[path]), row.language, self.tab_size)
            found += [
                lit for lit in self._literals[path]
                if (path, lit.line) in whole and (path, lit.line) not in self.secret_lines
            ]  # fmt: skip
        fresh = [lit for lit in found if (lit.path, lit.line) not in self.used]
        pool = fresh or found
        if not pool:
            return None
        best = min(KIND_RANK[lit.kind] for lit in pool)
        literal = self.rng.choice([lit for lit in pool if KIND_RANK[lit.kind] == best])
        self.used.add((literal.path, literal.line))
        same = [lit for lit in found if (lit.path, lit.line, lit.description) == (literal.path, literal.line,
                                                                                   literal.description)]  # fmt: skip
        which = ""
        if len(same) > 1:
            which = f" (the {_ordinal(same.index(literal) + 1)} such value on that line)"
        where = f"on line {literal.line} of {literal.path}"
        if literal.prefix:
            where += f", the line that starts `{literal.prefix}`"
        return {
            "question": f"What is the exact value {literal.description} {where}?{which} Give the value only, "
                        "without quotes.",
            "path": literal.path, "line": literal.line, "truth": literal.value, "value_kind": literal.kind,
        }  # fmt: skip


def _ordinal(number: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(number, f"{number}th")


def _spread(pages_by_module: dict[str, list[PageRow]], rng: random.Random) -> list[PageRow]:
    """Every page, in an order that takes one random page of each module in turn (modules shuffled)."""
    order = list(pages_by_module)
    rng.shuffle(order)
    queues = {name: rng.sample(pages, len(pages)) for name, pages in pages_by_module.items()}
    spread: list[PageRow] = []
    while any(queues.values()):
        for name in order:
            if queues[name]:
                spread.append(queues[name].pop())
    return spread


def _layout(settings: str) -> LayoutSettings | None:
    try:
        layout = json.loads(settings)["layout"]
        return LayoutSettings(**layout)
    except (ValueError, KeyError, TypeError):
        return None


def export_benchmark(
    store: Store,
    target: str,
    out: Path,
    *,
    pages: int = DEFAULT_PAGES,
    tasks_per_page: int = DEFAULT_TASKS_PER_PAGE,
    seed: int = DEFAULT_SEED,
    modules: Sequence[str] | None = None,
    kinds: Sequence[str] = TASK_KINDS,
    with_glossary: bool = False,
) -> ExportSummary:
    """Write a benchmark of `pages` pages of the current `target` generation into `out`.

    `kinds` limits the task kinds asked. `with_glossary` gives each page the exact-string text that a
    pack sends beside its module's pages (codectx.glossary), as a text file the reader may read."""
    if pages < 1 or tasks_per_page < 1:
        raise BenchmarkError("--pages and --tasks-per-page must be at least 1")
    if not kinds or set(kinds) - set(TASK_KINDS):
        raise BenchmarkError(f"--kinds takes some of {', '.join(TASK_KINDS)}")
    if (out / TASKS_DIR).exists() or (out / KEY_FILE).exists():
        raise BenchmarkError(f"{out} already holds a benchmark: choose another --out or remove it")
    generation = store.require_generation(target)
    layout = _layout(generation.settings)
    tab_size = layout.tab_size if layout else 4
    names = [m.name for m in store.modules(generation.id) if m.pages]
    if modules:
        unknown = [m for m in modules if m not in names]
        if unknown:
            close = [n for n in names if any(u.lower() in n.lower() for u in unknown)][:10]
            hint = f"; did you mean: {', '.join(close)}" if close else "; `codectx stats` lists modules"
            raise BenchmarkError(f"unknown module {unknown[0]!r}{hint}")
        names = [n for n in names if n in modules]
    pages_by_module = {name: store.module_pages(generation.id, name) for name in names}
    files = {row.path: row for row in store.files(generation.id)}
    secret_lines = {(path, span.line) for path, span in store.secrets(generation.id)}
    rng = random.Random(seed)
    sources: dict[str, list[str]] = {}
    chosen: list[_PageTasks] = []
    for page in _spread(pages_by_module, rng):
        if len(chosen) == pages:
            break
        module_pages = pages_by_module[page.module]
        following = module_pages[page.page_no + 1] if page.page_no + 1 < len(module_pages) else None
        needed = {path for path, _, _ in _code_rows(page.line_map)} - sources.keys()
        texts = store.source_texts(files[p].sha256 for p in needed if p in files)
        for path in needed:
            if path in files and files[path].sha256 in texts:
                sources[path] = texts[files[path].sha256].split("\n")
        lines = shown_lines(page, following, sources, tab_size)
        maker = _TaskMaker(
            lines, sources, files, secret_lines, tab_size, random.Random(f"{seed}:{page.module}:{page.page_no}")
        )
        planned = [kinds[i % len(kinds)] for i in range(tasks_per_page)]
        page_tasks = _PageTasks(page, lines)
        for kind in planned:
            for attempt in [*kinds[kinds.index(kind) :], *kinds[: kinds.index(kind)]]:
                task = maker.make(attempt)
                if task is not None:
                    page_tasks.tasks.append(task)
                    break
        if page_tasks.tasks:
            chosen.append(page_tasks)
    if not chosen:
        raise BenchmarkError("no page of the index shows a line a task can ask about")
    ordinal = {m.name: m.ordinal for m in store.modules(generation.id)}
    chosen.sort(key=lambda p: (ordinal.get(p.page.module, 0), p.page.module, p.page.page_no))
    glossaries = None
    if with_glossary:  # as a pack sends it beside the module's full pages: capped (codectx.pack.GLOSSARY_SHARE)
        basis = pack_basis(store, generation.id)
        glossaries = {m.row.name: capped_glossary(basis, m, m.row.vision_tokens).text for m in basis.modules}
    return _write(out, store, target, generation.id, layout, chosen, glossaries)


def _write(
    out: Path, store: Store, target: str, generation: int, layout: LayoutSettings | None, chosen: list[_PageTasks],
    glossaries: dict[str, str] | None = None,
) -> ExportSummary:  # fmt: skip
    images = out / TASKS_DIR / "pages"
    images.mkdir(parents=True, exist_ok=True)
    tasks: list[dict[str, Any]] = []
    key_tasks: list[dict[str, Any]] = []
    key_pages: list[dict[str, Any]] = []
    for number, page_tasks in enumerate(chosen, start=1):
        page = page_tasks.page
        image = f"pages/page-{number:03d}.png"
        blob = store.pages.path_for(page.blob)
        try:
            shutil.copyfile(blob, out / TASKS_DIR / image)
        except OSError:
            raise BenchmarkError(f"page {page.page_no + 1} of {page.module} is missing from the page store: "
                                 "the index is being rebuilt; retry") from None  # fmt: skip
        key_pages.append({
            "image": image, "module": page.module, "page": page.page_no + 1, "blob": page.blob,
            "lines": [[s.path, s.line, s.text] for s in page_tasks.lines],
        })  # fmt: skip
        text: dict[str, str] = {}
        if glossaries is not None:
            text = {"text": f"text/page-{number:03d}.txt"}
            (out / TASKS_DIR / "text").mkdir(exist_ok=True)
            glossary = glossaries.get(page.module) or f"No exact strings are listed for {page.module}.\n"
            (out / TASKS_DIR / text["text"]).write_text(glossary, encoding="utf-8")
        for task in page_tasks.tasks:
            task_id = f"t{len(tasks) + 1:03d}"
            question = task.pop("question")
            tasks.append({"id": task_id, "image": image, **text, "kind": task["kind"], "question": question})
            key_tasks.append({"id": task_id, "image": image, **task})
    page_tokens = chosen[0].page.vision_tokens
    layout_key = layout.key() if layout else ""
    header = {"version": FORMAT_VERSION, "target": target, "layout": layout_key, "page_tokens": page_tokens}
    instructions = INSTRUCTIONS + (GLOSSARY_NOTE if glossaries is not None else "")
    manifest = header | {"instructions": instructions, "tasks": tasks}
    key = header | {"generation": generation, "pages": key_pages, "tasks": key_tasks}
    write_json(out / TASKS_DIR / TASKS_FILE, manifest)
    write_json(out / KEY_FILE, key)
    by_kind = {kind: sum(1 for t in tasks if t["kind"] == kind) for kind in TASK_KINDS}
    return ExportSummary(out, target, generation, len(chosen), len(tasks), by_kind)


# --- scoring ------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Counts and scores of a set of tasks (all, one kind or one page)."""

    tasks: int = 0
    answered: int = 0
    missing: int = 0
    invalid: int = 0
    correct: int = 0
    content: Score = field(default_factory=lambda: Score(0, 0))
    strict: Score = field(default_factory=lambda: Score(0, 0))
    lines: list[int] = field(default_factory=lambda: [0, 0])  # line tasks: exact, asked
    locate: list[int] = field(default_factory=lambda: [0, 0])
    values: list[int] = field(default_factory=lambda: [0, 0])

    def as_json(self) -> dict[str, Any]:
        def rate(pair: list[int]) -> float | None:
            return round(pair[0] / pair[1], 4) if pair[1] else None

        return {
            "tasks": self.tasks, "answered": self.answered, "missing": self.missing, "invalid": self.invalid,
            "correct": self.correct, "task_accuracy": round(self.correct / self.tasks, 4) if self.tasks else None,
            "content_accuracy": round(self.content.accuracy, 4) if self.content.chars else None,
            "strict_accuracy": round(self.strict.accuracy, 4) if self.strict.chars else None,
            "exact_line_rate": rate(self.lines), "locate_rate": rate(self.locate), "value_recall": rate(self.values),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class TaskScore:
    id: str
    kind: str
    image: str
    answered: bool
    correct: bool
    content: Score | None = None
    strict: Score | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "kind": self.kind, "image": self.image, "answered": self.answered,
                                "correct": self.correct}  # fmt: skip
        if self.content is not None and self.strict is not None:
            data["content_accuracy"] = round(self.content.accuracy, 4)
            data["strict_accuracy"] = round(self.strict.accuracy, 4)
        return data


@dataclass
class ScoreReport:
    benchmark: Path
    answers_dir: Path
    target: str
    layout: str
    page_tokens: int
    problems: list[str]
    unknown: list[str]
    overall: Tally
    by_kind: dict[str, Tally]
    by_page: dict[str, Tally]
    pages: dict[str, dict[str, Any]]
    tasks: list[TaskScore]

    def as_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION, "benchmark": str(self.benchmark), "answers": str(self.answers_dir),
            "target": self.target, "layout": self.layout, "page_tokens": self.page_tokens,
            "problems": self.problems, "unknown_ids": self.unknown,
            "overall": self.overall.as_json(),
            "by_kind": {kind: tally.as_json() for kind, tally in self.by_kind.items()},
            "by_page": [
                {"image": image, **self.pages[image], **tally.as_json()} for image, tally in self.by_page.items()
            ],
            "tasks": [task.as_json() for task in self.tasks],
        }  # fmt: skip


def _read_json(path: Path, what: str) -> Any:
    return read_json(path, BenchmarkError, f"pass the folder that `codectx readbench export` wrote ({what})")


def load_key(benchmark: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The key and the reader's task list of a benchmark folder; BenchmarkError when either is unusable."""
    if not benchmark.is_dir():
        raise BenchmarkError(f"{benchmark} is not a folder: pass the folder that `codectx readbench export` wrote")
    key = _read_json(benchmark / KEY_FILE, "the key")
    manifest = _read_json(benchmark / TASKS_DIR / TASKS_FILE, "the tasks folder")
    if not isinstance(key, dict) or key.get("version") != FORMAT_VERSION or not isinstance(key.get("tasks"), list):
        raise BenchmarkError(f"{benchmark / KEY_FILE} is not a version {FORMAT_VERSION} benchmark key")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("tasks"), list):
        raise BenchmarkError(f"{benchmark / TASKS_DIR / TASKS_FILE} is not a version {FORMAT_VERSION} task list")
    key_ids = [t.get("id") for t in key["tasks"] if isinstance(t, dict)]
    task_ids = [t.get("id") for t in manifest["tasks"] if isinstance(t, dict)]
    if key_ids != task_ids or len(key_ids) != len(key["tasks"]):
        raise BenchmarkError(f"{benchmark / KEY_FILE} and {TASKS_DIR}/{TASKS_FILE} list different tasks")
    return key, key["tasks"]


def load_answers(
    answers_dir: Path, tasks: Sequence[dict[str, Any]]
) -> tuple[dict[str, str], list[str], list[str], set[str]]:
    """(valid answers by id, problems, unknown ids, ids with an invalid answer); never raises for bad content."""
    kinds = {t["id"]: t["kind"] for t in tasks}
    path = answers_dir / ANSWERS_FILE
    if not answers_dir.is_dir():
        return {}, [f"{answers_dir} is not a folder: every task is scored as unanswered"], [], set()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, [f"{path} does not exist: every task is scored as unanswered"], [], set()
    except UnicodeDecodeError as error:
        return {}, [f"{path} is not UTF-8 text ({error.reason} at byte {error.start}): every task is scored as "
                    "unanswered"], [], set()  # fmt: skip
    except json.JSONDecodeError as error:
        return {}, [f"{path} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}): every "
                    "task is scored as unanswered"], [], set()  # fmt: skip
    except OSError as error:
        return {}, [f"{path} cannot be read ({error.strerror}): every task is scored as unanswered"], [], set()
    if not isinstance(data, dict):
        found = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
            type(data), "null"
        )
        return {}, [f"{path} holds {found}, not an object mapping task ids to answers: every task is scored as "
                    "unanswered"], [], set()  # fmt: skip
    answers: dict[str, str] = {}
    problems: list[str] = []
    invalid: set[str] = set()
    unknown = sorted(k for k in data if k not in kinds)
    for task_id, value in data.items():
        if task_id not in kinds:
            continue
        if isinstance(value, str):
            answers[task_id] = value
        elif kinds[task_id] == "locate" and isinstance(value, int) and not isinstance(value, bool):
            answers[task_id] = str(value)
        else:
            invalid.add(task_id)
    if invalid:
        problems.append(f"{len(invalid)} answers are not strings, scored as wrong: {_listing(sorted(invalid))}")
    if unknown:
        problems.append(f"{len(unknown)} answers are for unknown task ids, ignored: {_listing(unknown)}")
    missing = [t for t in kinds if t not in answers and t not in invalid]
    if missing:
        problems.append(f"{len(missing)} tasks are unanswered, scored as wrong: {_listing(missing)}")
    return answers, problems, unknown, invalid


def _listing(ids: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


_FENCE = re.compile(r"^\s*```[^\n]*\n(.*?)\n?```\s*$", re.DOTALL)
_LOCATE = re.compile(r"^\s*(?:line\s*)?(\d+)\s*\.?\s*$", re.IGNORECASE)


def answer_lines(answer: str) -> list[str]:
    """An answer's non-blank lines, normalised; one surrounding code fence is dropped."""
    fenced = _FENCE.match(answer)
    if fenced:
        answer = fenced.group(1)
    return [n for n in (normalise(line) for line in answer.splitlines()) if n]


def clean_value(answer: str) -> str:
    """An answer to a value task without surrounding blanks, backticks and one pair of matching quotes."""
    value = answer.strip().strip("`").strip()
    for quote in _QUOTES:
        if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
            return value[len(quote) : -len(quote)]
    return value


def content_score(truth: Sequence[str], answer: Sequence[str], page_lines: Sequence[str]) -> Score:
    """Answered lines against their best-matching page lines; truth characters not accounted for are errors."""
    chars = sum(len(t) for t in truth)
    errors = matched = 0
    candidates = sorted(set(page_lines) or set(truth))
    for line in answer:
        distance, best = _best_match(line, candidates)
        errors += distance
        matched += len(best)
    errors += max(0, chars - matched)
    return Score(chars, min(errors, chars))


def _best_match(line: str, candidates: Sequence[str]) -> tuple[int, str]:
    """(edit distance, candidate) of the closest candidate, the smaller candidate on ties."""
    best = (edit_distance(line, candidates[0]), candidates[0])
    for candidate in sorted(candidates, key=lambda c: abs(len(c) - len(line))):
        if abs(len(candidate) - len(line)) > best[0]:
            break  # the length difference bounds the distance from below
        best = min(best, (edit_distance(line, candidate), candidate))
    return best


def strict_score(truth: Sequence[str], answer: Sequence[str]) -> Score:
    """Answer line i against truth line i; lines beyond the truth count as errors."""
    chars = sum(len(t) for t in truth)
    errors = sum(edit_distance(t, answer[i] if i < len(answer) else "") for i, t in enumerate(truth))
    errors += sum(len(extra) for extra in answer[len(truth) :])
    return Score(chars, min(errors, chars))


def score_task(task: dict[str, Any], answer: str | None, page_lines: Sequence[str]) -> TaskScore:
    kind, task_id, image = task["kind"], task["id"], task["image"]
    if kind in TEXT_KINDS:
        truth_raw = task["truth"] if isinstance(task["truth"], list) else [task["truth"]]
        truth = [normalise(t) for t in truth_raw]
        lines = answer_lines(answer) if answer is not None else []
        content = content_score(truth, lines, page_lines)
        strict = strict_score(truth, lines)
        return TaskScore(task_id, kind, image, answer is not None, lines == truth, content, strict)
    if answer is None:
        return TaskScore(task_id, kind, image, False, False)
    if kind == "locate":
        match = _LOCATE.match(clean_value(answer))
        return TaskScore(task_id, kind, image, True, match is not None and int(match.group(1)) == task["line"])
    return TaskScore(task_id, kind, image, True, clean_value(answer) == task["truth"])


def _add(tally: Tally, scored: TaskScore, invalid: bool) -> None:
    tally.tasks += 1
    tally.answered += scored.answered
    tally.invalid += invalid
    tally.missing += not scored.answered and not invalid
    tally.correct += scored.correct
    if scored.content is not None and scored.strict is not None:
        tally.content += scored.content
        tally.strict += scored.strict
    counter = {"line": tally.lines, "locate": tally.locate, "value": tally.values}.get(scored.kind)
    if counter is not None:
        counter[0] += scored.correct
        counter[1] += 1


def score_benchmark(benchmark: Path, answers_dir: Path) -> ScoreReport:
    """Score ANSWERS_DIR/answers.json against the key of `benchmark`; problems with the answers are reported."""
    key, tasks = load_key(benchmark)
    answers, problems, unknown, invalid = load_answers(answers_dir, tasks)
    page_lines: dict[str, list[str]] = {}
    pages: dict[str, dict[str, Any]] = {}
    for page in key.get("pages", []):
        page_lines[page["image"]] = [n for n in (normalise(text) for _, _, text in page["lines"]) if n]
        pages[page["image"]] = {"module": page.get("module", ""), "page": page.get("page", 0)}
    report = ScoreReport(
        benchmark, answers_dir, str(key.get("target", "")), str(key.get("layout", "")), int(key.get("page_tokens", 0)),
        problems, unknown, Tally(), {kind: Tally() for kind in TASK_KINDS}, {image: Tally() for image in pages}, pages,
        [],
    )  # fmt: skip
    for task in tasks:
        scored = score_task(task, answers.get(task["id"]), page_lines.get(task["image"], []))
        report.tasks.append(scored)
        bad = task["id"] in invalid
        for tally in (report.overall, report.by_kind[task["kind"]], report.by_page.setdefault(task["image"], Tally())):
            _add(tally, scored, bad)
    report.by_kind = {kind: tally for kind, tally in report.by_kind.items() if tally.tasks}
    return report


# --- command line ----------------------------------------------------------------------------------


def add_readbench_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`codectx readbench export | score`."""
    about = "The blind reading benchmark: export page images with questions; score a reader's answers."
    readbench = commands.add_parser("readbench", help=about, description=about)
    actions = readbench.add_subparsers(dest="readbench_command", required=True, metavar="ACTION")
    export_help = "Write a seeded sample of pages, questions (DIR/tasks) and their answers (DIR/key.json)."
    export = actions.add_parser("export", help=export_help, description=export_help)
    export.add_argument("path", nargs="?", default=".", metavar="ROOT", help="repository root (default: .)")
    export.add_argument("--target", "-t", default=DEFAULT_TARGET, choices=sorted(TARGETS), metavar="T",
                        help=f"whose pages to sample (default: {DEFAULT_TARGET})")  # fmt: skip
    export.add_argument("--out", "-o", required=True, metavar="DIR", help="benchmark folder to write")
    export.add_argument("--pages", type=int, default=DEFAULT_PAGES, metavar="K",
                        help=f"pages to sample, spread over modules (default: {DEFAULT_PAGES})")  # fmt: skip
    export.add_argument("--tasks-per-page", type=int, default=DEFAULT_TASKS_PER_PAGE, metavar="N",
                        help=f"tasks per page, kinds in turn (default: {DEFAULT_TASKS_PER_PAGE})")  # fmt: skip
    export.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"sample seed (default: {DEFAULT_SEED})")
    export.add_argument("--store", help="index folder (default: <root>/.codectx)")
    export.add_argument("--module", "-m", action="append", metavar="M", help="sample only this module (repeatable)")
    export.add_argument("--kinds", metavar="K,K", help=f"task kinds to ask (default: {','.join(TASK_KINDS)})")
    export.add_argument(
        "--with-glossary", action="store_true",
        help="give each page the exact strings a pack sends beside it, as a text file",
    )  # fmt: skip
    export.add_argument("--json", action="store_true", help="print machine-readable JSON")
    export.set_defaults(handler=run_export)
    score_help = "Score ANSWERS_DIR/answers.json against DIR/key.json; also write ANSWERS_DIR/score.json."
    score = actions.add_parser("score", help=score_help, description=score_help)
    score.add_argument("path", metavar="DIR", help="the folder `readbench export` wrote")
    score.add_argument("answers", metavar="ANSWERS_DIR", help="folder holding answers.json")
    score.add_argument("--json", action="store_true", help="print machine-readable JSON")
    score.set_defaults(handler=run_score)


def _usage_error(message: str) -> Exception:
    from codectx.cli import UsageError

    return UsageError(message)


def run_export(args: argparse.Namespace) -> int:
    root = Path(args.path).expanduser()
    if not root.is_dir():
        raise _usage_error(f"{root} is not a directory: pass the repository's root folder")
    root = root.resolve()
    store_dir = Path(args.store).expanduser().resolve() if args.store else default_store_dir(root)
    store_option = f" --store {args.store}" if args.store else ""
    build = f"`codectx index {root} --target {args.target}{store_option}`"
    try:
        store = Store.open(store_dir, create=False)
    except NoIndexError:
        raise _usage_error(f"no index in {store_dir}: run {build} first") from None
    with store:
        if store.current_generation(args.target) is None:
            raise _usage_error(f"no index for target {args.target!r} in {store_dir}: run {build} first")
        try:
            summary = export_benchmark(
                store, args.target, Path(args.out).expanduser(), pages=args.pages, tasks_per_page=args.tasks_per_page,
                seed=args.seed, modules=args.module, kinds=args.kinds.split(",") if args.kinds else TASK_KINDS,
                with_glossary=args.with_glossary,
            )  # fmt: skip
        except BenchmarkError as error:
            raise _usage_error(str(error)) from None
    data = {"out": str(summary.out), "tasks_dir": str(summary.out / TASKS_DIR), "key": str(summary.out / KEY_FILE),
            "target": summary.target, "generation": summary.generation, "pages": summary.pages,
            "tasks": summary.tasks, "by_kind": summary.by_kind}  # fmt: skip
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        kinds = ", ".join(f"{n} {kind}" for kind, n in summary.by_kind.items() if n)
        print(f"{summary.tasks} tasks ({kinds}) on {summary.pages} pages in {summary.out / TASKS_DIR}; "
              f"the key is {summary.out / KEY_FILE} (keep it from the reader)")  # fmt: skip
    return 0


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def run_score(args: argparse.Namespace) -> int:
    benchmark, answers_dir = Path(args.path).expanduser(), Path(args.answers).expanduser()
    try:
        report = score_benchmark(benchmark, answers_dir)
    except BenchmarkError as error:
        raise _usage_error(str(error)) from None
    keep_score(answers_dir, report.as_json(), args.json)
    if not args.json:
        _print_report(report)
    return 1 if report.problems else 0


def keep_score(answers_dir: Path, data: dict[str, Any], as_json: bool) -> None:
    """Write the score beside the answers it scores (they are benchmark data together); print it as JSON."""
    if answers_dir.is_dir():
        write_json(answers_dir / SCORE_FILE, data)
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))


def _print_report(report: ScoreReport) -> None:
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    for problem in report.problems:
        console.print(f"[bold]problem:[/bold] {escape(problem)}")
    columns = ("tasks", "missing", "right", "content", "strict", "line", "locate", "value")
    metrics = ("content_accuracy", "strict_accuracy", "exact_line_rate", "locate_rate", "value_recall")

    def row(tally: Tally) -> list[str]:
        data = tally.as_json()
        counts = [str(tally.tasks), str(tally.missing + tally.invalid), str(tally.correct)]
        return counts + [_percent(data[metric]) for metric in metrics]

    title = f"codectx readbench · {escape(report.target)} · {report.page_tokens} tokens per page · rates in %"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column("", no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right", min_width=len(column), no_wrap=True)
    table.add_row("all", *row(report.overall))
    for kind, tally in report.by_kind.items():
        table.add_row(kind, *row(tally))
    for image, tally in report.by_page.items():
        table.add_row(escape(Path(image).stem), *row(tally))
    console.print(table)
    console.print(
        "content: characters read right, wherever placed; strict: the asked lines, in place; line: `line` tasks "
        "exactly right; locate: exact line numbers; value: exact values"
    )
    if report.answers_dir.is_dir():
        print(f"score: {report.answers_dir / SCORE_FILE}")  # a path to copy: never folded
