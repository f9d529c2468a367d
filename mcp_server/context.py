"""load_context: the budgeted pack of the repository as MCP content, delivered in capped parts.

Page items become image blocks, text, outline and glossary items become text blocks, and every item
is preceded by a header naming the files and line ranges it covers. When a part reaches the size cap
the result ends with a cursor; the cursor pins the generation, so every part of one pack comes from
the same index even if it is rebuilt in between.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from mcp_types import ContentBlock

from codectx.classes import WeightsError, load_weights
from codectx.history import Changes, HistoryError, changes_since, read_history, recency_scores
from codectx.mcp_server.output import CappedContent, ranges_label, thousands
from codectx.mcp_server.reader import IndexReader, PerGeneration, Snapshot, ToolFailure
from codectx.pack import Pack, PackBasis, PackItem, build_pack, pack_basis
from codectx.pack_floor import smallest_budget
from codectx.recent import CHANGES, pack_changes
from codectx.wording import plural

PACK_CACHE_SIZE = 8
_CURSOR = re.compile(r"^(\d{1,12})\.(\d{1,9})\.(\d{1,9})\.([0-9a-f]{10})$")
TEXT_REPRESENTATIONS = ("text", "outline", "glossary", CHANGES)


@dataclass(frozen=True, slots=True)
class PackRequest:
    budget: int
    target: str
    query: str | None
    since: str | None = None  # a git revision: the hunks changed since it go first, as exact text

    def seal(self, snap: Snapshot, git: str = "") -> str:
        """Ties a cursor to this call's arguments, to the exact generation it started on and to the git state
        (recency and changes, see _GitState) its pack was made with."""
        identity = [self.budget, self.target, self.query, snap.id, snap.generation.created]
        if self.since is not None or git:
            identity += [self.since, git]
        return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:10]

    def call(self, cursor: str) -> str:
        query = "" if self.query is None else f", query={self.query!r}"
        since = "" if self.since is None else f", since={self.since!r}"
        return f"load_context(budget={self.budget}, target={self.target!r}{query}{since}, cursor={cursor!r})"


@dataclass(frozen=True, slots=True)
class Cursor:
    generation: int
    item: int
    offset: int  # pages (page items) or lines (text items) of `item` already sent
    seal: str = ""

    def encode(self, request: PackRequest, snap: Snapshot, git: str = "") -> str:
        return f"{self.generation}.{self.item}.{self.offset}.{request.seal(snap, git)}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        match = _CURSOR.match(text.strip())
        if match is None:
            raise ToolFailure("bad cursor: pass it exactly as a previous load_context result gave it, or omit it")
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3)), match.group(4))

    def check(self, request: PackRequest, snap: Snapshot, git: str = "") -> None:
        if self.seal != request.seal(snap, git):
            raise ToolFailure(
                "this cursor belongs to a load_context call with another budget, target or query, or since revision "
                "(or to an index deleted and built anew since, or to a git state changed since by a commit or an "
                "edit): repeat that call's arguments with it, or omit it to start over"
            )


# Recency is a nudge: git's answer may be reused for this long between requests (since= is always read afresh).
HISTORY_REUSE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class _GitState:
    """What git adds to a pack: each file's recency and, with since, the changes; `digest` names them ("" for none)."""

    recency: dict[str, float]
    changes: Changes | None
    digest: str

    @classmethod
    def read(cls, root: Path, since: str | None) -> _GitState:
        recency = recency_scores(read_history(root, max_age=HISTORY_REUSE_SECONDS))
        changes = None
        if since is not None:
            try:
                changes = changes_since(root, since)
            except HistoryError as error:
                raise ToolFailure(f"since={since!r}: {error}") from None
        if not recency and changes is None:
            return cls(recency, None, "")
        digest = hashlib.sha256(repr((sorted(recency.items()), changes)).encode()).hexdigest()[:16]
        return cls(recency, changes, digest)


class ContextPacker:
    """Builds packs (cached per generation and request) and cuts them into capped results."""

    def __init__(self, reader: IndexReader, max_tokens: int) -> None:
        self.reader = reader
        self.max_tokens = max_tokens
        # (generation, request, weights, git digest) -> pack: git moves without the index, so its state is in the key.
        self._cache: OrderedDict[tuple[tuple[int, float], PackRequest, tuple[tuple[str, float], ...], str], Pack] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        # Outlines, glossaries, token counts and the graph are the same for every query: built once per generation.
        self._bases: PerGeneration[PackBasis] = PerGeneration(lambda snap: pack_basis(snap.store, snap.id))

    def prepare(self, snap: Snapshot) -> None:
        """Build the generation's pack basis now, so that its first pack only ranks and allocates."""
        self._bases.of(snap)

    def load_context(self, request: PackRequest, cursor: str | None) -> list[ContentBlock]:
        if request.budget < 1:
            raise ToolFailure("budget must be a positive number of tokens, e.g. 128000")
        start = Cursor.decode(cursor) if cursor else None
        with self.reader.pinned(request.target, start.generation if start else None) as snap:
            try:
                weights = tuple(sorted(load_weights(snap.root).items()))
            except WeightsError as error:
                raise ToolFailure(str(error)) from None
            git = _GitState.read(snap.root, request.since)
            digest = git.digest
            pack = None
            if start is not None and start.seal != request.seal(snap, digest):
                # A commit or an edit since the first part: later parts still come from the pack it began.
                found = self._sealed(snap, request, weights, start.seal)
                if found is None:
                    start.check(request, snap, digest)
                else:
                    pack, digest = found
            if pack is None:
                pack = self._pack(snap, request, weights, git)
            if start is not None and not _points_into(pack, start):
                raise ToolFailure("bad cursor: it points past the end of this pack; omit it to start over")
            return self._render(pack, request, snap, start or Cursor(snap.id, 0, 0), digest)

    def _sealed(
        self, snap: Snapshot, request: PackRequest, weights: tuple[tuple[str, float], ...], seal: str
    ) -> tuple[Pack, str] | None:
        """A kept pack of this generation, request and weights whose cursor seal is `seal`, with its git digest."""
        with self._lock:
            for (key, asked, kept_weights, digest), pack in self._cache.items():
                if (key, asked, kept_weights) == (snap.key, request, weights) and request.seal(snap, digest) == seal:
                    return pack, digest
        return None

    def _pack(
        self, snap: Snapshot, request: PackRequest, weights: tuple[tuple[str, float], ...], git: _GitState
    ) -> Pack:
        key = (snap.key, request, weights, git.digest)
        recency, changes = git.recency, git.changes
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        if changes is None:
            pack = build_pack(
                snap.store, request.target, request.budget, request.query, generation=snap.id,
                basis=self._bases.of(snap), weights=dict(weights), recency=recency,
            )  # fmt: skip
        else:
            pack = pack_changes(
                snap.store, snap.root, request.target, request.budget, changes, snap.id, query=request.query,
                basis=self._bases.of(snap), weights=dict(weights), recency=recency,
            )  # fmt: skip
        with self._lock:
            self._cache[key] = pack
            while len(self._cache) > PACK_CACHE_SIZE:
                self._cache.popitem(last=False)
        return pack

    def _render(
        self, pack: Pack, request: PackRequest, snap: Snapshot, start: Cursor, git: str = ""
    ) -> list[ContentBlock]:
        out = CappedContent(self.max_tokens)
        numbers = _item_numbers(pack)
        out.add_text(self._summary(pack, request, start, numbers, snap), force=True)
        stop: Cursor | None = None
        first = True
        for index in range(start.item, len(pack.items)):
            item = pack.items[index]
            if item.representation == "omitted":
                continue
            offset = start.offset if index == start.item else 0
            sent = self._emit_item(out, (numbers[index], len(numbers)), item, offset, first_in_result=first)
            first = False
            if sent is not None:
                stop = Cursor(pack.generation, index, sent)
                break
        if stop is None:
            out.add_text(
                "End of pack. Pages are lossy: before quoting or editing, fetch exact lines with "
                "read_source(path, start_line, end_line).",
                force=True,
            )
        else:
            out.add_text(
                f"Size cap reached ({thousands(self.max_tokens)} tokens per result): the pack continues at item "
                f"{numbers[stop.item]} of {len(numbers)}. "
                f"Call {request.call(stop.encode(request, snap, git))} for the rest.",
                force=True,
            )
        return out.blocks

    def _emit_item(
        self, out: CappedContent, position: tuple[int, int], item: PackItem, offset: int, first_in_result: bool
    ) -> int | None:
        """Add `item` (item position[0] of the position[1] sent) from `offset` on; None when it all fit, else how
        far it got (pages or lines)."""
        header = self._item_header(position, item, offset)
        if item.representation in TEXT_REPRESENTATIONS:
            lines = (item.text or "").splitlines(keepends=True)
            fitting = out.lines_that_fit(lines[offset:], overhead=header + "\n")
            if fitting == 0 and not first_in_result:
                return offset
            shown = lines[offset : offset + fitting] if fitting else [out.cut_to_fit(lines[offset], header + "\n")]
            out.add_text(header + "\n" + "".join(shown), force=True)
            sent = offset + len(shown)  # a part always makes progress, if need be with one cut line
            return None if sent >= len(lines) else sent
        pages = item.pages
        for number in range(offset, len(pages)):
            page = pages[number]
            caption = f"page {number + 1}/{len(pages)} of {item.module}: {ranges_label(page.ranges, spans=True)}"
            if number == offset:
                caption = header + "\n" + caption
            if not out.add_image(caption, self._png(page.png_path, item), page.tokens):
                if number == offset and first_in_result:
                    raise ToolFailure(
                        f"one page costs {page.tokens} tokens, more than the size cap allows: "
                        "restart the server with a larger --max-tokens"
                    )
                return number
        return None

    @staticmethod
    def _png(path: Path, item: PackItem) -> bytes:
        try:
            return path.read_bytes()
        except OSError:
            raise ToolFailure(
                f"a page of {item.module} is missing from the page store: the index is being rebuilt; retry"
            ) from None

    @staticmethod
    def _item_header(position: tuple[int, int], item: PackItem, offset: int) -> str:
        label = item.representation.replace("_", " ")
        size = f"{plural(len(item.pages), 'page image')}, " if item.pages else ""
        part = "" if offset == 0 else f", continued from {'page' if item.pages else 'line'} {offset + 1}"
        if item.representation == CHANGES:
            tokens = plural(item.tokens, "token")
            changed = ranges_label(item.ranges) or "none"
            head = f"[item {position[0]}/{position[1]}{part}] {item.module}"
            return f"{head} as exact text ({tokens}); changed lines {changed}"
        return (
            f"[item {position[0]}/{position[1]}{part}] module {item.module} as {label} "
            f"({size}{plural(item.tokens, 'token')}, relevance {item.relevance:.2f}); "
            f"covers {ranges_label(item.ranges, spans=bool(item.pages)) or 'no source lines'}"
        )

    def _summary(self, pack: Pack, request: PackRequest, start: Cursor, numbers: dict[int, int], snap: Snapshot) -> str:
        sent = [item for item in pack.items if item.representation != "omitted"]
        query = f" for query {request.query!r}" if request.query else ""
        text = (
            f"codectx pack of the repository{query}: target {pack.target}, budget {plural(pack.budget, 'token')}, "
            f"{plural(len(sent), 'item')} in {plural(pack.total_tokens, 'token')}"
            f"{f' ({_mix(sent)})' if sent else ''}; generation {pack.generation}."
        )
        if start.item or start.offset:
            return text + f" Continued from item {numbers[start.item]}."
        if not sent:
            floor = smallest_budget(self._bases.of(snap))
            if floor is not None:
                text += f" Nothing fits: the smallest useful budget for this index is {floor.describe()}."
        omitted = [item.module for item in pack.items if item.representation == "omitted"]
        if omitted:
            shown = ", ".join(omitted[:60]) + (f" and {len(omitted) - 60} more" if len(omitted) > 60 else "")
            text += f" Omitted for budget (get_pages or read_source reach them): {shown}."
        return text


def _item_numbers(pack: Pack) -> dict[int, int]:
    """1-based numbers of the items sent, by their index in the pack (omitted items are not sent, not numbered)."""
    sent = [index for index, item in enumerate(pack.items) if item.representation != "omitted"]
    return {index: number for number, index in enumerate(sent, start=1)}


REPRESENTATION_ORDER = (CHANGES, "text", "pages", "reduced_pages", "outline", "glossary")


def _mix(items: list[PackItem]) -> str:
    """'2 modules as pages (14 page images), 1 as reduced pages (3 page images), 3 as text, 2 glossaries'."""
    modules: dict[str, int] = {}
    images: dict[str, int] = {}
    for item in items:
        modules[item.representation] = modules.get(item.representation, 0) + 1
        images[item.representation] = images.get(item.representation, 0) + len(item.pages)
    parts = []
    modules_named = False
    order = {representation: rank for rank, representation in enumerate(REPRESENTATION_ORDER)}
    for representation in sorted(modules, key=lambda r: (order.get(r, len(order)), r)):
        count = modules[representation]
        if representation == "glossary":
            parts.append(plural(count, "glossary", "glossaries"))
            continue
        if representation == CHANGES:
            parts.append("the changed hunks")
            continue
        label = f"{plural(count, 'module')} as" if not modules_named else f"{count:,} as"
        modules_named = True
        pictures = f" ({plural(images[representation], 'page image')})" if images[representation] else ""
        parts.append(f"{label} {representation.replace('_', ' ')}{pictures}")
    return ", ".join(parts)


def _points_into(pack: Pack, cursor: Cursor) -> bool:
    """Whether the cursor names an item of the pack and a page or line inside it (its numbers are not sealed)."""
    if cursor.item >= len(pack.items):
        return False
    item = pack.items[cursor.item]
    text = item.representation in TEXT_REPRESENTATIONS
    size = len((item.text or "").splitlines()) if text else len(item.pages)
    return cursor.offset < max(size, 1)
