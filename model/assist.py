"""For local assistants: a pack's pages as one block of vision tokens, ready for the decoder.

    from codectx.model.assist import pack_embeddings
    from codectx.model.encoder import OpticalEncoder

    encoder = OpticalEncoder.load("deepseek-community/DeepSeek-OCR-2")
    pages = pack_embeddings(pack, encoder, store_dir=repo / ".codectx")   # (tokens, hidden)
    inputs = encoder.prompt_inputs([pages], "<image>\\nWhere is the retry logic?")
    answer = encoder.generate(inputs)             # or encoder.model(inputs_embeds=inputs.inputs_embeds, ...)

Each page contributes its vision tokens followed by the model's learned view separator, in pack
order. Pages already encoded by `codectx encode` come from the embedding cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from codectx.model.cache import EmbeddingCache
from codectx.model.encoder import ENCODER_TARGET, OpticalEncoder


class _PackPage(Protocol):
    @property
    def png_path(self) -> Path | str: ...


class _PackItem(Protocol):
    @property
    def pages(self) -> Sequence[_PackPage]: ...


class PackLike(Protocol):
    @property
    def items(self) -> Sequence[_PackItem]: ...


def page_paths(pack: PackLike | Iterable[Path | str]) -> list[Path]:
    """Page PNGs in order: from a pack's items (those shown as pages), or a plain list of paths."""
    if hasattr(pack, "items") and not callable(pack.items):
        return [Path(page.png_path) for item in pack.items for page in (getattr(item, "pages", None) or ())]
    return [Path(path) for path in pack]  # type: ignore[union-attr]


def pack_embeddings(
    pack: PackLike | Iterable[Path | str],
    encoder: OpticalEncoder,
    store_dir: Path | None = None,
    batch_size: int = 1,
) -> Any:
    """All pages' vision tokens concatenated: a (tokens, hidden) tensor on the CPU in the model's dtype."""
    import torch

    target = getattr(pack, "target", ENCODER_TARGET)
    if target != ENCODER_TARGET:
        raise ValueError(f"a {target} pack has pages sized for {target}; pack for {ENCODER_TARGET} to encode them")
    paths = page_paths(pack)
    if not paths:
        raise ValueError("the pack has no pages")
    digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in paths]
    found = EmbeddingCache(store_dir, ENCODER_TARGET, encoder.revision).find(digests) if store_dir else {}
    missing = [i for i, digest in enumerate(digests) if digest not in found]
    for index, vectors in zip(missing, encoder.encode_files([paths[i] for i in missing], batch_size), strict=True):
        found[digests[index]] = vectors
    return torch.cat([found[digest] for digest in digests], dim=0)
