"""LinkGraph (the watcher's incremental reference graph) against reference_edges over random update sequences."""

from __future__ import annotations

import random

from codectx.catalog import FileFacts
from codectx.graph import LinkGraph, edges_key, reference_edges

NAMES = [
    "parse", "ParseError", "read_config", "_private_helper", "run", "Decoder", "JSONObject", "encode_basestring",
    "to_string", "x", "load", "dump", "make_scanner", "HTTPConnection", "value", "scanstring",
]  # fmt: skip
DIRECTORIES = ["", "pkg/", "pkg/sub/", "other/"]


def random_facts(rng: random.Random, path: str) -> FileFacts:
    defines = tuple(rng.sample(NAMES, rng.randint(0, 5)))
    references = tuple((name, rng.randint(1, 9)) for name in rng.sample(NAMES, rng.randint(0, 8)))
    imports = tuple(
        rng.choice(["pkg", "pkg.sub.b", ".a", "..c", "other.d", "json", "./e"]) for _ in range(rng.randint(0, 3))
    )
    return FileFacts(path, defines, references, imports)


def test_incremental_edges_equal_a_full_link_after_every_update() -> None:
    rng = random.Random(6)
    names = [f"{d}{n}.py" for d in DIRECTORIES for n in "abcde"] + ["pkg/__init__.py"]
    facts = {path: random_facts(rng, path) for path in rng.sample(names, 12)}
    keys = {path: 0 for path in facts}
    graph = LinkGraph()
    partial_updates = linked_steps = 0
    for step in range(300):
        move = rng.random()
        if move < 0.7:  # an edit: new content, same paths
            for path in rng.sample(sorted(facts), rng.randint(1, 2)):
                facts[path] = random_facts(rng, path)
                keys[path] = step + 1
        elif move < 0.85 and len(facts) < len(names):
            path = rng.choice([n for n in names if n not in facts])
            facts[path], keys[path] = random_facts(rng, path), step + 1
        elif len(facts) > 2:
            path = rng.choice(sorted(facts))
            del facts[path], keys[path]
        loaded: list[str] = []

        def load(paths: list[str], loaded: list[str] = loaded) -> list[FileFacts]:
            loaded += paths
            return [facts[p] for p in paths]

        edges = graph.update(dict(keys), load)
        assert edges == reference_edges(list(facts.values())), f"step {step}"
        assert graph.key == edges_key(edges), f"step {step}"  # the kept digests follow every change
        linked_steps += bool(edges)
        assert set(loaded) <= {p for p in keys if keys[p] == step + 1} | ({*facts} if step == 0 else set())
        partial_updates += graph.linked < len(facts)
    assert linked_steps > 150 and partial_updates > 100  # most edits linked only the files they could affect


def test_forget_loads_every_file_again() -> None:
    rng = random.Random(1)
    facts = {f"{n}.py": random_facts(rng, f"{n}.py") for n in "abcd"}
    graph = LinkGraph()
    graph.update({p: 1 for p in facts}, lambda paths: [facts[p] for p in paths])
    changed = {p: random_facts(rng, p) for p in facts}  # the same keys, analysed differently
    graph.forget()
    edges = graph.update({p: 1 for p in facts}, lambda paths: [changed[p] for p in paths])
    assert edges == reference_edges(list(changed.values())) and graph.linked == len(facts)
