"""Page images: PNGs named by their page key, drawn the first time one is asked for.

An index keeps each page's line map and the names of the files it shows (codectx.indexer); the
pixels follow from those and the files' texts, so highlighting, drawing and deflating wait until a
reader, a pack or an export needs that page, and most pages of a large repository never are.
The key is a digest of everything the pixels follow from, so equal pages share one file and a
page drawn once is never drawn again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codectx.blobs import BlobStore, write_atomically
from codectx.render import RENDERER_VERSION
from codectx.render.layout import FileLines, LayoutSettings, PagePlan, draw_page

if TYPE_CHECKING:
    from codectx.render.highlight import StyledLine


@dataclass(frozen=True, slots=True)
class PageSource:
    """What drawing one page takes."""

    line_map: str  # as stored (render.layout.PagePlan.stored_line_map)
    settings: LayoutSettings
    files: Mapping[str, tuple[str, str]]  # path -> (language, text as drawn), for every file the page shows


class HighlightCache:
    """The highlighted lines of recently drawn texts, least recently used dropped first: the pages of
    one file are usually asked for together, and each needs the whole file highlighted."""

    def __init__(self, limit_chars: int) -> None:
        self.limit_chars = limit_chars
        self._entries: OrderedDict[tuple[str, str], list[StyledLine]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def highlight(self, text: str, language: str) -> list[StyledLine]:
        key = (language, text)
        with self._lock:
            lines = self._entries.get(key)
            if lines is not None:
                self._entries.move_to_end(key)
                return lines
        from codectx.render.highlight import highlight  # pygments: imported by processes that draw

        lines = highlight(text.removesuffix("\n"), language)
        with self._lock:
            self._entries[key] = lines
            self._chars += len(text)
            while self._chars > self.limit_chars and len(self._entries) > 1:
                (_, dropped), _ = self._entries.popitem(last=False)
                self._chars -= len(dropped)
        return lines


HIGHLIGHTS = HighlightCache(limit_chars=4_000_000)


def content_key(language: str, text: str) -> str:
    """What a page's pixels take from one file it shows: its language and the exact text drawn."""
    return f"{language}\0{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()}"


def page_key(line_map: str, paths: Sequence[str], settings: LayoutSettings, contents: Mapping[str, str]) -> str:
    """Everything a page's pixels follow from: its line map, its settings and the exact text of every
    file it shows (`paths`; `contents`: path -> content_key). Equal keys, equal PNGs."""
    digest = hashlib.sha256(f"{RENDERER_VERSION}\n{settings.key()}\n".encode())
    digest.update(line_map.encode())
    for path in paths:
        digest.update(f"\n{path}\0{contents[path]}".encode())
    return digest.hexdigest()


def draw(source: PageSource) -> bytes:
    """The PNG of a page."""
    from codectx.render.raster import rasterize

    plan = PagePlan.from_stored(source.line_map, source.settings)
    files = {
        path: FileLines(path, HIGHLIGHTS.highlight(text, language)) for path, (language, text) in source.files.items()
    }
    return rasterize(draw_page(plan, files, source.settings), source.settings)


class PageImages:
    """The PNGs of an index's pages. `source_of(key)` tells what drawing page `key` takes (None when
    the index holds no such page)."""

    def __init__(self, directory: Path, source_of: Callable[[str], PageSource | None]) -> None:
        self.directory = directory
        self._png = BlobStore(directory, ".png")
        self._source_of = source_of

    def path_for(self, key: str) -> Path:
        """The PNG of page `key`, drawn now if this is its first request. OSError when the index holds no
        such page."""
        png = self._png.path_for(key)
        if not png.exists():
            source = self._source_of(key)
            if source is None:
                raise FileNotFoundError(f"page {key} is not in the index: run `codectx index` again")
            contents = {path: content_key(language, text) for path, (language, text) in source.files.items()}
            if page_key(source.line_map, list(source.files), source.settings, contents) != key:
                # A file's stored text changed since the page was laid out (its secrets were masked anew):
                # its lines may wrap otherwise, so the old line map no longer fits it.
                raise FileNotFoundError(f"page {key} was laid out from text the index has since re-masked: "
                                        "ask for the current generation, or run `codectx index` again")  # fmt: skip
            # Several readers may draw the same page at once: each renames a whole file into place.
            write_atomically(png, draw(source))
        return png

    def get(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()

    def all_digests(self) -> Iterator[str]:
        yield from self._png.all_digests()

    def stored_files(self, key: str) -> list[Path]:
        """Every file kept for page `key` (to delete it), without drawing anything."""
        return [self._png.path_for(key)]

    def temp_files(self) -> Iterator[Path]:
        yield from self._png.temp_files()
