from __future__ import annotations

import json
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

from codectx.cli import main
from codectx.fidelity import (
    Judge,
    Word,
    code_rows,
    edit_distance,
    reference_layout,
    sample_pages,
    score_rows,
    words_to_rows,
)
from codectx.profiles import get_profile
from codectx.render.highlight import highlight
from codectx.render.layout import FileLines, LayoutSettings, layout_pages

JSON_KEYS = {"char_accuracy", "ceiling", "relative_accuracy", "text_tokens", "vision_tokens", "ratio", "pages",
             "target", "engine"}  # fmt: skip
# One 512 px page (DeepSeek-OCR Tiny) keeps OCR in tests to a few dozen rows.
LEGIBLE = {"font_px": 10, "line_height": 12, "columns": 1}
ILLEGIBLE = {"font_px": 4, "line_height": 5, "columns": 1}


def test_words_go_back_to_their_rows_in_reading_order():
    tops, height = [10, 50, 90], 20
    words = [
        Word("b()", left=60, top=52, width=30, height=16),
        Word("a.", left=5, top=49, width=40, height=18),
        Word("first", left=5, top=12, width=50, height=16),
        Word("~", left=300, top=76, width=5, height=4),  # noise in the gap below row 1 (centre 78)
        Word(" ", left=0, top=92, width=4, height=4),  # blank words are not readings
    ]
    assert words_to_rows(words, tops, height) == ["first", "a. b() ~", ""]
    assert words_to_rows([], [], height) == []


def test_scores_count_real_edits_but_not_indentation():
    truths = ["    return x  + 1", "def f(a):", "pass", "x = 0"]
    readings = ["return x + 1", "def f(a);", "", "x = 0 #"]
    score = score_rows(truths, readings)
    # 0 (blank runs only) + 1 substitution + 4 deletions + 2 insertions
    assert (score.chars, score.errors) == (12 + 9 + 4 + 5, 7)
    assert score.accuracy == pytest.approx(1 - 7 / 30)
    assert edit_distance("kitten", "sitting") == 3 and edit_distance("", "abc") == 3
    with pytest.raises(ValueError):
        score_rows(["a"], [])


def test_rows_are_exactly_the_drawn_source_without_the_gutter():
    source = "def f():\n\treturn 1   \n\n\n\nx = [" + ", ".join(str(i) for i in range(40)) + "]"
    settings = LayoutSettings(page_width=512, page_height=512, font_px=9, line_height=10, columns=1)
    page = layout_pages([FileLines("a.py", highlight(source, "python"))], settings)[0]
    rows = code_rows(page, settings, {"a.py": source.count("\n") + 1})
    by_line: dict[int, str] = {}
    for row in rows:
        by_line[row.line] = by_line.get(row.line, "") + row.text
    expected = {n: line.expandtabs(4).rstrip() for n, line in enumerate(source.split("\n"), start=1) if line.strip()}
    assert by_line == expected
    assert max(r.part for r in rows) >= 1  # the long line wrapped, and its parts join back exactly
    one_row, one_row_settings = reference_layout(rows[:1], settings)  # a short reference page still lays out
    assert [r.text for r in code_rows(one_row, one_row_settings, {"reference": 1})] == [rows[0].text]
    reference, reference_settings = reference_layout(rows, settings)
    assert [r.styled for r in code_rows(reference, reference_settings, {"reference": len(rows)})] == [
        r.styled for r in rows
    ]


def test_page_sample_is_seeded(stdlib_copy: Callable[..., Path]):
    repo = stdlib_copy("json", "email")
    settings = get_profile("deepseek-ocr2").layout
    first = [(p.module, p.page_no) for p in sample_pages(repo, settings, 3, seed=1)]
    again = [(p.module, p.page_no) for p in sample_pages(repo, settings, 3, seed=1)]
    other = [(p.module, p.page_no) for p in sample_pages(repo, settings, 3, seed=2)]
    assert first == again and len(set(first)) == 3 and other != first


@pytest.fixture(scope="module")
def small_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = [
        line for line in (Path(sysconfig.get_paths()["stdlib"]) / "bisect.py").read_text().split("\n") if len(line) < 76
    ][:26]
    repo = tmp_path_factory.mktemp("repo")
    (repo / "bisect_part.py").write_text("\n".join(lines) + "\n")
    return repo


@pytest.mark.parametrize("engine", ["tesseract", "rapidocr"])
def test_judges_read_legible_pages_and_fail_illegible_ones(
    engine: str, small_repo: Path, tmp_path_factory: pytest.TempPathFactory
):
    judge = Judge(engine, tmp_path_factory.mktemp(engine))
    legible = judge.measure(small_repo, get_profile("deepseek-ocr-tiny", **LEGIBLE), sample=1)
    illegible = judge.measure(small_repo, get_profile("deepseek-ocr-tiny", **ILLEGIBLE), sample=1)
    assert legible.ceiling > 0.9
    assert legible.relative_accuracy > 0.95
    assert illegible.relative_accuracy < 0.6
    assert legible.score.chars == illegible.score.chars > 500  # the same rows, read at two sizes
    assert legible.vision_tokens == 64 and legible.text_tokens > 100


def test_cli_json(small_repo: Path, capsys: pytest.CaptureFixture[str]):
    overrides = ["--font-px", "10", "--line-height", "12", "--columns", "1"]
    assert (
        main(["fidelity", str(small_repo), "--target", "deepseek-ocr-tiny", "--sample", "1", "--json", *overrides]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= JSON_KEYS
    assert data["target"] == "deepseek-ocr-tiny" and data["engine"] == "tesseract" and len(data["pages"]) == 1
    assert data["ratio"] == pytest.approx(data["text_tokens"] / data["vision_tokens"], abs=1e-3)
    assert 0.9 < data["relative_accuracy"] <= 1.1
    assert main(["fidelity", str(small_repo), "--font-px", "12", "--columns", "9"]) == 2
    assert "leaves" in capsys.readouterr().err
