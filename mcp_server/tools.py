"""What each MCP tool and resource returns, independent of the transport.

Every method reads one pinned generation, builds content under the size cap and raises
ToolFailure (a message the caller can act on) for anything it will not or cannot serve.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from mcp_types import ContentBlock, TextContent

from codectx.mcp_server.output import NOTE_RESERVE, CappedContent, ranges_label, thousands
from codectx.mcp_server.paths import RefusedPath, normalise_request_path, refusal_on_disk
from codectx.mcp_server.reader import IndexReader, PerGeneration, Snapshot, ToolFailure, suggest
from codectx.mcp_server.symbols import Definition, generation_outlines
from codectx.pack import page_ranges
from codectx.profiles import get_profile
from codectx.reduced import reduced_modes
from codectx.scan import IgnoreRules
from codectx.search import SearchError
from codectx.search import search as search_index
from codectx.store import ModuleRow
from codectx.tokens import count_tokens, count_tokens_batch
from codectx.wording import plural

PAGE_URI_TEMPLATE = "codectx://pages/{module}/{page}"
OVERVIEW_NAMES = 10  # top-level definitions named per module in repo_overview
HIT_CHARS = 240  # a search hit's line is cut after this many characters
MANIFEST_URI = "codectx://manifest"
# Later parts of a manifest longer than the size cap; the generation keeps every part on one index.
MANIFEST_PART_TEMPLATE = MANIFEST_URI + "{?part,generation}"
ManifestEntry = tuple[dict[str, object], dict[str, object] | None]  # (module facts, one of its pages)


def page_uri(module: str, page_number: int) -> str:
    """URI of one page (1-based). Module names are fully percent-encoded; '.' becomes %2E."""
    encoded = quote(module, safe="").replace(".", "%2E")
    return f"codectx://pages/{encoded}/{page_number}"


def manifest_part_uri(part: int, generation: int) -> str:
    return f"{MANIFEST_URI}?part={part}&generation={generation}"


def numbered(lines: list[str], first_line: int) -> str:
    width = len(str(first_line + len(lines) - 1))
    return "".join(f"{number:>{width}}\t{line}" for number, line in enumerate(lines, start=first_line))


@dataclass(frozen=True, slots=True)
class ServeOptions:
    root: Path
    store_dir: Path
    target: str
    max_tokens: int


class CodectxTools:
    """The server's behaviour; `server.py` only wires these methods to MCP."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.reader = IndexReader(options.root, options.store_dir)
        self.outlines = PerGeneration(generation_outlines)
        self.manifests = PerGeneration(self._manifest_parts)

    def close(self) -> None:
        self.reader.close()

    def _capped(self) -> CappedContent:
        return CappedContent(self.options.max_tokens)

    # --- repo_overview -------------------------------------------------------------------------

    def repo_overview(self, offset: int = 0) -> list[ContentBlock]:
        with self.reader.pinned(self.options.target) as snap:
            modules = snap.modules()
            if offset < 0 or (modules and offset >= len(modules)):
                held = plural(len(modules), "module")
                raise ToolFailure(f"offset {offset} is out of range: the index has {held} (0-based)")
            facts = self.outlines.of(snap)
            paths: dict[str, list[str]] = {}
            for row in snap.files():
                paths.setdefault(row.module, []).append(row.path)
            profile = get_profile(snap.target)
            reduced = [
                t for _, t in reduced_modes(profile.target, profile.layout.page_width, profile.layout.page_height)
            ]
            out = self._capped()
            out.add_text(self._overview_head(snap, modules), force=True)
            table = [
                "| module | files | lines | text tokens | pages | page tokens | reduced page tokens | outline tokens "
                "| top-level definitions |\n",
                "|---|---|---|---|---|---|---|---|---|\n",
            ]
            rows = [
                self._overview_row(
                    m, reduced, facts.outline_tokens.get(m.name, 0), facts.symbols.top_level(paths.get(m.name, []))
                )
                for m in modules[offset:]
            ]
            fitting = max(1, out.lines_that_fit(table + rows) - len(table))
            out.add_text("".join(table + rows[:fitting]), force=True)
            shown = offset + fitting
            if shown < len(modules):
                out.add_text(
                    f"Size cap reached: modules {offset + 1}-{shown} of {len(modules)} listed. "
                    f"Call repo_overview(offset={shown}) for the rest.",
                    force=True,
                )
            else:
                out.add_text(
                    "Next: load_context(budget) packs the repository into a token budget; get_pages(module) shows one "
                    "module's pages; read_source(path, start_line, end_line) returns exact text; search(pattern) and "
                    "find_symbol(name) give path:line.",
                    force=True,
                )
            return out.blocks

    def _overview_head(self, snap: Snapshot, modules: list[ModuleRow]) -> str:
        text = sum(m.text_tokens for m in modules)
        vision = sum(m.vision_tokens for m in modules)
        ratio = f"{text / vision:.2f}x" if vision else "-"
        return (
            f"codectx index of {snap.root} (target {snap.target}, generation {snap.id}): "
            f"{plural(sum(m.files for m in modules), 'file')} in {plural(len(modules), 'module')}, "
            f"{plural(sum(m.lines for m in modules), 'line')}. All as text: {plural(text, 'token')}; "
            f"all as pages: {plural(sum(m.pages for m in modules), 'page')}, {plural(vision, 'token')} "
            f"({ratio} compression). "
            "Reduced pages list one cost per lower-resolution mode of the target."
        )

    @staticmethod
    def _overview_row(module: ModuleRow, reduced: list[int], outline_tokens: int, top: list[Definition]) -> str:
        ratio = f"{module.text_tokens / module.vision_tokens:.2f}x" if module.vision_tokens else "-"
        shrunk = " / ".join(thousands(module.pages * tokens) for tokens in reduced) or "-"
        public = list(
            dict.fromkeys(
                f"{d.kind} {d.qualified}" for d in top if not d.qualified.startswith("_") and d.kind != "variable"
            )
        )
        names = ", ".join(public[:OVERVIEW_NAMES])
        if len(public) > OVERVIEW_NAMES:
            names += f", +{len(public) - OVERVIEW_NAMES} more"
        return (
            f"| {module.name} | {module.files} | {thousands(module.lines)} | {thousands(module.text_tokens)} "
            f"| {module.pages} | {thousands(module.vision_tokens)} ({ratio}) | {shrunk} | {thousands(outline_tokens)} "
            f"| {names or '-'} |\n"
        )

    # --- get_pages -----------------------------------------------------------------------------

    def get_pages(self, module: str, pages: list[int] | None = None) -> list[ContentBlock]:
        with self.reader.pinned(self.options.target) as snap:
            row = snap.module(module)
            stored = snap.pages(row.name)
            count = len(stored)
            wanted = list(dict.fromkeys(pages)) if pages else list(range(1, count + 1))
            bad = [n for n in wanted if not 1 <= n <= count]
            if bad:
                raise ToolFailure(
                    f"module {module!r} has {plural(count, 'page')}, numbered 1-{count}; "
                    f"no page {', '.join(map(str, bad[:10]))}"
                )
            out = self._capped()
            out.add_text(
                f"module {row.name}: {plural(count, 'page')} for target {snap.target} (generation {snap.id}), "
                f"{plural(row.files, 'file')}, {plural(row.lines, 'line')}; sending "
                f"{'page' if len(wanted) == 1 else 'pages'} {_spans(wanted)}. "
                "Each page is preceded by the file lines it shows; read_source gives their exact text.",
                force=True,
            )
            sent: list[int] = []
            for number in wanted:
                page = stored[number - 1]
                ranges = ranges_label(page_ranges(page.line_map), spans=True)
                caption = f"page {number}/{count} of {row.name} ({page.vision_tokens} tokens): {ranges}"
                if not out.add_image(caption, snap.page_png(page), page.vision_tokens):
                    break
                sent.append(number)
            rest = wanted[len(sent) :]
            if rest:
                out.add_text(
                    f"Size cap reached ({thousands(self.options.max_tokens)} tokens per result): pages "
                    f"{_spans(rest)} not sent. Call get_pages(module={row.name!r}, pages={rest[:40]}) for the rest.",
                    force=True,
                )
            return out.blocks

    # --- read_source ---------------------------------------------------------------------------

    def read_source(self, path: str, start_line: int | None = None, end_line: int | None = None) -> list[ContentBlock]:
        try:
            rel = normalise_request_path(path)
        except RefusedPath as refused:
            raise ToolFailure(str(refused)) from None
        refusal = refusal_on_disk(self.options.root, rel, IgnoreRules(self.options.root))
        if refusal:
            raise ToolFailure(refusal)
        with self.reader.pinned(self.options.target) as snap:
            row = snap.file(rel)
            if row is None:
                raise ToolFailure(self._not_indexed(snap, rel))
            text = snap.store.source_text(row.sha256)
            if text is None:
                raise ToolFailure(f"the text of {rel} is missing from the index: run `codectx index {snap.root}`")
            lines = text.splitlines(keepends=True)
            if lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            total = len(lines)
            first = 1 if start_line is None else start_line
            last = total if end_line is None else min(end_line, total)
            if total == 0 or first < 1 or first > total or last < first:
                asked = f"start_line={first}" + ("" if end_line is None else f", end_line={end_line}")
                raise ToolFailure(
                    f"bad line range for {rel} ({asked}): the file has {plural(total, 'line')}; pass "
                    f"1 <= start_line <= {total} and end_line >= start_line (an end_line past {total} is cut)"
                )
            out = self._capped()
            head = f"{rel} (generation {snap.id}), lines {first}-{last} of {total}:\n"
            selected = lines[first - 1 : last]
            fitting = out.lines_that_fit(selected, overhead=head)
            if fitting == 0:  # one line longer than the whole cap: send a cut piece of it
                selected = [out.cut_to_fit(selected[0], head)]
                fitting = 1
            shown_last = first + fitting - 1
            if fitting < len(selected):
                head = f"{rel} (generation {snap.id}), lines {first}-{shown_last} of {total} (size cap reached):\n"
            out.add_text(head + numbered(selected[:fitting], first), force=True)
            if shown_last < last:
                out.add_text(
                    f"Lines {shown_last + 1}-{last} not sent (size cap {thousands(self.options.max_tokens)} tokens). "
                    f"Call read_source(path={rel!r}, start_line={shown_last + 1}, end_line={last}) for the rest.",
                    force=True,
                )
            return out.blocks

    def _not_indexed(self, snap: Snapshot, rel: str) -> str:
        skipped = dict(snap.store.skipped(snap.id))
        if rel in skipped:
            return f"{rel} is not indexed ({skipped[rel]}): only indexed source files are served"
        paths = [f.path for f in snap.files()]
        prefix = rel.rstrip("/") + "/"
        inside = [p for p in paths if p.startswith(prefix)]
        if inside:
            return f"{rel} is a directory: pass a file path, e.g. {inside[0]!r}"
        close = suggest(rel, paths) or suggest(rel.rpartition("/")[2], paths)
        hint = f"did you mean: {', '.join(repr(c) for c in close)}?" if close else "repo_overview lists the modules"
        return f"{rel} is not in the index: {hint}"

    # --- search and find_symbol ---------------------------------------------------------------

    def search(self, pattern: str, regex: bool = False, offset: int = 0) -> list[ContentBlock]:
        rules = IgnoreRules(self.options.root)
        with self.reader.pinned(self.options.target) as snap:
            hits = (hit for hit in search_index(snap.store, snap.id, pattern, regex) if not rules.is_excluded(hit.path))
            # islice refuses offsets past sys.maxsize; no index has that many hits anyway
            skipped = itertools.islice(hits, min(offset, sys.maxsize), None)
            lines = (f"{hit.path}:{hit.line}: {_cut(hit.text)}\n" for hit in skipped)
            kind = "regular expression" if regex else "fixed string"
            try:
                return self._listing(
                    f"search {pattern!r} ({kind}, generation {snap.id})",
                    lines,
                    offset,
                    f"search(pattern={pattern!r}, regex={regex}, offset={{next}})",
                    "hits",
                )
            except SearchError as error:
                advice = (
                    "fix the expression (Python `re` syntax), or pass regex=false to find the text as it is"
                    if regex
                    else "pass a fixed string of text, or regex=true for a regular expression"
                )
                raise ToolFailure(f"{error}; {advice}") from None

    def find_symbol(self, name: str, offset: int = 0) -> list[ContentBlock]:
        wanted = name.strip()
        if not wanted:
            raise ToolFailure("empty name: pass a definition's name, e.g. 'JSONDecoder' or 'JSONDecoder.decode'")
        rules = IgnoreRules(self.options.root)
        with self.reader.pinned(self.options.target) as snap:
            symbols = self.outlines.of(snap).symbols
            found = [d for d in symbols.find(wanted) if not rules.is_excluded(d.path)]
            if not found:
                close = symbols.close_names(wanted)
                hint = f"close names: {', '.join(close)}" if close else "search(pattern) finds any text"
                raise ToolFailure(f"no definition named {wanted!r} in the index ({hint})")
            return self._listing(
                f"definitions of {wanted!r} (generation {snap.id}) as path:lines kind name",
                (definition.label() + "\n" for definition in found[offset:]),
                offset,
                f"find_symbol(name={wanted!r}, offset={{next}})",
                "definitions",
            )

    def _listing(self, head: str, lines: Iterator[str], offset: int, again: str, noun: str) -> list[ContentBlock]:
        """`head` and as many `lines` as fit; when more remain, a note with the call (`again`) that returns them."""
        out = self._capped()
        room = out.room - count_tokens(head) - 20  # the head gains a count below
        chosen: list[str] = []
        used = 0
        more = False
        for line in lines:
            used += count_tokens(line)
            if used > room and chosen:
                more = True
                break
            chosen.append(line)
        if not chosen:
            return [
                TextContent(type="text", text=f"{head}: no {noun}" + (f" after the first {offset}." if offset else "."))
            ]
        fitting = out.lines_that_fit(chosen, overhead=head + "\n") or 1
        more = more or fitting < len(chosen)
        last = offset + fitting
        out.add_text(f"{head}, {noun} {offset + 1}-{last}:\n" + "".join(chosen[:fitting]), force=True)
        if more:
            out.add_text(
                f"Size cap reached after {last} {noun}. Call {again.format(next=last)} for the rest.", force=True
            )
        return out.blocks

    # --- resources -----------------------------------------------------------------------------

    def manifest(self, part: int = 1, generation: int | None = None) -> str:
        """One part of the manifest (1-based) of the current generation, or of `generation` while it is kept."""
        with self.reader.pinned(self.options.target, generation) as snap:
            parts = self.manifests.of(snap)
            if not 1 <= part <= len(parts):
                raise ToolFailure(
                    f"the manifest of generation {snap.id} has {len(parts)} parts, numbered 1-{len(parts)}: "
                    f"read {MANIFEST_URI} for the first"
                )
            return parts[part - 1]

    def _manifest_parts(self, snap: Snapshot) -> list[str]:
        """The manifest as JSON documents under the size cap, in module order; a module whose pages do not fit in
        one part continues in the next, its facts repeated there."""
        entries: list[ManifestEntry] = []
        for module in snap.modules():
            head: dict[str, object] = {
                "name": module.name, "directory": module.directory, "files": module.files, "lines": module.lines,
                "text_tokens": module.text_tokens, "vision_tokens": module.vision_tokens, "page_count": module.pages,
            }  # fmt: skip
            entries.append((head, None))
            entries += [
                (head, {
                    "page": page.page_no + 1, "uri": page_uri(module.name, page.page_no + 1),
                    "vision_tokens": page.vision_tokens, "width": page.width, "height": page.height,
                    "first": f"{page.first_path}:{page.first_line}", "last": f"{page.last_path}:{page.last_line}",
                })
                for page in snap.pages(module.name)
            ]  # fmt: skip
        costs = count_tokens_batch([_compact(page or head) for head, page in entries])
        room = self.options.max_tokens - NOTE_RESERVE - count_tokens(self._manifest_part(snap, [], 1, 1))
        while room > 0:
            spans = _fill(costs, room)
            parts = [self._manifest_part(snap, entries[a:b], n, len(spans)) for n, (a, b) in enumerate(spans, start=1)]
            over = max(count_tokens(part) for part in parts) - self.options.max_tokens
            if over <= 0:
                return parts
            room -= over  # entry counts add up to an estimate: take off what the joined text overshot
        raise ToolFailure("a manifest entry is larger than the size cap: restart the server with a larger --max-tokens")

    def _manifest_part(self, snap: Snapshot, entries: list[ManifestEntry], part: int, parts: int) -> str:
        modules: list[dict[str, object]] = []
        pages: list[dict[str, object]] = []
        for head, page in entries:
            if page is None or not modules or modules[-1]["name"] != head["name"]:
                pages = []
                modules.append({**head, "pages": pages})
            if page is not None:
                pages.append(page)
        document: dict[str, object] = {
            "root": str(snap.root), "target": snap.target, "generation": snap.id,
            "page_uri_template": PAGE_URI_TEMPLATE, "part": part, "parts": parts, "modules": modules,
        }  # fmt: skip
        if part < parts:
            rest = manifest_part_uri(part + 1, snap.id)
            document["next"] = rest
            document["note"] = (
                f"Size cap reached ({thousands(self.options.max_tokens)} tokens per result): this is part {part} of "
                f"{parts}. Read {rest} for the rest."
            )
        return _compact(document)

    def page_png(self, module: str, page: int) -> bytes:
        with self.reader.pinned(self.options.target) as snap:
            row = snap.module(module)
            stored = snap.pages(row.name)
            if not 1 <= page <= len(stored):
                raise ToolFailure(f"module {module!r} has {plural(len(stored), 'page')}, numbered 1-{len(stored)}")
            return snap.page_png(stored[page - 1])


def _spans(numbers: list[int]) -> str:
    """'1-4, 7, 9-10' for [1, 2, 3, 4, 7, 9, 10]."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _fill(costs: list[int], room: int) -> list[tuple[int, int]]:
    """Consecutive spans of `costs` that each add up to at most `room` (a span holds at least one)."""
    spans: list[tuple[int, int]] = []
    start = used = 0
    for index, cost in enumerate(costs):
        if used + cost > room and index > start:
            spans.append((start, index))
            start, used = index, 0
        used += cost
    spans.append((start, len(costs)))
    return spans


def _cut(line: str) -> str:
    return line if len(line) <= HIT_CHARS else line[:HIT_CHARS] + " [cut]"
