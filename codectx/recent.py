"""Recent work first: the hunks changed since a git revision as exact text, then the pack of the rest.

The hunks' line numbers come from git (codectx.history); their text comes from the index, never
from git: the stored text is secret-masked, and a file the index does not hold (ignored, skipped,
outside the indexed root) is neither shown nor named. Removed lines are counted, never shown: a
removed fragment out of its context (the middle of a key block) could escape detection. A file
changed on disk after the index was built gets its changed line numbers and a note to re-index,
not lines of an older text under new numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codectx.history import Changes, FileChange, Hunk
from codectx.pack import FileRange, Pack, PackBasis, PackItem, build_pack
from codectx.scan import IgnoreRules, printable_path
from codectx.store import FileRow, Store
from codectx.tokens import count_tokens, count_tokens_batch
from codectx.wording import plural

CHANGES = "changes"  # the representation of the changed-hunks item
LISTED_LEFT_OUT = 40  # hunks left out for budget are listed by path and lines, up to this many
STATUS_WORDS = {"modified": "modified", "added": "new", "untracked": "new, untracked", "deleted": "deleted"}


@dataclass(frozen=True, slots=True)
class _Block:
    """One piece of the changes text: a file's heading, or one hunk with its lines."""

    text: str
    path: str
    hunk: Hunk | None  # None for a heading or a note
    kind: str  # the file's class ("" when the index does not hold it)


def _numbered(lines: Sequence[str], first: int) -> str:
    width = len(str(first + len(lines) - 1))
    return "".join(f"{number:>{width}}\t{line}\n" for number, line in enumerate(lines, start=first))


def _span(hunk: Hunk) -> str:
    return f"{hunk.start}" if hunk.start == hunk.end else f"{hunk.start}-{hunk.end}"


def _hunk_block(path: str, hunk: Hunk, lines: Sequence[str]) -> str:
    removed = f"{plural(hunk.removed, 'line')} removed"
    if hunk.added <= 0:
        where = f"after line {hunk.end}" if hunk.end > 0 else "at the start"
        return f"@@ {path}: {removed} {where}\n"
    instead = f"; in place of {removed}" if hunk.removed else ""
    shown = lines[hunk.start - 1 : hunk.end]
    return f"@@ {path}:{_span(hunk)} ({plural(hunk.added, 'new line')}{instead})\n" + _numbered(shown, hunk.start)


def _on_disk_matches(root: Path, row: FileRow) -> bool:
    """Whether the file on disk is still the content the index holds (its raw bytes' SHA-256)."""
    try:
        return hashlib.sha256((root / row.path).read_bytes()).hexdigest() == row.sha256
    except OSError:
        return False


def _shown(change: FileChange, row: FileRow | None, rules: IgnoreRules) -> bool:
    """Whether a changed file may be named: the index holds it, or it was deleted and the index would keep it."""
    if row is not None:
        return True
    path = change.path
    return change.status == "deleted" and not rules.is_excluded(path) and printable_path(path) == path


def visible_changes(store: Store, generation: int, root: Path, changes: Changes) -> tuple[FileChange, ...]:
    """The changed files that may be named (see _shown); untracked ones with their lines as one hunk."""
    files = {f.path: f for f in store.files(generation)}
    rules = IgnoreRules(root)
    shown = []
    for change in changes.files:
        row = files.get(change.path)
        if not _shown(change, row, rules):
            continue
        if change.status == "untracked" and row is not None and row.lines:
            change = FileChange(change.path, change.status, (Hunk(1, row.lines, 0, 0),))
        shown.append(change)
    return tuple(shown)


def _file_blocks(
    store: Store, root: Path, change: FileChange, row: FileRow | None, rules: IgnoreRules
) -> list[_Block] | None:
    """The blocks of one changed file; None when it must not be shown (not indexed, or excluded)."""
    path = change.path
    if not _shown(change, row, rules):
        return None
    if change.status == "deleted" and row is None:
        removed = sum(h.removed for h in change.hunks)
        return [_Block(f"## {path} (deleted: {plural(removed, 'line')} removed)\n", path, None, "")]
    assert row is not None
    if change.status == "deleted" or not _on_disk_matches(root, row):
        ranges = ", ".join(_span(h) if h.added > 0 else f"after {h.end}" for h in change.hunks)
        what = "deleted on disk" if change.status == "deleted" else "changed on disk"
        note = (
            f"## {path} ({STATUS_WORDS[change.status]}): {what} after the index was built; run `codectx index` "
            f"(or serve with --watch) to see its hunks{f'; changed lines: {ranges}' if ranges else ''}\n"
        )
        return [_Block(note, path, None, row.kind)]
    text = store.source_text(row.sha256) or ""
    lines = text.splitlines()
    hunks = change.hunks
    if change.status == "untracked":
        hunks = (Hunk(1, len(lines), 0, 0),) if lines else ()
    hunks = tuple(Hunk(h.start, min(h.end, len(lines)), h.removed, h.old_start) for h in hunks)
    heading = f"## {path} ({STATUS_WORDS[change.status]}, {plural(len(lines), 'line')}; {plural(len(hunks), 'hunk')})\n"
    blocks = [_Block(heading, path, None, row.kind)]
    blocks += [_Block(_hunk_block(path, h, lines), path, h, row.kind) for h in hunks]
    return blocks


def changes_item(store: Store, generation: int, root: Path, changes: Changes, budget: int) -> PackItem | None:
    """The changed hunks as one text item within `budget` tokens, most of them in path order; hunks that do
    not fit are listed (path and lines) for read_source. None when not even the heading fits."""
    files = {f.path: f for f in store.files(generation)}
    rules = IgnoreRules(root)
    blocks: list[_Block] = []
    hidden = 0
    for change in changes.files:
        found = _file_blocks(store, root, change, files.get(change.path), rules)
        if found is None:
            hidden += 1
        else:
            blocks += found
    shown_files = len({b.path for b in blocks})
    hunks = [b for b in blocks if b.hunk is not None]
    head = (
        f"Changes since {changes.since} ({changes.commit[:12]}) to the working tree: {plural(shown_files, 'file')}, "
        f"{plural(len(hunks), 'hunk')}. New and changed lines are the index's exact text (secrets masked), "
        "numbered; removed lines are counted, not shown.\n"
    )
    if not changes.files:
        head = f"No changes since {changes.since} ({changes.commit[:12]}) in the indexed files.\n"
    if hidden:
        outside = "outside the index (ignored, skipped, or new since it was built)"
        head += f"{plural(hidden, 'changed file')} {outside} not shown.\n"
    costs = count_tokens_batch([head] + [b.text for b in blocks])
    room = budget - costs[0]
    if room < 0:
        return None
    kept = len(blocks)
    while True:
        text, ranges = _assemble(head, blocks, kept)
        tokens = count_tokens(text)
        if tokens <= budget or kept == 0:
            break
        # Drop whole blocks from the end until the estimate fits, then check the exact count again.
        over = tokens - budget
        while kept > 0 and over > 0:
            kept -= 1
            over -= costs[kept + 1]
    if tokens > budget:
        return None
    return PackItem(f"{CHANGES} since {changes.since}", CHANGES, tokens, ranges, text, (), 1.0)


def _assemble(head: str, blocks: Sequence[_Block], kept: int) -> tuple[str, tuple[FileRange, ...]]:
    sent = list(blocks[:kept])
    while sent and sent[-1].hunk is None and kept < len(blocks):  # no heading without its hunks
        sent.pop()
    left = [b for b in blocks[len(sent) :] if b.hunk is not None and b.hunk.added > 0]
    text = head + "".join(b.text for b in sent)
    if left:
        listed = ", ".join(f"{b.path}:{_span(b.hunk)}" for b in left[:LISTED_LEFT_OUT] if b.hunk is not None)
        more = f" and {len(left) - LISTED_LEFT_OUT} more" if len(left) > LISTED_LEFT_OUT else ""
        text += f"{plural(len(left), 'hunk')} left out for budget (read_source reaches them): {listed}{more}\n"
    ranges = tuple(FileRange(b.path, b.hunk.start, b.hunk.end) for b in sent if b.hunk is not None and b.hunk.added > 0)
    return text, ranges


def pack_changes(
    store: Store,
    root: Path,
    target: str,
    budget: int,
    changes: Changes,
    generation: int,
    query: str | None = None,
    basis: PackBasis | None = None,
    weights: Mapping[str, float] | None = None,
    recency: Mapping[str, float] | None = None,
) -> Pack:
    """The changed hunks as exact text first, then the rest of the budget packed as build_pack does
    (relevance, nudged by recency)."""
    item = changes_item(store, generation, root, changes, budget)
    spent = item.tokens if item else 0
    rest = build_pack(
        store, target, budget - spent, query, generation=generation, basis=basis, weights=weights, recency=recency
    )
    by_class = dict(rest.by_class)
    if item is not None and item.ranges:
        kinds = {f.path: f.kind for f in store.files(generation)}
        lines = {r.path: 0 for r in item.ranges}
        for r in item.ranges:
            lines[r.path] += r.end_line - r.start_line + 1
        whole = sum(lines.values()) or 1
        for path, count in lines.items():
            kind = kinds.get(path, "source")
            by_class[kind] = by_class.get(kind, 0) + round(spent * count / whole)
    items = ((item,) if item is not None else ()) + rest.items
    return Pack(rest.target, budget, rest.total_tokens + spent, rest.generation, items, by_class)
