"""Rasterizing speed: 1024x1024 pages (deepseek-ocr2 profile) per second on one core.

    .venv/bin/python bench/raster_speed.py [--runs 5] [--pages 150] [--target deepseek-ocr2]

Pages come from the standard-library sample (bench/stdlib_sample.py). Each run rasterizes the same
pages in this one process and is timed by its CPU time (the machine may be shared); the table shows
medians over --runs of pages per CPU-second, for composing the pixels alone and with PNG encoding.
The baseline, measured in the same run, is the straightforward way: gather whole glyph cells,
transpose them into place, and encode with Pillow at zlib's default level 6.
Goal: >= 40 pages/s per core with PNG encoding.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stdlib_sample import DEFAULT_LOCATION, build_sample

from codectx.modules import group_modules
from codectx.profiles import get_profile
from codectx.render.highlight import highlight
from codectx.render.layout import FileLines, LayoutSettings, PageLayout, layout_pages
from codectx.render.raster import atlas_for, page_pixels, rasterize
from codectx.render.theme import ALPHA_LEVELS, LIGHT
from codectx.scan import scan

GOAL_PAGES_PER_S = 40.0


def sample_pages(root: Path, settings: LayoutSettings, count: int) -> list[PageLayout]:
    """The first `count` pages of the sample's modules, in module order."""
    pages: list[PageLayout] = []
    for module in group_modules(scan(root).files):
        files = [FileLines(f.path, highlight(f.text.removesuffix("\n"), f.language)) for f in module.files]
        pages += layout_pages(files, settings)
        if len(pages) >= count:
            break
    return pages[:count]


def baseline_pixels(page: PageLayout, settings: LayoutSettings) -> np.ndarray:
    atlas = atlas_for(settings.font, settings.font_px, settings.line_height)
    grid = page.grid
    unique, inverse = np.unique(page.codepoints, return_inverse=True)
    ids = np.array([atlas.glyph_id(int(c)) for c in unique])[inverse].reshape(page.codepoints.shape)
    cells = atlas.bitmaps[ids] + (page.inks * ALPHA_LEVELS)[:, :, None, None]
    rows, chars = ids.shape
    body = cells.transpose(0, 2, 1, 3).reshape(rows * grid.cell_height, chars * grid.cell_width)
    pixels = np.zeros((page.height, page.width), dtype=np.uint8)
    pixels[grid.margin : grid.margin + body.shape[0], grid.margin : grid.margin + body.shape[1]] = body
    return pixels


def baseline_png(page: PageLayout, settings: LayoutSettings) -> bytes:
    image = Image.fromarray(baseline_pixels(page, settings), mode="P")
    image.putpalette(LIGHT.palette())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def pages_per_cpu_second(work: Callable[[PageLayout], object], pages: list[PageLayout]) -> float:
    started = time.process_time()
    for page in pages:
        work(page)
    return len(pages) / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", type=int, default=150)
    parser.add_argument("--target", default="deepseek-ocr2")
    args = parser.parse_args()
    settings = get_profile(args.target).layout
    pages = sample_pages(build_sample(DEFAULT_LOCATION), settings, args.pages)
    for page in pages:  # every glyph enters the atlas before timing starts
        rasterize(page, settings)

    cases: dict[str, Callable[[PageLayout], object]] = {
        "baseline: compose": lambda page: baseline_pixels(page, settings),
        "baseline: compose + PNG (zlib 6)": lambda page: baseline_png(page, settings),
        "codectx: compose": lambda page: page_pixels(page, settings),
        "codectx: compose + PNG": lambda page: rasterize(page, settings),
    }
    rates: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, work in cases.items():
            rates[name].append(pages_per_cpu_second(work, pages))
    png_kib = {
        "baseline: compose + PNG (zlib 6)": statistics.mean(len(baseline_png(p, settings)) for p in pages) / 1024,
        "codectx: compose + PNG": statistics.mean(len(rasterize(p, settings)) for p in pages) / 1024,
    }

    print(
        f"{len(pages)} pages of {settings.page_width}x{settings.page_height} px ({args.target}), "
        f"{args.runs} runs, pages per CPU-second (one core)"
    )
    print(f"{'case':<34} {'median':>8} {'min':>8} {'max':>8} {'ms/page':>8} {'PNG KiB':>8}")
    for name, values in rates.items():
        median = statistics.median(values)
        size = f"{png_kib[name]:>8.1f}" if name in png_kib else f"{'':>8}"
        print(f"{name:<34} {median:>8.1f} {min(values):>8.1f} {max(values):>8.1f} {1000 / median:>8.2f} {size}")
    ours = statistics.median(rates["codectx: compose + PNG"])
    verdict = "met" if ours >= GOAL_PAGES_PER_S else "NOT met"
    print(f"goal >= {GOAL_PAGES_PER_S:g} pages/s per core with PNG: {verdict} ({ours:.0f} pages/s)")


if __name__ == "__main__":
    main()
