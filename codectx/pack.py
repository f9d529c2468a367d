"""Pack: fit a repository into a token budget, one representation per module.

Representations, from most to least faithful: exact text, full-density pages, reduced pages (the
target's smaller native sizes), outline, omitted. Relevance (codectx.relevance) orders modules;
codectx.budget chooses. Pages are lossy, so each module sent as pages brings a glossary item: its
rare exact strings as text, inside the budget, at most GLOSSARY_SHARE of its pages' tokens. Text
tokens are cl100k counts of the exact text sent; page tokens are the target's rule. The total never exceeds the budget.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

from codectx.budget import Candidate, Option, allocate, faithfulness
from codectx.catalog import outlines
from codectx.classes import CLASSES, DEFAULT_WEIGHTS, module_weight, query_weights
from codectx.glossary import RARE_AT_MOST, glossary_text, is_identifier
from codectx.model.targets import get_target
from codectx.page_images import PageImages
from codectx.profiles import get_profile
from codectx.reduced import ReducedPage, reduced_modes, reduced_page, scaled_line_map
from codectx.relevance import RankBasis, Ranking, rank, rank_basis
from codectx.render.layout import read_line_map
from codectx.store import FileRow, ModuleRow, PageRow, Store, rows_in
from codectx.structure import Outline
from codectx.tokens import count_tokens, count_tokens_batch

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "codectx-pack/1"
_LINE_MAP_MARK = "\x00line-map:"  # a placeholder: no path or module name holds a NUL
OUTLINE_SKIPS = frozenset({"__all__"})
# A module's glossary costs at most this share of its pages' tokens (full or reduced): past that the
# strings cost more than the pages they clarify (benchmark tables, fixtures full of numbers). Values
# come first (hex, UUIDs, numbers: what pages misread), then long names; code before tests and data.
# The strings left out are one read_source call away, and the glossary says how many there are.
GLOSSARY_SHARE = 0.25
# A query's best files go faithfully (exact text or full pages) before the rest of the budget is
# shared by worth per token, so the fade never leaves the answer as an outline while less relevant
# modules go as pages: the modules of the ranking's first ANCHOR_FILES files, within ANCHOR_SHARE of
# the budget, in rank order. A module too large for that sends just its best files; the budget may
# then add an outline of its other files, or upgrade it to the whole module, by worth per token.
ANCHOR_FILES = 5
ANCHOR_SHARE = 0.5
FILE_FLOOR = 0.05  # a module file the query does not match keeps this share of its best file's worth per line


@dataclass(frozen=True, slots=True)
class FileRange:
    path: str
    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class PackPage:
    blob: str
    source: Path | PageImages  # a reduced page's file, or the page store, which draws a full page when asked
    width: int
    height: int
    tokens: int
    ranges: tuple[FileRange, ...]
    page_map: str  # the full page's line map, as stored

    @property
    def png_path(self) -> Path:
        """The PNG file; a full page not drawn yet is drawn now (most packs are sized, never sent)."""
        return self.source if isinstance(self.source, Path) else self.source.path_for(self.blob)

    @property
    def line_map(self) -> str:
        """The line map of this page as sent (JSON, render.layout.read_line_map reads it): a reduced page's is
        scaled here, when asked (only written packs carry line maps; a served pack never parses one)."""
        if isinstance(self.source, Path):
            return scaled_line_map(self.page_map, (self.width, self.height))
        return self.page_map


@dataclass(frozen=True, slots=True)
class PackItem:
    module: str
    representation: str  # "text" | "pages" | "reduced_pages" | "outline" | "glossary" | "omitted"
    tokens: int
    ranges: tuple[FileRange, ...]
    text: str | None
    pages: tuple[PackPage, ...]
    relevance: float


@dataclass(frozen=True, slots=True)
class Pack:
    target: str
    budget: int
    total_tokens: int
    generation: int
    items: tuple[PackItem, ...]
    by_class: dict[str, int] = field(default_factory=dict)  # file class -> tokens of the pack spent on it


# --- representations' text -----------------------------------------------------------------------


def file_header(row: FileRow) -> str:
    return f"# {row.path} (lines 1-{row.lines})\n"


def module_text(store: Store, files: Sequence[FileRow]) -> str:
    parts: list[str] = []
    for row in files:
        text = store.source_text(row.sha256) or ""
        parts.append(file_header(row) + text + ("" if text.endswith("\n") or not text else "\n"))
    return "".join(parts)


def outline_text(files: Sequence[FileRow], shapes: dict[str, Outline]) -> str:
    """One line per file and per symbol: `  start-end kind name`, indented by nesting."""
    lines: list[str] = []
    for row in files:
        shape = shapes.get(row.path)
        lines.append(f"{row.path} ({row.lines} lines, {row.language})")
        if shape is None:
            continue
        depth: list[int] = []
        for symbol in shape.symbols:
            depth.append(depth[symbol.parent] + 1 if symbol.parent >= 0 else 1)
            if symbol.kind == "variable" and (symbol.name.startswith("_") or symbol.name in OUTLINE_SKIPS):
                continue
            span = (
                f"{symbol.start_line}"
                if symbol.end_line == symbol.start_line
                else f"{symbol.start_line}-{symbol.end_line}"
            )
            lines.append(f"{'  ' * depth[-1]}{span} {symbol.kind} {symbol.name}")
    return "\n".join(lines) + "\n"


def _whole_files(files: Sequence[FileRow]) -> tuple[FileRange, ...]:
    return tuple(FileRange(f.path, 1, max(f.lines, 1)) for f in files)


def page_ranges(line_map: str) -> tuple[FileRange, ...]:
    """The source lines a page shows, as contiguous ranges in page order."""
    ranges: list[FileRange] = []
    for row in read_line_map(line_map)["rows"]:
        if row["kind"] != "code":
            continue
        path, line = row["path"], row["line"]
        last = ranges[-1] if ranges else None
        if last is not None and last.path == path and last.start_line <= line <= last.end_line + 1:
            ranges[-1] = FileRange(path, last.start_line, max(last.end_line, line))
        else:
            ranges.append(FileRange(path, line, line))
    return tuple(ranges)


def spanned_ranges(page: PageRow, files: Sequence[FileRow]) -> tuple[FileRange, ...]:
    """What `page_ranges` finds, from the page's first and last lines: a module's files are laid out
    whole and in order, so the files between them are shown entirely. No line map to parse."""
    paths = [f.path for f in files]
    first, last = paths.index(page.first_path), paths.index(page.last_path)
    if first == last:
        return (FileRange(page.first_path, page.first_line, page.last_line),)
    return (
        FileRange(page.first_path, page.first_line, files[first].lines),
        *(FileRange(f.path, 1, f.lines) for f in files[first + 1 : last]),
        FileRange(page.last_path, 1, page.last_line),
    )


def _merged(ranges: Iterable[FileRange]) -> tuple[FileRange, ...]:
    merged: list[FileRange] = []
    for item in ranges:
        last = merged[-1] if merged else None
        if last is not None and last.path == item.path and item.start_line <= last.end_line + 1:
            merged[-1] = FileRange(item.path, last.start_line, max(last.end_line, item.end_line))
        else:
            merged.append(item)
    return tuple(merged)


# --- glossary ------------------------------------------------------------------------------------


def rare_strings(store: Store, paths_of: Mapping[int, list[str]]) -> dict[str, list[tuple[str, int, str]]]:
    """path -> [(path, line, string)] for every exact value, and long identifiers in at most RARE_AT_MOST lines.

    `paths_of` maps the generation's catalog ids to its paths holding that content."""
    found: list[tuple[str, int, str]] = []
    sql = "SELECT file_id, line, text FROM exact_strings WHERE file_id IN ({marks})"
    for file_id, line, text in rows_in(store.db, sql, paths_of):
        found += [(path, line, text) for path in paths_of[file_id]]
    occurrences: dict[str, int] = defaultdict(int)
    for _, _, text in found:
        occurrences[text] += 1
    by_path: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for entry in sorted(found):
        if occurrences[entry[2]] <= RARE_AT_MOST or not is_identifier(entry[2]):
            by_path[entry[0]].append(entry)
    return by_path


# --- building ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModuleBasis:
    """One module's query-independent parts: its files, outline and glossary with their token counts."""

    row: ModuleRow
    files: tuple[FileRow, ...]
    header_tokens: int  # the file headers its text representation adds
    outline: str
    outline_tokens: int
    glossary: str
    glossary_tokens: int
    glossary_entries: tuple[tuple[str, int, str], ...]  # (path, line, string)


@dataclass(frozen=True, slots=True)
class PackBasis:
    """Everything a pack needs that depends on the generation alone, not on the query or the budget.

    A published generation never changes, so a server builds this once per generation and every
    pack after that only ranks and allocates. Module texts (with their exact token counts) and
    reduced pages are added as packs first use them.
    """

    generation: int
    target: str
    modules: tuple[ModuleBasis, ...]
    rank: RankBasis
    texts: dict[str, tuple[str, int]] = field(default_factory=dict)  # module -> (text, exact cl100k count)
    reduced: dict[tuple[str, tuple[int, int]], ReducedPage] = field(default_factory=dict)  # (page blob, size) -> copy
    glossaries: dict[tuple[str, int], Glossary] = field(default_factory=dict)  # (module, page tokens) -> capped


@dataclass(frozen=True, slots=True)
class Glossary:
    """A module's glossary as sent beside pages costing a given number of tokens."""

    text: str
    tokens: int
    entries: tuple[tuple[str, int, str], ...]  # (path, line, string), in path and line order
    left_out: int  # strings past the cap


def _glossary_preference(kinds: Mapping[str, str]) -> Callable[[tuple[str, int, str]], tuple[bool, float, str, int]]:
    def key(entry: tuple[str, int, str]) -> tuple[bool, float, str, int]:
        path, line, string = entry
        return is_identifier(string), -DEFAULT_WEIGHTS.get(kinds.get(path, "source"), 1.0), path, line

    return key


def _glossary_with(module: str, entries: Sequence[tuple[str, int, str]], left_out: int) -> str:
    text = glossary_text(module, sorted(entries))
    if not left_out:
        return text
    header, _, rest = text.partition("\n")
    note = (
        f"{left_out} more exact {'string' if left_out == 1 else 'strings'}: read_source "
        f"(this list is capped at {GLOSSARY_SHARE:.0%} of the pages' tokens)"
    )
    return f"{header}\n{note}\n{rest}"


def capped_glossary(basis: PackBasis, module: ModuleBasis, page_tokens: int, cache: bool = True) -> Glossary:
    """The module's glossary within GLOSSARY_SHARE of `page_tokens`, its preferred strings first.

    `cache=False` leaves it out of the basis's cache (a glossary of some of the module's files)."""
    cap = int(GLOSSARY_SHARE * page_tokens)
    if module.glossary_tokens <= cap:
        return Glossary(module.glossary, module.glossary_tokens, module.glossary_entries, 0)
    key = (module.row.name, cap)
    if key not in basis.glossaries or not cache:
        kinds = {f.path: f.kind for f in module.files}
        ordered = sorted(module.glossary_entries, key=_glossary_preference(kinds))
        best = Glossary("", 0, (), len(ordered))
        low, high = 0, len(ordered) - 1  # the largest number of strings that fits, by bisection
        while low <= high:
            keep = (low + high) // 2
            text = _glossary_with(module.row.name, ordered[:keep], len(ordered) - keep)
            tokens = count_tokens(text)
            if tokens <= cap:
                best = Glossary(text, tokens, tuple(sorted(ordered[:keep])), len(ordered) - keep)
                low = keep + 1
            else:
                high = keep - 1
        if not cache:
            return best
        basis.glossaries[key] = best
    return basis.glossaries[key]


def pack_basis(store: Store, generation: int) -> PackBasis:
    """The generation's pack basis (see PackBasis)."""
    target = store.db.execute("SELECT target FROM generations WHERE id = ?", (generation,)).fetchone()
    if target is None:
        raise ValueError(f"generation {generation} is not in this index")
    ranking = rank_basis(store, generation)
    files_by_module: dict[str, list[FileRow]] = defaultdict(list)
    for row in ranking.files.values():
        files_by_module[row.module].append(row)
    ids = {path: file_id for file_id, paths in ranking.paths_of.items() for path in paths}
    shapes = outlines(store, ids)
    rare = rare_strings(store, ranking.paths_of)
    rows = store.modules(generation)
    outline_texts = [outline_text(files_by_module[m.name], shapes) for m in rows]
    entries = [tuple(e for f in files_by_module[m.name] for e in rare.get(f.path, ())) for m in rows]
    glossary_texts = [glossary_text(m.name, found) if found else "" for m, found in zip(rows, entries, strict=True)]
    headers = [file_header(f) for m in rows for f in files_by_module[m.name]]
    outline_tokens, glossary_tokens, header_tokens = _token_counts(outline_texts, glossary_texts, headers)
    per_file = iter(header_tokens)
    header_sums = [sum(islice(per_file, len(files_by_module[m.name]))) for m in rows]
    modules = tuple(
        ModuleBasis(m, tuple(files_by_module[m.name]), h, o, ot, g, gt, e)
        for m, h, o, ot, g, gt, e in zip(
            rows, header_sums, outline_texts, outline_tokens, glossary_texts, glossary_tokens, entries, strict=True
        )
    )
    return PackBasis(generation, str(target[0]), modules, ranking)


def _token_counts(*groups: list[str]) -> list[list[int]]:
    """cl100k counts of several lists of texts, in one batch."""
    counts = count_tokens_batch([text for group in groups for text in group])
    result = []
    for group in groups:
        result.append(counts[: len(group)])
        counts = counts[len(group) :]
    return result


@dataclass(frozen=True, slots=True)
class _Module:
    basis: ModuleBasis
    relevance: float

    @property
    def row(self) -> ModuleRow:
        return self.basis.row

    @property
    def files(self) -> tuple[FileRow, ...]:
        return self.basis.files


def _options(
    module: ModuleBasis, reduced: list[tuple[tuple[int, int], int]], page_width: int, basis: PackBasis
) -> list[Option]:
    row = module.row
    header_tokens = module.header_tokens
    options = [
        Option("omitted", 0, 0.0),
        Option("outline", module.outline_tokens, faithfulness("outline")),
        Option("text", row.text_tokens + header_tokens, faithfulness("text")),
    ]
    if row.pages:
        glossary = capped_glossary(basis, module, row.vision_tokens)
        conveyed = _glossary_conveys(module, glossary)
        options.append(Option("pages", row.vision_tokens + glossary.tokens, faithfulness("pages") * conveyed))
        for detail, (size, tokens) in enumerate(reduced):
            reduced_glossary = capped_glossary(basis, module, row.pages * tokens)
            cost = row.pages * tokens + reduced_glossary.tokens
            scale = size[0] / page_width
            conveyed = _glossary_conveys(module, reduced_glossary)
            options.append(Option("reduced_pages", cost, faithfulness("reduced_pages", scale) * conveyed, detail))
    return options


def _glossary_conveys(module: ModuleBasis, glossary: Glossary) -> float:
    """The share of a module's lines that its pages and capped glossary carry exactly: a line whose
    values the cap leaves out is one a reader misreads on the page, so a module dense with them goes
    as text (exact) where the budget allows, rather than as pages that would garble them."""
    if not glossary.left_out:
        return 1.0
    missing = {(p, n) for p, n, _ in module.glossary_entries} - {(p, n) for p, n, _ in glossary.entries}
    return max(0.0, 1 - len(missing) / max(module.row.lines, 1))


def _downgrades(options: Sequence[Option], current: Option) -> Option:
    """The next cheaper option: used when exact text counts exceed their estimate."""
    cheaper = [o for o in options if o.tokens < current.tokens]
    return max(cheaper, key=lambda o: (o.faithfulness, -o.tokens))


@dataclass(frozen=True, slots=True)
class _Anchor:
    """Some of a module's files sent faithfully (exact text, or the pages that show them with their
    glossary); an outline of its other files may come with them."""

    files: tuple[FileRow, ...]  # in module order
    representation: str  # "text" | "pages"
    text: str  # the files' exact text ("" for pages)
    text_tokens: int
    pages: tuple[PageRow, ...]
    page_tokens: int
    glossary: Glossary | None
    rest: tuple[FileRow, ...]
    outline: str  # of `rest`
    outline_tokens: int
    faithfulness: float  # of the files alone
    outlined: float  # with the outline of the rest

    @property
    def tokens(self) -> int:
        """The files' cost, without the outline."""
        glossary = self.glossary.tokens if self.glossary else 0
        return self.text_tokens + self.page_tokens + glossary

    def option(self, outlined: bool) -> Option:
        if outlined:
            return Option("anchor_outline", self.tokens + self.outline_tokens, self.outlined)
        return Option("anchor", self.tokens, self.faithfulness)


def files_outline(module: ModuleBasis, keep: Sequence[FileRow]) -> str:
    """The module's outline cut down to the blocks of the files in `keep` (one block per file)."""
    wanted = {f.path for f in keep}
    heads = {f"{f.path} ({f.lines} lines, {f.language})\n": f.path for f in module.files}
    current: str | None = None
    kept: list[str] = []
    for line in module.outline.splitlines(keepends=True):
        current = heads.get(line, current)  # symbol lines are indented: never a file's head
        if current in wanted:
            kept.append(line)
    return "".join(kept)


def _anchor(
    store: Store, basis: PackBasis, module: ModuleBasis, paths: Sequence[str], scores: Mapping[str, float]
) -> _Anchor:
    """`paths` of `module` sent faithfully in their cheaper form (text or pages). Text is priced by its
    estimate here (the files' token counts and headers); _settle adds the exact text and the outline."""
    chosen = set(paths)
    files = tuple(f for f in module.files if f.path in chosen)
    rest = tuple(f for f in module.files if f.path not in chosen)
    # Within a module, worth follows the query too: a file's lines count by its score against the best file's.
    top = max((scores.get(f.path, 0.0) for f in module.files), default=0.0) or 1.0
    worth = {f.path: max(f.lines, 1) * (scores.get(f.path, 0.0) / top + FILE_FLOOR) for f in module.files}
    share = sum(worth[f.path] for f in files) / sum(worth.values())
    rest_faithfulness = (1 - share) * faithfulness("outline") if rest else 0.0
    headers = module.header_tokens if not rest else sum(count_tokens(file_header(f)) for f in files)
    sent = share * faithfulness("text")
    best = _Anchor(
        files, "text", "", sum(f.text_tokens for f in files) + headers, (), 0, None, rest, "", 0, sent,
        sent + rest_faithfulness,
    )  # fmt: skip
    if module.row.pages:
        order = {f.path: n for n, f in enumerate(module.files)}
        wanted = {order[f.path] for f in files}
        rows = tuple(
            p
            for p in store.module_pages(basis.generation, module.row.name)
            if any(order[p.first_path] <= n <= order[p.last_path] for n in wanted)
        )
        page_tokens = sum(p.vision_tokens for p in rows)
        # Other files these pages show whole are sent too: no outline for them.
        shown = chosen | {f.path for f in rest if _shows_whole(rows, module.files, f)}
        paged_rest = tuple(f for f in rest if f.path not in shown)
        paged_share = sum(worth[path] for path in shown) / sum(worth.values())
        if paged_rest:
            entries = tuple(e for e in module.glossary_entries if e[0] in shown)
            listed = glossary_text(module.row.name, entries) if entries else ""
            part = replace(module, glossary=listed, glossary_tokens=count_tokens(listed), glossary_entries=entries)
            glossary = capped_glossary(basis, part, page_tokens, cache=False)
        else:
            part, glossary = module, capped_glossary(basis, module, page_tokens)
        sent = paged_share * faithfulness("pages") * _glossary_conveys(part, glossary)
        outlined = (1 - paged_share) * faithfulness("outline") if paged_rest else 0.0
        paged = _Anchor(
            files, "pages", "", 0, rows, page_tokens, glossary, paged_rest, "", 0, sent, sent + outlined
        )  # fmt: skip
        if paged.tokens < best.tokens:
            best = paged
    return best


def _shows_whole(rows: Sequence[PageRow], files: Sequence[FileRow], file: FileRow) -> bool:
    """Whether the pages show `file` from its first line to its last (a blank line may fall between pages)."""
    spans = [r for p in rows for r in spanned_ranges(p, files) if r.path == file.path]
    return bool(spans) and min(r.start_line for r in spans) <= 1 and max(r.end_line for r in spans) >= file.lines


def _settle(store: Store, basis: PackBasis, module: ModuleBasis, anchor: _Anchor) -> _Anchor:
    """The chosen anchor with its exact text and token count, and the outline of the module's other files."""
    if anchor.representation == "text":
        if anchor.rest:
            text = module_text(store, anchor.files)
            exact = count_tokens(text)
        else:
            if module.row.name not in basis.texts:
                whole = module_text(store, module.files)
                basis.texts[module.row.name] = (whole, count_tokens(whole))
            text, exact = basis.texts[module.row.name]
        anchor = replace(anchor, text=text, text_tokens=exact)
    if anchor.rest:
        outline = files_outline(module, anchor.rest)
        anchor = replace(anchor, outline=outline, outline_tokens=count_tokens(outline) if outline else 0)
    return anchor


def _anchors(store: Store, basis: PackBasis, ranking: Ranking, budget: int) -> dict[str, _Anchor]:
    """module -> its anchor (see ANCHOR_FILES), for a query's best files; none without a query."""
    if not ranking.terms:
        return {}
    room = int(ANCHOR_SHARE * budget)
    wanted: dict[str, list[str]] = {}  # module -> its best files, best first
    for ranked in ranking.files[:ANCHOR_FILES]:
        if ranked.score > 0:
            wanted.setdefault(ranked.module, []).append(ranked.path)
    scores = {f.path: f.score for f in ranking.files}
    by_name = {m.row.name: m for m in basis.modules}
    anchors: dict[str, _Anchor] = {}
    for name, paths in wanted.items():
        module = by_name[name]
        whole = [f.path for f in module.files]
        for size in range(len(paths), 0, -1):  # as many of its best files as fit
            anchor = _anchor(store, basis, module, paths[:size], scores)
            if len(paths) < len(whole) and size == len(paths):
                entire = _anchor(store, basis, module, whole, scores)
                anchor = entire if entire.tokens <= anchor.tokens else anchor
            if anchor.tokens <= room:
                anchor = _settle(store, basis, module, anchor)
                if anchor.tokens <= room:  # an exact text may count a few tokens more than its estimate
                    anchors[name] = anchor
                    room -= anchor.tokens
                    break
    return anchors


def _anchored(options: Sequence[Option], anchor: _Anchor) -> tuple[Option, ...]:
    """A module's options beyond its anchor, priced as upgrades from it (the anchor is free: it is paid first):
    the outline of its other files, or the whole module as text or full pages. Nothing that would send
    its best files less faithfully (reduced pages or an outline of the whole module) replaces them."""
    upgrades = [
        replace(o, tokens=o.tokens - anchor.tokens)
        for o in [*options, anchor.option(outlined=True)]
        if o.representation in ("text", "pages", "anchor_outline")
        and o.tokens > anchor.tokens
        and o.faithfulness > anchor.faithfulness
    ]
    return (Option("anchor", 0, anchor.faithfulness), *upgrades)


# Downscaling is image work that releases the GIL: threads use every core. One pool for the process, whose
# threads stay: a server makes a few reduced pages per generation, and starting threads for each pack cost more.
_DOWNSCALING = ThreadPoolExecutor(max_workers=8, thread_name_prefix="codectx-downscale")


def _page_items(
    store: Store,
    pages: Sequence[PageRow],
    files: Sequence[FileRow],
    size: tuple[int, int] | None,
    tokens: int,
    basis: PackBasis,
) -> tuple[PackPage, ...]:
    if size is None:
        return tuple(
            PackPage(p.blob, store.pages, p.width, p.height, p.vision_tokens, spanned_ranges(p, files), p.line_map)
            for p in pages
        )  # fmt: skip
    missing = [p for p in pages if (p.blob, size) not in basis.reduced]
    if missing:
        smalls = list(_DOWNSCALING.map(lambda page: reduced_page(store, page.blob, size), missing))
        for page, small in zip(missing, smalls, strict=True):
            basis.reduced[(page.blob, size)] = small
    made = [basis.reduced[(p.blob, size)] for p in pages]
    return tuple(
        PackPage(s.blob, s.path, s.width, s.height, tokens, spanned_ranges(p, files), p.line_map)
        for p, s in zip(pages, made, strict=True)
    )


def build_pack(
    store: Store,
    target: str,
    budget: int,
    query: str | None = None,
    generation: int | None = None,
    basis: PackBasis | None = None,
    weights: Mapping[str, float] | None = None,
    recency: Mapping[str, float] | None = None,
) -> Pack:
    """The repository's current (or the given) generation for `target`, packed into `budget` tokens.

    `basis` is the generation's pack_basis, kept by a caller that packs the same generation again.
    `weights` are the file classes' weights (codectx.classes.load_weights; default DEFAULT_WEIGHTS).
    `recency` (path -> [0, 1], codectx.history.recency_scores) nudges recently changed files up.
    """
    if budget < 0:
        raise ValueError(f"the budget must be a positive number of tokens, not {budget}")
    profile = get_profile(get_target(target).name)
    if generation is None:
        generation = store.require_generation(profile.name).id
    else:
        made_for = store.db.execute("SELECT target FROM generations WHERE id = ?", (generation,)).fetchone()
        if made_for is None or made_for[0] != profile.name:
            raise ValueError(f"generation {generation} is not an index for target {profile.name}")
    if basis is None:
        basis = pack_basis(store, generation)
    elif basis.generation != generation:
        raise ValueError(f"the pack basis is for generation {basis.generation}, not {generation}")
    reduced = reduced_modes(profile.target, profile.layout.page_width, profile.layout.page_height)
    weights = query_weights(weights or DEFAULT_WEIGHTS, query)
    ranking = rank(store, generation, query, basis.rank, weights, recency=recency)
    relevance = {m.module: m.score for m in ranking.modules}
    modules = [_Module(m, relevance.get(m.row.name, 0.0)) for m in basis.modules]
    options = {m.row.name: _options(m.basis, reduced, profile.layout.page_width, basis) for m in modules}
    anchors = _anchors(store, basis, ranking, budget)
    candidates = [
        Candidate(
            m.row.name, m.relevance, m.row.lines,
            _anchored(options[m.row.name], anchors[m.row.name]) if m.row.name in anchors
            else tuple(options[m.row.name]),
            module_weight([(f.kind, f.lines) for f in m.files], weights),
        )
        for m in modules
    ]  # fmt: skip
    chosen = allocate(candidates, budget - sum(a.tokens for a in anchors.values()))
    for name, anchor in anchors.items():  # back to whole prices; an exact text too long falls back to the anchor
        options[name] += [anchor.option(outlined=False), anchor.option(outlined=True)]
        key = (chosen[name].representation, chosen[name].detail)
        chosen[name] = next(o for o in options[name] if (o.representation, o.detail) == key)

    # Text estimates add per-file counts; the exact count of the joined text may differ by a few tokens.
    texts: dict[str, tuple[str, int]] = {}
    committed = sum(o.tokens for o in chosen.values())  # kept current as choices change
    for module in sorted(modules, key=lambda m: m.relevance):
        while chosen[module.row.name].representation == "text":
            if module.row.name not in basis.texts:
                whole = module_text(store, module.files)
                basis.texts[module.row.name] = (whole, count_tokens(whole))
            text, exact = basis.texts[module.row.name]
            spent = committed - chosen[module.row.name].tokens
            if spent + exact <= budget:
                texts[module.row.name] = (text, exact)
                chosen[module.row.name] = Option("text", exact, chosen[module.row.name].faithfulness)
                committed = spent + exact
                break
            chosen[module.row.name] = _downgrades(options[module.row.name], chosen[module.row.name])
            committed = spent + chosen[module.row.name].tokens

    items: list[PackItem] = []
    for module in sorted(modules, key=lambda m: (-m.relevance, m.row.ordinal)):
        items.extend(
            _materialise(store, module, chosen[module.row.name], texts, reduced, basis, anchors.get(module.row.name))
        )
    total = sum(item.tokens for item in items)
    assert total <= budget, (total, budget)
    return Pack(profile.name, budget, total, generation, tuple(items), _by_class(items, basis.rank.files))


def _by_class(items: Sequence[PackItem], files: Mapping[str, FileRow]) -> dict[str, int]:
    """Tokens spent per file class: each item's tokens shared among its files by their text tokens."""
    spent = dict.fromkeys(CLASSES, 0.0)
    for item in items:
        paths = sorted({r.path for r in item.ranges if r.path in files})
        if not item.tokens or not paths:
            continue
        sizes = [max(files[p].text_tokens, 1) for p in paths]
        whole = sum(sizes)
        for path, size in zip(paths, sizes, strict=True):
            spent[files[path].kind] = spent.get(files[path].kind, 0.0) + item.tokens * size / whole
    return {kind: round(tokens) for kind, tokens in spent.items()}


def _materialise(
    store: Store,
    module: _Module,
    option: Option,
    texts: dict[str, tuple[str, int]],
    reduced: list[tuple[tuple[int, int], int]],
    basis: PackBasis,
    anchor: _Anchor | None = None,
) -> list[PackItem]:
    name, relevance, parts = module.row.name, round(module.relevance, 4), module.basis
    whole = _whole_files(module.files)
    if option.representation in ("anchor", "anchor_outline") and anchor is not None:
        return _anchor_items(store, module, anchor, basis, option.representation == "anchor_outline")
    if option.representation == "text":
        text, tokens = texts[name]
        return [PackItem(name, "text", tokens, whole, text, (), relevance)]
    if option.representation == "outline":
        return [PackItem(name, "outline", parts.outline_tokens, whole, parts.outline, (), relevance)]
    if option.representation == "omitted":
        return [PackItem(name, "omitted", 0, (), None, (), relevance)]
    rows = store.module_pages(basis.generation, name)
    if option.representation == "pages":
        pages = _page_items(store, rows, module.files, None, 0, basis)
        cost = module.row.vision_tokens  # what _options capped the glossary by
    else:
        size, tokens = reduced[option.detail]
        pages = _page_items(store, rows, module.files, size, tokens, basis)
        cost = module.row.pages * tokens
    ranges = _merged(r for page in pages for r in page.ranges)
    page_tokens = sum(p.tokens for p in pages)
    items = [PackItem(name, option.representation, page_tokens, ranges, None, pages, relevance)]
    glossary = capped_glossary(basis, parts, cost)
    if glossary.text:
        lines = tuple(FileRange(path, line, line) for path, line, _ in glossary.entries)
        items.append(PackItem(name, "glossary", glossary.tokens, lines, glossary.text, (), relevance))
    return items


def _anchor_items(store: Store, module: _Module, anchor: _Anchor, basis: PackBasis, outlined: bool) -> list[PackItem]:
    """A module's best files as text, or as pages with their glossary; then, if `outlined`, an outline of
    its other files."""
    name, relevance = module.row.name, round(module.relevance, 4)
    if anchor.representation == "text":
        items = [PackItem(name, "text", anchor.text_tokens, _whole_files(anchor.files), anchor.text, (), relevance)]
    else:
        pages = _page_items(store, anchor.pages, module.files, None, 0, basis)
        ranges = _merged(r for page in pages for r in page.ranges)
        items = [PackItem(name, "pages", anchor.page_tokens, ranges, None, pages, relevance)]
        if anchor.glossary is not None and anchor.glossary.text:
            lines = tuple(FileRange(path, line, line) for path, line, _ in anchor.glossary.entries)
            items.append(PackItem(name, "glossary", anchor.glossary.tokens, lines, anchor.glossary.text, (), relevance))
    if outlined and anchor.outline:
        rest = _whole_files(anchor.rest)
        items.append(PackItem(name, "outline", anchor.outline_tokens, rest, anchor.outline, (), relevance))
    return items


# --- writing -------------------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "root"


def _ranges_json(ranges: Iterable[FileRange]) -> list[dict[str, object]]:
    return [{"path": r.path, "start_line": r.start_line, "end_line": r.end_line} for r in ranges]


def _item_json(item: PackItem) -> dict[str, object]:
    return {
        "module": item.module,
        "representation": item.representation,
        "tokens": item.tokens,
        "relevance": item.relevance,
        "files": sorted({r.path for r in item.ranges}),
        "ranges": _ranges_json(item.ranges),
    }


def summary_json(pack: Pack) -> dict[str, object]:
    """budget, total_tokens, target, by_class (tokens and share of the total per file class) and items
    (each with its token cost, files, ranges and page count)."""
    return {
        "budget": pack.budget,
        "total_tokens": pack.total_tokens,
        "target": pack.target,
        "generation": pack.generation,
        "by_class": {
            kind: {"tokens": tokens, "share": round(tokens / pack.total_tokens, 4) if pack.total_tokens else 0.0}
            for kind, tokens in pack.by_class.items()
        },
        "items": [_item_json(item) | {"pages": len(item.pages)} for item in pack.items],
    }


def write_pack(pack: Pack, out_dir: Path) -> Path:
    """Write manifest.json, page PNGs (pages/) and text parts (text/) into `out_dir`; returns the manifest path.

    `out_dir` must be empty, new, or hold an earlier pack (whose files are replaced).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / MANIFEST
    leftovers = [p for p in out_dir.iterdir() if p.name not in (MANIFEST, "pages", "text")]
    if leftovers or (any(out_dir.iterdir()) and not _is_pack(manifest_path)):
        raise FileExistsError(f"{out_dir} is not empty and holds no earlier pack: choose a new or empty folder")
    for folder in ("pages", "text"):
        shutil.rmtree(out_dir / folder, ignore_errors=True)
    (out_dir / "pages").mkdir()
    (out_dir / "text").mkdir()
    items: list[dict[str, object]] = []
    line_maps: list[str] = []
    for index, item in enumerate(pack.items):
        stem = f"{index:03d}-{_slug(item.module)}"
        extra: dict[str, object] = {}
        if item.text is not None:
            name = f"text/{stem}.{item.representation}.txt"
            (out_dir / name).write_text(item.text, encoding="utf-8")
            extra["text_file"] = name
        if item.pages:
            listing = []
            for number, page in enumerate(item.pages, start=1):  # pages count from 1, as everywhere
                name = f"pages/{stem}.{number:03d}.png"
                shutil.copyfile(page.png_path, out_dir / name)
                listing.append(
                    {
                        "file": name, "blob": page.blob, "width": page.width, "height": page.height,
                        "tokens": page.tokens, "ranges": _ranges_json(page.ranges),
                        "line_map": f"{_LINE_MAP_MARK}{len(line_maps)}",
                    }
                )  # fmt: skip
                line_maps.append(json.dumps(read_line_map(page.line_map), separators=(",", ":")))
            extra["pages"] = listing
        items.append(_item_json(item) | extra)
    manifest = {
        "format": MANIFEST_FORMAT,
        "target": pack.target,
        "budget": pack.budget,
        "total_tokens": pack.total_tokens,
        "generation": pack.generation,
        "items": items,
    }
    # Line maps are JSON already: splice them in rather than parse and encode megabytes again.
    mark = re.escape(json.dumps(_LINE_MAP_MARK)[1:-1])
    text = re.sub(f'"{mark}(\\d+)"', lambda m: line_maps[int(m.group(1))], json.dumps(manifest))
    temporary = out_dir / f".{MANIFEST}.tmp"
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(manifest_path)
    return manifest_path


def _is_pack(manifest_path: Path) -> bool:
    try:
        return bool(json.loads(manifest_path.read_text()).get("format") == MANIFEST_FORMAT)
    except (OSError, ValueError, AttributeError):
        return False
