"""Encode speed on CPU with the tiny DeepSeek-OCR-2 (the real transformers classes, random weights).

    .venv/bin/python bench/encode_speed.py [--pages 8] [--repeats 5] [--threads N]

Renders deepseek-ocr2 pages of two standard-library packages (json, logging), then times, on the same
pages in the same process, medians over --repeats runs after one warm-up:
- baseline: transformers' default DeepSeek-OCR-2 processing (1024 px global view plus 768 px tiles,
  256 + 4 x 144 + 1 = 833 tokens for a 1024 px page);
- codectx's processing (one 1024 px view, 257 tokens), one page and four pages per forward pass;
- `codectx encode` with nothing changed: every page's embeddings come from the safetensors cache.
The tiny model's widths are small, so absolute figures say little about the real model; the
ratios between rows and the cache's cost do.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import median_seconds

from codectx.indexer import index_repository
from codectx.model.embed_index import embed_generation
from codectx.model.encoder import ENCODER_TARGET, OpticalEncoder
from codectx.model.tiny import save_tiny_model
from codectx.store import Store

PACKAGES = ("json", "logging")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="codectx-encode-bench-") as scratch_name:
        scratch = Path(scratch_name)
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        repo = scratch / "repo"
        for package in PACKAGES:
            shutil.copytree(stdlib / package, repo / package, ignore=shutil.ignore_patterns("__pycache__", "test*"))
        store_dir = scratch / "store"
        index_repository(repo, target=ENCODER_TARGET, store_dir=store_dir)
        encoder = OpticalEncoder.load(str(save_tiny_model(scratch / "tiny")), device="cpu")

        with Store.open(store_dir, create=False) as store:
            generation = store.require_generation(ENCODER_TARGET)
            paths = [
                store.pages.path_for(page.blob)
                for module in store.modules(generation.id)
                for page in store.module_pages(generation.id, module.name)
            ][: args.pages]
            total_pages = sum(m.pages for m in store.modules(generation.id))
        images = []
        for path in paths:
            with Image.open(path) as opened:
                images.append(opened.convert("RGB"))
        count = len(images)

        def default_processing() -> None:
            with torch.inference_mode():
                for image in images:
                    pixels = encoder.processor.image_processor(images=[image], return_tensors="pt")
                    encoder.model.get_image_features(**pixels)

        def codectx_processing(batch: int) -> Callable[[], None]:
            def run() -> None:
                for start in range(0, count, batch):
                    encoder.encode(images[start : start + batch])

            return run

        def cached() -> None:
            with Store.open(store_dir, create=False) as store:
                summary = embed_generation(store, ENCODER_TARGET, encoder)
            if summary.encoded:
                raise AssertionError("the cache should have served every page")

        with Store.open(store_dir, create=False) as store:
            embed_generation(store, ENCODER_TARGET, encoder)  # fill the cache for the last row
        rows = [
            (
                "transformers default (1024 view + 768 tiles)",
                833,
                count,
                median_seconds(default_processing, args.repeats, warm_up=True),
            ),
            (
                "codectx, one 1024 px view, batch 1",
                257,
                count,
                median_seconds(codectx_processing(1), args.repeats, warm_up=True),
            ),
            (
                "codectx, one 1024 px view, batch 4",
                257,
                count,
                median_seconds(codectx_processing(4), args.repeats, warm_up=True),
            ),
            (
                "codectx encode, nothing changed (cache)",
                257,
                total_pages,
                median_seconds(cached, args.repeats, warm_up=True),
            ),
        ]

    print(f"pages: {count} timed ({total_pages} in the cache row); torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads; medians of {args.repeats} runs after a warm-up")  # fmt: skip
    print(f"{'processing':<46} {'tokens/page':>11} {'ms/page':>9} {'pages/s':>9} {'vs baseline':>11}")
    baseline = rows[0][3] / rows[0][2]
    for name, tokens, pages, seconds in rows:
        per_page = seconds / pages
        print(f"{name:<46} {tokens:>11} {per_page * 1000:>9.1f} {1 / per_page:>9.1f} {baseline / per_page:>10.1f}x")


if __name__ == "__main__":
    main()
