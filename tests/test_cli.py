"""The command line as a new user meets it: argument order, errors, piped output, numbering, paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from trees import write_files

from codectx.cli import main
from codectx.indexer import index_repository
from codectx.modules import AmbiguousFolderError, resolve_module

LONG = "a_folder_name_long_enough_that_an_eighty_column_table_would_have_to_cut_it/and_deeper"


def functions(prefix: str, count: int) -> str:
    return "".join(f"def {prefix}_{i}(value):\n    return value + {i} * 1234567\n\n" for i in range(count))


def write_repo(repo: Path) -> Path:
    files = {
        "app/server.py": "def handle_redirect(request):\n    return request.follow()\n\n" + functions("route", 60),
        "app/client.py": functions("fetch", 60) + "# the server side: app/server.py\n",
        "lib/util.py": functions("helper", 80),
        f"{LONG}/wide.py": functions("wide", 80),
        "blob.dat": b"\x00\x01binary",
        "README.txt": "a tiny readme\n",
    }
    return write_files(repo, files)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small repository of four modules, indexed for claude in its default folder. Tests must not change it."""
    repo = write_repo(tmp_path_factory.mktemp("cli") / "repo")
    index_repository(repo, workers=1)
    return repo


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codectx", *argv], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


# --- arguments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "{repo}", "handle_redirect", "--regex"],
        ["search", "--regex", "{repo}", "handle_redirect"],
        ["search", "{repo}", "--regex", "handle_redirect"],
        ["search", "{repo}", "--limit", "5", "handle_redirect"],
        ["search", "--limit", "5", "{repo}", "handle_redirect", "--json"],
    ],
)
def test_search_options_before_between_or_after_positionals(indexed, capsys, argv):
    assert main([word.format(repo=indexed) for word in argv]) == 0
    out = capsys.readouterr().out
    assert "app/server.py:1:" in out or '"path": "app/server.py", "line": 1' in out


@pytest.mark.parametrize(
    "argv",
    [
        ["query", "{repo}", "--limit", "2", "redirect handling"],
        ["query", "--limit", "2", "{repo}", "redirect handling"],
        ["query", "{repo}", "redirect handling", "--limit", "2"],
    ],
)
def test_query_options_anywhere(indexed, capsys, argv):
    assert main([word.format(repo=indexed) for word in argv]) == 0
    assert "app/server.py:1" in capsys.readouterr().out


def test_a_lone_folder_is_a_repository_whose_pattern_is_missing(indexed, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(indexed.parent)  # no index here: the folder is surely the repository
    assert main(["search", indexed.name]) == 2
    error = capsys.readouterr().err
    assert error.startswith("codectx: error: the pattern is missing") and error.count("\n") == 1
    assert f"codectx search {indexed.name} PATTERN" in error and "codectx index" not in error
    assert main(["query", indexed.name]) == 2
    assert "the question is missing" in capsys.readouterr().err
    monkeypatch.chdir(indexed)  # inside an indexed repository a word that is also a folder name is a pattern
    assert main(["search", "app"]) == 0
    assert "app/" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["search", "query"])
def test_a_limit_below_one_is_refused(indexed, capsys, command):
    assert main([command, str(indexed), "x", "--limit", "-1"]) == 2
    assert capsys.readouterr().err == "codectx: error: --limit must be at least 1, not -1\n"


# --- errors ------------------------------------------------------------------------------------


def test_user_mistakes_are_one_error_line(indexed, tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder\n")
    mistakes = [
        ["pages", str(indexed), "--module", "app", "--out", str(a_file)],
        ["index", str(indexed), "--store", "/proc/nope"],
        ["index", str(indexed), "--store", str(a_file)],
        ["stats", str(indexed), "--store", str(a_file)],
        ["pack", str(indexed), "--budget", "5000", "--out", str(a_file)],
        ["show", str(indexed), "--out", str(a_file)],
    ]
    for argv in mistakes:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("codectx: error: ") and err.count("\n") == 1, (argv, err)
    with pytest.raises(SystemExit) as stopped:
        main(["search", str(indexed), "x", "--no-such-option"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("codectx: error: unrecognized arguments: --no-such-option") and err.count("\n") == 1


def test_closed_pipes_end_quietly(tmp_path):
    """`codectx ... | head -1`: the reader leaves early; codectx stops at once, says nothing and exits 0."""
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "many.py").write_text("value = 'needle'\n" * 20_000)
    for n in range(3_000):  # every empty file is listed as skipped: stats prints far more than a pipe holds
        (repo / f"empty_file_with_a_long_name_{n:05d}.py").write_text("")
    index_repository(repo, workers=1)
    for argv in (["stats", str(repo)], ["search", str(repo), "needle", "--limit", "100000"], ["modules", str(repo)]):
        process = subprocess.Popen(
            [sys.executable, "-m", "codectx", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline()
        process.stdout.close()
        assert process.wait(timeout=120) == 0, argv
        assert process.stderr.read() == "", argv


def test_watch_ends_quietly_when_its_reader_leaves(tmp_path):
    repo = write_repo(tmp_path / "repo")
    process = subprocess.Popen(
        [sys.executable, "-m", "codectx", "watch", str(repo), "--debounce", "0.01"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith("generation 1:")
    process.stdout.close()  # like `| head -1`: the next update finds nobody to read it
    for n in range(50):
        (repo / "lib" / "util.py").write_text(functions("helper", 80) + f"# edit {n}\n")
        try:
            code = process.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        process.kill()
        pytest.fail("codectx watch kept running after its reader left")
    assert code == 0
    said = process.stderr.read().splitlines()  # the start line, and nothing about the closed pipe
    assert len(said) == 1 and said[0].startswith(f"codectx: watching {repo} (") and said[0].endswith("Ctrl-C stops")


# --- output ------------------------------------------------------------------------------------


def test_piped_tables_keep_every_value_whole(indexed, capsys):
    assert main(["stats", str(indexed)]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    row = next(line for line in out.splitlines() if line.startswith(LONG))
    assert row.split()[0] == LONG and row.split()[-1].endswith("x")
    assert main(["pack", str(indexed), "--budget", "100000"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out and any(line.startswith(LONG) for line in out.splitlines())


def test_narrow_terminals_fold_instead_of_cutting(indexed, capsys, monkeypatch):
    monkeypatch.setattr("codectx.tables.is_terminal", lambda: True)
    monkeypatch.setenv("COLUMNS", "40")
    assert main(["stats", str(indexed)]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    first_column = [line.split("│")[1].strip() for line in out.splitlines() if line.count("│") > 2]
    assert LONG in "".join(first_column)  # folded over several rows, every character kept


def test_query_lists_files(indexed, capsys):
    assert main(["query", str(indexed), "where are redirects handled"]) == 0
    out = capsys.readouterr().out
    assert "\nfiles:\n" in out
    files = out.split("\nfiles:\n")[1].split("\nsymbols:")[0]
    assert "app/server.py:1" in files


def test_index_and_stats_list_skipped_files_with_reasons(tmp_path, capsys):
    repo = write_repo(tmp_path / "repo")
    assert main(["index", str(repo)]) == 0
    index_out = capsys.readouterr().out
    assert main(["stats", str(repo)]) == 0
    stats_out = capsys.readouterr().out
    for out in (index_out, stats_out):
        assert "not indexed: 1 file" in out
        assert any(line.split() == ["blob.dat", "binary"] for line in out.splitlines()), out


def test_pages_are_numbered_from_one(indexed, tmp_path, capsys):
    out = tmp_path / "pages"
    assert main(["pages", str(indexed), "--module", "lib", "--out", str(out)]) == 0
    manifest = json.loads((out / "pages.json").read_text())
    assert manifest["pages"][0]["page"] == 1 and manifest["pages"][0]["file"] == "page-001.png"
    assert (out / "page-001.png").is_file() and not (out / "page-000.png").exists()
    assert "1 page of lib written" in capsys.readouterr().out
    root = Path(__file__).parent.parent
    for name in ("Makefile", "README.md"):
        assert "page-000" not in (root / name).read_text(), name


def test_read_commands_never_build_an_index(indexed, tmp_path, capsys):
    repo = write_repo(tmp_path / "fresh")
    reads = [
        ["stats", str(repo)], ["search", str(repo), "x"], ["query", str(repo), "x"], ["modules", str(repo)],
        ["pages", str(repo), "--module", "lib", "--out", str(tmp_path / "p")], ["show", str(repo)],
        ["pack", str(repo), "--budget", "5000"],
    ]  # fmt: skip
    for argv in reads:
        assert main(argv) == 2, argv
        assert f"run `codectx index {repo} --target claude` to build it" in capsys.readouterr().err, argv
    assert not (repo / ".codectx").exists()
    assert main(["stats", str(indexed), "--target", "gpt-4o"]) == 2
    assert f"run `codectx index {indexed} --target gpt-4o` to build it" in capsys.readouterr().err
    store = tmp_path / "elsewhere"
    assert main(["stats", str(repo), "--store", str(store)]) == 2
    assert f"`codectx index {repo} --target claude --store {store}`" in capsys.readouterr().err


def test_the_index_folder_keeps_itself_out_of_git(indexed):
    assert (indexed / ".codectx" / ".gitignore").read_text().splitlines()[-1] == "*"


# --- modules -----------------------------------------------------------------------------------


def test_module_option_accepts_files_and_folders(indexed, tmp_path, capsys, monkeypatch):
    for value in ("app/server.py", "app", "app/", "./app/client.py"):
        out = tmp_path / value.replace("/", "_")
        assert main(["pages", str(indexed), "--module", value, "--out", str(out)]) == 0, value
        assert json.loads((out / "pages.json").read_text())["module"] == "app"
        capsys.readouterr()
    monkeypatch.chdir(indexed.parent)  # a path as the shell completes it, relative to the current folder
    assert main(["pages", indexed.name, "--module", f"{indexed.name}/lib/util.py", "--out", str(tmp_path / "x")]) == 0
    assert "of lib written" in capsys.readouterr().out
    assert main(["pages", str(indexed), "--module", "nowhere/at_all.py", "--out", str(tmp_path / "y")]) == 2
    assert "codectx modules" in capsys.readouterr().err


def test_resolve_module() -> None:
    module_of = {"a/x.py": "a", "a/y.py": "a", "b/z.py": "b[z..]", "b/w.py": "b[w..]", "top.py": "."}
    names = ["a", "b[w..]", "b[z..]", "."]
    assert resolve_module("a", names, module_of) == "a"
    assert resolve_module("a/y.py", names, module_of) == "a"
    assert resolve_module("./b/z.py", names, module_of) == "b[z..]"
    assert resolve_module("top.py", names, module_of) == "."
    assert resolve_module("./", names, module_of) == "."
    assert resolve_module("missing", names, module_of) is None
    with pytest.raises(AmbiguousFolderError, match=r"holds files of 2 modules \(b\[w\.\.\], b\[z\.\.\]\)"):
        resolve_module("b/", names, module_of)


def test_modules_command_lists_modules_with_their_files(indexed, capsys):
    assert main(["modules", str(indexed)]) == 0
    out = capsys.readouterr().out.splitlines()
    app = out.index(next(line for line in out if line.startswith("app  (")))
    assert out[app].startswith("app  (2 files, ") and out[app + 1 : app + 3] == ["  app/client.py", "  app/server.py"]
    assert main(["modules", str(indexed), "--json"]) == 0
    listing = {m["module"]: m["files"] for m in json.loads(capsys.readouterr().out)["modules"]}
    assert listing["lib"] == ["lib/util.py"] and listing[LONG] == [f"{LONG}/wide.py"]


# --- pack --------------------------------------------------------------------------------------


def test_pack_without_out_writes_to_the_index_folder(indexed, capsys):
    assert main(["pack", str(indexed), "--budget", "4000"]) == 0
    folder = indexed / ".codectx" / "pack" / "claude"
    assert f"pack written to {folder}" in capsys.readouterr().out
    assert json.loads((folder / "manifest.json").read_text())["budget"] == 4000


def test_a_budget_below_the_smallest_useful_one_says_what_that_is(indexed, capsys):
    assert main(["pack", str(indexed), "--budget", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("codectx: error: --budget 3 is below the smallest useful budget of this index: ")
    smallest = int(err.split("index: ")[1].split(" tokens")[0].replace(",", ""))
    assert main(["pack", str(indexed), "--budget", str(smallest), "--json"]) == 0
    assert any(item["representation"] != "omitted" for item in json.loads(capsys.readouterr().out)["items"])
