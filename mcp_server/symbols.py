"""Symbol lookups over one generation's outlines (codectx.catalog)."""

from __future__ import annotations

import difflib
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from codectx.catalog import generation_ids, outlines
from codectx.mcp_server.reader import Snapshot
from codectx.pack import outline_text
from codectx.store import FileRow
from codectx.structure import Outline
from codectx.tokens import count_tokens_batch


@dataclass(frozen=True, slots=True)
class Definition:
    path: str
    qualified: str  # "Class.method" for nested definitions
    kind: str
    start_line: int
    end_line: int

    def label(self) -> str:
        span = f"{self.start_line}" if self.start_line == self.end_line else f"{self.start_line}-{self.end_line}"
        return f"{self.path}:{span} {self.kind} {self.qualified}"


def _definitions(path: str, outline: Outline) -> list[Definition]:
    qualified: list[str] = []
    found: list[Definition] = []
    for symbol in outline.symbols:
        name = f"{qualified[symbol.parent]}.{symbol.name}" if symbol.parent >= 0 else symbol.name
        qualified.append(name)
        found.append(Definition(path, name, symbol.kind, symbol.start_line, symbol.end_line))
    return found


# path -> (outline, its definitions): the catalog hands out the same Outline object for unchanged content, so a new
# generation makes Definitions only for the files that changed.
_definitions_memo: dict[str, tuple[Outline, list[Definition]]] = {}
_memo_lock = threading.Lock()


def _definitions_of(path: str, outline: Outline) -> list[Definition]:
    with _memo_lock:
        known = _definitions_memo.get(path)
    if known is not None and known[0] is outline:
        return known[1]
    definitions = _definitions(path, outline)
    with _memo_lock:
        _definitions_memo[path] = (outline, definitions)
    return definitions


class SymbolIndex:
    """Definitions of one generation by name, by qualified name, and per file in outline order."""

    def __init__(self, shapes: dict[str, Outline]) -> None:
        self.by_name: dict[str, list[Definition]] = defaultdict(list)
        self.by_path: dict[str, list[Definition]] = {}
        with _memo_lock:
            if len(_definitions_memo) > 2 * len(shapes) + 1000:  # files gone since: start afresh
                _definitions_memo.clear()
        for path in sorted(shapes):
            definitions = _definitions_of(path, shapes[path])
            self.by_path[path] = definitions
            for definition in definitions:
                self.by_name[definition.qualified.rpartition(".")[2]].append(definition)
                if "." in definition.qualified:
                    self.by_name[definition.qualified].append(definition)

    def find(self, name: str) -> list[Definition]:
        exact = self.by_name.get(name)
        if exact:
            return exact
        folded = name.casefold()
        return [d for key, found in self.by_name.items() if key.casefold() == folded for d in found]

    def close_names(self, name: str, limit: int = 8) -> list[str]:
        folded = name.casefold()
        containing = sorted((key for key in self.by_name if folded in key.casefold()), key=len)[:limit]
        return containing or difflib.get_close_matches(name, list(self.by_name), n=limit, cutoff=0.75)

    def top_level(self, paths: Sequence[str]) -> list[Definition]:
        return [d for path in paths for d in self.by_path.get(path, ()) if "." not in d.qualified]


@dataclass(frozen=True, slots=True)
class GenerationOutlines:
    """What the server derives from one generation's outlines."""

    symbols: SymbolIndex
    outline_tokens: dict[str, int]  # module -> cost of its outline representation (as the pack renders it)


def generation_outlines(snap: Snapshot) -> GenerationOutlines:
    shapes = outlines(snap.store, generation_ids(snap.store, snap.id))
    files_by_module: dict[str, list[FileRow]] = defaultdict(list)
    for row in snap.files():
        files_by_module[row.module].append(row)
    names = [m.name for m in snap.modules()]
    tokens = count_tokens_batch([outline_text(files_by_module[name], shapes) for name in names])
    return GenerationOutlines(SymbolIndex(shapes), dict(zip(names, tokens, strict=True)))
