"""Reduced pages: a stored page PNG downscaled to one of the target's smaller native sizes.

The aspect ratio is kept (the page is fitted inside the size), so the cost is the target's rule at
the fitted size. Downscaled PNGs are cached next to the page store, keyed by page blob and size.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from codectx.blobs import write_atomically
from codectx.model.targets import Target
from codectx.render.layout import read_line_map
from codectx.store import REDUCED_DIRNAME, Store


@dataclass(frozen=True, slots=True)
class ReducedPage:
    blob: str  # sha256 of the downscaled PNG
    path: Path
    width: int
    height: int


def fitted_size(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """The largest size with the page's aspect ratio that fits inside `box` (never larger than the page)."""
    scale = min(box[0] / width, box[1] / height, 1.0)
    return max(1, int(width * scale)), max(1, int(height * scale))


def reduced_modes(target: Target, width: int, height: int) -> list[tuple[tuple[int, int], int]]:
    """(fitted size, tokens per page) for each reduced size that costs fewer tokens than a full page, cheapest last."""
    full = target.cost(width, height)
    modes: dict[tuple[int, int], int] = {}
    for box in target.reduced_sizes:
        size = fitted_size(width, height, box)
        tokens = target.cost(*size)
        if tokens < full and size != (width, height):
            modes[size] = tokens
    return sorted(modes.items(), key=lambda m: -m[1])


def _cache_dir(store: Store) -> Path:
    """Beside the page store; a read-only index falls back to a folder under the system temp dir."""
    directory = store.directory / REDUCED_DIRNAME
    with contextlib.suppress(OSError):
        directory.mkdir(exist_ok=True)
        if os.access(directory, os.W_OK):
            return directory
    fallback = Path(tempfile.gettempdir()) / f"codectx-reduced-{os.getuid()}"
    fallback.mkdir(mode=0o700, exist_ok=True)
    return fallback


def downscale_png(source: Path, size: tuple[int, int]) -> bytes:
    """Area-averaged downscale, mapped back onto the page's own palette (its inks blended with the paper)."""
    with Image.open(source) as opened:
        palette = opened.copy()
        small = opened.convert("RGB").resize(size, Image.Resampling.BOX)
    buffer = io.BytesIO()
    small.quantize(palette=palette, dither=Image.Dither.NONE).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def reduced_page(store: Store, blob: str, size: tuple[int, int]) -> ReducedPage:
    """The page `blob` downscaled to `size`, from the cache or made now (write to temp, then rename)."""
    directory = _cache_dir(store) / blob[:2]
    path = directory / f"{blob}-{size[0]}x{size[1]}.png"
    if not path.exists():
        write_atomically(path, downscale_png(store.pages.path_for(blob), size))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return ReducedPage(digest, path, size[0], size[1])


def scaled_line_map(line_map: str, size: tuple[int, int]) -> str:
    """The page's line map with every box scaled to the reduced size."""
    data = read_line_map(line_map)
    sx, sy = size[0] / data["width"], size[1] / data["height"]
    for row in data["rows"]:
        x, y, w, h = row["box"]
        row["box"] = [round(x * sx), round(y * sy), max(1, round(w * sx)), max(1, round(h * sy))]
    data["cell"] = [round(data["cell"][0] * sx, 3), round(data["cell"][1] * sy, 3)]
    data["scaled_from"] = [data["width"], data["height"]]
    data["width"], data["height"] = size
    return json.dumps(data, separators=(",", ":"))
