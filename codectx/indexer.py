"""Index: scan -> modules -> (cached) render -> publish one generation atomically.

Each module's pages are a pure function of its files' paths and contents plus the profile and
renderer version (the module fingerprint), so unchanged modules reuse earlier pages untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

from codectx.modules import Module, group_modules
from codectx.profiles import Profile, get_profile
from codectx.progress import Reporter, SilentReporter
from codectx.render import RENDERER_VERSION
from codectx.render.highlight import highlight
from codectx.render.layout import FileLines, LayoutSettings, layout_pages
from codectx.render.raster import rasterize
from codectx.scan import Skipped, SourceFile, scan
from codectx.store import BlobStore, FileRow, ModuleRow, PageRow, Store, default_store_dir
from codectx.tokens import count_tokens_batch


@dataclass(frozen=True, slots=True)
class RenderJob:
    module: str
    files: tuple[tuple[str, str, str], ...]  # (path, language, text)
    settings: LayoutSettings
    page_tokens: int
    pages_dir: str


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
        digest.update(f"{file.path}\0{file.language}\0{file.sha256}\n".encode())
    return digest.hexdigest()


def render_module(job: RenderJob) -> list[PageRow]:
    """Highlight, lay out and rasterize one module; page PNGs go to the blob store."""
    blobs = BlobStore(Path(job.pages_dir), ".png")
    files = [
        FileLines(path, highlight(text[:-1] if text.endswith("\n") else text, language))
        for path, language, text in job.files
    ]
    rows: list[PageRow] = []
    for number, page in enumerate(layout_pages(files, job.settings)):
        digest = blobs.put(rasterize(page, job.settings))
        ranges = page.line_ranges()
        first = ranges[0] if ranges else (page.spans[0].path, page.spans[0].line, page.spans[0].line)
        last = ranges[-1] if ranges else first
        rows.append(
            PageRow(
                module=job.module, page_no=number, blob=digest, width=page.width, height=page.height,
                vision_tokens=job.page_tokens, first_path=first[0], first_line=first[1],
                last_path=last[0], last_line=last[2],
                line_map=json.dumps(page.line_map_json(), separators=(",", ":")),
            )
        )  # fmt: skip
    return rows


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


def _render_all(jobs: list[RenderJob], workers: int, reporter: Reporter) -> dict[str, list[PageRow]]:
    results: dict[str, list[PageRow]] = {}
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            results[job.module] = render_module(job)
            reporter.advance()
        return results
    # Largest modules first keeps both workers busy until the end.
    ordered = sorted(jobs, key=lambda j: -sum(len(t) for _, _, t in j.files))
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("forkserver")) as pool:
        futures = {pool.submit(render_module, job): job.module for job in ordered}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            reporter.advance()
    return results


def default_workers() -> int:
    return max(1, min(len(os.sched_getaffinity(0)), 8))


def index_repository(
    root: Path,
    target: str = "claude",
    store_dir: Path | None = None,
    reporter: Reporter | None = None,
    workers: int | None = None,
) -> IndexSummary:
    """Bring the index for `target` up to date with the tree under `root`."""
    started = time.perf_counter()
    root = root.resolve()
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a directory")
    store_dir = store_dir or default_store_dir(root)
    reporter = reporter or SilentReporter()
    profile = get_profile(target)
    workers = default_workers() if workers is None else workers

    with writer_lock(store_dir), Store.open(store_dir) as store:
        reporter.stage("scanning", None)
        scanned = scan(root, on_file=lambda _path: reporter.advance())
        modules = group_modules(scanned.files)
        module_of = {f.path: m.name for m in modules for f in m.files}

        known = store.known_token_counts([f.sha256 for f in scanned.files])
        missing = [f for f in scanned.files if f.sha256 not in known]
        if missing:
            reporter.stage("counting", len(missing))
            for file, tokens in zip(missing, count_tokens_batch([f.text for f in missing]), strict=True):
                known[file.sha256] = tokens
            reporter.advance(len(missing))

        fingerprints = {m.name: module_fingerprint(m, profile) for m in modules}
        pages_by_module: dict[str, list[PageRow]] = {}
        jobs: list[RenderJob] = []
        for module in modules:
            cached = store.pages_for_fingerprint(fingerprints[module.name])
            if cached is not None:
                pages_by_module[module.name] = [_renamed(p, module.name) for p in cached]
            else:
                jobs.append(
                    RenderJob(
                        module.name,
                        tuple((f.path, f.language, f.text) for f in module.files),
                        profile.layout,
                        profile.page_tokens,
                        str(store.pages.directory),
                    )
                )
        if jobs:
            reporter.stage("rendering", len(jobs))
            pages_by_module.update(_render_all(jobs, workers, reporter))

        file_rows = [
            FileRow(f.path, module_of[f.path], f.language, f.sha256, f.size, file_lines(f.text), known[f.sha256])
            for f in scanned.files
        ]
        module_rows = []
        for ordinal, module in enumerate(modules):
            pages = pages_by_module[module.name]
            module_rows.append(
                ModuleRow(
                    name=module.name, directory=module.directory, ordinal=ordinal, files=len(module.files),
                    lines=sum(file_lines(f.text) for f in module.files), chars=module.chars,
                    text_tokens=sum(known[f.sha256] for f in module.files), pages=len(pages),
                    vision_tokens=sum(p.vision_tokens for p in pages), fingerprint=fingerprints[module.name],
                )
            )  # fmt: skip
        skipped = [(s.path, s.reason) for s in scanned.skipped]
        fingerprint = _generation_fingerprint(fingerprints, skipped, known, scanned.files)

        current = store.current_generation(profile.name)
        published = current is None or current.fingerprint != fingerprint
        if published:
            generation = store.publish(
                target=profile.name,
                settings={"layout": asdict(profile.layout), "renderer": RENDERER_VERSION},
                fingerprint=fingerprint,
                files=file_rows,
                skipped=skipped,
                modules=module_rows,
                pages=[p for m in modules for p in pages_by_module[m.name]],
                sources=_new_sources(store, scanned.files),
            )
            store.collect_garbage()
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
    )


def _renamed(page: PageRow, module: str) -> PageRow:
    return page if page.module == module else replace(page, module=module)


def _new_sources(store: Store, files: list[SourceFile]) -> dict[str, str]:
    return {f.sha256: f.text for f in files if store.source_text(f.sha256) is None}


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
