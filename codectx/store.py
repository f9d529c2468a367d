"""Index store: SQLite rows per published generation, page PNGs and source texts by content hash.

Writers insert a whole generation inside one transaction and flip `meta.current:<target>` in the
same transaction, so readers (who pin a generation id) never see a half-written index. Blobs are
written with write-to-temp + rename before the rows that name them are committed.

Pages belong to a module fingerprint, not to a generation: a generation whose modules did not change
shares their page rows, so publishing costs rows for changed modules only. Readers that hold a
generation across several reads take a pin (`Store.pinned`); garbage collection keeps pinned
generations, their rows and their page blobs.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from isal import isal_zlib

from codectx.blobs import TEMP_PREFIX, write_atomically
from codectx.page_images import PageImages, PageSource
from codectx.render.layout import LayoutSettings
from codectx.secrets import SecretSpan

SCHEMA_VERSION = 7
STORE_DIRNAME = ".codectx"
KEEP_GENERATIONS = 3
BLOB_GRACE_SECONDS = 600.0
PINS_DIRNAME = "pins"
REDUCED_DIRNAME = "reduced"
PINS_LOCK = "pins.lock"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS generations (
    id INTEGER PRIMARY KEY, target TEXT NOT NULL, created REAL NOT NULL,
    settings TEXT NOT NULL, fingerprint TEXT NOT NULL, edges_key TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    generation INTEGER NOT NULL, path TEXT NOT NULL, module TEXT NOT NULL, language TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, lines INTEGER NOT NULL, text_tokens INTEGER NOT NULL,
    kind TEXT NOT NULL, PRIMARY KEY (generation, path)
);
CREATE INDEX IF NOT EXISTS files_sha ON files (sha256);
CREATE TABLE IF NOT EXISTS skipped (
    generation INTEGER NOT NULL, path TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (generation, path)
);
CREATE TABLE IF NOT EXISTS modules (
    generation INTEGER NOT NULL, name TEXT NOT NULL, directory TEXT NOT NULL, ordinal INTEGER NOT NULL,
    files INTEGER NOT NULL, lines INTEGER NOT NULL, chars INTEGER NOT NULL, text_tokens INTEGER NOT NULL,
    pages INTEGER NOT NULL, vision_tokens INTEGER NOT NULL, fingerprint TEXT NOT NULL,
    PRIMARY KEY (generation, name)
);
CREATE INDEX IF NOT EXISTS modules_fingerprint ON modules (fingerprint);
CREATE TABLE IF NOT EXISTS pages (
    fingerprint TEXT NOT NULL, page_no INTEGER NOT NULL, blob TEXT NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, vision_tokens INTEGER NOT NULL,
    first_path TEXT NOT NULL, first_line INTEGER NOT NULL, last_path TEXT NOT NULL, last_line INTEGER NOT NULL,
    line_map TEXT NOT NULL,
    PRIMARY KEY (fingerprint, page_no)
);
CREATE INDEX IF NOT EXISTS pages_blob ON pages (blob);
CREATE TABLE IF NOT EXISTS sources (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL);
-- Every detected span, masked or allowed; digest is the value's SHA-256, never the value itself.
CREATE TABLE IF NOT EXISTS secrets (
    generation INTEGER NOT NULL, path TEXT NOT NULL, line INTEGER NOT NULL, kind TEXT NOT NULL,
    start INTEGER NOT NULL, stop INTEGER NOT NULL, keep INTEGER NOT NULL,
    fingerprint TEXT NOT NULL, digest TEXT NOT NULL, allowed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS secrets_generation ON secrets (generation, path);
-- Reference graphs are shared by the generations whose edges are identical (edges_key, a digest).
CREATE TABLE IF NOT EXISTS edges (
    edges_key TEXT NOT NULL, source TEXT NOT NULL, target TEXT NOT NULL, weight REAL NOT NULL,
    PRIMARY KEY (edges_key, source, target)
);
"""
# Structure and full-text rows are keyed by file content (see codectx.catalog), so an unchanged file
# is never analysed twice; a generation reaches them through files.sha256. line_fts rowids are
# (catalog id << LINE_ROWID_SHIFT) | line number.
LINE_ROWID_SHIFT = 21
CATALOG_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog (
    id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, grammar TEXT NOT NULL, version INTEGER NOT NULL,
    lines BLOB NOT NULL,  -- the rows given to line_fts (codectx.catalog.pack_lines), which removing them needs
    UNIQUE (sha256, grammar)
);
CREATE TABLE IF NOT EXISTS symbols (
    id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL, ordinal INTEGER NOT NULL, kind TEXT NOT NULL,
    name TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, parent INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS symbols_file ON symbols (file_id);
CREATE TABLE IF NOT EXISTS imports (file_id INTEGER NOT NULL, target TEXT NOT NULL, line INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS imports_file ON imports (file_id);
CREATE TABLE IF NOT EXISTS refs (file_id INTEGER NOT NULL, name TEXT NOT NULL, count INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS refs_file ON refs (file_id);
CREATE TABLE IF NOT EXISTS exact_strings (file_id INTEGER NOT NULL, line INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS exact_strings_file ON exact_strings (file_id);
-- Contentless, without column sizes: searches read only rowids (texts come from sources), and a
-- second copy of every line cost a third of the index's time and three quarters of its size.
CREATE VIRTUAL TABLE IF NOT EXISTS line_fts USING fts5(
    text, content = '', columnsize = 0, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS symbol_fts USING fts5(words, tokenize = 'unicode61 remove_diacritics 2');
"""


class StoreError(RuntimeError):
    pass


class NoIndexError(StoreError):
    pass


@dataclass(frozen=True, slots=True)
class FileRow:
    path: str
    module: str
    language: str
    sha256: str
    size: int
    lines: int
    text_tokens: int
    kind: str = "source"  # the file's class (codectx.classes): source, test, docs, config, data, licence, keys


@dataclass(frozen=True, slots=True)
class PageRow:
    module: str
    page_no: int
    blob: str
    width: int
    height: int
    vision_tokens: int
    first_path: str
    first_line: int
    last_path: str
    last_line: int
    line_map: str  # JSON, see render.layout.PagePlan.stored_line_map and read_line_map


@dataclass(frozen=True, slots=True)
class ModuleRow:
    name: str
    directory: str
    ordinal: int
    files: int
    lines: int
    chars: int
    text_tokens: int
    pages: int
    vision_tokens: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class EdgeRow:
    """A file of the generation refers to (imports, or uses names defined in) another file."""

    source: str
    target: str
    weight: float


@dataclass(frozen=True, slots=True)
class GenerationRow:
    id: int
    target: str
    created: float
    settings: str
    fingerprint: str


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")


def default_store_dir(root: Path) -> Path:
    return root / STORE_DIRNAME


def keep_out_of_git(directory: Path) -> None:
    """A `.gitignore` of `*` in the index folder: git status and commits never list the index, whatever the
    repository's own ignore files say (git reads it even though it ignores the file itself)."""
    marker = directory / ".gitignore"
    if not marker.exists():
        with contextlib.suppress(OSError):
            write_atomically(marker, b"# codectx index: derived data, rebuilt by `codectx index`\n*\n")


class Store:
    """One repository's index. Open with `Store.open(store_dir)`; use as a context manager."""

    def __init__(self, directory: Path, connection: sqlite3.Connection) -> None:
        self.directory = directory
        self.db = connection
        self.pages = PageImages(directory / "pages", self.page_source)
        self._closed = False

    @classmethod
    def open(cls, directory: Path, create: bool = True) -> Store:
        db_path = directory / "index.sqlite"
        if not create and not db_path.exists():
            raise NoIndexError(f"no index at {directory}: run `codectx index` in the repository first")
        directory.mkdir(parents=True, exist_ok=True)
        if create:
            keep_out_of_git(directory)
        connection = sqlite3.connect(db_path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.executescript(SCHEMA + CATALOG_SCHEMA)
        version = connection.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if version is None:
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(version[0]) != SCHEMA_VERSION:
            connection.close()
            if not create:
                raise StoreError(
                    f"the index at {directory} was written by another codectx version (schema {version[0]}, "
                    f"this one reads {SCHEMA_VERSION}): run `codectx index` to rebuild it"
                )
            # The index is derived data: the writer (holding the writer lock) starts it afresh.
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{db_path}{suffix}")
            return cls.open(directory, create)
        return cls(directory, connection)

    def close(self) -> None:
        self._closed = True
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- reading -------------------------------------------------------------------------------

    def current_generation(self, target: str) -> GenerationRow | None:
        row = self.db.execute(
            "SELECT g.id, g.target, g.created, g.settings, g.fingerprint FROM meta m "
            "JOIN generations g ON g.id = CAST(m.value AS INTEGER) WHERE m.key = ?",
            (f"current:{target}",),
        ).fetchone()
        return GenerationRow(*row) if row else None

    def require_generation(self, target: str) -> GenerationRow:
        generation = self.current_generation(target)
        if generation is None:
            raise NoIndexError(
                f"no index for target {target!r} in {self.directory}: run `codectx index --target {target}`"
            )
        return generation

    def files(self, generation: int) -> list[FileRow]:
        rows = self.db.execute(
            "SELECT path, module, language, sha256, size, lines, text_tokens, kind FROM files "
            "WHERE generation = ? ORDER BY path",
            (generation,),
        )
        return [FileRow(*row) for row in rows]

    def skipped(self, generation: int) -> list[tuple[str, str]]:
        rows = self.db.execute("SELECT path, reason FROM skipped WHERE generation = ? ORDER BY path", (generation,))
        return [(str(p), str(r)) for p, r in rows]

    def modules(self, generation: int) -> list[ModuleRow]:
        rows = self.db.execute(
            "SELECT name, directory, ordinal, files, lines, chars, text_tokens, pages, vision_tokens, fingerprint "
            "FROM modules WHERE generation = ? ORDER BY ordinal",
            (generation,),
        )
        return [ModuleRow(*row) for row in rows]

    def module_pages(self, generation: int, module: str) -> list[PageRow]:
        rows = self.db.execute(
            "SELECT m.name, p.page_no, p.blob, p.width, p.height, p.vision_tokens, p.first_path, p.first_line, "
            "p.last_path, p.last_line, p.line_map FROM modules m JOIN pages p ON p.fingerprint = "
            "m.fingerprint WHERE m.generation = ? AND m.name = ? ORDER BY p.page_no",
            (generation, module),
        )
        return [PageRow(*row) for row in rows]

    def pages_for_fingerprint(self, fingerprint: str) -> list[PageRow] | None:
        """Pages rendered earlier for an identical module (any kept generation), or None.

        The rows' `module` is empty (the same pages may serve modules of different names) and so is
        their `line_map`: the store holds them already, and reading every module's maps on each
        update would cost more than the update. Read pages with `module_pages` instead.
        """
        rows = self.db.execute(
            "SELECT '', page_no, blob, width, height, vision_tokens, first_path, first_line, last_path, last_line, "
            "'' FROM pages WHERE fingerprint = ? ORDER BY page_no",
            (fingerprint,),
        )
        return [PageRow(*row) for row in rows] or None

    def page_source(self, blob: str) -> PageSource | None:
        """What drawing page `blob` takes, or None when no kept generation has that page. Packs draw their
        pages when they are written, which may be after this store is closed: then a connection of its own."""
        if self._closed:
            with contextlib.closing(Store.open(self.directory, create=False)) as store:
                return store.page_source(blob)
        # Any generation with the page's module shows the same files at the same contents (its fingerprint).
        row = self.db.execute(
            "SELECT p.line_map, g.id, g.settings FROM pages p JOIN modules m ON m.fingerprint = p.fingerprint "
            "JOIN generations g ON g.id = m.generation WHERE p.blob = ? LIMIT 1",
            (blob,),
        ).fetchone()
        if row is None:
            return None
        line_map, generation, settings = row
        paths = json.loads(line_map)["paths"]
        shown = self.db.execute(
            f"SELECT path, language, sha256 FROM files WHERE generation = ? AND path IN ({','.join('?' * len(paths))})",
            (generation, *paths),
        ).fetchall()
        texts = self.source_texts(sha256 for *_, sha256 in shown)
        if len(shown) < len(paths) or any(sha256 not in texts for *_, sha256 in shown):
            return None
        files = {path: (language, texts[sha256]) for path, language, sha256 in shown}
        return PageSource(line_map, LayoutSettings(**json.loads(settings)["layout"]), {p: files[p] for p in paths})

    def known_token_counts(self, digests: list[str]) -> dict[str, int]:
        return dict(rows_in(self.db, "SELECT sha256, text_tokens FROM files WHERE sha256 IN ({marks})", digests))

    def source_text(self, digest: str) -> str | None:
        row = self.db.execute("SELECT text FROM sources WHERE sha256 = ?", (digest,)).fetchone()
        return str(row[0]) if row else None

    def source_texts(self, digests: Iterable[str]) -> dict[str, str]:
        """sha256 -> stored text, for the digests whose text is stored."""
        return dict(rows_in(self.db, "SELECT sha256, text FROM sources WHERE sha256 IN ({marks})", digests))

    def edges(self, generation: int) -> list[EdgeRow]:
        rows = self.db.execute(
            "SELECT e.source, e.target, e.weight FROM generations g JOIN edges e ON e.edges_key = g.edges_key "
            "WHERE g.id = ?",
            (generation,),
        )
        return [EdgeRow(*row) for row in rows]

    def secrets(self, generation: int) -> list[tuple[str, SecretSpan]]:
        """The detected spans (masked or allowed) of a generation's files, by path, in path and line order."""
        rows = self.db.execute(
            "SELECT path, line, start, stop, kind, keep, fingerprint, digest, allowed FROM secrets "
            "WHERE generation = ? ORDER BY path, start",
            (generation,),
        )
        return [
            (str(path), SecretSpan(line, start, stop, str(kind), keep, fingerprint, digest, bool(allowed)))
            for path, line, start, stop, kind, keep, fingerprint, digest, allowed in rows
        ]

    def secret_scans(self, rules: str) -> dict[tuple[str, str], tuple[SecretSpan, ...]] | None:
        """(path, sha256) -> detected spans of every file of the newest generation scanned under `rules`,
        or None when there is none. Lets an index skip the secret scan of files that did not change."""
        row = self.db.execute(
            "SELECT id FROM generations WHERE json_extract(settings, '$.secrets') = ? ORDER BY id DESC LIMIT 1",
            (rules,),
        ).fetchone()
        if row is None:
            return None
        scans: dict[tuple[str, str], list[SecretSpan]] = {
            (str(path), str(sha)): [] for path, sha in self.db.execute(
                "SELECT path, sha256 FROM files WHERE generation = ?", (row[0],)
            )
        }  # fmt: skip
        sha_of = {path: sha for path, sha in scans}
        for path, span in self.secrets(row[0]):
            scans[(path, sha_of[path])].append(span)
        return {key: tuple(spans) for key, spans in scans.items()}

    def forget_contents(self, digests: Sequence[str]) -> None:
        """Drop the catalog rows (outline, full-text lines) of these contents, so they are analysed again."""
        with self.transaction() as db:
            ids = [i for d in digests for (i,) in db.execute("SELECT id FROM catalog WHERE sha256 = ?", (d,))]
            drop_catalog_entries(db, ids)

    def known_sources(self, digests: list[str]) -> set[str]:
        """The digests among `digests` whose text is stored already."""
        return {d for (d,) in rows_in(self.db, "SELECT sha256 FROM sources WHERE sha256 IN ({marks})", digests)}

    @contextlib.contextmanager
    def pinned(self, target: str) -> Iterator[GenerationRow]:
        """Hold the current generation of `target` so that garbage collection keeps its rows and blobs.

        The pin is a file locked with flock: the kernel drops the lock when its process dies, so a
        crashed reader's pin goes stale by itself and is swept by the next collection.
        """
        pins = self.directory / PINS_DIRNAME
        pins.mkdir(exist_ok=True)
        with _flocked(self.directory / PINS_LOCK, fcntl.LOCK_SH):
            generation = self.require_generation(target)
            fd, tmp = tempfile.mkstemp(dir=pins, prefix=TEMP_PREFIX)
            handle = os.fdopen(fd, "w")
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(f"{generation.id} {os.getpid()}\n")
            handle.flush()
            # Renamed only once locked, so a collector never mistakes a pin being made for a stale one.
            pin = pins / f"{os.getpid()}-{generation.id}-{Path(tmp).name[len(TEMP_PREFIX) :]}.pin"
            os.replace(tmp, pin)
        try:
            yield generation
        finally:
            with contextlib.suppress(OSError):
                pin.unlink()
            handle.close()

    def _live_pins(self) -> set[int]:
        """Generations pinned by live readers; stale pins (their process died) are removed."""
        live: set[int] = set()
        pins = self.directory / PINS_DIRNAME
        if not pins.is_dir():
            return live
        for path in pins.iterdir():
            try:
                with open(path) as handle:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        live.add(int(handle.read().split()[0]))
                        continue
                path.unlink()
            except (OSError, ValueError, IndexError):
                continue
        return live

    # --- writing -------------------------------------------------------------------------------

    def publish(
        self,
        target: str,
        settings: dict[str, object],
        fingerprint: str,
        files: list[FileRow],
        skipped: list[tuple[str, str]],
        modules: list[ModuleRow],
        pages: list[PageRow],
        sources: dict[str, str],
        edges: list[EdgeRow],
        edges_key: str,
        secrets: Sequence[tuple[str, SecretSpan]] = (),
    ) -> int:
        """Insert a complete generation and make it current, atomically.

        `sources` replaces stored texts: a content's masked text changes when its secrets' masks do.
        `secrets` are the detected spans (masked or allowed), by path, of the generation's files.
        `edges_key` identifies the reference graph (codectx.graph.edges_key): generations with equal keys
        share its rows.
        """
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO generations (target, created, settings, fingerprint, edges_key) VALUES (?, ?, ?, ?, ?)",
                (target, time.time(), json.dumps(settings, sort_keys=True), fingerprint, edges_key),
            )
            generation = int(cursor.lastrowid or 0)
            db.executemany("INSERT OR REPLACE INTO sources (sha256, text) VALUES (?, ?)", list(sources.items()))
            db.executemany(
                "INSERT INTO secrets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (generation, path, s.line, s.kind, s.start, s.stop, s.keep, s.fingerprint, s.digest, s.allowed)
                    for path, s in secrets
                ],
            )
            db.executemany(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (generation, f.path, f.module, f.language, f.sha256, f.size, f.lines, f.text_tokens, f.kind)
                    for f in files
                ],
            )
            db.executemany("INSERT INTO skipped VALUES (?, ?, ?)", [(generation, p, r) for p, r in skipped])
            db.executemany(
                "INSERT INTO modules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (generation, m.name, m.directory, m.ordinal, m.files, m.lines, m.chars, m.text_tokens,
                     m.pages, m.vision_tokens, m.fingerprint)
                    for m in modules
                ],
            )  # fmt: skip
            fingerprint_of = {m.name: m.fingerprint for m in modules}
            stored = {
                f for f in {fingerprint_of[p.module] for p in pages}
                if db.execute("SELECT 1 FROM pages WHERE fingerprint = ? LIMIT 1", (f,)).fetchone()
            }  # fmt: skip
            db.executemany(
                "INSERT OR IGNORE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (fingerprint_of[p.module], p.page_no, p.blob, p.width, p.height, p.vision_tokens,
                     p.first_path, p.first_line, p.last_path, p.last_line, p.line_map)
                    for p in pages if fingerprint_of[p.module] not in stored
                ],
            )  # fmt: skip
            if not db.execute("SELECT 1 FROM edges WHERE edges_key = ? LIMIT 1", (edges_key,)).fetchone():
                db.executemany(
                    "INSERT INTO edges VALUES (?, ?, ?, ?)", [(edges_key, e.source, e.target, e.weight) for e in edges]
                )
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (f"current:{target}", str(generation)),
            )
        return generation

    def collect_garbage(
        self, keep: int = KEEP_GENERATIONS, grace_seconds: float = BLOB_GRACE_SECONDS, sweep: bool = True
    ) -> int:
        """Drop generations beyond the newest `keep` per target (never a current or pinned one), then
        orphan pages, sources and blobs. Returns the number of blob files removed.

        Blobs and temporary files younger than `grace_seconds` may belong to a generation still being
        written; a caller holding the writer lock knows there is none and passes 0. Without `sweep`, only
        the files of the pages dropped now are removed (a watcher's update: nothing that grows with the
        repository); a sweep also lists the page folder for orphans, such as a killed writer's.
        """
        with _flocked(self.directory / PINS_LOCK, fcntl.LOCK_EX), self.transaction() as db:
            kept = self._live_pins()
            kept |= {int(v) for (v,) in db.execute("SELECT value FROM meta WHERE key LIKE 'current:%'")}
            doomed: list[int] = []
            for (target,) in db.execute("SELECT DISTINCT target FROM generations").fetchall():
                ids = [i for (i,) in db.execute(
                    "SELECT id FROM generations WHERE target = ? ORDER BY id DESC", (target,)
                )]  # fmt: skip
                doomed += [i for i in ids[keep:] if i not in kept]
            for table in ("files", "skipped", "modules", "secrets"):
                db.executemany(f"DELETE FROM {table} WHERE generation = ?", [(i,) for i in doomed])
            db.executemany("DELETE FROM generations WHERE id = ?", [(i,) for i in doomed])
            orphans = "FROM pages WHERE fingerprint NOT IN (SELECT fingerprint FROM modules)"
            dropped = {b for (b,) in db.execute(f"SELECT DISTINCT blob {orphans}")}
            db.execute(f"DELETE {orphans}")
            db.execute("DELETE FROM edges WHERE edges_key NOT IN (SELECT edges_key FROM generations)")
            _drop_orphan_catalog(db)
            db.execute("DELETE FROM sources WHERE sha256 NOT IN (SELECT sha256 FROM files)")
            if sweep:
                live = {b for (b,) in db.execute("SELECT DISTINCT blob FROM pages")}
            else:  # another module's page may be the same page
                live = {b for (b,) in rows_in(db, "SELECT DISTINCT blob FROM pages WHERE blob IN ({marks})", dropped)}
        cutoff = time.time() - grace_seconds
        young = time.time() - BLOB_GRACE_SECONDS
        if sweep:
            doomed_files = [f for d in self.pages.all_digests() if d not in live for f in self.pages.stored_files(d)]
            # Downscaled copies (codectx.reduced) are named <page blob>-<width>x<height>.png.
            reduced = [p for p in (self.directory / REDUCED_DIRNAME).glob("*/*") if p.name[:64] not in live]
            # Readers write those, and draw pages (codectx.page_images), without the writer lock: their
            # temporary files always get the grace period.
            reduced = [p for p in reduced if not p.name.startswith(TEMP_PREFIX) or _mtime(p) < young]
            drawing = [p for p in self.pages.temp_files() if _mtime(p) < young]
        else:
            gone = dropped - live
            doomed_files = [f for d in gone for f in self.pages.stored_files(d)]
            reduced = [p for d in gone for p in (self.directory / REDUCED_DIRNAME / d[:2]).glob(f"{d}-*")]
            drawing = []
        removed = 0
        for path in doomed_files + drawing + reduced:
            if grace_seconds <= 0 or _mtime(path) < cutoff:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed


def rows_in(db: sqlite3.Connection, sql: str, keys: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """Rows of `sql`, whose WHERE clause ends in `IN ({marks})`, for the distinct keys, 500 at a time
    (SQLite limits the parameters of one statement)."""
    distinct = sorted(set(keys))
    for start in range(0, len(distinct), 500):
        chunk = distinct[start : start + 500]
        yield from db.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


def is_disk_full(error: BaseException) -> bool:
    """True for a write refused for want of space (or quota), from the file system or from SQLite."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(error, sqlite3.OperationalError) and "disk is full" in str(error)


@contextlib.contextmanager
def _flocked(path: Path, mode: int) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle, mode)
        yield


def _drop_orphan_catalog(db: sqlite3.Connection) -> None:
    """Remove structure and full-text rows of file contents that no kept generation holds."""
    drop_catalog_entries(
        db, [i for (i,) in db.execute("SELECT id FROM catalog WHERE sha256 NOT IN (SELECT sha256 FROM files)")]
    )


def pack_lines(lines: Iterable[tuple[int, str]]) -> bytes:
    """(line number, indexed text) rows as compact bytes (no indexed text holds a newline)."""
    return isal_zlib.compress("\n".join(f"{n}\t{text}" for n, text in lines).encode("utf-8", "surrogatepass"), 1)


def unpack_lines(data: bytes) -> list[tuple[int, str]]:
    text = isal_zlib.decompress(data).decode("utf-8", "surrogatepass")
    return [(int(n), line) for n, _, line in (row.partition("\t") for row in text.split("\n"))] if text else []


def drop_catalog_entries(db: sqlite3.Connection, ids: list[int]) -> None:
    """Delete catalog entries with their symbols, imports, references, exact strings and full-text rows."""
    for file_id in ids:
        db.execute("DELETE FROM symbol_fts WHERE rowid IN (SELECT id FROM symbols WHERE file_id = ?)", (file_id,))
        for table in ("symbols", "imports", "refs", "exact_strings"):
            db.execute(f"DELETE FROM {table} WHERE file_id = ?", (file_id,))
        (lines,) = db.execute("SELECT lines FROM catalog WHERE id = ?", (file_id,)).fetchone()
        # A contentless table forgets a row only when given the values it was given.
        base = file_id << LINE_ROWID_SHIFT
        db.executemany(
            "INSERT INTO line_fts (line_fts, rowid, text) VALUES ('delete', ?, ?)",
            [(base | n, text) for n, text in unpack_lines(lines)],
        )
        db.execute("DELETE FROM catalog WHERE id = ?", (file_id,))
