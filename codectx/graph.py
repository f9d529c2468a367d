"""Graph: which file refers to which, and PageRank over it.

A file refers to another when it imports it or uses a name the other defines (the way aider's repo
map links files). Name edges follow aider's weights: long compound names count more, private
names and names defined in many files count less, repeated uses grow as a square root.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np

from codectx.catalog import FileFacts
from codectx.store import EdgeRow

IMPORT_WEIGHT = 2.0
MANY_DEFINERS = 5  # a name defined in more files than this is weak evidence of a link
MAX_DEFINERS = 40  # ... and beyond this it is noise (__init__, get, run)
MIN_NAME = 3
MAX_EDGES_PER_FILE = 30
DAMPING = 0.85
ITERATIONS = 60

_SOURCE_SUFFIX = re.compile(r"\.(?:py|pyi|js|jsx|mjs|cjs|ts|tsx|go|rs|java|c|h|cc|cpp|cxx|hh|hpp|hxx|rb|cs)$")
_PACKAGE_FILES = ("__init__", "index", "mod")


def _stem(path: str) -> str:
    return _SOURCE_SUFFIX.sub("", path)


class ImportResolver:
    """Maps import strings as written to the repository's files."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.by_stem: dict[str, list[str]] = defaultdict(list)
        self.by_suffix: dict[str, list[str]] = defaultdict(list)
        for path in paths:
            stem = _stem(path)
            directory, _, name = stem.rpartition("/")
            keys = [stem] + ([directory] if name in _PACKAGE_FILES and directory else [])
            for key in keys:
                self.by_stem[key].append(path)
                parts = key.split("/")
                for start in range(1, len(parts)):
                    self.by_suffix["/".join(parts[start:])].append(path)

    def resolve(self, source: str, target: str) -> list[str]:
        """Files that `target`, imported by `source`, most likely names; [] when outside the repository."""
        candidate = self._candidate(source, target)
        if candidate is None:
            return []
        parts = candidate.split("/")
        # "a.b.c" may name module a/b/c or an attribute of module a/b.
        for end in range(len(parts), max(0, len(parts) - 2), -1):
            key = "/".join(parts[:end])
            if not key:
                break
            exact = self.by_stem.get(key)
            if exact:
                return [p for p in exact if p != source]
            fuzzy = self.by_suffix.get(key, [])
            if 0 < len(fuzzy) <= 3:
                return [p for p in fuzzy if p != source]
        return []

    @staticmethod
    def _candidate(source: str, target: str) -> str | None:
        directory = source.rpartition("/")[0]
        target = _SOURCE_SUFFIX.sub("", target.strip())
        if target.startswith(("./", "../")):  # path-relative (JavaScript, TypeScript, C includes)
            parts = directory.split("/") if directory else []
            for piece in target.split("/"):
                if piece == "..":
                    if not parts:
                        return None
                    parts.pop()
                elif piece not in (".", ""):
                    parts.append(piece)
            return "/".join(parts)
        if target.startswith("."):  # Python relative import: one dot is the current package
            dots = len(target) - len(target.lstrip("."))
            parts = directory.split("/") if directory else []
            if dots - 1 > len(parts):
                return None
            parts = parts[: len(parts) - (dots - 1)]
            rest = target[dots:].replace(".", "/")
            return "/".join(parts + ([rest] if rest else []))
        for prefix in ("crate::", "self::", "super::"):
            target = target.removeprefix(prefix)
        return re.sub(r"::|[.\\]", "/", target).strip("/") or None


def _name_weight(name: str, definers: int) -> float:
    weight = 1.0
    compound = ("_" in name.strip("_")) or (name != name.lower() and name != name.upper())  # snake_ or camelCase
    if compound and len(name) >= 8:
        weight *= 10
    if name.startswith("_"):
        weight *= 0.1
    if definers > MANY_DEFINERS:
        weight *= 0.1
    return weight


def reference_edges(files: Sequence[FileFacts]) -> list[EdgeRow]:
    """Weighted file -> file edges from imports and from names used in one file and defined in another."""
    definers = _definers(files)
    resolver = ImportResolver(f.path for f in files)
    return [edge for facts in sorted(files, key=lambda f: f.path) for edge in _source_edges(facts, definers, resolver)]


def edges_key(edges: Iterable[EdgeRow]) -> str:
    """A digest of a reference graph; generations with equal keys share one copy of its rows."""
    by_source: dict[str, list[EdgeRow]] = defaultdict(list)
    for edge in edges:
        by_source[edge.source].append(edge)
    return _combined_key({source: _source_digest(out) for source, out in by_source.items()})


def _source_digest(edges: list[EdgeRow]) -> str:
    return hashlib.sha256("\n".join(f"{e.target}\0{e.weight!r}" for e in edges).encode()).hexdigest()


def _combined_key(digests: Mapping[str, str]) -> str:
    """Sources without edges leave no trace, so equal edge lists give equal keys however they were made."""
    text = "\n".join(f"{source}\0{digests[source]}" for source in sorted(digests) if digests[source] != _NO_EDGES)
    return hashlib.sha256(text.encode()).hexdigest()


def _defined_names(facts: FileFacts) -> set[str]:
    return {name for name in facts.defines if len(name) >= MIN_NAME}


def _definers(files: Iterable[FileFacts]) -> dict[str, set[str]]:
    definers: dict[str, set[str]] = defaultdict(set)
    for facts in files:
        for name in _defined_names(facts):
            definers[name].add(facts.path)
    return definers


def _source_edges(facts: FileFacts, definers: Mapping[str, set[str]], resolver: ImportResolver) -> list[EdgeRow]:
    """The edges out of one file, sorted by target: a function of its facts, the definers of the names it
    uses and the repository's paths only."""
    weights: dict[str, float] = defaultdict(float)
    for name, count in facts.references:
        where = definers.get(name)
        if not where or len(where) > MAX_DEFINERS:
            continue
        weight = _name_weight(name, len(where)) * math.sqrt(count)
        for target in where:
            if target != facts.path:
                weights[target] += weight
    for target_name in set(facts.imports):
        resolved = resolver.resolve(facts.path, target_name)
        for target in resolved:
            weights[target] += IMPORT_WEIGHT / len(resolved)
    # A file's weakest links barely move PageRank; keeping its strongest few keeps the graph small.
    strongest = sorted(((w, t) for t, w in weights.items()), key=lambda wt: (-wt[0], wt[1]))[:MAX_EDGES_PER_FILE]
    return [EdgeRow(facts.path, target, round(weight, 4)) for weight, target in sorted(strongest, key=lambda x: x[1])]


class LinkGraph:
    """`reference_edges` kept current across updates of one repository (the watcher's).

    A file's edges depend on its own facts, on which files define the names it uses, and on the set
    of paths (import resolution). So an update whose paths are unchanged links again only the
    changed files and the files that use a name whose definers changed; any other update links all.
    Facts are keyed by content: `update` loads only those of files whose key changed.
    """

    def __init__(self) -> None:
        self._keys: dict[str, Hashable] = {}
        self._facts: dict[str, FileFacts] = {}
        self._definers: dict[str, set[str]] = {}
        self._users: dict[str, set[str]] = defaultdict(set)  # name -> files that reference it
        self._resolver = ImportResolver(())
        self._edges: dict[str, list[EdgeRow]] = {}
        self._digests: dict[str, str] = {}  # path -> _source_digest of its edges, so `key` costs no rehashing
        self.linked = 0  # files whose edges the last update computed

    def update(self, keys: Mapping[str, Hashable], load: Callable[[list[str]], Iterable[FileFacts]]) -> list[EdgeRow]:
        """The edges of the files in `keys` (path -> content key); `load(paths)` gives the facts of those paths."""
        changed = sorted(path for path, key in keys.items() if self._keys.get(path, _NO_KEY) != key)
        loaded = {facts.path: facts for facts in load(changed)} if changed else {}
        previous, self._keys = self._keys, {}  # stays empty (everything is linked again) should this update fail
        if keys.keys() != previous.keys():
            self._facts = {path: loaded.get(path) or self._facts[path] for path in keys}
            self._rebuild()
        else:
            renamed: set[str] = set()
            for path in changed:
                old, new = self._facts[path], loaded[path]
                renamed |= _defined_names(old) ^ _defined_names(new)
                for name, _ in old.references:
                    self._users[name].discard(path)
                for name, _ in new.references:
                    self._users[name].add(path)
                self._facts[path] = new
            for name in sorted(renamed):
                where = {path for path in self._definers.get(name, ()) if name in _defined_names(self._facts[path])}
                where |= {path for path in changed if name in _defined_names(self._facts[path])}
                if where:
                    self._definers[name] = where
                else:
                    self._definers.pop(name, None)
            dirty = set(changed).union(*(self._users.get(name, ()) for name in renamed))
            for path in dirty:
                self._link(path)
            self.linked = len(dirty)
        self._keys = dict(keys)
        return [edge for path in sorted(self._edges) for edge in self._edges[path]]

    @property
    def key(self) -> str:
        """edges_key of the edges the last update returned."""
        return _combined_key(self._digests)

    def _link(self, path: str) -> None:
        self._edges[path] = _source_edges(self._facts[path], self._definers, self._resolver)
        self._digests[path] = _source_digest(self._edges[path])

    def forget(self) -> None:
        """Drop what is known: the next update loads every file's facts (their analysis changed)."""
        self._keys = {}

    def _rebuild(self) -> None:
        files = list(self._facts.values())
        self._definers = _definers(files)
        self._users = defaultdict(set)
        for facts in files:
            for name, _ in facts.references:
                self._users[name].add(facts.path)
        self._resolver = ImportResolver(self._facts)
        self._edges, self._digests = {}, {}
        for facts in files:
            self._link(facts.path)
        self.linked = len(files)


_NO_KEY = object()
_NO_EDGES = _source_digest([])


def module_edges(edges: Iterable[EdgeRow], module_of: Mapping[str, str]) -> list[EdgeRow]:
    """The module graph: file edges summed per (module, module) pair, without a module's links to itself."""
    weights: dict[tuple[str, str], float] = defaultdict(float)
    for edge in edges:
        source, target = module_of.get(edge.source), module_of.get(edge.target)
        if source is not None and target is not None and source != target:
            weights[(source, target)] += edge.weight
    return [EdgeRow(s, t, round(w, 4)) for (s, t), w in sorted(weights.items())]


def pagerank(
    nodes: Sequence[str], edges: Iterable[EdgeRow], personalization: Mapping[str, float] | None = None
) -> dict[str, float]:
    """PageRank of `nodes` over weighted edges, optionally personalised (teleporting to the given nodes)."""
    if not nodes:
        return {}
    index = {node: i for i, node in enumerate(nodes)}
    sources, targets, weights = [], [], []
    for edge in edges:
        if edge.source in index and edge.target in index and edge.weight > 0:
            sources.append(index[edge.source])
            targets.append(index[edge.target])
            weights.append(edge.weight)
    count = len(nodes)
    src = np.asarray(sources, dtype=np.int64)
    dst = np.asarray(targets, dtype=np.int64)
    out_weight = np.bincount(src, weights=np.asarray(weights, dtype=np.float64), minlength=count)
    share = np.asarray(weights, dtype=np.float64) / np.where(out_weight[src] > 0, out_weight[src], 1.0)
    teleport = np.full(count, 1.0 / count)
    if personalization:
        vector = np.zeros(count)
        for node, value in personalization.items():
            if node in index and value > 0:
                vector[index[node]] = value
        if vector.sum() > 0:
            teleport = vector / vector.sum()
    dangling = out_weight == 0
    rank = teleport.copy()
    for _ in range(ITERATIONS):
        spread = np.bincount(dst, weights=rank[src] * share, minlength=count)
        updated = DAMPING * (spread + rank[dangling].sum() * teleport) + (1 - DAMPING) * teleport
        if np.abs(updated - rank).sum() < 1e-9:
            rank = updated
            break
        rank = updated
    return {node: float(rank[i]) for node, i in index.items()}
