"""Bad input: every file is either indexed or skipped with a clear reason, and the index always completes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from codectx.cli import main
from codectx.indexer import index_repository
from codectx.scan import MAX_FILE_BYTES, MAX_LINE_CHARS, ScanResult, Skipped, SourceFile, load_source, scan
from codectx.store import Store

PY = "def f(x):\n    return x + 1\n"


def outcome(result: ScanResult) -> tuple[dict[str, SourceFile], dict[str, str]]:
    return {f.path: f for f in result.files}, {s.path: s.reason for s in result.skipped}


def test_binary_and_nul_bytes(make_repo):
    repo = make_repo(
        {
            "image.dat": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
            "late_nul.py": (PY * 400).encode() + b"\x00" + PY.encode(),  # past the first 8 KB
            "controls.txt": bytes(range(1, 32)) * 50,
            "ok.py": PY,
        }
    )
    kept, skipped = outcome(scan(repo))
    assert set(kept) == {"ok.py"}
    assert skipped == {"image.dat": "binary", "late_nul.py": "binary", "controls.txt": "binary"}


def test_encodings(make_repo):
    repo = make_repo(
        {
            "latin1.py": "# café, naïve\nx = 'é'\n".encode("latin-1"),
            "mostly_utf8.py": "# ünïcödé\n".encode() + b"# stray byte: \xff\nx = 1\n",
            "utf16le.py": "x = 'ü'\n".encode("utf-16"),
            "utf16be.py": b"\xfe\xff" + "y = 'ß'\n".encode("utf-16-be"),
            "utf32.py": "z = '€'\n".encode("utf-32"),
            "bom.py": b"\xef\xbb\xbfw = 1\n",
        }
    )
    kept, skipped = outcome(scan(repo))
    assert skipped == {}
    assert kept["latin1.py"].text == "# café, naïve\nx = 'é'\n"
    # Real UTF-8 stays UTF-8; only the bad byte becomes U+FFFD (Latin-1 would garble every ü).
    assert kept["mostly_utf8.py"].text == "# ünïcödé\n# stray byte: \ufffd\nx = 1\n"
    assert kept["utf16le.py"].text == "x = 'ü'\n" and kept["utf16be.py"].text == "y = 'ß'\n"
    assert kept["utf32.py"].text == "z = '€'\n" and kept["bom.py"].text == "w = 1\n"
    assert all(f.language == "python" for f in kept.values())


def test_line_endings_keep_line_numbers(make_repo, tmp_path):
    repo = make_repo({"crlf.py": b"a = 1\r\nb = 2\r\n", "cr.py": b"a = 1\rb = 2\rc = 3", "mixed.py": b"a\r\nb\rc\nd\n"})
    kept, _ = outcome(scan(repo))
    assert kept["crlf.py"].text == "a = 1\nb = 2\n"
    assert kept["cr.py"].text == "a = 1\nb = 2\nc = 3"
    assert kept["mixed.py"].text == "a\nb\nc\nd\n"
    index_repository(repo, store_dir=tmp_path / "store", workers=1)
    with Store.open(tmp_path / "store", create=False) as store:
        generation = store.require_generation("claude")
        lines = {f.path: f.lines for f in store.files(generation.id)}
    assert lines == {"crlf.py": 2, "cr.py": 3, "mixed.py": 4}


def test_huge_minified_and_long_lines(make_repo):
    long_line = "DATA = '" + "x" * (MAX_LINE_CHARS + 50) + "'\n"
    repo = make_repo(
        {
            "bundle.js": "var a=1;" * 1_250_000,  # 10 MB on one line
            "almost.js": "var a=1;" * 120_000,  # under the size limit, still one line
            "table.py": PY * 100 + long_line + PY * 100,
            "wide.py": PY * 10 + "X = '" + "y" * (MAX_LINE_CHARS - 20) + "'\n",  # long, but under the limit
        }
    )
    kept, skipped = outcome(scan(repo))
    assert skipped["bundle.js"] == f"larger than {MAX_FILE_BYTES} bytes"
    assert skipped["almost.js"] == "minified (very long lines)"
    assert skipped["table.py"] == f"line 201 has {len(long_line) - 1:,} characters (more than {MAX_LINE_CHARS:,})"
    assert set(kept) == {"wide.py"}


def test_empty_and_blank_files(make_repo):
    kept, skipped = outcome(
        scan(make_repo({"empty.py": "", "blank.py": " \n\t\n\n", "crs.py": b"\r\r\n", "ok.py": PY}))
    )
    assert set(kept) == {"ok.py"}
    assert skipped == {"empty.py": "empty", "blank.py": "empty", "crs.py": "empty"}


def test_fifo_is_skipped_without_blocking(make_repo):
    repo = make_repo({"ok.py": PY})
    os.mkfifo(repo / "pipe.py")  # opening it for reading would wait for a writer forever
    kept, skipped = outcome(scan(repo))
    assert set(kept) == {"ok.py"} and skipped == {"pipe.py": "not a regular file"}


def test_unreadable_files_and_directories(make_repo):
    """Permission bits stop a normal user; root reads everything unless it gives up the capabilities that let it,
    so as root the scan runs without them."""
    repo = make_repo({"ok.py": PY, "secret.py": PY, "locked/inner.py": PY})
    (repo / "secret.py").chmod(0o000)
    (repo / "locked").chmod(0o000)
    program = (
        "import json, sys; from pathlib import Path; from codectx.scan import scan\n"
        "r = scan(Path(sys.argv[1]))\n"
        "print(json.dumps({'kept': [f.path for f in r.files], 'skipped': {s.path: s.reason for s in r.skipped}}))\n"
    )
    command = [sys.executable, "-c", program, str(repo)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")  # util-linux, part of every Debian system
        assert setpriv, "setpriv is needed to drop root's file-permission override"
        command = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    finally:
        (repo / "locked").chmod(0o755)
    seen = json.loads(done.stdout)
    assert seen["kept"] == ["ok.py"]
    assert seen["skipped"] == {
        "locked": "unreadable directory: Permission denied",
        "secret.py": "unreadable: Permission denied",
    }


def test_symlinks_are_never_followed(make_repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.py").write_text("TOKEN = 1\n")
    repo = make_repo({"pkg/a.py": PY})
    os.symlink(outside, repo / "escape_dir")
    os.symlink(outside / "private.py", repo / "escape.py")
    os.symlink("loop_b", repo / "loop_a")
    os.symlink("loop_a", repo / "loop_b")
    os.symlink("self", repo / "self")
    os.symlink("..", repo / "pkg" / "up")  # a directory cycle inside the root
    os.symlink("a.py", repo / "pkg" / "alias.py")
    kept, skipped = outcome(scan(repo))
    assert set(kept) == {"pkg/a.py"}
    assert skipped == {
        "escape_dir": "symlink points outside the root",
        "escape.py": "symlink points outside the root",
        "loop_a": "symlink loop (not followed)",
        "loop_b": "symlink loop (not followed)",
        "self": "symlink loop (not followed)",
        "pkg/up": "symlink (not followed)",
        "pkg/alias.py": "symlink (not followed)",
    }


def test_file_names(make_repo, tmp_path):
    repo = make_repo({"my file.py": PY, "café/ünï code.py": PY, "日本/名前.py": PY, "ok.py": PY})
    (repo / "new\nline.py").write_text(PY)
    (repo / "tab\tdir").mkdir()
    (repo / "tab\tdir" / "inner.py").write_text(PY)
    os.mkdir(os.fsencode(repo) + b"/bad\xffdir")
    Path(os.fsdecode(os.fsencode(repo) + b"/bad\xffdir/x.py")).write_text(PY)
    Path(os.fsdecode(os.fsencode(repo) + b"/latin\xe9.py")).write_text(PY)
    kept, skipped = outcome(scan(repo))
    assert set(kept) == {"my file.py", "café/ünï code.py", "日本/名前.py", "ok.py"}
    assert skipped == {
        "new\\x0aline.py": "file name contains a control character (newline, tab, ...)",
        "tab\\x09dir": "file name contains a control character (newline, tab, ...)",
        "bad\\xffdir": "file name is not valid UTF-8",
        "latin\\xe9.py": "file name is not valid UTF-8",
    }
    # Every name that reaches the index can be stored, printed and served.
    summary = index_repository(repo, store_dir=tmp_path / "store", workers=1)
    assert summary.files == 4 and len(summary.skipped) == 4
    with Store.open(tmp_path / "store", create=False) as store:
        generation = store.require_generation("claude")
        assert {f.path for f in store.files(generation.id)} == set(kept)
        assert dict(store.skipped(generation.id)) == skipped


def test_files_deleted_or_growing_during_a_scan(make_repo):
    repo = make_repo({"a_gone.py": PY, "b_grows.py": PY, "c_balloons.py": PY, "d_ok.py": PY, "zz/late.py": PY})

    def racing_load(root: Path, rel_path: str, max_bytes: int) -> SourceFile | Skipped:
        """The file system changes between the walk that listed a path and the read of it."""
        if rel_path == "a_gone.py":
            (root / rel_path).unlink()
            shutil.rmtree(root / "zz")  # listed already, not walked yet
        elif rel_path == "b_grows.py":
            with (root / rel_path).open("a") as handle:
                handle.write("y = 2\n")
        elif rel_path == "c_balloons.py":
            (root / rel_path).write_text(PY * 100)
        return load_source(root, rel_path, max_bytes)

    kept, skipped = outcome(scan(repo, max_bytes=1000, load=racing_load))
    assert skipped == {"a_gone.py": "deleted during the scan", "c_balloons.py": "larger than 1000 bytes",
                       "zz": "deleted during the scan"}  # fmt: skip
    assert kept["b_grows.py"].text == PY + "y = 2\n" and kept["b_grows.py"].size == len(PY) + 6
    assert set(kept) == {"b_grows.py", "d_ok.py"}


def test_the_index_completes_over_all_of_it(make_repo, tmp_path, capsys):
    repo = make_repo(
        {
            "bin.dat": b"\x00\x01binary",
            "latin.py": "# café\n".encode("latin-1"),
            "utf16.py": "x = 'ü'\n".encode("utf-16"),
            "crlf.py": b"a = 1\r\nb = 2\r\n",
            "bundle.js": "var a=1;" * 200_000,
            "empty.py": "",
            "name with spaces.py": PY,
            "ok.py": PY,
        }
    )
    os.mkfifo(repo / "pipe")
    os.symlink("/etc", repo / "etc")
    (repo / "bad\nname.py").write_text(PY)
    assert main(["index", str(repo), "--store", str(tmp_path / "store")]) == 0
    capsys.readouterr()
    assert main(["stats", str(repo), "--store", str(tmp_path / "store"), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    reasons = {s["path"]: s["reason"] for s in stats["skipped"]}
    assert stats["files"] == 5 and stats["pages"] >= 1
    assert reasons == {
        "bin.dat": "binary", "bundle.js": f"larger than {MAX_FILE_BYTES} bytes", "empty.py": "empty",
        "pipe": "not a regular file", "etc": "symlink points outside the root",
        "bad\\x0aname.py": "file name contains a control character (newline, tab, ...)",
    }  # fmt: skip


def test_many_tiny_files(tmp_path):
    """20,000 files in 200 folders index into a bounded number of modules and pages, in bounded memory.

    bench/many_files.py measures time and peak memory at 100,000 files.
    """
    repo = tmp_path / "repo"
    for folder in range(200):
        directory = repo / f"pkg{folder:03d}"
        directory.mkdir(parents=True)
        for number in range(100):
            (directory / f"m{number:03d}.py").write_text(f"VALUE_{number} = {folder * 100 + number}\n")
    program = (
        "import json, resource, sys; from pathlib import Path; from codectx.indexer import index_repository\n"
        "s = index_repository(Path(sys.argv[1]), store_dir=Path(sys.argv[2]), workers=2)\n"
        "print(json.dumps({'files': s.files, 'modules': s.modules, 'pages': s.pages, 'skipped': len(s.skipped),\n"
        "                  'peak_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program, str(repo), str(tmp_path / "store")], capture_output=True, text=True, check=True
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["files"] == 20_000 and summary["skipped"] == 0
    assert summary["modules"] <= 200 and 0 < summary["pages"] < 1_000
    assert summary["peak_kb"] < 1_000_000  # well under 1 GB for 20,000 files
