"""Reading secrets back off rendered pages with tesseract, the way the fidelity judge reads rows.

Shared by tests/test_secrets.py and bench/secrets_bench.py: the masked pages of an index are read,
and so are unmasked renders of the same files (the control: it shows the reader could see a key).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from codectx.fidelity import READ_FONT_PX, TesseractReader
from codectx.profiles import get_profile
from codectx.render.highlight import highlight
from codectx.render.layout import FileLines, layout_pages, read_line_map
from codectx.render.raster import rasterize
from codectx.scan import decode_text, normalise_newlines, scan
from codectx.store import Store

_CONFUSABLE = str.maketrans("OoIlL|S5Z2B8gq", "001111552288gg")


def fold(text: str) -> str:
    """What OCR cannot tell apart, made equal, so that a misread secret still counts as seen."""
    return "".join(text.split()).casefold().translate(_CONFUSABLE)


def ocr_rows(pages: list[tuple[Path, str]], lines: set[tuple[str, int]], font_px: int, work: Path) -> str:
    """Tesseract's reading of the rows of `lines` (path, line) on `pages` (PNG, line map JSON)."""
    scale = READ_FONT_PX / font_px
    crops = []
    for png, line_map in pages:
        grey = Image.open(png).convert("L")
        for row in read_line_map(line_map)["rows"]:
            if (row["path"], row["line"]) not in lines:
                continue
            x, y, w, h = row["box"]
            inked = np.flatnonzero(np.asarray(grey.crop((x, y, x + w, y + h))).min(axis=0) < 160)
            w = int(inked[-1]) + 4 if inked.size else w  # blank cells right of the text cost OCR time only
            crop = grey.crop((x, y, x + w, y + h))
            crops.append(np.asarray(crop.resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)))
    return "\n".join(TesseractReader(work).read(crops))


def index_pages(store_dir: Path) -> list[tuple[Path, str]]:
    """Every claude page of the index in `store_dir`, as (PNG, line map JSON)."""
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude")
        return [
            (store.pages.path_for(page.blob), page.line_map)
            for module in store.modules(generation.id)
            for page in store.module_pages(generation.id, module.name)
        ]


def unmasked_pages(repo: Path, work: Path) -> list[tuple[Path, str]]:
    """The repository's files drawn without masks, through the same renderer, at the claude profile."""
    settings = get_profile("claude").layout
    files = [
        FileLines(
            f.path,
            highlight(
                normalise_newlines(decode_text((repo / f.path).read_bytes()) or "").removesuffix("\n"), f.language
            ),
        )
        for f in scan(repo).files
    ]
    (work / "control").mkdir(parents=True, exist_ok=True)
    drawn = []
    for number, page in enumerate(layout_pages(files, settings)):
        png = work / "control" / f"{number}.png"
        png.write_bytes(rasterize(page, settings))
        drawn.append((png, json.dumps(page.line_map_json())))
    return drawn
