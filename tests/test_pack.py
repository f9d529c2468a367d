from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from codectx.budget import Candidate, Option, allocate
from codectx.cli import main
from codectx.indexer import index_repository
from codectx.model.targets import TARGETS, get_target
from codectx.pack import Pack, build_pack, page_ranges, spanned_ranges, write_pack
from codectx.reduced import fitted_size, reduced_modes
from codectx.render.layout import read_line_map
from codectx.store import Store
from codectx.tokens import count_tokens

QUERIES = [None, "where are HTTP redirects followed", "json decoder errors", "email header folding", "zzzz"]
FAITHFUL_ORDER = ["omitted", "outline", "reduced_pages", "pages", "text"]


def options_strategy() -> st.SearchStrategy[tuple[Option, ...]]:
    option = st.builds(
        Option,
        representation=st.sampled_from(["outline", "reduced_pages", "pages", "text"]),
        tokens=st.integers(1, 50_000),
        faithfulness=st.floats(0.01, 1.0),
    )
    return st.lists(option, max_size=5).map(lambda found: (Option("omitted", 0, 0.0), *found))


@given(
    candidates=st.lists(
        st.builds(Candidate, module=st.text(min_size=1, max_size=8), relevance=st.floats(0, 1),
                  lines=st.integers(0, 5000), options=options_strategy()),
        max_size=12, unique_by=lambda c: c.module,
    ),
    budget=st.integers(0, 200_000),
)  # fmt: skip
def test_allocate_never_exceeds_the_budget(candidates: list[Candidate], budget: int) -> None:
    chosen = allocate(candidates, budget)
    assert set(chosen) == {c.module for c in candidates}
    assert sum(option.tokens for option in chosen.values()) <= budget
    for candidate in candidates:
        assert chosen[candidate.module] in candidate.options


def test_allocate_spends_on_the_relevant_first() -> None:
    def module(name: str, relevance: float) -> Candidate:
        return Candidate(name, relevance, 1000, (Option("omitted", 0, 0.0), Option("text", 10_000, 1.0)))

    chosen = allocate([module("cold", 0.1), module("hot", 0.9), module("warm", 0.5)], 20_000)
    assert [chosen[m].representation for m in ("hot", "warm", "cold")] == ["text", "text", "omitted"]


def check_pack(pack: Pack, store: Store, budget: int) -> None:
    assert pack.budget == budget and pack.total_tokens == sum(i.tokens for i in pack.items) <= budget
    modules = [i.module for i in pack.items if i.representation != "glossary"]
    generation = store.require_generation(pack.target).id
    assert sorted(set(modules)) == sorted(m.name for m in store.modules(generation))
    # A module's items are adjacent: one representation, or its best files and an outline of the others.
    assert len(set(modules)) == len([m for n, m in enumerate(modules) if n == 0 or modules[n - 1] != m])
    for index, item in enumerate(pack.items):
        if item.representation in ("text", "outline", "glossary"):
            assert item.text is not None and item.tokens == count_tokens(item.text)
        if item.representation in ("pages", "reduced_pages"):
            assert item.pages and item.tokens == sum(p.tokens for p in item.pages)
            assert all(p.png_path.exists() for p in item.pages)
        if item.representation == "glossary":
            assert pack.items[index - 1].module == item.module and pack.items[index - 1].pages
        if item.representation == "omitted":
            assert item.tokens == 0 and not item.ranges
    relevance = [i.relevance for i in pack.items]
    assert relevance == sorted(relevance, reverse=True)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budget=st.integers(0, 400_000), query=st.sampled_from(QUERIES))
def test_pack_total_never_exceeds_the_budget(stdlib_index: tuple[Path, Path], budget: int, query: str | None) -> None:
    with Store.open(stdlib_index[1], create=False) as store:
        check_pack(build_pack(store, "claude", budget, query=query), store, budget)


def test_pack_fades_with_budget_and_follows_the_query(stdlib_index: tuple[Path, Path]) -> None:
    with Store.open(stdlib_index[1], create=False) as store:
        everything = build_pack(store, "claude", 10_000_000)
        assert {i.representation for i in everything.items} == {"text"}
        tight = build_pack(store, "claude", 40_000, query="where are HTTP redirects followed")
        module_of = {f.path: f.module for f in store.files(tight.generation)}
        assert tight.items[0].module == module_of["urllib/request.py"] and tight.items[0].relevance == 1.0
        assert tight.items[0].representation != "omitted"
        assert "omitted" in {i.representation for i in tight.items}
        nothing = build_pack(store, "claude", 0)
        assert nothing.total_tokens == 0 and {i.representation for i in nothing.items} == {"omitted"}
        with pytest.raises(ValueError, match="not an index for target gpt-4o"):
            build_pack(store, "gpt-4o", 1000, generation=nothing.generation)


def test_reduced_pages_are_downscaled_and_costed_by_the_target_rule(stdlib_copy, tmp_path: Path) -> None:
    target = get_target("claude")
    repo = stdlib_copy("json")
    index_repository(repo, store_dir=tmp_path / "store", workers=1)
    with Store.open(tmp_path / "store", create=False) as store:
        module = store.modules(store.require_generation("claude").id)[0]
        # Room for the pages at 784 px (784 tokens each), not at full size (1521) nor as text.
        pack = build_pack(store, "claude", module.pages * 784 + 500)
    item = pack.items[0]
    assert item.representation == "reduced_pages" and len(item.pages) == module.pages
    for page in item.pages:
        with Image.open(page.png_path) as image:
            assert image.size == (page.width, page.height) == (784, 784)
        assert page.tokens == target.cost(page.width, page.height) == 784
        boxes = [row["box"] for row in read_line_map(page.line_map)["rows"]]
        assert all(x + w <= 784 and y + h <= 784 for x, y, w, h in boxes)
        assert page.ranges and page.ranges[0].path.startswith("json/")
    # Downscaled copies go with their pages when a generation is collected.
    reduced = tmp_path / "store" / "reduced"
    made = {p.name for p in reduced.glob("*/*.png")}
    assert len(made) == module.pages
    (repo / "json" / "__init__.py").write_text("# replaced\n" * 300)
    # A reader's copy being written (readers do not take the writer lock), and one left by a crash long ago.
    writing, crashed = reduced / "00" / ".tmp-writing", reduced / "00" / ".tmp-crashed"
    writing.parent.mkdir(exist_ok=True)
    writing.write_bytes(b"")
    crashed.write_bytes(b"")
    os.utime(crashed, (0, 0))
    index_repository(repo, store_dir=tmp_path / "store", workers=1)  # collects with no grace: it holds the lock
    with Store.open(tmp_path / "store", create=False) as store:
        store.collect_garbage(keep=1, grace_seconds=0)
        live = {blob for (blob,) in store.db.execute("SELECT blob FROM pages")}
    left = {p.name for p in reduced.glob("*/*.png")}
    assert left < made and all(name[:64] in live for name in left)
    assert writing.exists() and not crashed.exists()


def test_reduced_sizes_keep_the_aspect_and_cost_less() -> None:
    assert fitted_size(768, 2048, (384, 1024)) == (384, 1024)
    assert [tokens for _, tokens in reduced_modes(get_target("deepseek-ocr"), 1024, 1024)] == [100, 64]
    assert reduced_modes(get_target("gemini"), 768, 768) == []
    assert reduced_modes(get_target("deepseek-ocr2"), 1024, 1024) == []
    for target in TARGETS.values():
        full = target.cost(target.page_width, target.page_height)
        for box in target.reduced_sizes:
            size = fitted_size(target.page_width, target.page_height, box)
            assert target.cost(*size) < full, (target.name, box)
            assert size[0] / size[1] == pytest.approx(target.page_width / target.page_height, rel=0.01)


KEYS_MODULE = '''"""Keys a page image would garble."""

SESSION_ID = "3f2c9a1e-7b4d-4e8a-9c1f-0a2b3c4d5e6f"
BUILD_ID = "a1b2c3d4e5f6a7b8"
LARGE_PRIME = 170141183460469231731687303715884105727
MAGIC = 0x5BD1E9955BD1E995
API_DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def checksum_with_an_unusually_long_descriptive_name(data):
    return sum(data) % 65521
'''


def test_glossary_lists_rare_exact_strings_of_paged_modules(make_repo, tmp_path: Path) -> None:
    filler = "".join(f"def helper_{n}(value):\n    return value * {n} + len(str(value))\n\n\n" for n in range(400))
    repo = make_repo({"keys/ids.py": KEYS_MODULE + filler, "keys/more.py": filler.replace("helper_", "other_")})
    store_dir = tmp_path / "store"
    index_repository(repo, target="deepseek-ocr", store_dir=store_dir, workers=1)
    with Store.open(store_dir, create=False) as store:
        module = store.modules(store.require_generation("deepseek-ocr").id)[0]
        assert module.text_tokens > 3 * module.vision_tokens
        pack = build_pack(store, "deepseek-ocr", module.vision_tokens + 400)
    kinds = [i.representation for i in pack.items]
    assert kinds == ["pages", "glossary"]
    glossary = pack.items[1]
    assert glossary.text is not None
    for line, string in (
        (3, "3f2c9a1e-7b4d-4e8a-9c1f-0a2b3c4d5e6f"),
        (4, "a1b2c3d4e5f6a7b8"),
        (5, "170141183460469231731687303715884105727"),
        (6, "0x5BD1E9955BD1E995"),
        # A digest is not a credential (no vendor format, no credential's name): listed, not masked.
        (7, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
        (10, "checksum_with_an_unusually_long_descriptive_name"),
    ):
        assert f"\n{line}  {string}\n" in glossary.text
    assert glossary.text.count("keys/ids.py:\n") == 1  # each path once, above its lines
    assert "helper_1" not in glossary.text and glossary.tokens == count_tokens(glossary.text)


def test_manifest_lists_every_item_with_files_ranges_and_pages(stdlib_index: tuple[Path, Path], tmp_path: Path) -> None:
    with Store.open(stdlib_index[1], create=False) as store:
        pack = build_pack(store, "claude", 60_000, query="json decoder errors")
    manifest_path = write_pack(pack, tmp_path / "pack")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["budget"] == 60_000 and manifest["total_tokens"] == pack.total_tokens <= 60_000
    assert len(manifest["items"]) == len(pack.items)
    for entry, item in zip(manifest["items"], pack.items, strict=True):
        assert entry["module"] == item.module and entry["representation"] == item.representation
        assert entry["tokens"] == item.tokens
        assert entry["ranges"] == [
            {"path": r.path, "start_line": r.start_line, "end_line": r.end_line} for r in item.ranges
        ]
        assert set(entry["files"]) == {r.path for r in item.ranges}
        if item.text is not None:
            assert (tmp_path / "pack" / entry["text_file"]).read_text() == item.text
        for page_entry, page in zip(entry.get("pages", []), item.pages, strict=True):
            assert (tmp_path / "pack" / page_entry["file"]).read_bytes() == page.png_path.read_bytes()
            assert page_entry["line_map"]["rows"] and page_entry["tokens"] == page.tokens
    # Packing again into the same folder replaces the earlier pack; a foreign folder is refused.
    write_pack(pack, tmp_path / "pack")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        write_pack(pack, tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_cli_pack_json(stdlib_index: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo, store_dir = stdlib_index
    out = tmp_path / "out"
    argv = ["pack", str(repo), "--store", str(store_dir), "--budget", "50000", "--query", "cookies", "--out", str(out)]
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"budget", "total_tokens", "target", "items"} <= summary.keys()
    assert summary["budget"] == 50_000 and summary["total_tokens"] <= 50_000 and summary["target"] == "claude"
    assert {"module", "representation", "tokens", "files", "ranges"} <= summary["items"][0].keys()
    assert (out / "manifest.json").exists()
    assert main(["pack", str(repo), "--store", str(store_dir), "--budget", "0", "--out", str(out)]) == 2
    assert "--budget" in capsys.readouterr().err
    assert main(["pack", str(tmp_path / "nowhere"), "--budget", "10", "--out", str(out)]) == 2


def test_page_ranges_from_first_and_last_lines_match_the_line_maps(stdlib_index: tuple[Path, Path]) -> None:
    """Pack items take page ranges from each page's first and last line; the line maps must agree
    on every non-blank line (collapsed blank runs are the only gaps a line map shows)."""
    with Store.open(stdlib_index[1], create=False) as store:
        generation = store.require_generation("claude").id
        files = store.files(generation)
        text = {f.path: (store.source_text(f.sha256) or "").split("\n") for f in files}
        pages = 0
        for module in store.modules(generation):
            members = [f for f in files if f.module == module.name]
            for page in store.module_pages(generation, module.name):
                spanned = {
                    (r.path, n) for r in spanned_ranges(page, members) for n in range(r.start_line, r.end_line + 1)
                }
                mapped = {(r.path, n) for r in page_ranges(page.line_map) for n in range(r.start_line, r.end_line + 1)}
                assert mapped <= spanned
                assert {(p, n) for p, n in spanned - mapped if text[p][n - 1].strip()} == set()
                pages += 1
        assert pages > 50


def test_glossary_never_lists_certificate_or_key_material() -> None:
    from codectx.glossary import exact_candidates

    body = "MIIDdzCCAl+gAwIBAgIUb0lUSG1234567890abcdefABCDEFxyzXYZ0987654321"
    block = f"-----BEGIN CERTIFICATE-----\n{body}\nabcdef0123456789\n-----END CERTIFICATE-----"
    text = f'X = "a1b2c3d4e5"\n{block}\nY = 123456\n'
    assert exact_candidates(text) == [(1, "a1b2c3d4e5"), (6, "123456")]
    assert exact_candidates(body) != []  # the same line outside a block is listed


def test_glossary_is_capped_at_a_share_of_its_pages(make_repo, tmp_path: Path) -> None:
    import random

    from codectx.pack import GLOSSARY_SHARE, capped_glossary, pack_basis

    rng = random.Random(7)
    table = "".join(
        f"ROW_{n} = ('{rng.getrandbits(64):016x}', {rng.getrandbits(40)})  # {'x' * 10}\n" for n in range(900)
    )
    names = "".join(f"def a_rather_long_and_descriptive_function_{n}():\n    return {n}\n\n\n" for n in range(3))
    repo = make_repo({"tables/values.py": names + table})
    store_dir = tmp_path / "store"
    index_repository(repo, store_dir=store_dir, workers=1)
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude").id
        module = store.modules(generation)[0]
        basis = pack_basis(store, generation)
        glossary = capped_glossary(basis, basis.modules[0], module.vision_tokens)
        # A table whose values the capped glossary cannot carry is not sent as pages that garble them.
        pack = build_pack(store, "claude", module.vision_tokens * 2, basis=basis)
        check_pack(pack, store, module.vision_tokens * 2)
    assert [item.representation for item in pack.items] in (["text"], ["outline"])
    assert 0 < glossary.tokens <= GLOSSARY_SHARE * module.vision_tokens
    listed = glossary.text.count("\n") - 3  # the header, the note and the path
    # 900 hex strings, 900 long numbers and 3 long names; what is not listed is counted.
    assert f"{1803 - listed} more exact strings: read_source" in glossary.text.splitlines()[1]
    # Values before long names: the pages misread hex, not words.
    assert "a_rather_long_and_descriptive_function" not in glossary.text
    assert len(glossary.entries) == listed


def test_the_most_relevant_files_go_faithfully_when_their_module_cannot(make_repo, tmp_path: Path) -> None:
    """The fade must not invert: when the best module is too large to send whole, its best file goes as
    text or full pages (and the rest of it as an outline) rather than the whole module as an outline
    while less relevant small modules go faithfully."""
    filler = "".join(
        f"def table_{n}(rows):\n    total = 0\n    for row in rows:\n        total += row * {n} + len(str(row))\n"
        f"    return total\n\n\n"
        for n in range(560)
    )
    answer = (
        '"""Frobnicating widgets: every widget is frobnicated once, in order."""\n\n\n'
        "def frobnicate_widget(widget, times=1):\n    for _ in range(times):\n        widget.frobnicated += 1\n"
        "    return widget\n\n\n"
        "class WidgetFrobnicator:\n    def frobnicate(self, widgets):\n"
        "        return [frobnicate_widget(widget) for widget in widgets]\n"
    )
    small = "".join(f"def note_{n}(value):\n    return value + {n}  # widget\n\n\n" for n in range(120))
    repo = make_repo(
        {
            "engine/frobnicate.py": answer,
            "engine/tables.py": filler,
            "notes_a/widgets.py": small,
            "notes_b/widgets.py": small.replace("note_", "memo_"),
        }
    )
    store_dir = tmp_path / "store"
    index_repository(repo, store_dir=store_dir, workers=1)
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude").id
        modules = {m.name: m for m in store.modules(generation)}
        module_of = {f.path: f.module for f in store.files(generation)}
        engine = modules[module_of["engine/frobnicate.py"]]
        assert module_of["engine/tables.py"] == engine.name  # one module, too large for the budget
        budget = 10_000
        assert min(engine.vision_tokens, engine.text_tokens) > budget
        pack = build_pack(store, "claude", budget, query="how are widgets frobnicated")
        check_pack(pack, store, budget)
    items = [item for item in pack.items if item.module == engine.name]
    assert items[0].relevance == 1.0
    faithful = [item for item in items if item.representation in ("text", "pages")]
    assert faithful, [item.representation for item in items]
    lines = answer.count("\n")
    shown = [r for item in faithful for r in item.ranges if r.path == "engine/frobnicate.py"]
    assert min(r.start_line for r in shown) == 1 and max(r.end_line for r in shown) >= lines
    # The rest of the module is still mapped: its other file goes as an outline (or on the pages).
    assert any(r.path == "engine/tables.py" for item in items for r in item.ranges)
