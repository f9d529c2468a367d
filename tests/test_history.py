"""Recent work in focus: git history as a ranking nudge, and the hunks changed since a revision sent first."""

from __future__ import annotations

import difflib
import json
import os
import random
import shutil
import string
import subprocess
from pathlib import Path

import pytest
from mcp_client import connect, error_text, texts

from codectx.cli import main
from codectx.history import changes_since, parse_patch, read_history, recency_scores
from codectx.indexer import index_repository
from codectx.mcp_server.context import ContextPacker, PackRequest
from codectx.mcp_server.reader import ToolFailure
from codectx.mcp_server.tools import CodectxTools, ServeOptions
from codectx.pack import build_pack
from codectx.relevance import RECENCY_WEIGHT, rank
from codectx.store import Store, default_store_dir

DAY = 86400
START = 1_700_000_000  # commit times are fixed: ages and so rankings never depend on the clock


def git(repo: Path, *args: str, when: int | None = None) -> str:
    env = dict(
        os.environ, GIT_AUTHOR_NAME="Test Author", GIT_AUTHOR_EMAIL="author@example.com",
        GIT_COMMITTER_NAME="Test Author", GIT_COMMITTER_EMAIL="author@example.com",
        GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
    )  # fmt: skip
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{when} +0000"
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def commit(repo: Path, message: str, when: int) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "commit.gpgsign=false", "commit", "-q", "-m", message, when=when)


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def new_repo(path: Path, files: dict[str, str], when: int = START) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    write(path, files)
    commit(path, "first", when)
    return path


def functions(prefix: str, count: int) -> str:
    return "".join(f"def {prefix}_{i}(value):\n    return value * {i} + 1\n\n\n" for i in range(count))


def packer(root: Path, max_tokens: int = 25000) -> ContextPacker:
    tools = CodectxTools(ServeOptions(root, default_store_dir(root), "claude", max_tokens))
    return ContextPacker(tools.reader, max_tokens)


def load(root: Path, budget: int = 60000, since: str | None = "HEAD~1", query: str | None = None) -> str:
    blocks = packer(root).load_context(PackRequest(budget, "claude", query, since), None)
    return "\n".join(getattr(block, "text", "") for block in blocks)


def changed_lines(old: str, new: str) -> list[tuple[int, str]]:
    """(line number, text) of every new or changed line of `new`, found with difflib (not git)."""
    new_lines = new.splitlines()
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new_lines, autojunk=False)
    return [
        (n + 1, new_lines[n])
        for tag, _, _, j1, j2 in matcher.get_opcodes()
        if tag in ("replace", "insert")
        for n in range(j1, j2)
    ]


def changes_part(text: str) -> str:
    """The changes item of a load_context result: from its first line up to the next item."""
    start = text.index("Changes since")
    end = text.find("\n[item ", start)
    return text[start:] if end < 0 else text[start:end]


# --- a fresh commit: every changed hunk, as exact text -------------------------------------------


def test_fresh_commit_sends_every_changed_hunk_as_exact_numbered_text(tmp_path: Path) -> None:
    old = {
        "app/core.py": "import os\n\n\n" + functions("core", 40),
        "app/util.py": functions("util", 30),
        "docs/guide.md": "# Guide\n\nStep one.\n\nStep two.\n",
        "lib/old.py": "def legacy():\n    return 'old'\n",
    }
    repo = new_repo(tmp_path / "repo", old)
    new = dict(old)
    core = old["app/core.py"].splitlines(keepends=True)
    core[4] = "    return value * 0 + 42  # changed\n"  # a changed line
    core[40:40] = ["def inserted(a, b):\n", "    return a - b\n", "\n", "\n"]  # an insertion in the middle
    del core[80:84]  # a removal further down
    core.append("def appended():\n    return 'end'\n")  # an addition at the end
    new["app/core.py"] = "".join(core)
    new["docs/guide.md"] = "# Guide\n\nStep one, now longer.\n\nStep two.\n\nStep three.\n"
    new["app/fresh.py"] = "FRESH = True\n\n\ndef fresh():\n    return FRESH\n"
    write(repo, new)
    (repo / "lib/old.py").unlink()
    commit(repo, "second", START + DAY)
    index_repository(repo, workers=1)

    text = load(repo)
    part = changes_part(text)
    assert text.index("Changes since HEAD~1") < text.index("[item 2/")  # the changes come first
    for path in ("app/core.py", "docs/guide.md", "app/fresh.py"):
        expected = changed_lines(old.get(path, ""), new[path])
        assert expected, path
        for number, line in expected:
            assert f"\n{number}\t{line}\n" in part or f"\n{number:>3}\t{line}\n" in part, (path, number, line)
        assert f"## {path} (" in part
    assert "## lib/old.py (deleted: 2 lines removed)" in part
    assert "legacy" not in part  # removed lines are counted, never shown
    assert "app/util.py" not in part  # unchanged
    # Every hunk names its path and lines, and the lines are the file's own.
    for hunk in [h for h in part.split("@@ ")[1:] if "new line" in h.split("\n", 1)[0]]:
        path, _, span = hunk.split(" ", 1)[0].rpartition(":")
        first, _, last = span.partition("-")
        body = hunk.split("\n")[1:]
        shown = [line for line in body if "\t" in line][: int(last or first) - int(first) + 1]
        lines = (repo / path).read_text().splitlines()
        for row in shown:
            number, _, content = row.partition("\t")
            assert lines[int(number) - 1] == content


def test_working_tree_edits_and_untracked_files_count_as_changes(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo", {"a.py": functions("a", 10), "b.py": functions("b", 10)})
    (repo / "a.py").write_text(functions("a", 10).replace("value * 3 + 1", "value * 3 + 99"))
    (repo / "staged.py").write_text("STAGED = 'yes'\n")
    git(repo, "add", "staged.py")
    (repo / "untracked.py").write_text("def brand_new():\n    return 'untracked'\n")
    (repo / "ignored.log").write_text("not wanted\n")
    (repo / ".gitignore").write_text("*.log\n")
    index_repository(repo, workers=1)

    changes = changes_since(repo, "HEAD")
    assert {c.path: c.status for c in changes.files} == {
        "a.py": "modified", "staged.py": "added", "untracked.py": "untracked", ".gitignore": "untracked",
    }  # fmt: skip
    part = changes_part(load(repo, since="HEAD"))
    assert "\t    return value * 3 + 99\n" in part
    assert "1\tSTAGED = 'yes'\n" in part
    assert "1\tdef brand_new():\n2\t    return 'untracked'\n" in part
    assert "## untracked.py (new, untracked" in part
    assert "ignored.log" not in part and "b.py" not in part


def test_root_in_a_subdirectory_sees_only_its_own_changes_relative_to_it(tmp_path: Path) -> None:
    work = new_repo(
        tmp_path / "work",
        {"proj/pkg/mod.py": functions("mod", 5), "outside/secret_plan.py": "PLAN = 1\n", "top.py": "TOP = 1\n"},
    )
    write(work, {"proj/pkg/mod.py": functions("mod", 6), "outside/secret_plan.py": "PLAN = 2\n", "top.py": "TOP = 2\n"})
    commit(work, "second", START + DAY)
    (work / "outside" / "untracked_outside.py").write_text("X = 1\n")
    root = work / "proj"
    index_repository(root, workers=1)

    changes = changes_since(root, "HEAD~1")
    assert [(c.path, c.status) for c in changes.files] == [("pkg/mod.py", "modified")]
    part = changes_part(load(root))
    assert "## pkg/mod.py (modified" in part
    assert "@@ pkg/mod.py:21-24 (4 new lines)" in part and "21\tdef mod_5(value):" in part
    assert "secret_plan" not in part and "top.py" not in part and "untracked_outside" not in part
    history = read_history(root)
    assert history is not None and set(history.files) == {"pkg/mod.py"}


def test_files_the_index_ignores_are_neither_shown_nor_named(tmp_path: Path) -> None:
    repo = new_repo(
        tmp_path / "repo",
        {".codectxignore": "private/\n", "private/notes.py": "NOTE = 1\n", "main.py": "MAIN = 1\n"},
    )
    write(repo, {"private/notes.py": "NOTE = 'internal detail'\n", "main.py": "MAIN = 2\n"})
    (repo / "private" / "gone.py").write_text("")
    commit(repo, "second", START + DAY)
    (repo / "private" / "notes.py").unlink()  # a deleted file the index ignores stays unnamed
    index_repository(repo, workers=1)
    part = changes_part(load(repo))
    assert "1\tMAIN = 2" in part
    assert "private" not in part and "notes" not in part and "internal detail" not in part
    assert "changed file" in part and "outside the index" in part


# --- secrets --------------------------------------------------------------------------------------


def test_a_key_in_a_changed_hunk_is_masked_and_a_removed_key_never_appears(tmp_path: Path) -> None:
    rng = random.Random(7)
    old_key = "ghp_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))
    new_key = "ghp_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))
    repo = new_repo(tmp_path / "repo", {"settings.py": f'DEBUG = False\nTOKEN = "{old_key}"\nNAME = "app"\n'})
    (repo / "settings.py").write_text(f'DEBUG = True\nGITHUB_TOKEN = "{new_key}"\nNAME = "app"\n')
    commit(repo, "rotate", START + DAY)
    (repo / "local.py").write_text(f'import os\nAPI = "{new_key}"\n')  # untracked, with the key too
    index_repository(repo, workers=1)

    text = load(repo)
    part = changes_part(text)
    assert "1\tDEBUG = True" in part and '2\tGITHUB_TOKEN = "ghp_' in part and '2\tAPI = "ghp_' in part
    for key in (old_key, new_key):
        private = key[4:]
        assert all(private[i : i + 8] not in text for i in range(len(private) - 7)), "a key leaked"
    assert 'TOKEN = "' + old_key[:8] not in part  # the removed line is not shown, even masked
    out = tmp_path / "pack"
    assert main(["pack", str(repo), "--budget", "20000", "--since", "HEAD~1", "--out", str(out)]) == 0
    written = "".join(p.read_text() for p in (out / "text").iterdir())
    assert "GITHUB_TOKEN" in written and new_key[4:] not in written and old_key[4:] not in written


# --- stale index, budget ---------------------------------------------------------------------------


def test_a_file_changed_after_indexing_gets_line_numbers_and_a_note_not_stale_text(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo", {"a.py": functions("a", 4)})
    index_repository(repo, workers=1)
    (repo / "a.py").write_text(functions("a", 4) + "def late():\n    return 'not indexed yet'\n")
    part = changes_part(load(repo, since="HEAD"))
    assert "## a.py (modified): changed on disk after the index was built; run `codectx index`" in part
    assert "changed lines: 17-18" in part
    assert "not indexed yet" not in part


def test_hunks_past_the_budget_are_listed_for_read_source(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo", {f"m{i}.py": functions(f"m{i}", 20) for i in range(6)})
    write(repo, {f"m{i}.py": functions(f"m{i}", 20) + functions(f"extra{i}", 20) for i in range(6)})
    commit(repo, "grow", START + DAY)
    index_repository(repo, workers=1)
    text = load(repo, budget=1500)
    assert "left out for budget (read_source reaches them): " in text
    assert "m5.py:81-160" in text
    header = text.split("\n")[0]
    total = int(header.split(" in ")[1].split(" token")[0].replace(",", ""))
    assert total <= 1500


# --- errors -----------------------------------------------------------------------------------------


def test_errors_say_what_to_do_in_cli_and_mcp(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = new_repo(tmp_path / "repo", {"a.py": "A = 1\n"})
    index_repository(repo, workers=1)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text("A = 1\n")
    index_repository(plain, workers=1)
    cases = [
        (repo, "no-such-branch", "unknown revision 'no-such-branch': pass a commit, branch or tag"),
        (repo, "HEAD~5", "unknown revision 'HEAD~5'"),
        (plain, "HEAD", "is not in a git work tree: since needs git history; leave it out, or run `git init`"),
        (repo, "--output=/tmp/x", "unknown revision '--output=/tmp/x'"),  # never taken for an option
    ]
    with pytest.raises(ToolFailure, match="is not a git revision"):
        load(repo, since="HEAD\x00")
    for root, since, message in cases:
        assert main(["pack", str(root), "-b", "5000", f"--since={since}"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"codectx: error: --since {since}: ") and message in err and err.count("\n") == 1
        assert main(["query", str(root), "anything", f"--since={since}"]) == 2
        assert message in capsys.readouterr().err
        with pytest.raises(ToolFailure, match="since="):
            load(root, since=since)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert main(["pack", str(repo), "-b", "5000", "--since", "HEAD"]) == 2
    assert "git is not installed (no `git` command on PATH): install git" in capsys.readouterr().err
    # Without since, a missing git changes nothing: the pack is made as before.
    assert main(["pack", str(repo), "-b", "5000", "--json"]) == 0


@pytest.mark.anyio
async def test_load_context_since_over_mcp(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo", {"a.py": functions("a", 3)})
    (repo / "a.py").write_text(functions("a", 3).replace("value * 2 + 1", "value * 2 + 7"))
    commit(repo, "tweak", START + DAY)
    index_repository(repo, workers=1)
    async with connect(repo) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        schema = tools["load_context"].input_schema["properties"]["since"]
        assert "git revision" in json.dumps(schema)
        result = await client.call_tool("load_context", {"budget": 5000, "since": "HEAD~1"})
        assert not result.is_error
        text = "\n".join(texts(result))
        assert "changes since HEAD~1 as exact text" in text
        assert "@@ a.py:10 (1 new line; in place of 1 line removed)" in text
        assert "10\t    return value * 2 + 7" in text
        bad = await client.call_tool("load_context", {"budget": 5000, "since": "nope"})
        assert "since='nope': unknown revision 'nope'" in error_text(bad)
        wrong = await client.call_tool("load_context", {"budget": 5000, "since": 3})
        assert "since must be a git revision as a string" in error_text(wrong)


# --- recency as a ranking signal ------------------------------------------------------------------


def _twins(root: Path) -> None:
    """Two files alike for the question 'handler', and one that matches it far better."""
    body = "def handler(event):\n    return event\n\n\ndef other(x):\n    return x\n"
    write(root, {"alpha.py": body, "beta.py": body.replace("event", "item")})
    write(root, {"handlers/handler.py": "class Handler:\n    def handler(self, handler):\n        return handler\n"})


def _twins_with_beta_touched(repo: Path, days_later: int) -> None:
    """_twins committed, then beta.py changed in a commit `days_later`."""
    repo.mkdir()
    git(repo, "init", "-q")
    _twins(repo)
    commit(repo, "first", START)
    (repo / "beta.py").write_text((repo / "beta.py").read_text() + "\n# touched\n")
    commit(repo, "touch beta", START + days_later * DAY)


def test_recency_breaks_ties_but_does_not_overwhelm_relevance(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _twins_with_beta_touched(repo, 60)
    (repo / "beta.py").write_text((repo / "beta.py").read_text() + "# again\n")
    commit(repo, "touch beta again", START + 61 * DAY)
    plain = tmp_path / "plain"
    shutil.copytree(repo, plain, ignore=shutil.ignore_patterns(".git"))
    index_repository(repo, workers=1)
    index_repository(plain, workers=1)

    recency = recency_scores(read_history(repo))
    assert recency["beta.py"] == 1.0 and recency["alpha.py"] < 0.05  # two months old: four half-lives and more
    with Store.open(default_store_dir(repo), create=False) as store:
        generation = store.require_generation("claude").id
        before = [f.path for f in rank(store, generation, "handler").files]
        after = rank(store, generation, "handler", recency=recency).files
        central = [f.path for f in rank(store, generation, None, recency=recency).files]
        central_before = [f.path for f in rank(store, generation, None).files]
    order = [f.path for f in after]
    assert before.index("alpha.py") < before.index("beta.py")  # a tie, broken by path without history
    assert order.index("beta.py") < order.index("alpha.py")  # recency breaks it
    assert order[0] == "handlers/handler.py"  # the far better match stays first
    scores = {f.path: f.score for f in after}
    assert scores["beta.py"] <= scores["alpha.py"] * (1 + RECENCY_WEIGHT) + 1e-6
    assert central.index("beta.py") < central.index("alpha.py") and central_before != central

    # The CLI and a pack use it too; a copy without git ranks as it always did.
    assert main(["query", str(repo), "handler", "--json"]) == 0
    assert main(["query", str(plain), "handler", "--json"]) == 0
    with Store.open(default_store_dir(plain), create=False) as store:
        generation = store.require_generation("claude").id
        assert read_history(plain) is None
        assert [f.path for f in rank(store, generation, "handler").files] == before
        pack = build_pack(store, "claude", 5000, "handler", generation=generation, recency=recency_scores(None))
        assert pack == build_pack(store, "claude", 5000, "handler", generation=generation)


def test_query_json_lists_recent_first_and_changed_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "repo"
    _twins_with_beta_touched(repo, 30)
    index_repository(repo, workers=1)
    capsys.readouterr()
    assert main(["query", str(repo), "handler", "--json", "--since", "HEAD~1"]) == 0
    data = json.loads(capsys.readouterr().out)
    files = [f["path"] for f in data["files"]]
    assert files.index("beta.py") < files.index("alpha.py")
    assert data["changed"] == [{"path": "beta.py", "status": "modified", "lines": [[7, 8]], "removed": 0}]
    out = tmp_path / "pack"
    assert main(["pack", str(repo), "-b", "5000", "--since", "HEAD~1", "--json", "--out", str(out)]) == 0
    items = json.loads(capsys.readouterr().out)["items"]
    assert items[0]["representation"] == "changes" and items[0]["module"] == "changes since HEAD~1"
    assert items[0]["ranges"] == [{"path": "beta.py", "start_line": 7, "end_line": 8}]
    assert "7\t\n8\t# touched\n" in (out / "text" / "000-changes_since_HEAD_1.changes.txt").read_text()


# --- git's output ----------------------------------------------------------------------------------


def test_parse_patch_reads_ranges_and_quoted_paths() -> None:
    patch = (
        b'diff --git "a/sp ace\\303\\251.py" "b/sp ace\\303\\251.py"\n'
        b'--- "a/sp ace\\303\\251.py"\n+++ "b/sp ace\\303\\251.py"\n'
        b"@@ -3 +3 @@ x\n-a\n+b\n@@ -10,2 +9,0 @@\n-c\n-d\n@@ -20,0 +19,3 @@\n+e\n+f\n+g\n"
        b"diff --git a/gone.py b/gone.py\ndeleted file mode 100644\n--- a/gone.py\n+++ /dev/null\n@@ -1,4 +0,0 @@\n"
        b"diff --git a/empty.py b/empty.py\nnew file mode 100644\n"
    )
    changes = parse_patch(patch)
    assert [(c.path, c.status) for c in changes] == [("sp aceé.py", "modified"), ("gone.py", "deleted")]
    hunks = changes[0].hunks
    assert [(h.start, h.end, h.removed) for h in hunks] == [(3, 3, 1), (10, 9, 2), (19, 21, 0)]
    assert [(h.start, h.end, h.removed) for h in changes[1].hunks] == [(1, 0, 4)]


def test_later_parts_come_from_the_pack_the_first_part_began_even_after_an_edit(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo", {f"pkg{i}/mod.py": functions(f"f{i}", 40) for i in range(4)})
    write(repo, {"pkg0/mod.py": functions("f0", 41)})
    commit(repo, "grow", START + DAY)
    index_repository(repo, workers=1)
    serving = packer(repo, max_tokens=2000)
    request = PackRequest(20000, "claude", None, "HEAD~1")
    first = "\n".join(getattr(b, "text", "") for b in serving.load_context(request, None))
    cursor = first.rsplit("cursor='", 1)[1].split("'")[0]
    (repo / "pkg3" / "late.py").write_text("LATE = 1\n")  # git's view changes between the parts
    second = "\n".join(getattr(b, "text", "") for b in serving.load_context(request, cursor))
    assert "Continued from item" in second and "late.py" not in second
    with pytest.raises(ToolFailure, match="git state changed since by a commit or an edit"):
        packer(repo, max_tokens=2000).load_context(request, cursor)  # a server that no longer keeps that pack


def test_a_recent_answer_is_reused_within_max_age(tmp_path, monkeypatch):
    import codectx.history as history

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "a.py").write_text("A = 1\n")
    fresh = history.read_history(repo, max_age=60)
    assert fresh is not None and "a.py" in fresh.files

    def no_git(*_args: object) -> bytes:
        raise AssertionError("git ran although a recent answer was kept")

    monkeypatch.setattr(history, "_git", no_git)
    assert history.read_history(repo, max_age=60) is fresh
    monkeypatch.setattr(history, "_RECENT", {})
    with pytest.raises(AssertionError, match="git ran"):
        history.read_history(repo, max_age=60)
