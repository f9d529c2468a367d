"""Index store: SQLite rows per published generation, page PNGs and source texts by content hash.

Writers insert a whole generation inside one transaction and flip `meta.current:<target>` in the
same transaction, so readers (who pin a generation id) never see a half-written index. Blobs are
written with write-to-temp + rename before the rows that name them are committed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1
STORE_DIRNAME = ".codectx"
KEEP_GENERATIONS = 3
BLOB_GRACE_SECONDS = 600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS generations (
    id INTEGER PRIMARY KEY, target TEXT NOT NULL, created REAL NOT NULL,
    settings TEXT NOT NULL, fingerprint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    generation INTEGER NOT NULL, path TEXT NOT NULL, module TEXT NOT NULL, language TEXT NOT NULL,
    sha256 TEXT NOT NULL, size INTEGER NOT NULL, lines INTEGER NOT NULL, text_tokens INTEGER NOT NULL,
    PRIMARY KEY (generation, path)
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
    generation INTEGER NOT NULL, module TEXT NOT NULL, page_no INTEGER NOT NULL, blob TEXT NOT NULL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, vision_tokens INTEGER NOT NULL,
    first_path TEXT NOT NULL, first_line INTEGER NOT NULL, last_path TEXT NOT NULL, last_line INTEGER NOT NULL,
    line_map TEXT NOT NULL,
    PRIMARY KEY (generation, module, page_no)
);
CREATE TABLE IF NOT EXISTS sources (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL);
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
    line_map: str  # JSON, see render.layout.PageLayout.line_map_json


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


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Content-addressed files: <dir>/<hash[:2]>/<hash><suffix>."""

    def __init__(self, directory: Path, suffix: str) -> None:
        self.directory = directory
        self.suffix = suffix

    def path_for(self, digest: str) -> Path:
        return self.directory / digest[:2] / f"{digest}{self.suffix}"

    def put(self, data: bytes) -> str:
        digest = sha256_hex(data)
        target = self.path_for(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        return self.path_for(digest).read_bytes()

    def all_digests(self) -> Iterator[str]:
        if not self.directory.exists():
            return
        for sub in self.directory.iterdir():
            if sub.is_dir():
                for item in sub.iterdir():
                    if item.name.endswith(self.suffix) and not item.name.startswith(".tmp-"):
                        yield item.name[: -len(self.suffix)]


class Store:
    """One repository's index. Open with `Store.open(store_dir)`; use as a context manager."""

    def __init__(self, directory: Path, connection: sqlite3.Connection) -> None:
        self.directory = directory
        self.db = connection
        self.pages = BlobStore(directory / "pages", ".png")

    @classmethod
    def open(cls, directory: Path, create: bool = True) -> Store:
        db_path = directory / "index.sqlite"
        if not create and not db_path.exists():
            raise NoIndexError(f"no index at {directory}: run `codectx index` in the repository first")
        directory.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(db_path, timeout=30, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.executescript(SCHEMA)
        version = connection.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if version is None:
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(version[0]) != SCHEMA_VERSION:
            connection.close()
            raise StoreError(
                f"index at {directory} has schema {version[0]}, this codectx needs {SCHEMA_VERSION}: "
                f"delete {directory} and run `codectx index` again"
            )
        return cls(directory, connection)

    def close(self) -> None:
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
            "SELECT path, module, language, sha256, size, lines, text_tokens FROM files "
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
            "SELECT module, page_no, blob, width, height, vision_tokens, first_path, first_line, last_path, "
            "last_line, line_map FROM pages WHERE generation = ? AND module = ? ORDER BY page_no",
            (generation, module),
        )
        return [PageRow(*row) for row in rows]

    def pages_for_fingerprint(self, fingerprint: str) -> list[PageRow] | None:
        """Pages rendered earlier for an identical module (any kept generation), or None."""
        found = self.db.execute(
            "SELECT generation, name FROM modules WHERE fingerprint = ? LIMIT 1", (fingerprint,)
        ).fetchone()
        if found is None:
            return None
        pages = self.module_pages(found[0], found[1])
        if not all(self.pages.path_for(p.blob).exists() for p in pages):
            return None
        return pages

    def known_token_counts(self, digests: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for start in range(0, len(digests), 500):
            chunk = digests[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for digest, tokens in self.db.execute(
                f"SELECT sha256, text_tokens FROM files WHERE sha256 IN ({marks})", chunk
            ):
                counts[digest] = tokens
        return counts

    def source_text(self, digest: str) -> str | None:
        row = self.db.execute("SELECT text FROM sources WHERE sha256 = ?", (digest,)).fetchone()
        return str(row[0]) if row else None

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
    ) -> int:
        """Insert a complete generation and make it current, atomically."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO generations (target, created, settings, fingerprint) VALUES (?, ?, ?, ?)",
                (target, time.time(), json.dumps(settings, sort_keys=True), fingerprint),
            )
            generation = int(cursor.lastrowid or 0)
            db.executemany("INSERT OR IGNORE INTO sources (sha256, text) VALUES (?, ?)", list(sources.items()))
            db.executemany(
                "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(generation, f.path, f.module, f.language, f.sha256, f.size, f.lines, f.text_tokens) for f in files],
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
            db.executemany(
                "INSERT INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (generation, p.module, p.page_no, p.blob, p.width, p.height, p.vision_tokens,
                     p.first_path, p.first_line, p.last_path, p.last_line, p.line_map)
                    for p in pages
                ],
            )  # fmt: skip
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (f"current:{target}", str(generation)),
            )
        return generation

    def collect_garbage(self, keep: int = KEEP_GENERATIONS) -> int:
        """Drop generations beyond the newest `keep` per target (never a current one), then orphan blobs."""
        with self.transaction() as db:
            current = {int(v) for (v,) in db.execute("SELECT value FROM meta WHERE key LIKE 'current:%'")}
            doomed: list[int] = []
            for (target,) in db.execute("SELECT DISTINCT target FROM generations").fetchall():
                ids = [i for (i,) in db.execute(
                    "SELECT id FROM generations WHERE target = ? ORDER BY id DESC", (target,)
                )]  # fmt: skip
                doomed += [i for i in ids[keep:] if i not in current]
            for table in ("files", "skipped", "modules", "pages"):
                db.executemany(f"DELETE FROM {table} WHERE generation = ?", [(i,) for i in doomed])
            db.executemany("DELETE FROM generations WHERE id = ?", [(i,) for i in doomed])
            db.execute("DELETE FROM sources WHERE sha256 NOT IN (SELECT sha256 FROM files)")
            live = {b for (b,) in db.execute("SELECT DISTINCT blob FROM pages")}
        removed = 0
        # Blobs younger than the grace period may belong to a generation still being written.
        cutoff = time.time() - BLOB_GRACE_SECONDS
        for digest in list(self.pages.all_digests()):
            if digest not in live and _mtime(self.pages.path_for(digest)) < cutoff:
                with contextlib.suppress(OSError):
                    self.pages.path_for(digest).unlink()
                    removed += 1
        return removed
