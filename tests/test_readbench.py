"""codectx readbench: export a blind reading benchmark from an index, score a reader's answers."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from codectx.cli import main
from codectx.indexer import index_repository
from codectx.pack import capped_glossary, pack_basis
from codectx.readbench import (
    TASK_KINDS,
    BenchmarkError,
    clean_value,
    content_score,
    export_benchmark,
    literals,
    score_benchmark,
    strict_score,
)
from codectx.render.layout import read_line_map
from codectx.store import Store


def _big_module(rng: random.Random) -> str:
    """A few pages of distinct, realistic lines, some of them long enough to wrap."""
    lines = ['"""Record handling: every function below is distinct."""', "", "import os", ""]
    for number in range(160):
        lines += [
            f"def handle_record_{number}(record, limit={rng.randrange(10, 99)}):",
            f'    """Handle record kind {number} within the given limit."""',
            f"    total_{number} = record.get('count_{number}', 0) + {rng.randrange(100, 999)}",
            f"    if total_{number} > limit:",
            f"        raise ValueError(f'record {number} is over {{limit}}: {{total_{number}}}')",
        ]
        if number % 9 == 0:
            lines.append(
                f"    message_{number} = " + " + ".join(f"'part {number}-{k} of a long message'" for k in range(6))
            )
        lines += [f"    return os.path.join('records', str(total_{number}))", ""]
    return "\n".join(lines) + "\n"


CONFIG = """\
\"\"\"Fixed identifiers.\"\"\"

BUILD_ID = 0x7F3D009816129C9F
REGION_UUID = "5e5aaac1-0e5d-4ed8-a170-704055c521c8"
LAYOUT_DIGEST = "sha256:2bb8ca3810012dccc844e49c45af1510f76c68285bb8bd0bc77ded581dcc9de6"
RETRY_BUDGET = 86400123
SHORT_TAG = "37e49818"
TABLE = {"first_entry": 0xB68C7EDE0C0E47CF, "second_entry": "x95wDVXYo3l8h-A4u1"}


def lookup(name):
    return TABLE.get(name, "missing")
"""

SCRIPT = """\
// Client settings.
export const SESSION_LIMIT = 123456789;
export const CLIENT_ID = "d93030e8-cfce-4420-a262-cd9da9ff7ada";

export function pick(kind) {
  switch (kind) {
    case "alpha": return 0x1F14DEFD16D6B1EC;
    default: return null;
  }
}
"""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    repo = tmp_path_factory.mktemp("readbench-repo")
    rng = random.Random(4)
    (repo / "records").mkdir()
    (repo / "records" / "handlers.py").write_text(_big_module(rng))
    (repo / "settings").mkdir()
    (repo / "settings" / "config.py").write_text(CONFIG)
    (repo / "client").mkdir()
    (repo / "client" / "settings.js").write_text(SCRIPT)
    store = tmp_path_factory.mktemp("readbench-store")
    index_repository(repo, store_dir=store, workers=1)
    return repo, store


@pytest.fixture(scope="module")
def bench(indexed: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, store_dir = indexed
    out = tmp_path_factory.mktemp("readbench") / "bench"
    with Store.open(store_dir, create=False) as store:
        export_benchmark(store, "claude", out, pages=4, tasks_per_page=4, seed=3)
    return out


def _key(bench: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((bench / "key.json").read_text())
    return data


def _perfect(bench: Path) -> dict[str, str]:
    answers = {}
    for task in _key(bench)["tasks"]:
        truth = task["truth"]
        answers[task["id"]] = "\n".join(truth) if isinstance(truth, list) else truth
    return answers


def _answer(folder: Path, answers: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "answers.json").write_text(json.dumps(answers))
    return folder


def test_export_writes_pages_and_questions_and_keeps_the_truth_apart(bench: Path, indexed: tuple[Path, Path]) -> None:
    tasks_dir = bench / "tasks"
    files = sorted(p.relative_to(tasks_dir).as_posix() for p in tasks_dir.rglob("*") if p.is_file())
    assert files == [*(f"pages/page-00{n}.png" for n in range(1, 5)), "tasks.json"]
    manifest = json.loads((tasks_dir / "tasks.json").read_text())
    assert manifest["version"] == 1 and manifest["target"] == "claude" and manifest["page_tokens"] > 0
    assert manifest["layout"].startswith("1092x1092/") and "answers.json" in manifest["instructions"]
    assert [t["id"] for t in manifest["tasks"]] == [f"t{n:03d}" for n in range(1, 17)]
    assert all(set(t) == {"id", "image", "kind", "question"} for t in manifest["tasks"])
    assert {t["kind"] for t in manifest["tasks"]} == set(TASK_KINDS)
    key = _key(bench)
    text = (tasks_dir / "tasks.json").read_text()
    for task in key["tasks"]:
        if task["kind"] in ("transcribe", "line", "value"):
            truths = task["truth"] if isinstance(task["truth"], list) else [task["truth"]]
            assert not any(json.dumps(t)[1:-1] in text for t in truths if len(t.strip()) > 3), task["id"]
    # the pages are the stored page blobs, byte for byte
    _, store_dir = indexed
    with Store.open(store_dir, create=False) as store:
        for page in key["pages"]:
            assert (tasks_dir / page["image"]).read_bytes() == store.pages.get(page["blob"])
    assert {page["module"] for page in key["pages"]} == {".", "records"}  # spread over the modules


def test_tasks_ask_only_about_lines_wholly_on_their_page(bench: Path, indexed: tuple[Path, Path]) -> None:
    _, store_dir = indexed
    key = _key(bench)
    pages = {page["image"]: page for page in key["pages"]}
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude").id
        sources = {f.path: (store.source_text(f.sha256) or "").split("\n") for f in store.files(generation)}
        rows = {}
        for page in key["pages"]:
            for other in store.module_pages(generation, page["module"]):
                code = [r for r in read_line_map(other.line_map)["rows"] if r["kind"] == "code"]
                rows[(page["module"], other.page_no + 1)] = {(r["path"], r["line"], r["part"]) for r in code}
    for task in key["tasks"]:
        page = pages[task["image"]]
        asked = range(task["first_line"], task["last_line"] + 1) if task["kind"] == "transcribe" else [task["line"]]
        for line in asked:
            here = rows[(page["module"], page["page"])]
            assert (task["path"], line, 0) in here, task
            for (module, number), shown in rows.items():
                if module == page["module"] and number != page["page"]:
                    assert not any(r[:2] == (task["path"], line) for r in shown), (task, number)
        if task["kind"] == "transcribe":
            assert 3 <= len(task["truth"]) <= 8
            assert task["truth"] == [sources[task["path"]][n - 1].rstrip() for n in asked]
        elif task["kind"] in ("line", "locate"):
            assert sources[task["path"]][task["line"] - 1].rstrip() == (
                task["truth"] if task["kind"] == "line" else sources[task["path"]][int(task["truth"]) - 1].rstrip()
            )
        else:
            assert task["truth"] in sources[task["path"]][task["line"] - 1]
    hard = [t for t in key["tasks"] if t["kind"] == "value" and t["value_kind"] in ("uuid", "digest", "hex")]
    assert hard, "pages with hexadecimal, UUIDs or digests ask about them first"


def test_perfect_answers_score_full_marks(bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    answers = _answer(tmp_path / "perfect", _perfect(bench))
    assert main(["readbench", "score", str(bench), str(answers), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((answers / "score.json").read_text())
    overall = printed["overall"]
    assert overall["tasks"] == overall["answered"] == overall["correct"] == 16 and printed["problems"] == []
    for metric in ("task_accuracy", "content_accuracy", "strict_accuracy", "exact_line_rate", "locate_rate",
                   "value_recall"):  # fmt: skip
        assert overall[metric] == 1.0, metric
    assert all(page["task_accuracy"] == 1.0 for page in printed["by_page"])
    assert set(printed["by_kind"]) == set(TASK_KINDS)
    # the plain report prints a table and says where the score went
    assert main(["readbench", "score", str(bench), str(answers)]) == 0
    assert "score.json" in capsys.readouterr().out


def test_wrong_answers_score_lower_and_place_matters(bench: Path) -> None:
    key = _key(bench)
    answers = _perfect(bench)
    for task in key["tasks"]:
        truth = task["truth"]
        if task["kind"] == "transcribe":
            answers[task["id"]] = "\n".join(reversed(truth))  # the right lines in the wrong places
        elif task["kind"] == "line":
            answers[task["id"]] = truth[:-3] + "@@@"
        elif task["kind"] == "locate":
            answers[task["id"]] = str(task["line"] + 1)
        else:
            answers[task["id"]] = truth[:-1] + ("0" if truth[-1] != "0" else "1")
    folder = _answer(bench.parent / "wrong", answers)
    report = score_benchmark(bench, folder).as_json()
    by_kind = report["by_kind"]
    assert by_kind["transcribe"]["content_accuracy"] == 1.0 and by_kind["transcribe"]["strict_accuracy"] < 0.9
    assert 0.5 < by_kind["line"]["content_accuracy"] < 1.0 and by_kind["line"]["exact_line_rate"] == 0.0
    assert by_kind["locate"]["locate_rate"] == 0.0 and by_kind["value"]["value_recall"] == 0.0
    assert report["overall"]["task_accuracy"] == 0.0 and report["overall"]["answered"] == 16
    shutil.rmtree(folder)


def test_answers_may_be_quoted_fenced_or_numbers() -> None:
    assert clean_value(' "0x1F" ') == "0x1F" and clean_value("`abc`") == "abc" and clean_value("'x'") == "x"
    assert clean_value('"unbalanced') == '"unbalanced'
    truth = ["def f(x):", "return x"]
    fenced = "```python\ndef  f(x):\n\n        return x\n```"
    from codectx.readbench import answer_lines

    assert answer_lines(fenced) == truth
    assert content_score(truth, ["return x"], truth).accuracy == pytest.approx(8 / 17)
    assert strict_score(truth, ["return x", "def f(x):"]).accuracy < 0.5
    assert strict_score(truth, [*truth, "extra"]).accuracy == pytest.approx(1 - 5 / 17)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("no folder", "is not a folder"),
        ("no answers.json", "does not exist"),
        ("invalid JSON", "is not valid JSON"),
        ("not UTF-8", "is not UTF-8"),
        ("a list", "holds a list, not an object"),
        ("non-strings", "answers are not strings"),
        ("unknown ids", "unknown task ids"),
        ("missing ids", "tasks are unanswered"),
    ],
)
def test_malformed_answers_get_a_report_not_a_traceback(
    bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    folder = tmp_path / "answers"
    perfect = _perfect(bench)
    if case != "no folder":
        folder.mkdir()
    if case == "invalid JSON":
        (folder / "answers.json").write_text('{"t001": "x",')
    elif case == "not UTF-8":
        (folder / "answers.json").write_bytes(b'{"t001": "\xff"}')
    elif case == "a list":
        _answer(folder, list(perfect.values()))
    elif case == "non-strings":
        locate = next(t for t in _key(bench)["tasks"] if t["kind"] == "locate")
        _answer(folder, perfect | {"t001": ["a"], "t002": None, locate["id"]: locate["line"]})
    elif case == "unknown ids":
        _answer(folder, perfect | {"t999": "x", "extra": "y"})
    elif case == "missing ids":
        _answer(folder, {k: v for k, v in perfect.items() if k not in ("t001", "t005")})
    assert main(["readbench", "score", str(bench), str(folder), "--json"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    report = json.loads(captured.out)
    assert any(expected in problem for problem in report["problems"]), report["problems"]
    overall = report["overall"]
    wrong = {"non-strings": 2, "unknown ids": 0, "missing ids": 2}.get(case, 16)
    assert overall["tasks"] - overall["correct"] == wrong
    if case == "non-strings":  # a number is a fine answer to a locate task
        assert overall["invalid"] == 2
    if case == "unknown ids":
        assert report["unknown_ids"] == ["extra", "t999"]
    assert (folder / "score.json").exists() == (case != "no folder")


def test_export_is_deterministic_and_refuses_to_overwrite(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    _, store_dir = indexed
    with Store.open(store_dir, create=False) as store:
        export_benchmark(store, "claude", tmp_path / "a", pages=3, seed=9, modules=["records"])
        export_benchmark(store, "claude", tmp_path / "b", pages=3, seed=9, modules=["records"])
        export_benchmark(store, "claude", tmp_path / "c", pages=3, seed=10, modules=["records"])
    a, b = (json.loads((tmp_path / x / "key.json").read_text()) for x in "ab")
    assert a == b and (tmp_path / "a/tasks/tasks.json").read_text() == (tmp_path / "b/tasks/tasks.json").read_text()
    assert a != json.loads((tmp_path / "c/key.json").read_text())
    assert {page["module"] for page in a["pages"]} == {"records"}


def test_cli_exit_codes(
    indexed: tuple[Path, Path], bench: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, store_dir = indexed
    out = tmp_path / "cli"
    argv = ["readbench", "export", str(repo), "--store", str(store_dir), "--out", str(out), "--pages", "2"]
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pages"] == 2 and summary["tasks"] == 8 and (out / "key.json").exists()
    assert main(argv) == 2
    assert "already holds a benchmark" in capsys.readouterr().err
    assert main([*argv[:-4], "--out", str(tmp_path / "x"), "--module", "nope"]) == 2
    assert "unknown module 'nope'" in capsys.readouterr().err
    # no index at all, and no index for the target: say which command builds it
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["readbench", "export", str(empty), "--out", str(tmp_path / "y")]) == 2
    assert f"codectx index {empty}" in capsys.readouterr().err
    assert main([*argv[:-4], "--out", str(tmp_path / "z"), "--target", "gpt-4o"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("codectx: error: no index for target 'gpt-4o'") and "--target gpt-4o" in error
    assert not (tmp_path / "z").exists()
    # a benchmark folder without its key or its tasks: one line, exit 2
    broken = tmp_path / "broken"
    shutil.copytree(bench, broken)
    (broken / "key.json").unlink()
    assert main(["readbench", "score", str(broken), str(tmp_path / "answers")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("codectx: error:") and "key.json" in error and error.count("\n") == 1
    shutil.rmtree(broken / "tasks")
    shutil.copyfile(bench / "key.json", broken / "key.json")
    assert main(["readbench", "score", str(broken), str(tmp_path / "answers")]) == 2
    assert "tasks.json" in capsys.readouterr().err
    assert main(["readbench", "score", str(tmp_path / "nowhere"), str(tmp_path / "answers")]) == 2


def test_literals_say_what_holds_them() -> None:
    found = {lit.value: lit for lit in literals("settings/config.py", CONFIG, "python", 4)}
    assert found["0x7F3D009816129C9F"].description == "assigned to BUILD_ID"
    assert found["0x7F3D009816129C9F"].kind == "hex" and found["86400123"].kind == "long_number"
    assert found["5e5aaac1-0e5d-4ed8-a170-704055c521c8"].kind == "uuid"
    assert found[LAYOUT := "sha256:2bb8ca3810012dccc844e49c45af1510f76c68285bb8bd0bc77ded581dcc9de6"].kind == "digest"
    assert found[LAYOUT].prefix == "LAYOUT_DIGEST ="
    assert found["x95wDVXYo3l8h-A4u1"].description == "given for the key 'second_entry'"
    assert found["missing"].description == "passed to get as argument 2"
    script = {lit.value: lit for lit in literals("client/settings.js", SCRIPT, "javascript", 4)}
    assert script["0x1F14DEFD16D6B1EC"].description == "returned" and script["0x1F14DEFD16D6B1EC"].prefix.startswith(
        'case "alpha":'
    )


def test_lines_with_masked_secrets_are_never_value_questions(make_repo, tmp_path: Path) -> None:
    repo = make_repo({"settings.py": 'import os\n\nDB_PASSWORD = "Zk8pQ2vmW9xR4tLs"\nHOME = os.environ\n'})
    index_repository(repo, store_dir=tmp_path / "store", workers=1)
    with Store.open(tmp_path / "store", create=False) as store:
        export_benchmark(store, "claude", tmp_path / "bench", pages=1, tasks_per_page=4)
    key = _key(tmp_path / "bench")
    assert key["tasks"] and not [t for t in key["tasks"] if t["kind"] == "value"]
    assert "Zk8pQ2vmW9xR4tLs" not in json.dumps(key)  # the key holds the masked text that the page shows


def test_export_can_ask_one_kind_and_give_each_page_its_glossary(indexed: tuple[Path, Path], tmp_path: Path) -> None:
    """--kinds value --with-glossary: value questions only, each beside the exact strings a pack sends for its
    page's module (what a reader of a pack has: pages plus that text)."""
    _, store_dir = indexed
    with Store.open(store_dir, create=False) as store:
        export_benchmark(store, "claude", tmp_path / "b", pages=2, tasks_per_page=3, seed=1, kinds=("value",),
                         with_glossary=True)  # fmt: skip
        basis = pack_basis(store, store.require_generation("claude").id)
        glossaries = {m.row.name: capped_glossary(basis, m, m.row.vision_tokens).text for m in basis.modules}
        with pytest.raises(BenchmarkError, match="--kinds"):
            export_benchmark(store, "claude", tmp_path / "c", kinds=("guess",))
    manifest = json.loads((tmp_path / "b" / "tasks" / "tasks.json").read_text())
    assert {t["kind"] for t in manifest["tasks"]} == {"value"} and "text file" in manifest["instructions"]
    for page in _key(tmp_path / "b")["pages"]:
        texts = {t["text"] for t in manifest["tasks"] if t["image"] == page["image"]}
        assert len(texts) == 1
        written = (tmp_path / "b" / "tasks" / texts.pop()).read_text()
        assert written == (glossaries[page["module"]] or f"No exact strings are listed for {page['module']}.\n")
