"""Pages are planned at index time and drawn on first request: the same line maps and the same bytes
as laying them out and drawing them at once."""

from __future__ import annotations

import json
import random

import pytest

from codectx.indexer import index_repository
from codectx.page_images import PageImages, PageSource, content_key, draw, page_key
from codectx.render.highlight import highlight
from codectx.render.layout import (
    FileLines,
    LayoutSettings,
    PagePlan,
    PlainFile,
    draw_page,
    layout_pages,
    plan_pages,
    read_line_map,
)
from codectx.render.raster import rasterize
from codectx.store import Store

SETTINGS = LayoutSettings(page_width=640, page_height=480, font_px=8, line_height=9, columns=2)
SOURCE = "".join(f"def f{i}(x):\n    return x * {i}  # émoji-free ünïcode 漢字\n" for i in range(90))


def _random_file(rng: random.Random, number: int) -> tuple[str, str]:
    """Lines of every kind layout treats apart: blank runs, tabs, carriage returns, trailing blanks,
    lines that wrap several times, non-Latin text."""
    pieces = ["", "", "\t", "  ", "x = 1", "\tif a:\t# tab\t", "a\r\tb", "y = 'é漢'", "trailing   ", "\r"]
    lines = []
    for _ in range(rng.randint(0, 160)):
        line = rng.choice(pieces)
        if rng.random() < 0.15:
            line += "w" * rng.randint(1, 400)
        lines.append(line)
    return f"dir/file{number}.py", "\n".join(lines)


SETTINGS_VARIANTS = [
    SETTINGS,
    LayoutSettings(page_width=400, page_height=200, columns=1, line_numbers=False, blank_rows=0),
    LayoutSettings(page_width=900, page_height=300, columns=3, blank_rows=2, tab_size=8),
]


@pytest.mark.parametrize("settings", SETTINGS_VARIANTS, ids=["2col", "1col-no-numbers", "3col"])
@pytest.mark.parametrize("seed", range(4))
def test_plans_are_the_layouts_line_maps_and_draw_the_same_cells(settings, seed):
    rng = random.Random(seed)
    texts = [_random_file(rng, n) for n in range(rng.randint(1, 12))]
    styled = [FileLines(path, highlight(text, "python")) for path, text in texts]
    laid_out = layout_pages(styled, settings)
    planned = plan_pages([PlainFile(path, text.split("\n")) for path, text in texts], settings)
    assert len(planned) == len(laid_out) > 0
    by_path = {file.path: file for file in styled}
    for plan, page in zip(planned, laid_out, strict=True):
        assert plan.spans() == page.spans
        assert read_line_map(plan.stored_line_map()) == page.line_map_json()
        drawn = draw_page(PagePlan.from_stored(plan.stored_line_map(), settings), by_path, settings)
        assert drawn.spans == page.spans
        assert (drawn.codepoints == page.codepoints).all() and (drawn.inks == page.inks).all()


def test_no_files_no_pages():
    assert plan_pages([], SETTINGS) == [] == layout_pages([], SETTINGS)


def test_a_page_is_drawn_once_on_first_request(tmp_path):
    pages = layout_pages([FileLines("m.py", highlight(SOURCE.removesuffix("\n"), "python"))], SETTINGS)
    plan = plan_pages([PlainFile("m.py", SOURCE.removesuffix("\n").split("\n"))], SETTINGS)[1]
    line_map = plan.stored_line_map()
    key = page_key(line_map, ["m.py"], SETTINGS, {"m.py": content_key("python", SOURCE)})
    asked: list[str] = []
    texts = {"m.py": SOURCE}

    def source_of(wanted: str) -> PageSource | None:
        asked.append(wanted)
        return PageSource(line_map, SETTINGS, {"m.py": ("python", texts["m.py"])}) if wanted == key else None

    images = PageImages(tmp_path, source_of)
    (png,) = images.stored_files(key)
    assert not png.exists()
    assert images.path_for(key) == png
    assert png.read_bytes() == rasterize(pages[1], SETTINGS)
    first_drawn = png.stat().st_mtime_ns
    assert images.get(key) == rasterize(pages[1], SETTINGS)
    assert png.stat().st_mtime_ns == first_drawn and asked == [key]
    assert set(images.all_digests()) == {key}
    with pytest.raises(OSError, match="not in the index"):
        images.path_for("0" * 64)
    # A page is drawn only from the very texts it was laid out from.
    png.unlink()
    texts["m.py"] = SOURCE.replace("return x", "return  x")
    with pytest.raises(OSError, match="re-masked"):
        images.path_for(key)
    assert not png.exists()


def test_index_draws_no_page_until_asked_and_collects_it(make_repo, tmp_path):
    repo = make_repo({"pkg/a.py": SOURCE, "pkg/b.py": "B = 2\n"})
    store_dir = tmp_path / "store"
    index_repository(repo, "claude", store_dir, workers=1)
    assert not list((store_dir / "pages").rglob("*.png"))
    with Store.open(store_dir) as store:
        generation = store.require_generation("claude")
        module = store.modules(generation.id)[0].name
        page = store.module_pages(generation.id, module)[0]
        source = store.page_source(page.blob)
        assert source is not None and list(source.files) == ["pkg/a.py", "pkg/b.py"]
        assert store.pages.get(page.blob) == draw(source)
        # The drawn page is the module's files laid out and drawn at once.
        settings = source.settings
        files = [
            FileLines(p, highlight(t.removesuffix("\n"), "python"))
            for p, t in [("pkg/a.py", SOURCE), ("pkg/b.py", "B = 2\n")]
        ]
        laid_out = layout_pages(files, settings)
        assert store.pages.get(page.blob) == rasterize(laid_out[0], settings)
    (repo / "pkg" / "a.py").write_text("A = 1\n")
    for _ in range(4):  # older generations are kept a while; each index drops the oldest
        index_repository(repo, "claude", store_dir, workers=1)
        (repo / "pkg" / "b.py").write_text((repo / "pkg" / "b.py").read_text() + "B += 1\n")
    with Store.open(store_dir) as store:
        assert not any(path.exists() for path in store.pages.stored_files(page.blob))
        assert store.page_source(page.blob) is None


def test_stored_line_maps_are_compact():
    (plan, *_) = plan_pages([PlainFile("m.py", SOURCE.split("\n"))], SETTINGS)
    full = read_line_map(plan.stored_line_map())
    assert len(plan.stored_line_map()) * 3 < len(json.dumps(full, separators=(",", ":")))


def test_full_line_maps_of_older_indexes_read_as_they_are():
    (page, *_) = layout_pages([FileLines("m.py", highlight(SOURCE, "python"))], SETTINGS)
    older = json.dumps(page.line_map_json())
    assert read_line_map(older) == page.line_map_json()


def test_a_page_of_text_masked_since_is_refused_not_misdrawn(tmp_path, capsys):
    """Allowing a secret changes the stored text of its file: an older generation's page laid out from the
    masked text is refused with a message, while the current generation's pages draw."""
    from codectx.cli import main
    from codectx.secrets import ALLOWLIST_NAME

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "vectors.py").write_text('TEST_VECTOR_TOKEN = "k9Qw2ZrT7mXb4LpVk9Qw2ZrT7mXb4LpVa1b2c3d4"\nOTHER = 1\n')
    store_dir = tmp_path / "store"
    assert main(["index", str(repo), "--store", str(store_dir)]) == 0
    capsys.readouterr()
    assert main(["secrets", str(repo), "--store", str(store_dir), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["secrets"]
    with Store.open(store_dir) as store:
        old = store.require_generation("claude").id
        (old_page,) = store.module_pages(old, store.modules(old)[0].name)
    (repo / ALLOWLIST_NAME).write_text(f"{entry['allowlist_entry']}\n")
    assert main(["index", str(repo), "--store", str(store_dir)]) == 0
    with Store.open(store_dir) as store:
        new = store.require_generation("claude").id
        (new_page,) = store.module_pages(new, store.modules(new)[0].name)
        assert new > old and new_page.blob != old_page.blob
        assert store.pages.get(new_page.blob).startswith(b"\x89PNG")
        with pytest.raises(OSError, match="re-masked"):
            store.pages.path_for(old_page.blob)
