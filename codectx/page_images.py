"""Page images: PNGs named by their page key, drawn from stored cells the first time one is asked for.

The indexer lays every page out (line map and token cost need it) and keeps only its cells
(render.cells); drawing and deflating the pixels waits until a reader, a pack or an export needs
that page. The key is the page's layout key, a digest of its cells and settings, so equal pages
share one file and a page drawn once is never drawn again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from codectx.blobs import BlobStore, write_atomically
from codectx.render.cells import decode_cells, encode_cells
from codectx.render.layout import LayoutSettings, PageLayout
from codectx.render.raster import rasterize


class PageImages:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._png = BlobStore(directory, ".png")
        self._cells = BlobStore(directory, ".cells")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PageImages) and other.directory == self.directory

    def __hash__(self) -> int:
        return hash(self.directory)

    def keep(self, key: str, page: PageLayout, settings: LayoutSettings) -> None:
        """Store what drawing `page` needs, unless the page is stored already."""
        if not self._png.exists(key):
            self._cells.put(key, encode_cells(page, settings))

    def exists(self, key: str) -> bool:
        return self._png.exists(key) or self._cells.exists(key)

    def path_for(self, key: str) -> Path:
        """The PNG of page `key`, drawn now if this is its first request. OSError when neither is stored."""
        png = self._png.path_for(key)
        if not png.exists():
            page, settings = decode_cells(self._cells.path_for(key).read_bytes())
            # Several readers may draw the same page at once: each renames a whole file into place.
            write_atomically(png, rasterize(page, settings))
        return png

    def get(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()

    def all_digests(self) -> Iterator[str]:
        yield from {*self._png.all_digests(), *self._cells.all_digests()}

    def stored_files(self, key: str) -> list[Path]:
        """Every file kept for page `key` (to delete it), without drawing anything."""
        return [self._png.path_for(key), self._cells.path_for(key)]

    def temp_files(self) -> Iterator[Path]:
        yield from self._png.temp_files()  # both kinds share one folder, so this lists every temp file
