"""`codectx show`: a static gallery that a real browser (headless Chromium) displays."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from codectx.cli import main
from codectx.indexer import index_repository
from codectx.store import Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
ODD_NAME = "odd <b>&name.py"


@pytest.fixture
def browser_page():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


def loaded(page: Page, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0"))


def test_gallery_displays_every_page(stdlib_copy, tmp_path, capsys, browser_page: Page):
    repo = stdlib_copy("json")
    (repo / ODD_NAME).write_text("x = 1\n")
    store_dir = tmp_path / "store"
    index_repository(repo, store_dir=store_dir, workers=1)
    out = tmp_path / "gallery"
    assert main(["show", str(repo), "--store", str(store_dir), "--out", str(out)]) == 0
    index = Path(capsys.readouterr().out.strip())
    assert index == out / "index.html"
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude")
        modules = store.modules(generation.id)
        pages = {m.name: store.module_pages(generation.id, m.name) for m in modules}

    requests: list[str] = []
    browser_page.on("request", lambda request: requests.append(request.url))
    browser_page.goto(index.as_uri())
    browser_page.wait_for_load_state("load")

    # The module list names every module, in order.
    assert browser_page.locator("#modules li a").all_inner_texts() == [m.name for m in modules]

    # Every thumbnail loads (scrolled into view: they load lazily), captioned with the lines it covers.
    cards = browser_page.locator("figure.card")
    assert cards.count() == sum(len(p) for p in pages.values())
    rows = [page for module in modules for page in pages[module.name]]
    for index_on_page, row in enumerate(rows):
        card = cards.nth(index_on_page)
        card.scroll_into_view_if_needed()
        thumb = card.locator("img.thumb")
        thumb.wait_for(state="visible")
        browser_page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        caption = card.locator("figcaption").inner_text()
        assert caption.startswith(f"{row.page_no + 1} {row.first_path}:{row.first_line}")
        assert re.search(rf"{re.escape(row.last_path)}:(\d+-)?{row.last_line}$", caption), caption
    assert ODD_NAME in browser_page.locator("figure.card figcaption").all_inner_texts()[0]  # shown, not parsed

    # Clicking a thumbnail shows that page at full size, with its line ranges.
    json_pages = pages["json"]
    second = next(i for i, row in enumerate(rows) if row.module == "json" and row.page_no == 1)
    cards.nth(second).locator("a.open").click()
    full = browser_page.locator(f"#m{[m.name for m in modules].index('json')}-p1")
    full.wait_for(state="visible")
    image = full.locator("img.page")
    browser_page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    natural = image.evaluate("img => [img.naturalWidth, img.naturalHeight, img.getBoundingClientRect().width]")
    assert natural == [json_pages[1].width, json_pages[1].height, json_pages[1].width]
    assert f"{json_pages[1].first_path}:{json_pages[1].first_line}" in full.locator("nav").inner_text()
    assert not loaded(browser_page, f"#m{[m.name for m in modules].index('json')}-p0 img.page")  # hidden: not loaded

    # Static files only: nothing was fetched from anywhere but the gallery folder.
    assert requests and all(url.startswith(out.as_uri()) for url in requests), requests
