"""bench/reader_qa.py: generated questions with right answers, the pack and text exports, the scorer."""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from codectx.indexer import index_repository
from codectx.pack import build_pack
from codectx.store import Store
from codectx.tokens import count_tokens

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import reader_qa  # type: ignore[import-not-found]

STDLIB = Path(sysconfig.get_paths()["stdlib"])
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

EXTRA = {
    "aaa_first/constants.py": '''\
"""Values the build compares exactly."""

BUILD_DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
RELEASE_ID = "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"
MAGIC_HEADER = 0x7F454C46
FRAME_LIMIT = 1234567890123
GREETING = "hello"


def shared_helper(value):
    return value


def first_only_function(value):
    return value * 2
''',
    "zzz_last/settings.py": '''\
"""Settings of the last package."""

CHECKSUM_TABLE = {
    "alpha_entry": "d41d8cd98f00b204e9800998ecf8427e",
    "beta_entry": "QmFzZTY0IHRlc3QgdmFsdWUgaGVyZQ==",
}
ROUTE_SEED = "x7Kp2QzR9mLw4VbN"


def shared_helper(value):
    return -value


class LastPackageRecorder:
    """Records values."""

    def remember_value(self, value):
        self.value = value
        return value
''',
    "zzz_last/table.js": """\
// Fixed values for the table.
export const TABLE_FINGERPRINT = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";
export const TABLE_ROWS = 918273645;

export function renderTableRows(rows) {
  return rows.map((row) => row.join(","));
}
""",
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stdlib json package between two small packages of constants, indexed for claude."""
    root = tmp_path_factory.mktemp("reader-qa") / "repo"
    shutil.copytree(STDLIB / "json", root / "json", ignore=shutil.ignore_patterns("__pycache__", "tests"))
    for rel, text in EXTRA.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    index_repository(root, workers=2)
    return root


def _key(indexed: Path, out: Path, n: int = 12, seed: int = 3) -> dict[str, Any]:
    assert reader_qa.main(["questions", str(indexed), "--n", str(n), "--seed", str(seed), "--out", str(out)]) == 0
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _sources(root: Path) -> dict[str, list[str]]:
    return {
        p.relative_to(root).as_posix(): p.read_text().split("\n")
        for p in sorted(root.rglob("*"))
        if p.suffix in (".py", ".js") and ".codectx" not in p.parts
    }


def test_questions_are_deterministic_spread_and_answered_right(indexed: Path, tmp_path: Path) -> None:
    key = _key(indexed, tmp_path / "a" / "key.json")
    assert _key(indexed, tmp_path / "b" / "key.json") == key
    assert _key(indexed, tmp_path / "c" / "key.json", seed=4) != key
    questions = key["questions"]
    assert isinstance(questions, list) and len(questions) == 12
    assert [q["kind"] for q in questions].count("definition") == 6
    sources = _sources(indexed)
    defined: dict[str, int] = {}  # name -> definitions in the repository (Python's own parser; JS by pattern)
    for path, lines in sources.items():
        if path.endswith(".py"):
            names = [n.name for n in ast.walk(ast.parse("\n".join(lines))) if isinstance(n, DEFINITIONS)]
        else:
            names = re.findall(r"^\s*(?:export\s+)?(?:function|class)\s+(\w+)", "\n".join(lines), re.MULTILINE)
        for name in names:
            defined[name] = defined.get(name, 0) + 1
    for q in questions:
        lines = sources[q["path"]]
        line = lines[q["line"] - 1]
        asked = re.search(r"`([^`]+)`", q["question"])
        assert asked, q
        bare = asked.group(1).rpartition(".")[2]
        if q["kind"] == "definition":
            assert q["answer"] == f"{q['path']}:{q['line']}"
            definition = re.compile(rf"^\s*(?:export\s+)?(?:async\s+)?(?:def|class|function)\s+{re.escape(bare)}\b")
            assert definition.match(line), (q, line)
            assert defined[bare] == 1, q
            assert bare != "shared_helper"  # defined twice: never asked
        else:
            assert q["path"] in q["question"]
            binding = re.compile(rf"""(?<![\w.])["']?{re.escape(bare)}["']?\s*(?::|=(?!=))""")
            assert binding.search(line) and sum(bool(binding.search(other)) for other in lines) == 1, (q, line)
            assert re.search(rf"""(?<![\w.])["']?{re.escape(q["answer"])}["']?(?![\w.])""", line), (q, line)
    values = {q["detail"] for q in questions if q["kind"] == "value"}
    assert values & {"uuid", "digest"} and "plain" not in values  # the hard ones first
    paths = sorted(sources)
    files = {q["path"] for q in questions}
    assert files & set(paths[: len(paths) // 3]) and files & set(paths[-len(paths) // 3 :]), "spread over the repo"
    reader = json.loads((tmp_path / "a" / "questions.json").read_text())
    assert [q["id"] for q in reader["questions"]] == [q["id"] for q in questions]
    assert all(set(q) == {"id", "kind", "question"} for q in reader["questions"])
    reader_text = (tmp_path / "a" / "questions.json").read_text()
    assert not [q["answer"] for q in questions if q["answer"] in reader_text]


def test_a_key_named_like_the_reader_copy_is_refused(indexed: Path, tmp_path: Path) -> None:
    out = tmp_path / "questions.json"
    argv = ["questions", str(indexed), "--n", "4", "--out", str(out)]
    assert reader_qa.main(argv) == 2 and not out.exists()


def test_export_pack_writes_the_pages_load_context_sends_in_order(indexed: Path, tmp_path: Path) -> None:
    _key(indexed, tmp_path / "key.json")
    out = tmp_path / "pack"
    budget = 9_000
    argv = ["export-pack", str(indexed), "--budget", str(budget), "--target", "claude", "--questions",
            str(tmp_path / "key.json"), "--out", str(out), "--max-tokens", "4000"]  # fmt: skip
    assert reader_qa.main(argv) == 0
    with Store.open(indexed / ".codectx", create=False) as store:
        pack = build_pack(store, "claude", budget)
    expected = [page.png_path.read_bytes() for item in pack.items for page in item.pages]
    assert expected, "the budget must make the pack send pages"
    context = (out / "context.md").read_text()
    referenced = re.findall(r"^\[image (pages/img-\d{4}\.png)\]$", context, re.MULTILINE)
    assert referenced == [f"pages/img-{n:04d}.png" for n in range(1, len(expected) + 1)]
    assert [(out / name).read_bytes() for name in referenced] == expected
    assert sorted(p.name for p in (out / "pages").iterdir()) == [Path(name).name for name in referenced]
    summary = json.loads((out / "export.json").read_text())
    assert summary["parts"] >= 2 and context.count("codectx pack of the repository") == summary["parts"]
    assert "End of pack." in context.rsplit("[image", 1)[1]
    assert summary["pack_tokens"] == pack.total_tokens <= budget
    assert summary["image_tokens"] == sum(page.tokens for item in pack.items for page in item.pages)
    assert summary["total_tokens"] == summary["text_tokens"] + summary["image_tokens"]
    assert sum(summary["questions_by_representation"].values()) == 12
    # every text block arrives whole, in order: the first page's caption comes before the first image
    first_caption = context.index("page 1/")
    assert first_caption < context.index("[image pages/img-0001.png]")
    reader = json.loads((out / "questions.json").read_text())
    assert len(reader["questions"]) == 12 and all(set(q) == {"id", "kind", "question"} for q in reader["questions"])
    assert "[image" in (out / "instructions.md").read_text() and "answers.json" in (out / "instructions.md").read_text()


def test_export_text_fills_the_budget_in_path_order(indexed: Path, tmp_path: Path) -> None:
    _key(indexed, tmp_path / "key.json")
    out = tmp_path / "text"
    budget = 3_000
    argv = ["export-text", str(indexed), "--budget", str(budget), "--questions", str(tmp_path / "key.json"),
            "--out", str(out)]  # fmt: skip
    assert reader_qa.main(argv) == 0
    context = (out / "context.md").read_text()
    tokens = count_tokens(context)
    assert budget - 60 <= tokens <= budget
    full = "".join(
        line for path, lines in _sources(indexed).items() for line in reader_qa.numbered_lines(path, "\n".join(lines))
    )
    assert full.startswith(context) and len(full) > len(context)
    next_line = full[len(context) :].split("\n", 1)[0] + "\n"
    assert count_tokens(context + next_line) > budget, "the cut falls where the next line would pass the budget"
    headers = re.findall(r"^==> (.+) <==$", context, re.MULTILINE)
    assert headers == sorted(_sources(indexed))[: len(headers)] and headers[0] == "aaa_first/constants.py"
    assert "    3| BUILD_DIGEST = " in context and "    2|\n" in context
    summary = json.loads((out / "export.json").read_text())
    assert summary["total_tokens"] == tokens and summary["files"] == len(headers)
    assert summary["lines"] == len(re.findall(r"^ *\d+\|", context, re.MULTILINE))
    assert (out / "questions.json").exists() and (out / "instructions.md").exists()


def _answers(folder: Path, answers: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "answers.json").write_text(json.dumps(answers))
    return folder


def test_score_perfect_wrong_missing_and_malformed_answers(
    indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_path = tmp_path / "key.json"
    questions = _key(indexed, key_path)["questions"]
    assert isinstance(questions, list)
    capsys.readouterr()

    def score(folder: Path) -> tuple[int, dict[str, Any]]:
        code = reader_qa.main(["score", str(key_path), str(folder), "--json"])
        return code, json.loads(capsys.readouterr().out)

    # perfect, in the forms readers write them: ./path, backticks, quotes, numbers as JSON numbers
    decorated: dict[str, str | int] = {}
    for q in questions:
        if q["kind"] == "definition":
            decorated[q["id"]] = f" `./{q['answer']}` "
        elif q["answer"].isdigit():
            decorated[q["id"]] = int(q["answer"])
        else:
            decorated[q["id"]] = f'"{q["answer"]}"'
    code, report = score(_answers(tmp_path / "perfect", decorated))
    assert code == 0 and report["overall"]["accuracy"] == 1.0 and not report["wrong"] and not report["problems"]
    assert json.loads((tmp_path / "perfect" / "score.json").read_text())["overall"]["correct"] == 12

    # wrong and missing: a line off, a changed character, one left out, one '?'
    definition = next(q for q in questions if q["kind"] == "definition")
    value = next(q for q in questions if q["kind"] == "value")
    wrong = {q["id"]: q["answer"] for q in questions}
    wrong[definition["id"]] = f"{definition['path']}:{definition['line'] + 1}"
    wrong[value["id"]] = value["answer"][:-1] + ("0" if value["answer"][-1] != "0" else "1")
    missing = next(q["id"] for q in questions if q["id"] not in (definition["id"], value["id"]))
    del wrong[missing]
    unknown = next(q["id"] for q in questions if q["id"] not in (definition["id"], value["id"], missing))
    wrong[unknown] = "?"
    code, report = score(_answers(tmp_path / "wrong", wrong))
    assert code == 1 and report["overall"]["correct"] == 8 and report["overall"]["unknown"] == 1
    assert {w["id"] for w in report["wrong"]} == {definition["id"], value["id"], missing, unknown}
    assert any("unanswered" in p and missing in p for p in report["problems"])
    assert report["by_kind"]["definition"]["questions"] == 6

    # malformed: never a traceback, every question wrong, the problem named
    malformed = {
        "invalid JSON": "{not json",
        "a list": "[1, 2]",
        "not strings": json.dumps({q["id"]: [q["answer"]] for q in questions}),
    }
    for problem, text in malformed.items():
        folder = tmp_path / problem.replace(" ", "-")
        folder.mkdir()
        (folder / "answers.json").write_text(text)
        code, report = score(folder)
        assert code == 1 and report["overall"]["correct"] == 0, problem
        assert any(word in " ".join(report["problems"]) for word in ("not valid JSON", "holds a list", "not strings"))
    code, report = score(tmp_path / "absent")
    assert code == 1 and "is not a folder" in report["problems"][0]
    code, report = score(tmp_path)  # a folder without answers.json
    assert code == 1 and "does not exist" in report["problems"][0]

    # a key that is not one: a one-line error, exit 2
    (tmp_path / "bad-key.json").write_text('{"questions": 3}')
    assert reader_qa.main(["score", str(tmp_path / "bad-key.json"), str(tmp_path / "perfect")]) == 2
    assert "not a question key" in capsys.readouterr().err


def test_clean_location_tolerates_decoration() -> None:
    assert reader_qa.clean_location(" `./pkg/a.py:12` ") == ("pkg/a.py", 12)
    assert reader_qa.clean_location('"pkg/a.py:12"') == ("pkg/a.py", 12)
    assert reader_qa.clean_location("pkg/a.py line 12") is None
    assert reader_qa.clean_location("pkg/a.py:12-14") is None
