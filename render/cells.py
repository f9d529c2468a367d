"""Cells: a laid-out page as compact bytes, so its PNG can be drawn later, when someone first asks for it.

Laying a page out is needed to know its line map and token cost; drawing and deflating its pixels
is not, and most pages of a large repository are never looked at. The cells (code points and inks
of every character cell) plus the layout settings are all `rasterize` reads.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict

import numpy as np
from isal import isal_zlib

from codectx.render.layout import LayoutSettings, PageLayout, grid_for

MAGIC = b"codectx-cells-1\n"
_HEADER_LENGTH = struct.Struct("<I")


def encode_cells(page: PageLayout, settings: LayoutSettings) -> bytes:
    # Code points in the narrowest type that holds them: most pages are ASCII, a quarter of the bytes to deflate.
    highest = int(page.codepoints.max()) if page.codepoints.size else 0
    code_type = "<u1" if highest < 1 << 8 else "<u2" if highest < 1 << 16 else "<u4"
    header = json.dumps(
        {"settings": asdict(settings), "width": page.width, "height": page.height, "shape": list(page.inks.shape),
         "codepoints": code_type},
        sort_keys=True,
    ).encode()  # fmt: skip
    body = page.codepoints.astype(code_type).tobytes() + page.inks.astype(np.uint8, copy=False).tobytes()
    return MAGIC + _HEADER_LENGTH.pack(len(header)) + header + isal_zlib.compress(body, 1)


def decode_cells(data: bytes) -> tuple[PageLayout, LayoutSettings]:
    """The page (without its line map: rasterize does not read it) and the settings it was laid out with."""
    if not data.startswith(MAGIC):
        raise ValueError("not a codectx cells file")
    start = len(MAGIC) + _HEADER_LENGTH.size
    (length,) = _HEADER_LENGTH.unpack_from(data, len(MAGIC))
    header = json.loads(data[start : start + length])
    settings = LayoutSettings(**header["settings"])
    rows, chars = header["shape"]
    body = isal_zlib.decompress(data[start + length :])
    count, code_type = rows * chars, np.dtype(header.get("codepoints", "<u4"))
    codepoints = np.frombuffer(body, dtype=code_type, count=count).reshape(rows, chars).astype(np.uint32)
    inks = np.frombuffer(body, dtype=np.uint8, offset=code_type.itemsize * count, count=count).reshape(rows, chars)
    page = PageLayout(header["width"], header["height"], grid_for(settings), codepoints, inks.copy())
    return page, settings
