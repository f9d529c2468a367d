"""Catalog: what the index knows about each file content, keyed by its sha256.

For every file content the catalog holds its outline (symbols, imports, referenced identifiers),
its lines in the full-text index and its exact-string candidates. Entries are written once per
content and shared by every generation that holds the file, so re-indexing parses nothing new.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from array import array
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import TYPE_CHECKING

from codectx.glossary import exact_candidates
from codectx.store import LINE_ROWID_SHIFT, Store, drop_catalog_entries, pack_lines, rows_in
from codectx.structure import STRUCTURE_VERSION, Import, Outline, Symbol, grammar_for, outline
from codectx.terms import name_words, with_camel_parts

if TYPE_CHECKING:  # scan pulls in the secret scanners, which analysis workers do not need
    from codectx.scan import SourceFile

# Below this many characters to analyse, worker start-up costs more than it saves.
PARALLEL_ABOVE_CHARS = 2_000_000
CHUNK_CHARS = 500_000


@dataclass(frozen=True, slots=True)
class IndexedLines:
    """A file's non-blank lines as the full-text index holds them: their numbers, and their texts joined by
    newlines (no indexed text holds one). Two flat parts, because an index sends hundreds of thousands of
    lines between processes, and a tuple per line cost more to send than to make."""

    numbers: array[int]
    text: str

    def __len__(self) -> int:
        return len(self.numbers)

    def rows(self) -> Iterator[tuple[int, str]]:
        """(line number, text as indexed) for each line."""
        return zip(self.numbers, self.text.split("\n"), strict=False) if self.numbers else iter(())


@dataclass(frozen=True, slots=True)
class FileAnalysis:
    """Everything the catalog stores for one file content."""

    sha256: str
    grammar: str  # "" when no grammar outlines the language
    outline: Outline | None
    lines: IndexedLines
    exact: tuple[tuple[int, str], ...]  # (line number, candidate string)


@dataclass(frozen=True, slots=True)
class CatalogUpdate:
    analysed: int
    seconds: float


@dataclass(frozen=True, slots=True)
class FileFacts:
    """A generation's file as the reference graph sees it."""

    path: str
    defines: tuple[str, ...]
    references: tuple[tuple[str, int], ...]
    imports: tuple[str, ...]


def indexed_lines(text: str) -> IndexedLines:
    """Non-blank lines, each with the parts of its camelCase identifiers appended (see terms.with_camel_parts)."""
    known: dict[str, str] = {}
    numbers = array("I")
    texts: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line and not line.isspace():
            numbers.append(number)
            texts.append(with_camel_parts(line, known))
    return IndexedLines(numbers, "\n".join(texts))


def analyse(path: str, language: str, sha256: str, text: str) -> FileAnalysis:
    """Pure: one file's catalog entry."""
    return FileAnalysis(
        sha256=sha256,
        grammar=grammar_for(path, language) or "",
        outline=outline(path, language, text),
        lines=indexed_lines(text),
        exact=tuple(exact_candidates(text)),
    )


def _analyse_chunk(chunk: list[tuple[str, str, str, str]]) -> list[FileAnalysis]:
    return [analyse(*item) for item in chunk]


def _chunks(files: Sequence[SourceFile]) -> list[list[tuple[str, str, str, str]]]:
    chunks: list[list[tuple[str, str, str, str]]] = [[]]
    size = 0
    for file in sorted(files, key=lambda f: -len(f.text)):
        if size >= CHUNK_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append((file.path, file.language, file.sha256, file.text))
        size += len(file.text)
    return chunks


def _analyse_all(
    files: Sequence[SourceFile], workers: int, pool: Callable[[], Executor] | None
) -> Iterable[FileAnalysis]:
    if workers <= 1 or sum(len(f.text) for f in files) < PARALLEL_ABOVE_CHARS:
        for file in files:
            yield analyse(file.path, file.language, file.sha256, file.text)
        return
    with contextlib.ExitStack() as stack:
        executor = pool() if pool is not None else None
        if executor is None:
            executor = stack.enter_context(
                ProcessPoolExecutor(max_workers=workers, mp_context=get_context("forkserver"))
            )
        for results in executor.map(_analyse_chunk, _chunks(files)):
            yield from results


def prepare_catalog(store: Store, files: Sequence[SourceFile]) -> list[SourceFile]:
    """Drop the entries of `files` made by an older version; return one file per content left to analyse
    (store their analyses with store_analyses)."""
    missing, stale = _plan(store, files)
    if stale:
        with store.transaction() as db:
            drop_catalog_entries(db, stale)
    return missing


def store_analyses(store: Store, analyses: Iterable[FileAnalysis]) -> None:
    with store.transaction() as db:
        for analysis in analyses:
            _insert(db, analysis)


def _plan(store: Store, files: Sequence[SourceFile]) -> tuple[list[SourceFile], list[int]]:
    """(the contents of `files` to analyse, catalog ids of stale entries)."""
    wanted: dict[tuple[str, str], SourceFile] = {}
    for file in files:
        wanted.setdefault((file.sha256, grammar_for(file.path, file.language) or ""), file)
    current: dict[tuple[str, str], tuple[int, int]] = {}
    digests = {sha for sha, _ in wanted}
    sql = "SELECT id, sha256, grammar, version FROM catalog WHERE sha256 IN ({marks})"
    for file_id, sha, grammar, version in rows_in(store.db, sql, digests):
        current[(sha, grammar)] = (file_id, version)
    stale = [file_id for file_id, version in current.values() if version != STRUCTURE_VERSION]
    missing = [file for key, file in wanted.items() if current.get(key, (0, -1))[1] != STRUCTURE_VERSION]
    return missing, stale


def update_catalog(
    store: Store,
    files: Sequence[SourceFile],
    workers: int = 1,
    pool: Callable[[], Executor] | None = None,
) -> CatalogUpdate:
    """Analyse and store the file contents the catalog does not hold yet (or holds from an older version).

    `pool`, when given, supplies the processes that analyse them.
    """
    started = time.perf_counter()
    missing, stale = _plan(store, files)
    if missing or stale:
        analyses = list(_analyse_all(missing, workers, pool))
        with store.transaction() as db:
            drop_catalog_entries(db, stale)
            for analysis in analyses:
                _insert(db, analysis)
    return CatalogUpdate(len(missing), time.perf_counter() - started)


def _insert(db: sqlite3.Connection, analysis: FileAnalysis) -> None:
    cursor = db.execute(
        "INSERT INTO catalog (sha256, grammar, version, lines) VALUES (?, ?, ?, ?)",
        (analysis.sha256, analysis.grammar, STRUCTURE_VERSION, pack_lines(analysis.lines.rows())),
    )
    file_id = int(cursor.lastrowid or 0)
    base = file_id << LINE_ROWID_SHIFT
    db.executemany(
        "INSERT INTO line_fts (rowid, text) VALUES (?, ?)", ((base | n, t) for n, t in analysis.lines.rows())
    )
    db.executemany("INSERT INTO exact_strings VALUES (?, ?, ?)", [(file_id, n, s) for n, s in analysis.exact])
    if analysis.outline is None:
        return
    shape = analysis.outline
    first = int(db.execute("SELECT coalesce(max(id), 0) + 1 FROM symbols").fetchone()[0])
    db.executemany(
        "INSERT INTO symbols VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (first + n, file_id, n, sym.kind, sym.name, sym.start_line, sym.end_line, sym.parent)
            for n, sym in enumerate(shape.symbols)
        ],
    )
    db.executemany(
        "INSERT INTO symbol_fts (rowid, words) VALUES (?, ?)",
        [(first + n, name_words(sym.name)) for n, sym in enumerate(shape.symbols)],
    )
    db.executemany("INSERT INTO imports VALUES (?, ?, ?)", [(file_id, i.target, i.line) for i in shape.imports])
    db.executemany("INSERT INTO refs VALUES (?, ?, ?)", [(file_id, name, n) for name, n in shape.references])


# --- reading -------------------------------------------------------------------------------------


def catalog_ids(store: Store, files: Iterable[tuple[str, str, str]]) -> dict[str, int]:
    """path -> catalog id for (path, language, sha256) triples; files not catalogued are left out."""
    wanted: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path, language, sha256 in files:
        wanted[(sha256, grammar_for(path, language) or "")].append(path)
    ids: dict[str, int] = {}
    sql = "SELECT id, sha256, grammar FROM catalog WHERE sha256 IN ({marks})"
    for file_id, sha, grammar in rows_in(store.db, sql, {sha for sha, _ in wanted}):
        for path in wanted.get((sha, grammar), ()):
            ids[path] = file_id
    return ids


def generation_ids(store: Store, generation: int) -> dict[str, int]:
    """path -> catalog id for the generation's files."""
    return catalog_ids(store, ((f.path, f.language, f.sha256) for f in store.files(generation)))


def _paths_by_id(ids: Mapping[str, int]) -> dict[int, list[str]]:
    paths: dict[int, list[str]] = defaultdict(list)
    for path, file_id in sorted(ids.items()):
        paths[file_id].append(path)
    return paths


# Outlines read before, by (index folder, catalog id, sha256, grammar, version): an entry never changes under its
# key, so a server reading one generation after another reads only the outlines of changed files.
_outline_memo: OrderedDict[tuple[object, ...], Outline] = OrderedDict()
_outline_lock = threading.Lock()
OUTLINE_MEMO_SIZE = 200_000


def outlines(store: Store, ids: Mapping[str, int]) -> dict[str, Outline]:
    """path -> outline (symbols and imports; references left out) for the outlined files among `ids`."""
    paths = _paths_by_id(ids)
    keys = {
        int(file_id): (store.directory, int(file_id), str(sha), str(grammar), int(version))
        for file_id, sha, grammar, version in rows_in(
            store.db, "SELECT id, sha256, grammar, version FROM catalog WHERE id IN ({marks})", paths
        )
        if grammar
    }
    shapes: dict[int, Outline] = {}
    with _outline_lock:
        for file_id, key in keys.items():
            known = _outline_memo.get(key)
            if known is not None:
                _outline_memo.move_to_end(key)
                shapes[file_id] = known
    missing = [file_id for file_id in keys if file_id not in shapes]
    symbols: dict[int, list[Symbol]] = defaultdict(list)
    sql = "SELECT file_id, kind, name, start_line, end_line, parent FROM symbols WHERE file_id IN ({marks}) ORDER BY id"
    for file_id, kind, name, start, end, parent in rows_in(store.db, sql, missing):
        symbols[file_id].append(Symbol(kind, name, start, end, parent))
    imports: dict[int, list[Import]] = defaultdict(list)
    sql = "SELECT file_id, target, line FROM imports WHERE file_id IN ({marks}) ORDER BY rowid"
    for file_id, target, line in rows_in(store.db, sql, missing):
        imports[file_id].append(Import(target, line))
    with _outline_lock:
        for file_id in missing:
            shapes[file_id] = Outline(keys[file_id][3], tuple(symbols[file_id]), tuple(imports[file_id]), ())
            _outline_memo[keys[file_id]] = shapes[file_id]
        while len(_outline_memo) > OUTLINE_MEMO_SIZE:
            _outline_memo.popitem(last=False)
    result: dict[str, Outline] = {}
    for file_id in keys:
        for path in paths[file_id]:
            result[path] = shapes[file_id]
    return result


def file_facts(store: Store, ids: Mapping[str, int]) -> list[FileFacts]:
    """Definitions, references and imports of the outlined files among `ids`, sorted by path."""
    paths = _paths_by_id(ids)
    defines: dict[int, list[str]] = defaultdict(list)
    references: dict[int, list[tuple[str, int]]] = defaultdict(list)
    imports: dict[int, list[str]] = defaultdict(list)
    for file_id, name in rows_in(store.db, "SELECT file_id, name FROM symbols WHERE file_id IN ({marks})", paths):
        defines[file_id].append(name)
    for file_id, name, count in rows_in(
        store.db, "SELECT file_id, name, count FROM refs WHERE file_id IN ({marks})", paths
    ):
        references[file_id].append((name, count))
    for file_id, target in rows_in(store.db, "SELECT file_id, target FROM imports WHERE file_id IN ({marks})", paths):
        imports[file_id].append(target)
    facts = [
        FileFacts(path, tuple(defines[i]), tuple(references[i]), tuple(imports[i]))
        for i, file_paths in paths.items()
        for path in file_paths
    ]
    return sorted(facts, key=lambda f: f.path)
