"""Encode every page of an index generation, module by module, reusing cached embeddings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from codectx.model.cache import EmbeddingCache
from codectx.model.encoder import ENCODER_TARGET, EncoderError, OpticalEncoder
from codectx.progress import Reporter, SilentReporter
from codectx.store import PageRow, Store


@dataclass(frozen=True, slots=True)
class ModuleEmbeddings:
    module: str
    pages: int
    encoded: int
    reused: int
    tokens: int
    path: Path


@dataclass(slots=True)
class EncodeSummary:
    target: str
    generation: int
    model: str
    revision: str
    device: str
    dtype: str
    hidden_size: int
    cache_dir: Path
    seconds: float = 0.0
    modules: list[ModuleEmbeddings] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return sum(m.pages for m in self.modules)

    @property
    def encoded(self) -> int:
        return sum(m.encoded for m in self.modules)

    @property
    def reused(self) -> int:
        return sum(m.reused for m in self.modules)

    @property
    def tokens(self) -> int:
        return sum(m.tokens for m in self.modules)


def embed_generation(
    store: Store,
    target: str,
    encoder: OpticalEncoder,
    reporter: Reporter | None = None,
    batch_size: int = 1,
) -> EncodeSummary:
    """Bring the cached embeddings of `target`'s current generation up to date; returns what was done."""
    if target != ENCODER_TARGET:
        raise EncoderError(f"DeepSeek-OCR-2 encodes {ENCODER_TARGET} pages only, not {target!r}")
    started = time.perf_counter()
    reporter = reporter or SilentReporter()
    generation = store.require_generation(target)
    cache = EmbeddingCache(store.directory, target, encoder.revision)
    summary = EncodeSummary(
        target, generation.id, encoder.loaded.files.source, encoder.revision, encoder.device,
        str(encoder.dtype).removeprefix("torch."), encoder.hidden_size, cache.directory,
    )  # fmt: skip
    modules = [m.name for m in store.modules(generation.id)]
    pages_by_module = {name: store.module_pages(generation.id, name) for name in modules}
    reporter.stage("encoding", sum(len(p) for p in pages_by_module.values()))
    for name in modules:
        summary.modules.append(_embed_module(store, cache, encoder, name, pages_by_module[name], reporter, batch_size))
    cache.prune(modules)
    summary.seconds = time.perf_counter() - started
    return summary


def _embed_module(
    store: Store,
    cache: EmbeddingCache,
    encoder: OpticalEncoder,
    module: str,
    pages: list[PageRow],
    reporter: Reporter,
    batch_size: int,
) -> ModuleEmbeddings:
    cached = cache.load(module)
    wanted = {p.blob: p for p in pages}
    missing = [p for p in wanted.values() if p.blob not in cached]
    embeddings = {blob: cached[blob] for blob in wanted if blob in cached}
    reporter.advance(len(pages) - len(missing))
    for start in range(0, len(missing), batch_size):
        batch = missing[start : start + batch_size]
        vectors_per_page = encoder.encode_files([store.pages.path_for(p.blob) for p in batch], batch_size=len(batch))
        for page, vectors in zip(batch, vectors_per_page, strict=True):
            if vectors.shape[0] != page.vision_tokens:
                raise EncoderError(
                    f"{module} page {page.page_no + 1}: {vectors.shape[0]} vision tokens, "
                    f"but the index costs it {page.vision_tokens}"
                )
            embeddings[page.blob] = vectors
        reporter.advance(len(batch))
    path = cache.path_for(module)
    if missing or embeddings.keys() != cached.keys():
        path = cache.save(module, embeddings)
    tokens = sum(p.vision_tokens for p in pages)
    return ModuleEmbeddings(module, len(pages), len(missing), len(pages) - len(missing), tokens, path)
