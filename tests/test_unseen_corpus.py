"""bench/unseen_corpus.py: consistent renaming, structure kept, deterministic, adversarial tables."""

from __future__ import annotations

import ast
import io
import re
import shutil
import sys
import sysconfig
import tokenize
from pathlib import Path

import pytest

from codectx.secrets import find_secrets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import unseen_corpus

STDLIB = Path(sysconfig.get_paths()["stdlib"])
FIXTURES = Path(__file__).parent / "fixtures" / "outline"

OWN_CODE = '''\
"""User records kept in memory, looked up by name."""

import os
from collections import OrderedDict

DEFAULT_LIMIT = 0x1F40
RETRY_SECONDS = 2.5e3
ROUTE_TABLE = {"account_status": 12345, "user_name": "grace-42"}


class HTTPServer:
    """Serves user names over HTTP."""

    def __init__(self, store_path, limit=DEFAULT_LIMIT):
        self.store_path = os.path.join(store_path, "users.db")  # where records live
        self.limit = limit
        self.records = OrderedDict()

    def get_user_name(self, user_id):
        record = self.records.get(user_id)
        if record is None:
            raise KeyError(f"no user {user_id!r} within {self.limit:>10} records\\n")
        user_name = record["user_name"]
        return user_name

    def getUserName(self, user_id):
        return self.get_user_name(user_id)


def make_server(store_path):
    server = HTTPServer(store_path)
    print(server.getUserName(7), server.get_user_name(8))
    return server
'''


@pytest.fixture
def sources(tmp_path: Path) -> list[Path]:
    package = tmp_path / "source" / "accounts"
    package.mkdir(parents=True)
    (package / "user_store.py").write_text(OWN_CODE)
    shutil.copyfile(STDLIB / "json" / "decoder.py", package / "decoder.py")
    shutil.copyfile(FIXTURES / "shapes.js", package / "shapes.js")
    shutil.copyfile(FIXTURES / "shapes.go", package / "shapes.go")
    shutil.copyfile(FIXTURES / "shapes.rs", package / "shapes.rs")
    return [package]


def _build(sources: list[Path], out: Path, seed: int = 7, adversarial: int = 0) -> dict[str, str]:
    summary = unseen_corpus.build_corpus(sources, out, seed, adversarial=adversarial)
    assert not summary.skipped
    return {rel: (out / rel).read_text() for rel in summary.written + summary.adversarial}


def _pairs(out: dict[str, str], sources: list[Path]) -> list[tuple[str, str, str]]:
    """(original file name, original text, rewritten text), matched by suffix and line count."""
    originals = {p.name: p.read_text() for p in sources[0].iterdir()}
    pairs = []
    for name, text in originals.items():
        matches = [t for rel, t in out.items() if rel.endswith(Path(name).suffix) and t.count("\n") == text.count("\n")]
        assert len(matches) == 1, name
        pairs.append((name, text, matches[0]))
    return pairs


def _python_names(text: str) -> list[str]:
    return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.NAME]


def test_structure_is_kept_and_python_still_parses(sources: list[Path], tmp_path: Path) -> None:
    out = _build(sources, tmp_path / "out")
    assert len(out) == 5
    for name, before, after in _pairs(out, sources):
        assert after != before, name
        assert before.count("\n") == after.count("\n"), name
        for old, new in zip(before.split("\n"), after.split("\n"), strict=True):
            assert old[: len(old) - len(old.lstrip())] == new[: len(new) - len(new.lstrip())], (name, old, new)
        assert re.sub(r"[^()\[\]{}]", "", before) == re.sub(r"[^()\[\]{}]", "", after), name
        if name.endswith(".py"):
            ast.parse(after)


def test_renaming_is_consistent_and_keeps_the_shape_of_names(sources: list[Path], tmp_path: Path) -> None:
    out = _build(sources, tmp_path / "out")
    before, after = next((b, a) for n, b, a in _pairs(out, sources) if n == "user_store.py")
    mapping: dict[str, str] = {}
    old_names, new_names = _python_names(before), _python_names(after)
    assert len(old_names) == len(new_names)
    for old, new in zip(old_names, new_names, strict=True):
        assert mapping.setdefault(old, new) == new, f"{old} became {mapping[old]} and {new}"
    assert len(set(mapping.values())) == len(mapping), "two names became one"
    snake, camel, acronym = mapping["get_user_name"], mapping["getUserName"], mapping["HTTPServer"]
    assert snake.startswith("get_") and re.fullmatch(r"get_[a-z]+_[a-z]+", snake)
    assert camel == "get" + "".join(p.capitalize() for p in snake.split("_")[1:])
    assert re.fullmatch(r"[A-Z]{4}[A-Z][a-z]+", acronym) and acronym != "HTTPServer"
    assert mapping["user_id"].endswith("_id") and mapping["user_id"] != "user_id"
    for name in ("self", "None", "os", "print", "KeyError", "__init__", "get", "join", "path", "import", "class"):
        assert mapping[name] == name
    # a name inside a string (a dictionary key) follows the same mapping
    assert f'"{mapping["user_name"]}"' in after and mapping["user_name"] != "user_name"


def test_no_long_original_name_survives(sources: list[Path], tmp_path: Path) -> None:
    out = _build(sources, tmp_path / "out")
    kept = unseen_corpus.reserved_names() | unseen_corpus.library_names()
    for name, before, after in _pairs(out, sources):
        if not name.endswith(".py"):
            continue
        old = {n for n in _python_names(before) if len(n) > 5 and n not in kept and not re.fullmatch(r"__\w+__", n)}
        assert old, name
        survivors = old & set(_python_names(after))
        assert not survivors, f"{name}: {sorted(survivors)}"
    assert not any("accounts" in rel or "decoder" in rel or "user_store" in rel for rel in out)


def test_literals_keep_their_shape(sources: list[Path], tmp_path: Path) -> None:
    out = _build(sources, tmp_path / "out")
    after = next(a for n, _, a in _pairs(out, sources) if n == "user_store.py")
    limit = re.search(r"^\w+ = (0x[0-9A-Fa-f]+)$", after, re.MULTILINE)
    seconds = re.search(r"^\w+ = ([0-9.e]+)$", after, re.MULTILINE)
    assert limit and re.fullmatch(r"0x[0-9A-F]{4}", limit.group(1)) and limit.group(1) != "0x1F40"
    assert seconds and re.fullmatch(r"[1-9]\.[0-9]e[1-9]", seconds.group(1))
    table = re.search(r'\{"\w+": (\d+), "\w+": "([a-z]+-\d\d)"\}', after)
    assert table and len(table.group(1)) == 5 and table.group(1) != "12345" and table.group(2) != "grace-42"
    assert "# where records live" not in after and re.search(r"  # \w{5} \w{7} \w{4}$", after, re.MULTILINE)
    assert "{self.limit" not in after and re.search(r"!r\} \w+ \{self\.\w+:>\d\d\} \w+\\n", after)


def test_output_is_deterministic_per_seed(sources: list[Path], tmp_path: Path) -> None:
    first = _build(sources, tmp_path / "a", seed=11, adversarial=3)
    assert _build(sources, tmp_path / "b", seed=11, adversarial=3) == first
    assert _build(sources, tmp_path / "c", seed=12, adversarial=3) != first


_VALUE = r'(?:"[^"\n]*"|-?\d+)'  # a quoted string or an integer
ADVERSARIAL_KINDS = {
    "uuid": r'"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"',
    "sha256": r'"[0-9a-f]{64}"',
    "sha1": r'"[0-9a-f]{40}"',
    "md5": r'"[0-9a-f]{32}"',
    "hex": r'"[0-9a-f]{8,24}"',
    "base64": r'"(?=[A-Za-z0-9+/=]*[+/=])[A-Za-z0-9+/]{14,64}={0,2}"',
    "long_number": r"(?<![\w.])[1-9][0-9]{4,19}(?![\w.])",
    "random_string": r'"(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[0-9])[A-Za-z0-9]{8,32}"',
}
# How each table binds a value: a constant, a dict or object key, a call argument, a case's return value.
_BOUND = re.compile(
    r"^\s*(?:(?:export const |const |var )?[A-Za-z_]\w*\s*=\s*|[\"']?[A-Za-z_]\w*[\"']?:\s*"
    r"|found \+= differs\(table, \"\w+\", expected=|register\(\"\w+\", |case \"[\w-]+\": return )" + _VALUE
)
_RECORD = re.compile(r'^\s*\{"name": "[\w-]+", "digest": "[0-9a-f]+", "size": \d+\},$')


def test_adversarial_tables_hold_every_value_kind_in_its_natural_form(tmp_path: Path) -> None:
    files = _build([], tmp_path / "out", seed=3, adversarial=3)
    assert sorted(Path(rel).suffix for rel in files) == [".go", ".js", ".py"]
    text = "\n".join(files.values())
    for kind, pattern in ADVERSARIAL_KINDS.items():
        assert re.search(pattern, text), kind
    assert "sha256:" not in text and not re.search(r"\b0x[0-9A-Fa-f]{9,}", text), "no contorted forms"
    lengths = {len(m) for m in re.findall(r'"([0-9a-f]{8,64})"', text)}
    assert min(lengths) <= 12 and {32, 40, 64} <= lengths and max(lengths) == 64
    for rel, body in files.items():
        bound = [line for line in body.split("\n") if re.search(r'"[0-9a-f]{8,}"|"[A-Za-z0-9+/=]{8,}"|\d{5,}', line)]
        assert len(bound) >= 20, rel
        for line in bound:
            assert _BOUND.match(line) or _RECORD.match(line), f"{rel}: a value without a name: {line}"
        names = re.findall(r"[A-Za-z_]\w*(?=[\"']?\s*[:=(])|\"[\w-]+\"", body)
        assert not [n for n in names if unseen_corpus._SAFE_NAME.search(n)], rel
        if rel.endswith(".py"):
            ast.parse(body)
        assert not find_secrets(rel, body), f"{rel}: codectx would mask values of its tables"


def test_the_secret_check_on_adversarial_tables_can_fail(tmp_path: Path) -> None:
    """The same values under a credential's name are masked: the check above would see it."""
    files = _build([], tmp_path / "out", seed=3, adversarial=3)
    for rel, body in files.items():
        lines = body.split("\n")
        for index, line in enumerate(lines):
            named = re.match(r'^(\s*(?:export const |const |var )?)([A-Za-z_]\w*)( = "[0-9a-f]{32,64}"\s*;?)$', line)
            if named:
                lines[index] = f"{named.group(1)}SESSION_TOKEN{named.group(3)}"
                found = find_secrets(rel, "\n".join(lines))
                assert [span.line for span in found] == [index + 1], rel
                break
        else:
            pytest.fail(f"{rel}: no constant bound to a digest")


def test_command_line(sources: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "corpus"
    argv = ["--source", *map(str, sources), "--out", str(out), "--seed", "5", "--files", "2", "--adversarial", "1"]
    assert unseen_corpus.main(argv) == 0
    assert "2 rewritten and 1 adversarial" in capsys.readouterr().out
    assert len([p for p in out.rglob("*") if p.is_file()]) == 3
    with pytest.raises(SystemExit):
        unseen_corpus.main(argv)  # the folder is not empty any more
    assert "not empty" in capsys.readouterr().err
