"""Index: scan -> modules -> (cached) render -> publish one generation atomically.

Each module's pages are a pure function of its files' paths and contents plus the profile and
renderer version (the module fingerprint), so unchanged modules reuse earlier pages untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

from codectx.catalog import (
    CatalogUpdate,
    FileAnalysis,
    analyse,
    catalog_ids,
    file_facts,
    prepare_catalog,
    store_analyses,
    update_catalog,
)
from codectx.classes import classify
from codectx.graph import LinkGraph, edges_key, reference_edges
from codectx.modules import Module, group_modules
from codectx.page_images import content_key, page_key
from codectx.profiles import Profile, get_profile
from codectx.progress import Reporter, SilentReporter
from codectx.render import RENDERER_VERSION
from codectx.render.layout import LayoutSettings, PlainFile, plan_pages
from codectx.rescan import SourceCache
from codectx.scan import Skipped, SourceFile, scan, tree_holds_at_least
from codectx.secrets import RULES_VERSION as SECRETS_RULES
from codectx.secrets import SecretSpan
from codectx.store import EdgeRow, FileRow, ModuleRow, PageRow, Store, default_store_dir
from codectx.tokens import count_tokens_batch


@dataclass(frozen=True, slots=True)
class RenderJob:
    module: str
    files: tuple[tuple[str, str, str], ...]  # (path, language, text as drawn)
    settings: LayoutSettings
    page_tokens: int
    analyse: tuple[tuple[str, str], ...] = ()  # (path, sha256) of the files to catalog too (codectx.catalog)


@dataclass(slots=True)
class IndexSummary:
    root: Path
    store_dir: Path
    target: str
    generation: int
    files: int
    modules: int
    pages: int
    text_tokens: int
    vision_tokens: int
    skipped: list[Skipped]
    by_module: list[ModuleRow]
    modules_rendered: int
    pages_rendered: int
    seconds: float
    published: bool
    extra: dict[str, object] = field(default_factory=dict)
    secrets: list[tuple[str, SecretSpan]] = field(default_factory=list)  # masked locations, by path

    @property
    def ratio(self) -> float:
        return round(self.text_tokens / self.vision_tokens, 3) if self.vision_tokens else 0.0


def file_lines(text: str) -> int:
    if not text:
        return 0
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def module_fingerprint(module: Module, profile: Profile) -> str:
    digest = hashlib.sha256()
    digest.update(f"{RENDERER_VERSION}\n{profile.layout.key()}\n{profile.page_tokens}\n".encode())
    for file in module.files:
        # the rendered text hides these
        masks = ";".join(f"{s.start}:{s.stop}:{s.keep}" for s in file.secrets if not s.allowed)
        digest.update(f"{file.path}\0{file.language}\0{file.sha256}\0{masks}\n".encode())
    return digest.hexdigest()


def render_module(job: RenderJob) -> list[PageRow]:
    """Lay out one module's pages: their line maps and what drawing each takes. No pixel is drawn here:
    the store draws a page's PNG when it is first asked for (codectx.page_images)."""
    return render_and_analyse(job)[0]


def render_and_analyse(job: RenderJob) -> tuple[list[PageRow], list[FileAnalysis]]:
    """render_module, plus the catalog entries of job.analyse."""
    to_analyse = dict(job.analyse)
    analyses = [
        analyse(path, language, to_analyse[path], text) for path, language, text in job.files if path in to_analyse
    ]
    plain = [PlainFile(path, text.removesuffix("\n").split("\n")) for path, _, text in job.files]
    contents = {path: content_key(language, text) for path, language, text in job.files}
    rows: list[PageRow] = []
    for number, plan in enumerate(plan_pages(plain, job.settings)):
        (first_path, first_line), (last_path, last_line) = plan.code_bounds()
        line_map = plan.stored_line_map()
        rows.append(
            PageRow(
                module=job.module, page_no=number, blob=page_key(line_map, plan.paths, job.settings, contents),
                width=plan.width, height=plan.height, vision_tokens=job.page_tokens, first_path=first_path,
                first_line=first_line, last_path=last_path, last_line=last_line, line_map=line_map,
            )
        )  # fmt: skip
    return rows, analyses


@contextlib.contextmanager
def writer_lock(store_dir: Path) -> Iterator[None]:
    """One writer per store; readers never take it."""
    store_dir.mkdir(parents=True, exist_ok=True)
    with open(store_dir / "write.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Below this much source, a process pool costs more to start than it saves (measured on 2 cores, cold
# `codectx index`, medians of 5: 0.63-1.25M characters index 3-8% faster in one process, 3.1M 18%
# slower). Whether to boot workers early is judged by the bytes a scan will read, which is no less.
PARALLEL_RENDER_CHARS = 2_000_000
CATALOG_BATCH_LINES = 50_000


def preload_workers() -> None:
    """Make forkserver workers (ours and codectx.catalog's) fork from a server that imported codectx once."""
    get_context("forkserver").set_forkserver_preload(["codectx.indexer"])


@contextlib.contextmanager
def _reclaim_on_failure(store: Store) -> Iterator[None]:
    """Remove the page blobs of a run that failed (a full disk, above all), which no generation names and
    no later run would reclaim while the disk stays full. Safe: the caller holds the writer lock."""
    try:
        yield
    except Exception:
        with contextlib.suppress(Exception):
            store.collect_garbage(grace_seconds=0)
        raise


def _chars(job: RenderJob) -> int:
    return sum(len(text) for _, _, text in job.files)


def _render_all(
    jobs: list[RenderJob],
    pool: Callable[[], Executor] | None,
    reporter: Reporter,
    meanwhile: Callable[[], None],
    analysed: Callable[[list[FileAnalysis]], None],
) -> dict[str, list[PageRow]]:
    """Render every job (in `pool`'s processes when given); `meanwhile` runs in this process meanwhile
    (on a thread), and `analysed` gets the catalog entries of each job as it completes."""
    results: dict[str, list[PageRow]] = {}

    def collect(module: str, done: tuple[list[PageRow], list[FileAnalysis]]) -> None:
        results[module] = done[0]
        analysed(done[1])
        reporter.advance()

    if pool is None or len(jobs) <= 1 or sum(map(_chars, jobs)) < PARALLEL_RENDER_CHARS:
        meanwhile()
        for job in jobs:
            collect(job.module, render_and_analyse(job))
        return results
    # Largest modules first keeps both workers busy until the end.
    ordered = sorted(jobs, key=_chars, reverse=True)
    futures = {pool().submit(render_and_analyse, job): job.module for job in ordered}
    # On a thread of its own (tiktoken and SQLite release the GIL): results are stored as they come
    # instead of piling up until it is done.
    with ThreadPoolExecutor(max_workers=1) as thread:
        side = thread.submit(meanwhile)
        for future in as_completed(futures):
            # Popped: a done future keeps its result, and every file's catalog entry (all its lines) is only
            # needed until it is stored.
            collect(futures.pop(future), future.result())
        side.result()
    return results


@contextlib.contextmanager
def _shared_pool(workers: int, start_now: bool = False) -> Iterator[Callable[[], Executor] | None]:
    """One process pool for every stage of a run (None for a single worker): its processes start, import
    and warm their caches once instead of once per stage. It starts on first use, or with `start_now` at
    once in the background, so that the workers boot (~0.2 s) while this process scans."""
    if workers <= 1:
        yield None
        return
    pools: list[ProcessPoolExecutor] = []
    lock = threading.Lock()

    def pool() -> ProcessPoolExecutor:
        with lock:
            if not pools:
                pools.append(ProcessPoolExecutor(max_workers=workers, mp_context=get_context("forkserver")))
                for _ in range(workers):  # a submit starts a worker: start them all now
                    pools[0].submit(int)
        return pools[0]

    booting = threading.Thread(target=pool, daemon=True) if start_now else None
    if booting is not None:
        booting.start()
    try:
        yield pool
    finally:
        if booting is not None:
            booting.join()
        for started in pools:
            started.shutdown(cancel_futures=True)


def default_workers() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))


def index_repository(
    root: Path,
    target: str = "claude",
    store_dir: Path | None = None,
    reporter: Reporter | None = None,
    workers: int | None = None,
    sources: SourceCache | None = None,
    links: LinkGraph | None = None,
    layout: Mapping[str, int] | None = None,
) -> IndexSummary:
    """Bring the index for `target` up to date with the tree under `root`.

    `sources` and `links` (kept by a long-running caller such as the watcher, for one store) make the scan
    re-read only changed files and the reference graph link again only the files a change can affect.
    `layout` overrides fields of the target's page layout (font_px, line_height, columns): for trials of
    other densities, in a store of their own.
    """
    started = time.perf_counter()
    root = root.resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    store_dir = store_dir or default_store_dir(root)
    reporter = reporter or SilentReporter()
    profile = get_profile(target, **(layout or {}))
    workers = default_workers() if workers is None else workers
    preload_workers()

    with (
        writer_lock(store_dir),
        Store.open(store_dir) as store,
        _reclaim_on_failure(store),
        contextlib.ExitStack() as stack,
    ):
        reporter.stage("scanning", None)

        def count_file(_path: str) -> None:
            reporter.advance()

        earlier_scans = store.secret_scans(SECRETS_RULES)
        # A watcher's updates remove just the pages they drop; its first update and `codectx index` also
        # sweep the page folder for what a killed run left.
        sweep = sources is None or sources.never_scanned
        # A first index of a tree worth a pool renders every page: its workers boot while this process scans.
        boot = earlier_scans is None and workers > 1 and tree_holds_at_least(root, PARALLEL_RENDER_CHARS)
        pool = stack.enter_context(_shared_pool(workers, start_now=boot))
        if sources:
            scanned = sources.scan(root, on_file=count_file, known_secrets=earlier_scans)
        elif earlier_scans is None and pool is not None:
            # A first scan looks for secrets in every file: spread it over the workers.
            scanned = scan(root, on_file=count_file, pool=pool)
        else:
            scanned = scan(root, on_file=count_file, known_secrets=earlier_scans)
        remasked = _remasked_contents(store, scanned.files, everything=earlier_scans is None)
        if remasked:
            store.forget_contents(sorted(remasked))  # their search rows hold the text as it was masked before
            if links is not None:
                links.forget()
        modules = group_modules(scanned.files)
        module_of = {f.path: m.name for m in modules for f in m.files}

        known = store.known_token_counts([f.sha256 for f in scanned.files])
        missing = [f for f in scanned.files if f.sha256 not in known]

        def count_missing() -> None:
            """Text tokens of new contents; runs while pages render (tiktoken releases the GIL)."""
            for file, tokens in zip(missing, count_tokens_batch([f.text for f in missing]), strict=True):
                known[file.sha256] = tokens

        fingerprints = {m.name: module_fingerprint(m, profile) for m in modules}
        current = store.current_generation(profile.name)
        to_catalog: dict[str, str] | None = None
        outlined_in_render = 0

        pending: list[FileAnalysis] = []
        pending_lines = 0

        def keep_analyses(analyses: list[FileAnalysis], flush: bool = False) -> None:
            """Store catalog entries tens of thousands of lines at a time: each transaction makes the
            full-text index flush and merge a segment, and more lines held at once cost memory."""
            nonlocal outlined_in_render, pending_lines
            pending.extend(analyses)
            outlined_in_render += len(analyses)
            pending_lines += sum(len(a.lines) for a in analyses)
            if flush or pending_lines >= CATALOG_BATCH_LINES:
                store_analyses(store, pending)
                pending.clear()
                pending_lines = 0

        # Modules the current generation holds as they are keep its pages, whose blobs are never collected.
        current_modules = store.modules(current.id) if current else []
        current_pages = {m.fingerprint: (m.pages, m.vision_tokens) for m in current_modules}
        pages_by_module: dict[str, list[PageRow]] = {}
        jobs: list[RenderJob] = []
        for module in modules:
            if fingerprints[module.name] in current_pages:
                continue
            cached = store.pages_for_fingerprint(fingerprints[module.name])
            if cached is not None:
                pages_by_module[module.name] = [_renamed(p, module.name) for p in cached]
            else:
                if to_catalog is None:  # contents new to the catalog are analysed where they render, sharing the parse
                    to_catalog = {f.path: f.sha256 for f in prepare_catalog(store, scanned.files)}
                jobs.append(
                    RenderJob(
                        module.name,
                        tuple((f.path, f.language, f.text) for f in module.files),
                        profile.layout,
                        profile.page_tokens,
                        tuple((f.path, to_catalog[f.path]) for f in module.files if f.path in to_catalog),
                    )
                )
        if jobs:
            reporter.stage("rendering", len(jobs))
            pages_by_module.update(_render_all(jobs, pool, reporter, count_missing, keep_analyses))
            keep_analyses([], flush=True)
        elif missing:
            count_missing()
        catalogued = _index_structure(store, scanned.files, workers, reporter, pool)

        lines_of = {f.path: file_lines(f.text) for f in scanned.files}
        file_rows = [
            FileRow(
                f.path,
                module_of[f.path],
                f.language,
                f.sha256,
                f.size,
                lines_of[f.path],
                known[f.sha256],
                classify(f.path, f.text),
            )
            for f in scanned.files
        ]
        module_rows = []
        for ordinal, module in enumerate(modules):
            pages = pages_by_module.get(module.name)
            page_count, vision_tokens = (
                (len(pages), sum(p.vision_tokens for p in pages)) if pages is not None
                else current_pages[fingerprints[module.name]]
            )  # fmt: skip
            module_rows.append(
                ModuleRow(
                    name=module.name, directory=module.directory, ordinal=ordinal, files=len(module.files),
                    lines=sum(lines_of[f.path] for f in module.files), chars=module.chars,
                    text_tokens=sum(known[f.sha256] for f in module.files), pages=page_count,
                    vision_tokens=vision_tokens, fingerprint=fingerprints[module.name],
                )
            )  # fmt: skip
        skipped = [(s.path, s.reason) for s in scanned.skipped]
        masked = [(f.path, span) for f in scanned.files for span in f.secrets]
        fingerprint = _generation_fingerprint(fingerprints, skipped, known, scanned.files)

        published = current is None or current.fingerprint != fingerprint
        if published:
            reporter.stage("linking", None)
            edges, graph_key = _reference_graph(store, scanned.files, links)
            reporter.stage("publishing", None)
            generation = store.publish(
                target=profile.name,
                settings={"layout": asdict(profile.layout), "renderer": RENDERER_VERSION, "secrets": SECRETS_RULES},
                fingerprint=fingerprint,
                files=file_rows,
                skipped=skipped,
                modules=module_rows,
                pages=[p for m in modules for p in pages_by_module.get(m.name, ())],
                sources=_new_sources(store, scanned.files, remasked),
                edges=edges,
                edges_key=graph_key,
                secrets=masked,
            )
            reporter.stage("collecting", None)
            store.collect_garbage(grace_seconds=0, sweep=sweep)  # nothing else writes: we hold the writer lock
        else:
            assert current is not None
            generation = current.id

    return IndexSummary(
        root=root,
        store_dir=store_dir,
        target=profile.name,
        generation=generation,
        files=len(file_rows),
        modules=len(module_rows),
        pages=sum(m.pages for m in module_rows),
        text_tokens=sum(m.text_tokens for m in module_rows),
        vision_tokens=sum(m.vision_tokens for m in module_rows),
        skipped=scanned.skipped,
        by_module=module_rows,
        modules_rendered=len(jobs),
        pages_rendered=sum(len(pages_by_module[j.module]) for j in jobs),
        seconds=time.perf_counter() - started,
        published=published,
        extra={
            "files_outlined": outlined_in_render + catalogued.analysed,
            "outline_seconds": round(catalogued.seconds, 3),
        },
        secrets=masked,
    )


def _index_structure(
    store: Store,
    files: list[SourceFile],
    workers: int,
    reporter: Reporter,
    pool: Callable[[], Executor] | None,
) -> CatalogUpdate:
    """Outlines, full-text lines and exact strings for file contents not catalogued yet (see codectx.catalog),
    which the render workers did not make."""
    reporter.stage("outlining", None)
    return update_catalog(store, files, workers, pool)


def _reference_graph(store: Store, files: list[SourceFile], links: LinkGraph | None) -> tuple[list[EdgeRow], str]:
    """The generation's reference edges and their edges_key."""
    ids = catalog_ids(store, ((f.path, f.language, f.sha256) for f in files))
    if links is None:
        edges = reference_edges(file_facts(store, ids))
        return edges, edges_key(edges)
    sha_of = {f.path: f.sha256 for f in files}  # with the id: a catalog id freed by collection may be reused
    edges = links.update(
        {path: (file_id, sha_of[path]) for path, file_id in ids.items()},
        lambda paths: file_facts(store, {path: ids[path] for path in paths}),
    )
    return edges, links.key


def _renamed(page: PageRow, module: str) -> PageRow:
    return page if page.module == module else replace(page, module=module)


def _remasked_contents(store: Store, files: list[SourceFile], everything: bool) -> set[str]:
    """Contents whose stored text was masked differently (another copy's file type, or older rules).

    Only files with secrets can differ, unless no generation was scanned under the current rules.
    """
    candidates = [f for f in files if everything or f.secrets]
    stored = store.source_texts(f.sha256 for f in candidates)
    return {f.sha256 for f in candidates if stored.get(f.sha256, f.text) != f.text}


def _new_sources(store: Store, files: list[SourceFile], remasked: set[str]) -> dict[str, str]:
    known = store.known_sources([f.sha256 for f in files])
    return {f.sha256: f.text for f in files if f.sha256 not in known or f.sha256 in remasked}


def _generation_fingerprint(
    fingerprints: dict[str, str], skipped: list[tuple[str, str]], tokens: dict[str, int], files: list[SourceFile]
) -> str:
    digest = hashlib.sha256()
    for name in sorted(fingerprints):
        digest.update(f"m\0{name}\0{fingerprints[name]}\n".encode())
    for path, reason in skipped:
        digest.update(f"s\0{path}\0{reason}\n".encode())
    for file in files:
        digest.update(f"f\0{file.path}\0{file.sha256}\0{tokens[file.sha256]}\n".encode())
    return digest.hexdigest()
