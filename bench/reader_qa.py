"""Answers, not characters: does codectx's pack help an assistant answer questions about a repository
it has never seen, compared with plain source text of the same token budget?

Questions are generated from the repository itself (best on code no model has seen, made with
bench/unseen_corpus.py), and every answer is either a `path:line` or an exact value:

- `definition`: "In which file and at which line is the function `NAME` defined?" for names defined
  exactly once in the repository (codectx's outlines from the index);
- `value`: "What is the exact value assigned to `NAME` in PATH?" for names (or dictionary keys)
  bound exactly once in their file to a string or number literal, the hardest first: UUIDs and
  digests, then hexadecimal and base64, then long numbers and random-looking strings.

Both kinds are spread over the whole repository by path. A reader gets one folder: the context
(`context.md`, with page images in `pages/` where the pack sends them), `questions.json` without the
answers and `instructions.md`. It writes `answers.json`, which `score` compares with the key.

    python bench/reader_qa.py questions ROOT --n 30 --seed 0 --out /tmp/qa/key.json
    python bench/reader_qa.py export-pack ROOT --budget 60000 --target claude --questions /tmp/qa/key.json \\
        --out /tmp/qa/pack
    python bench/reader_qa.py export-text ROOT --budget 60000 --questions /tmp/qa/key.json --out /tmp/qa/text
    # a reader works in /tmp/qa/pack alone (instructions.md says how) and writes answers.json there
    python bench/reader_qa.py score /tmp/qa/key.json /tmp/qa/pack [--json]

`questions` and `export-pack` first bring the repository's index up to date (`codectx index`; no
work when nothing changed). `questions` writes the key (questions with their answers) to --out and
the same questions without answers to `questions.json` beside it. `export-pack` calls the real MCP
tool `load_context(budget, target)` in process, with no query, and follows its cursor to the end of
the pack: text blocks go to `context.md` in order, each image to `pages/img-0001.png`, ...,
referenced in place as a line `[image pages/img-0001.png]`. `export-text` writes the files as an
assistant reading them would see them (path order, `==> path <==` headers, numbered lines), cut
where the cl100k count reaches the budget. Both write `export.json` (token totals; how many
questions' lines the context holds, without saying which). `score` counts a `path:line` answer when
both are exact (a leading `./`, backticks and blanks tolerated) and a value when it equals the
literal after blanks, backticks and one pair of quotes are stripped; it writes `score.json` beside
the answers, and exits with 1 when answers are missing or malformed (2 for an unusable key).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import re
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codectx.catalog import generation_ids, outlines
from codectx.jsonfiles import read_json, write_json
from codectx.mcp_server.output import MIN_MAX_TOKENS
from codectx.model.targets import DEFAULT_TARGET, TARGETS, get_target
from codectx.readbench import KIND_RANK, clean_value, keep_score, literals
from codectx.store import Store, default_store_dir
from codectx.tokens import count_tokens, count_tokens_batch

FORMAT = "codectx-reader-qa/1"
DEFAULT_QUESTIONS = 30
DEFAULT_SEED = 0
KINDS = ("definition", "value")
READER_QUESTIONS = "questions.json"
INSTRUCTIONS_FILE = "instructions.md"
CONTEXT_FILE = "context.md"
EXPORT_FILE = "export.json"
ANSWERS_FILE = "answers.json"
SCORE_FILE = "score.json"
UNANSWERED = "?"
# Definitions worth asking about; variables and constants are asked about by value.
DEFINITION_KINDS = frozenset(
    {"function", "class", "method", "struct", "interface", "trait", "enum", "type", "record", "constructor"}
)
MIN_NAME = 4  # characters of a name asked about
MAX_VALUE = 200  # characters of a value asked about
HARD_RANK = KIND_RANK["random_string"]  # uuid, digest, hex, base64, long numbers, random-looking strings
TEXT_HEADER = "==> {path} <=="
TAB_SIZE = 4

INSTRUCTIONS = """\
# Instructions

1. Read `context.md` from top to bottom. Where it says `[image X]` on a line of its own, view that image file
   (for example `pages/img-0001.png`) before reading on: it stands at that place in the context.
2. Answer every question in `questions.json` from this context only: no other files, tools or searches.
3. Write `answers.json` in this folder: one JSON object mapping every question id to its answer as a
   string, for example `{"q01": "pkg/util.py:42", "q02": "3f9a0c1e"}`.
   - A `definition` question is answered `path:line`: the file's path as the context names it and the
     1-based number of the line where the definition starts.
   - A `value` question is answered with the literal exactly as written in the source, without its quotes.
4. If the context does not contain the answer, give your best guess or `?`. Answer every question.
"""


class QAError(Exception):
    """A problem the user can fix (a missing folder, a malformed key); the message is one line."""


# --- the repository -------------------------------------------------------------------------------


def ensure_index(root: Path, target: str, store_dir: Path | None, workers: int | None = None) -> Path:
    """Bring the index of `root` for `target` up to date (no work when nothing changed); its folder."""
    from codectx.indexer import index_repository

    store_dir = store_dir or default_store_dir(root)
    index_repository(root, target=target, store_dir=store_dir, workers=workers)
    return store_dir


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: str  # definition | value
    question: str
    answer: str
    path: str
    line: int
    detail: str  # definition: the symbol's kind; value: the literal's kind (codectx.readbench.value_kind)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "question": self.question, "answer": self.answer,
                "path": self.path, "line": self.line, "detail": self.detail}  # fmt: skip

    def for_reader(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "question": self.question}


@dataclass(frozen=True, slots=True)
class _Candidate:
    kind: str
    path: str
    line: int
    rank: int  # lower is asked first
    question: str
    answer: str
    detail: str


def _definition_candidates(store: Store, generation: int, secret_lines: set[tuple[str, int]],
                           sources: dict[str, list[str]]) -> list[_Candidate]:  # fmt: skip
    shapes = outlines(store, generation_ids(store, generation))
    named: dict[str, int] = defaultdict(int)
    found: list[tuple[str, str, str, int]] = []  # path, qualified name, kind, line
    for path in sorted(shapes):
        qualified: list[str] = []
        for symbol in shapes[path].symbols:
            name = f"{qualified[symbol.parent]}.{symbol.name}" if symbol.parent >= 0 else symbol.name
            qualified.append(name)
            named[symbol.name] += 1
            found.append((path, name, symbol.kind, symbol.start_line))
    candidates: list[_Candidate] = []
    for path, qualified_name, kind, line in found:
        bare = qualified_name.rpartition(".")[2]
        lines = sources.get(path)
        if (
            kind not in DEFINITION_KINDS
            or named[bare] != 1  # defined once in the whole repository
            or qualified_name.count(".") > (kind == "method")  # top level, or a method of a top-level class
            or len(bare) < MIN_NAME
            or bare.startswith("__")
            or (path, line) in secret_lines
            or lines is None
            or not 1 <= line <= len(lines)
            or not re.search(rf"(?<![\w$]){re.escape(bare)}(?![\w$])", lines[line - 1])
        ):
            continue
        question = (f"In which file and at which line is the {kind} `{qualified_name}` defined? "
                    "Answer path:line (the line where its definition starts).")  # fmt: skip
        candidates.append(_Candidate("definition", path, line, 0, question, f"{path}:{line}", kind))
    return candidates


def _bound_once(lines: list[str], holder: str, is_key: bool) -> bool:
    """Whether the file binds `holder` (a name, or a dictionary key) on exactly one line."""
    name = re.escape(holder)
    if is_key:
        pattern = re.compile(rf"""(?:(?<![\w$])|["'`]){name}["'`]?\s*(?::|=>|=(?!=))""")
    else:
        pattern = re.compile(rf"(?<![\w$.]){name}\s*(?::[^=\n]*)?(?::=|=(?![=>]))|(?<![\w$.]){name}\s*:(?!:)")
    return sum(1 for line in lines if pattern.search(line)) == 1


_ASSIGNED = re.compile(r"^assigned to ([A-Za-z_$][\w$]*)$")
_KEYED = re.compile(r"^given for the key (['\"])(.+)\1$")


def _value_candidates(files: dict[str, str], sources: dict[str, list[str]],
                      secret_lines: set[tuple[str, int]]) -> list[_Candidate]:  # fmt: skip
    candidates: list[_Candidate] = []
    for path in sorted(files):
        lines = sources[path]
        found = literals(path, "\n".join(lines), files[path], TAB_SIZE)
        descriptions: dict[str, int] = defaultdict(int)
        for literal in found:
            descriptions[literal.description] += 1
        for literal in found:
            value = literal.value
            if (
                literal.kind == "short" or descriptions[literal.description] != 1 or (path, literal.line) in
                secret_lines or value != value.strip() or len(value) > MAX_VALUE or any(c in value for c in "\\\"'`")
            ):  # fmt: skip
                continue
            assigned, keyed = _ASSIGNED.match(literal.description), _KEYED.match(literal.description)
            if assigned:
                holder, what = assigned.group(1), f"assigned to `{assigned.group(1)}`"
            elif keyed:
                holder, what = keyed.group(2), f"given for the key `{keyed.group(2)}`"
            else:
                continue
            if len(holder) < MIN_NAME or "`" in holder or not _bound_once(lines, holder, keyed is not None):
                continue
            question = (f"What is the exact value {what} in {path}? "
                        "Answer the literal exactly as written, without quotes.")  # fmt: skip
            candidates.append(_Candidate("value", path, literal.line, KIND_RANK[literal.kind], question, value,
                                         literal.kind))  # fmt: skip
    return candidates


def spread(candidates: Sequence[_Candidate], count: int, rng: random.Random) -> list[_Candidate]:
    """`count` candidates spread over the whole repository by path: the sorted files are cut into
    `count` consecutive groups and each group gives one, in turn; within a group the hardest (lowest
    rank) wins, ties drawn at random. A group that runs dry leaves its turn to the others."""
    by_file: dict[str, list[_Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_file[candidate.path].append(candidate)
    files = sorted(by_file)
    if not files or count < 1:
        return []
    groups_count = min(count, len(files))
    groups = [files[i * len(files) // groups_count : (i + 1) * len(files) // groups_count] for i in
              range(groups_count)]  # fmt: skip
    pools = [[c for path in group for c in by_file[path]] for group in groups]
    chosen: list[_Candidate] = []
    taken: set[tuple[str, int]] = set()
    used_files: list[set[str]] = [set() for _ in groups]
    while len(chosen) < count and any(pools):
        for index, pool in enumerate(pools):
            if len(chosen) == count:
                break
            pool[:] = [c for c in pool if (c.path, c.line) not in taken]
            if not pool:
                continue
            fresh = [c for c in pool if c.path not in used_files[index]] or pool  # a new file of the group first
            best = min(c.rank for c in fresh)
            pick = rng.choice([c for c in fresh if c.rank == best])
            chosen.append(pick)
            taken.add((pick.path, pick.line))
            used_files[index].add(pick.path)
            pool.remove(pick)
    return chosen


def make_questions(store: Store, target: str, count: int = DEFAULT_QUESTIONS, seed: int = DEFAULT_SEED
                   ) -> list[Question]:  # fmt: skip
    """`count` questions about the current `target` generation: half definitions, half values (the other
    kind fills in where one runs short), spread by path, numbered in path order."""
    if count < 1:
        raise QAError("--n must be at least 1")
    generation = store.require_generation(target).id
    rows = store.files(generation)
    texts = store.source_texts({row.sha256 for row in rows})
    sources = {row.path: texts[row.sha256].split("\n") for row in rows if row.sha256 in texts}
    languages = {row.path: row.language for row in rows if row.path in sources}
    secret_lines = {(path, span.line) for path, span in store.secrets(generation)}
    definitions = _definition_candidates(store, generation, secret_lines, sources)
    values = _value_candidates(languages, sources, secret_lines)
    rng = random.Random(f"reader-qa:{seed}")
    wanted = {"definition": count // 2, "value": count - count // 2}
    # Two thirds are hard values spread over the files that hold them; the rest spread over every file
    # with a value, each stretch of the repository giving its hardest (plain words where it has nothing harder).
    hard_quota = wanted["value"] - wanted["value"] // 3
    chosen_values = spread([c for c in values if c.rank <= HARD_RANK], hard_quota, rng)
    taken = {(c.path, c.line) for c in chosen_values}
    rest = [c for c in values if (c.path, c.line) not in taken]
    chosen_values += spread(rest, wanted["value"] - len(chosen_values), rng)
    chosen_definitions = spread(definitions, count - len(chosen_values), rng)
    if len(chosen_values) + len(chosen_definitions) < count:  # too few definitions: more values
        taken = {(c.path, c.line) for c in chosen_values}
        more = [c for c in values if (c.path, c.line) not in taken]
        chosen_values += spread(more, count - len(chosen_values) - len(chosen_definitions), rng)
    chosen = sorted(chosen_definitions + chosen_values, key=lambda c: (c.path, c.line, c.kind))
    if not chosen:
        raise QAError("the repository has no definition or literal a question can ask about")
    width = max(2, len(str(len(chosen))))
    return [Question(f"q{i:0{width}d}", c.kind, c.question, c.answer, c.path, c.line, c.detail)
            for i, c in enumerate(chosen, start=1)]  # fmt: skip


def write_questions(questions: Sequence[Question], out: Path, target: str, seed: int) -> Path:
    """The key to `out`, the answer-free questions to `questions.json` beside it; returns the latter."""
    if out.name == READER_QUESTIONS:
        raise QAError(
            f"--out must not be named {READER_QUESTIONS}: that name is the answer-free copy written beside it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    key = {"format": FORMAT, "target": target, "seed": seed, "questions": [q.as_json() for q in questions]}
    write_json(out, key)
    reader = out.parent / READER_QUESTIONS
    _write_reader_questions(questions, reader)
    return reader


def _write_reader_questions(questions: Sequence[Question], path: Path) -> None:
    data = {"format": FORMAT, "answer_format": "answers.json: {question id: answer string}",
            "questions": [q.for_reader() for q in questions]}  # fmt: skip
    write_json(path, data)


def load_key(path: Path) -> list[Question]:
    """The questions and answers of a key written by `questions`; QAError when it is not one."""
    data = read_json(path, QAError, f"write it with `questions ROOT --out {path}`")
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("questions"), list):
        raise QAError(f"{path} is not a question key written by `questions` (format {FORMAT})")
    questions: list[Question] = []
    for item in data["questions"]:
        try:
            questions.append(Question(str(item["id"]), str(item["kind"]), str(item["question"]), str(item["answer"]),
                                      str(item["path"]), int(item["line"]), str(item.get("detail", ""))))  # fmt: skip
        except (KeyError, TypeError, ValueError):
            raise QAError(f"{path} holds a question without id, kind, question, answer, path and line") from None
        if questions[-1].kind not in KINDS:
            raise QAError(f"{path}: question {item['id']} has an unknown kind {item['kind']!r}")
    if not questions:
        raise QAError(f"{path} holds no questions")
    return questions


# --- exports ----------------------------------------------------------------------------------------


def _prepare_folder(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise QAError(f"{out} exists and is not an empty folder: choose another --out")
    out.mkdir(parents=True, exist_ok=True)


def _reader_files(out: Path, questions: Sequence[Question]) -> None:
    _write_reader_questions(questions, out / READER_QUESTIONS)
    (out / INSTRUCTIONS_FILE).write_text(INSTRUCTIONS, encoding="utf-8")


def _covers(questions: Sequence[Question], where: dict[tuple[str, int], str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for question in questions:
        counts[where.get((question.path, question.line), "absent")] += 1
    return dict(sorted(counts.items()))


_CURSOR = re.compile(r"cursor='([^']+)'")
_MAX_PARTS = 10_000


async def _load_context_parts(root: Path, store_dir: Path, target: str, budget: int,
                              max_tokens: int | None) -> list[list[Any]]:  # fmt: skip
    """Every result of load_context(budget, target) through the real MCP server, following the cursor."""
    from mcp import Client
    from mcp_types import TextContent

    from codectx.mcp_server.server import ServerConfig, build_server

    config = ServerConfig(root, store_dir, target) if max_tokens is None else ServerConfig(
        root, store_dir, target, max_tokens)  # fmt: skip
    parts: list[list[Any]] = []
    async with Client(build_server(config)) as client:  # type: ignore[arg-type, unused-ignore]
        arguments: dict[str, Any] = {"budget": budget, "target": target}
        seen: set[str] = set()
        while len(parts) < _MAX_PARTS:
            result = await client.call_tool("load_context", arguments)
            texts = [block.text for block in result.content if isinstance(block, TextContent)]
            if result.is_error:
                raise QAError("load_context failed: " + " ".join(texts))
            parts.append(list(result.content))
            found = _CURSOR.search(texts[-1]) if texts else None
            if found is None:
                return parts
            if found.group(1) in seen:
                raise QAError(f"load_context returned cursor {found.group(1)} twice")
            seen.add(found.group(1))
            arguments = {"budget": budget, "target": target, "cursor": found.group(1)}
    raise QAError(f"load_context did not end within {_MAX_PARTS} parts")


@dataclass(frozen=True, slots=True)
class PackExport:
    out: Path
    parts: int
    images: int
    text_tokens: int
    image_tokens: int
    pack_tokens: int  # the pack's own total (what the budget bounds): items without headers and notes
    covers: dict[str, int]

    @property
    def total_tokens(self) -> int:
        return self.text_tokens + self.image_tokens


def export_pack(root: Path, budget: int, target: str, out: Path, questions: Sequence[Question],
                store_dir: Path | None = None, max_tokens: int | None = None) -> PackExport:  # fmt: skip
    """What an assistant receives from load_context(budget, target), written in order into `out`."""
    import anyio
    from PIL import Image

    from codectx.pack import build_pack

    if budget < 1:
        raise QAError("--budget must be a positive number of tokens")
    if max_tokens is not None and max_tokens < MIN_MAX_TOKENS:
        raise QAError(f"--max-tokens must be at least {MIN_MAX_TOKENS}")
    root = root.resolve()
    store_dir = (store_dir or default_store_dir(root)).resolve()
    _prepare_folder(out)
    parts = anyio.run(_load_context_parts, root, store_dir, target, budget, max_tokens)
    (out / "pages").mkdir()
    cost = get_target(target).cost
    chunks: list[str] = []
    images = text_tokens = image_tokens = 0
    for part in parts:
        for block in part:
            if block.type == "image":
                images += 1
                name = f"pages/img-{images:04d}.png"
                data = base64.b64decode(block.data)
                (out / name).write_bytes(data)
                with Image.open(io.BytesIO(data)) as image:
                    image_tokens += cost(image.width, image.height)
                chunks.append(f"[image {name}]\n")
            elif block.type == "text":
                text_tokens += count_tokens(block.text)
                chunks.append(block.text if block.text.endswith("\n") else block.text + "\n")
            else:
                raise QAError(f"load_context returned a {block.type!r} block, which this export does not handle")
    (out / CONTEXT_FILE).write_text("\n".join(chunks), encoding="utf-8")
    with Store.open(store_dir, create=False) as store:
        pack = build_pack(store, target, budget)
    order = ("omitted", "outline", "reduced_pages", "pages", "glossary", "text")
    where: dict[tuple[str, int], str] = {}
    for item in pack.items:
        for span in item.ranges:
            for question in questions:
                if question.path == span.path and span.start_line <= question.line <= span.end_line:
                    key = (question.path, question.line)
                    if order.index(item.representation) > order.index(where.get(key, "omitted")):
                        where[key] = item.representation
    export = PackExport(
        out, len(parts), images, text_tokens, image_tokens, pack.total_tokens, _covers(questions, where)
    )
    _reader_files(out, questions)
    summary = {"kind": "pack", "target": target, "budget": budget, "parts": export.parts, "images": images,
               "text_tokens": text_tokens, "image_tokens": image_tokens, "total_tokens": export.total_tokens,
               "pack_tokens": export.pack_tokens, "questions_by_representation": export.covers}  # fmt: skip
    (out / EXPORT_FILE).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return export


@dataclass(frozen=True, slots=True)
class TextExport:
    out: Path
    tokens: int
    files: int  # files with at least one line in the context
    whole_files: int
    lines: int
    last_path: str | None  # the file the cut fell in, if any
    last_line: int
    covers: dict[str, int]


def numbered_lines(path: str, text: str) -> list[str]:
    """A file as the text context shows it: its header, then every line under its number."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    numbered = (f"{n:5d}| {line}\n" if line else f"{n:5d}|\n" for n, line in enumerate(lines, start=1))
    return [TEXT_HEADER.format(path=path) + "\n", *numbered]


def export_text(root: Path, budget: int, out: Path, questions: Sequence[Question]) -> TextExport:
    """The repository's files as plain numbered text, in path order, cut at `budget` cl100k tokens.

    The files are the ones codectx indexes (its ignore rules and languages), with detected secrets
    masked as everywhere else in codectx."""
    from codectx.scan import scan

    if budget < 1:
        raise QAError("--budget must be a positive number of tokens")
    _prepare_folder(out)
    files = sorted(scan(root.resolve()).files, key=lambda f: f.path)
    rows: list[tuple[str, int, str]] = []  # path, line (0 for a header), text
    totals: dict[str, int] = {}  # path -> lines
    estimate = 0  # the sum of the rows' own counts: close to the count of their joined text
    for source in files:
        shown = numbered_lines(source.path, source.text)
        totals[source.path] = len(shown) - 1
        rows += [(source.path, number, row) for number, row in enumerate(shown)]
        estimate += sum(count_tokens_batch(shown))
        if estimate > budget and count_tokens("".join(r[2] for r in rows)) > budget:
            break  # past the budget: the cut is among these rows
    low, high = 0, len(rows)  # the longest prefix within the budget, by exact count
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens("".join(r[2] for r in rows[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    kept = rows[:low]
    while kept and kept[-1][1] == 0:  # a header without any of its lines
        kept.pop()
    text = "".join(r[2] for r in kept)
    tokens = count_tokens(text)
    (out / CONTEXT_FILE).write_text(text, encoding="utf-8")
    last: dict[str, int] = {}
    for path, line, _ in kept:
        last[path] = max(last.get(path, 0), line)
    whole = sum(1 for path, line in last.items() if line >= totals[path])
    cut = next(((p, n) for p, n in last.items() if n < totals[p]), (None, 0))
    where = {(q.path, q.line): "text" for q in questions if 1 <= q.line <= last.get(q.path, 0)}
    export = TextExport(out, tokens, len(last), whole, sum(last.values()), cut[0], cut[1], _covers(questions, where))
    _reader_files(out, questions)
    summary = {"kind": "text", "budget": budget, "total_tokens": tokens, "files": export.files,
               "whole_files": whole, "repository_files": len(files), "lines": export.lines,
               "cut_in": cut[0], "cut_after_line": cut[1], "questions_by_representation": export.covers}  # fmt: skip
    (out / EXPORT_FILE).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return export


# --- scoring ------------------------------------------------------------------------------------------

_LOCATION = re.compile(r"^(.+?):(\d+)$")


def clean_location(answer: str) -> tuple[str, int] | None:
    """(path, line) of a `path:line` answer: blanks, backticks, one pair of quotes and a leading `./` are
    tolerated; None when it is not of that form."""
    match = _LOCATION.match(clean_value(answer).strip())
    if match is None:
        return None
    path = match.group(1).strip()
    while path.startswith("./"):
        path = path[2:]
    return path, int(match.group(2))


def is_right(question: Question, answer: str) -> bool:
    if question.kind == "definition":
        found, truth = clean_location(answer), clean_location(question.answer)
        return found is not None and found == truth
    return clean_value(answer) == question.answer


@dataclass
class Tally:
    questions: int = 0
    answered: int = 0  # with a valid answer, "?" included
    unknown: int = 0  # answered "?"
    correct: int = 0

    def as_json(self) -> dict[str, Any]:
        accuracy = self.correct / self.questions if self.questions else None
        return {"questions": self.questions, "answered": self.answered, "unknown": self.unknown,
                "correct": self.correct, "accuracy": accuracy}  # fmt: skip


@dataclass
class ScoreReport:
    key: Path
    answers_dir: Path
    problems: list[str]
    overall: Tally
    by_kind: dict[str, Tally]
    by_detail: dict[str, Tally]
    wrong: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"key": str(self.key), "answers": str(self.answers_dir / ANSWERS_FILE), "problems": self.problems,
                "overall": self.overall.as_json(), "by_kind": {k: t.as_json() for k, t in self.by_kind.items()},
                "by_detail": {k: t.as_json() for k, t in self.by_detail.items()}, "wrong": self.wrong}  # fmt: skip


def load_answers(answers_dir: Path, questions: Sequence[Question]) -> tuple[dict[str, str], list[str]]:
    """(valid answers by id, problems); never raises for bad content."""
    path = answers_dir / ANSWERS_FILE
    every = "every question is scored as unanswered"
    if not answers_dir.is_dir():
        return {}, [f"{answers_dir} is not a folder: {every}"]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, [f"{path} does not exist: {every}"]
    except UnicodeDecodeError as error:
        return {}, [f"{path} is not UTF-8 text ({error.reason} at byte {error.start}): {every}"]
    except json.JSONDecodeError as error:
        return {}, [f"{path} is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}): {every}"]
    except OSError as error:
        return {}, [f"{path} cannot be read ({error.strerror}): {every}"]
    if not isinstance(data, dict):
        found = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
            type(data), "null"
        )
        return {}, [f"{path} holds {found}, not an object mapping question ids to answers: {every}"]
    ids = {q.id for q in questions}
    answers: dict[str, str] = {}
    invalid: list[str] = []
    for question_id, value in data.items():
        if question_id not in ids:
            continue
        if isinstance(value, str):
            answers[question_id] = value
        elif isinstance(value, int) and not isinstance(value, bool):
            answers[question_id] = str(value)
        else:
            invalid.append(question_id)
    problems: list[str] = []
    if invalid:
        problems.append(f"{len(invalid)} answers are not strings, scored as wrong: {', '.join(sorted(invalid))}")
    unknown = sorted(k for k in data if k not in ids)
    if unknown:
        problems.append(f"{len(unknown)} answers are for unknown question ids, ignored: {', '.join(unknown[:12])}")
    missing = [q.id for q in questions if q.id not in answers and q.id not in invalid]
    if missing:
        problems.append(f"{len(missing)} questions are unanswered, scored as wrong: {', '.join(missing)}")
    return answers, problems


def score(key: Path, answers_dir: Path) -> ScoreReport:
    questions = load_key(key)
    answers, problems = load_answers(answers_dir, questions)
    report = ScoreReport(key, answers_dir, problems, Tally(), {}, {}, [])
    for question in questions:
        answer = answers.get(question.id)
        right = answer is not None and is_right(question, answer)
        for tally in (report.overall, report.by_kind.setdefault(question.kind, Tally()),
                      report.by_detail.setdefault(f"{question.kind}:{question.detail}", Tally())):  # fmt: skip
            tally.questions += 1
            tally.answered += answer is not None
            tally.unknown += answer is not None and clean_value(answer) == UNANSWERED
            tally.correct += right
        if not right:
            report.wrong.append({"id": question.id, "kind": question.kind, "question": question.question,
                                 "expected": question.answer, "answer": answer})  # fmt: skip
    report.by_detail = dict(sorted(report.by_detail.items()))
    return report


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def print_report(report: ScoreReport) -> None:
    for problem in report.problems:
        print(f"problem: {problem}")
    overall = report.overall
    print(f"accuracy {_percent(overall.as_json()['accuracy'])}: {overall.correct} of {overall.questions} right "
          f"({overall.answered} answered, {overall.unknown} of them '?')")  # fmt: skip
    for name, tally in [*report.by_kind.items(), *report.by_detail.items()]:
        print(f"  {name:24} {_percent(tally.as_json()['accuracy']):>7}  {tally.correct}/{tally.questions}")
    for wrong in report.wrong:
        print(f"wrong {wrong['id']} ({wrong['kind']}): expected {wrong['expected']!r}, answered {wrong['answer']!r}")
    if report.answers_dir.is_dir():
        print(f"score: {report.answers_dir / SCORE_FILE}")


# --- command line --------------------------------------------------------------------------------------


def _root(text: str) -> Path:
    root = Path(text).expanduser()
    if not root.is_dir():
        raise QAError(f"{root} is not a directory: pass the repository's root folder")
    return root.resolve()


def _store(args: argparse.Namespace) -> Path | None:
    return Path(args.store).expanduser().resolve() if args.store else None


def run_questions(args: argparse.Namespace) -> int:
    root = _root(args.root)
    store_dir = ensure_index(root, args.target, _store(args), args.workers)
    with Store.open(store_dir, create=False) as store:
        questions = make_questions(store, args.target, args.n, args.seed)
    reader = write_questions(questions, Path(args.out).expanduser(), args.target, args.seed)
    kinds = {kind: sum(q.kind == kind for q in questions) for kind in KINDS}
    print(f"{len(questions)} questions ({kinds['definition']} definition, {kinds['value']} value) over "
          f"{len({q.path for q in questions})} files: key {args.out}, answer-free copy {reader}")  # fmt: skip
    return 0


def run_export_pack(args: argparse.Namespace) -> int:
    root = _root(args.root)
    questions = load_key(Path(args.questions).expanduser())
    store_dir = ensure_index(root, args.target, _store(args), args.workers)
    export = export_pack(root, args.budget, args.target, Path(args.out).expanduser(), questions, store_dir,
                         args.max_tokens)  # fmt: skip
    print(f"{export.total_tokens} tokens received ({export.text_tokens} text, {export.image_tokens} in "
          f"{export.images} images, {export.parts} parts; the pack itself {export.pack_tokens} of {args.budget}) "
          f"in {export.out / CONTEXT_FILE}")  # fmt: skip
    print(f"questions by how their line arrives: {export.covers}")
    return 0


def run_export_text(args: argparse.Namespace) -> int:
    root = _root(args.root)
    questions = load_key(Path(args.questions).expanduser())
    export = export_text(root, args.budget, Path(args.out).expanduser(), questions)
    cut = f"; cut after line {export.last_line} of {export.last_path}" if export.last_path else ""
    print(f"{export.tokens} tokens: {export.lines} lines of {export.files} files ({export.whole_files} whole){cut} "
          f"in {export.out / CONTEXT_FILE}")  # fmt: skip
    print(f"questions by how their line arrives: {export.covers}")
    return 0


def run_score(args: argparse.Namespace) -> int:
    answers_dir = Path(args.answers).expanduser()
    report = score(Path(args.key).expanduser(), answers_dir)
    keep_score(answers_dir, report.as_json(), args.json)
    if not args.json:
        print_report(report)
    return 1 if report.problems else 0


def parser() -> argparse.ArgumentParser:
    about = __doc__.split("\n\n")[0] if __doc__ else None
    top = argparse.ArgumentParser(prog="reader_qa.py", description=about)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def indexed(command: argparse.ArgumentParser) -> None:
        command.add_argument("--target", "-t", default=DEFAULT_TARGET, choices=sorted(TARGETS), metavar="T",
                             help=f"target whose index is used (default: {DEFAULT_TARGET})")  # fmt: skip
        command.add_argument("--store", help="index folder (default: <root>/.codectx); brought up to date first")
        command.add_argument("--workers", type=int, help="indexing processes (default: codectx's)")

    questions = commands.add_parser("questions", help="generate questions and their answers from a repository")
    questions.add_argument("root", metavar="ROOT")
    questions.add_argument("--n", type=int, default=DEFAULT_QUESTIONS, help=f"questions (default {DEFAULT_QUESTIONS})")
    questions.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed (default {DEFAULT_SEED})")
    questions.add_argument("--out", required=True, metavar="QFILE", help="the key; questions.json goes beside it")
    indexed(questions)
    questions.set_defaults(handler=run_questions)

    def exported(command: argparse.ArgumentParser) -> None:
        command.add_argument("root", metavar="ROOT")
        command.add_argument("--budget", type=int, required=True, metavar="N")
        command.add_argument("--questions", required=True, metavar="QFILE", help="the key written by `questions`")
        command.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")

    pack = commands.add_parser("export-pack", help="what load_context(budget, target) sends, as a reader's folder")
    exported(pack)
    pack.add_argument("--max-tokens", type=int, metavar="M", help="the server's size cap per result (default: its own)")
    indexed(pack)
    pack.set_defaults(handler=run_export_pack)

    text = commands.add_parser("export-text", help="the same budget of plain numbered source text")
    exported(text)
    text.set_defaults(handler=run_export_text)

    scoring = commands.add_parser("score", help="score ANSWERS_DIR/answers.json against the key")
    scoring.add_argument("key", metavar="QFILE")
    scoring.add_argument("answers", metavar="ANSWERS_DIR")
    scoring.add_argument("--json", action="store_true", help="print machine-readable JSON")
    scoring.set_defaults(handler=run_score)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except QAError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
