"""Gallery: a static HTML page to look at what an index holds, module by module and page by page.

One self-contained folder: index.html (inline CSS, no script, no external asset), the page PNGs
(hard links into the page store where possible, copies elsewhere) and small thumbnails. A thumbnail
opens its page at full size through a CSS :target overlay, so it works from file:// in any browser.
"""

from __future__ import annotations

import contextlib
import html
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from PIL import Image

from codectx.pack import page_ranges
from codectx.store import ModuleRow, PageRow, Store

THUMB_WIDTH = 240  # pixels, at most; pages are reduced by a whole factor
INDEX_NAME = "index.html"


@dataclass(frozen=True, slots=True)
class FileSpan:
    """Lines `first` to `last` of `path`, shown on a page (blank-line runs inside them may be collapsed)."""

    path: str
    first: int
    last: int

    def label(self) -> str:
        return f"{self.path}:{self.first}" if self.first == self.last else f"{self.path}:{self.first}-{self.last}"


def file_spans(page: PageRow) -> list[FileSpan]:
    """Per file shown on the page, in page order, the first and last line drawn."""
    spans: list[FileSpan] = []
    for path, grouped in groupby(page_ranges(page.line_map), key=lambda r: r.path):
        ranges = list(grouped)
        spans.append(FileSpan(path, ranges[0].start_line, ranges[-1].end_line))
    return spans or [FileSpan(page.first_path, page.first_line, page.last_line)]


def _place(source: Path, target: Path) -> None:
    """`target` holds `source`'s bytes: a hard link (no copy, survives the store's cleanup) or a copy."""
    if target.exists():
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _thumbnail(source: Path, target: Path) -> tuple[int, int]:
    if not target.exists():
        with Image.open(source) as page:
            factor = max(1, -(-page.width // THUMB_WIDTH))
            page.convert("RGB").reduce(factor).quantize(colors=64).save(target, optimize=True)
    with Image.open(target) as thumb:
        return thumb.size


def write_gallery(store: Store, target: str, out: Path) -> Path:
    """Write the gallery of `target`'s current generation into `out`; returns the index.html path."""
    generation = store.require_generation(target)
    modules = store.modules(generation.id)
    pages_dir, thumbs_dir = out / "pages", out / "thumbs"
    pages_dir.mkdir(parents=True, exist_ok=True)
    thumbs_dir.mkdir(parents=True, exist_ok=True)
    sections: list[str] = []
    used: set[str] = set()
    for ordinal, module in enumerate(modules):
        pages = store.module_pages(generation.id, module.name)
        cards: list[str] = []
        for page in pages:
            name = f"{page.blob}.png"
            _place(store.pages.path_for(page.blob), pages_dir / name)
            thumb = _thumbnail(pages_dir / name, thumbs_dir / name)
            used.add(name)
            cards.append(_card(ordinal, page, len(pages), name, thumb))
        sections.append(_section(ordinal, module, cards))
    for folder in (pages_dir, thumbs_dir):  # pages of earlier generations
        for stale in folder.glob("*.png"):
            if stale.name not in used:
                with contextlib.suppress(OSError):
                    stale.unlink()
    index = out / INDEX_NAME
    index.write_text(_document(store, target, generation.id, modules, sections), encoding="utf-8")
    return index


def _card(ordinal: int, page: PageRow, count: int, name: str, thumb: tuple[int, int]) -> str:
    anchor = f"m{ordinal}-p{page.page_no}"
    spans = file_spans(page)
    ranges = "<br>".join(html.escape(s.label()) for s in spans)
    title = f"page {page.page_no + 1}/{count} · {page.width}×{page.height} px · {page.vision_tokens:,} tokens"
    previous = f'<a href="#m{ordinal}-p{page.page_no - 1}">← previous</a>' if page.page_no > 0 else ""
    following = f'<a href="#m{ordinal}-p{page.page_no + 1}">next →</a>' if page.page_no + 1 < count else ""
    return (
        f'<figure class="card"><a class="open" href="#{anchor}" title="open page {page.page_no + 1} at full size">'
        f'<img class="thumb" src="thumbs/{name}" width="{thumb[0]}" height="{thumb[1]}" loading="lazy" '
        f'alt="page {page.page_no + 1}"></a><figcaption><b>{page.page_no + 1}</b> {ranges}</figcaption></figure>'
        f'<div class="full" id="{anchor}"><nav><a href="#m{ordinal}">✕ close</a> {previous} {following}'
        f" <span>{html.escape(title)}</span><br>{ranges}</nav>"
        f'<img class="page" src="pages/{name}" width="{page.width}" height="{page.height}" loading="lazy" '
        f'alt="page {page.page_no + 1} at full size"></div>'
    )


def _section(ordinal: int, module: ModuleRow, cards: Sequence[str]) -> str:
    ratio = f"{module.text_tokens / module.vision_tokens:.2f}x" if module.vision_tokens else "-"
    facts = (
        f"{module.files} files · {module.lines:,} lines · {module.text_tokens:,} text tokens · "
        f"{module.pages} pages · {module.vision_tokens:,} vision tokens · {ratio}"
    )
    return (
        f'<section id="m{ordinal}"><h2>{html.escape(module.name)}</h2><p class="facts">{facts}</p>'
        f'<div class="cards">{"".join(cards)}</div></section>'
    )


def _document(store: Store, target: str, generation: int, modules: Sequence[ModuleRow], sections: list[str]) -> str:
    items = "".join(
        f'<li><a href="#m{i}">{html.escape(m.name)}</a> <small>{m.pages} p</small></li>' for i, m in enumerate(modules)
    )
    pages = sum(m.pages for m in modules)
    heading = f"{len(modules)} modules · {pages} pages · target {html.escape(target)} · generation {generation}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>codectx gallery · {html.escape(str(store.directory.parent.name))}</title>
<style>{_STYLE}</style></head>
<body><aside><h1>codectx</h1><p>{heading}</p><ol id="modules">{items}</ol></aside>
<main>{"".join(sections)}</main></body></html>
"""


_STYLE = """
body{margin:0;font:14px/1.4 system-ui,sans-serif;color:#111;display:flex}
aside{position:sticky;top:0;height:100vh;overflow:auto;width:260px;flex:none;padding:0 12px;
  background:#f4f4f4;border-right:1px solid #ddd;box-sizing:border-box}
aside ol{padding-left:1.4em}aside small{color:#666}
main{padding:0 20px;flex:1;min-width:0}
h1{font-size:18px}h2{font-size:16px;margin:24px 0 0;word-break:break-all}.facts{color:#555;margin:2px 0 8px}
.cards{display:flex;flex-wrap:wrap;gap:14px}
.card{margin:0;width:244px}.card img{border:1px solid #ccc;display:block;max-width:100%;height:auto}
figcaption{font-size:12px;color:#333;word-break:break-all}
.full{display:none;position:fixed;inset:0;background:rgba(20,20,20,.92);overflow:auto;z-index:10;padding:8px}
.full:target{display:block}
.full nav{color:#eee;font-size:13px;margin-bottom:8px;word-break:break-all}.full nav a{color:#9cf;margin-right:12px}
.full img{display:block;max-width:none;background:#fff}
"""
