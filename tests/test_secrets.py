"""Secrets are masked once, at scan time, so no output path (text, store, search, pages) ever holds them."""

from __future__ import annotations

import base64
import json
import random
import string
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp import Client
from mcp_types import TextContent

from codectx import secrets
from codectx.cli import main
from codectx.indexer import index_repository
from codectx.mcp_server.server import ServerConfig, build_server
from codectx.profiles import get_profile
from codectx.scan import decode_text, normalise_newlines, scan
from codectx.secrets import ALLOWLIST_NAME, apply_masks, line_fingerprint, looks_random, mask_value
from codectx.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from secrets_bench import index_dump, measure_leaks
from secrets_corpus import CONTEXTS, plant
from secrets_ocr import fold, index_pages, ocr_rows, unmasked_pages

WINDOW = 6  # a leak is any run of this many characters of a secret's private part


@dataclass(frozen=True, slots=True)
class Seeded:
    name: str
    public: str  # a vendor prefix that may stay visible ("AKIA", "ghp_"); "" when none
    private: tuple[str, ...]  # the parts that must never be seen (one per line for key blocks)


def _seed_repository(repo: Path, seed: int = 8) -> list[Seeded]:
    """A small repository with one of each kind of secret, in the files where they usually hide."""
    rng = random.Random(seed)

    def pick(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    upper, alnum, lower = (
        string.ascii_uppercase + string.digits,
        string.ascii_letters + string.digits,
        "abcdef0123456789",
    )

    def b64url(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    jwt_claims = b64url(json.dumps({"sub": pick(string.digits, 10), "name": "Ada"}).encode())
    jwt_header = b64url(b'{"alg":"HS256","typ":"JWT"}')
    hook = f"T{pick(upper, 8)}/B{pick(upper, 10)}/{pick(alnum, 24)}"
    seeded = [
        Seeded("aws key id", "AKIA", (pick(upper, 16),)),
        Seeded("aws secret key", "", (pick(alnum + "/+", 40),)),
        Seeded("github classic", "ghp_", (pick(alnum, 36),)),
        Seeded("github oauth", "gho_", (pick(alnum, 36),)),
        Seeded("github fine-grained", "github_pat_", (pick(alnum, 22) + "_" + pick(alnum, 59),)),
        Seeded("gitlab", "glpat-", (pick(alnum + "_-", 20),)),
        Seeded("slack bot", "xoxb-", (f"{pick(string.digits, 12)}-{pick(string.digits, 13)}-{pick(lower, 24)}",)),
        Seeded("slack app", "xapp-", (f"1-A{pick(upper, 10)}-{pick(string.digits, 13)}-{pick(lower, 64)}",)),
        Seeded("slack webhook", "https://hooks.slack.com/services/", (hook,)),
        Seeded("jwt", "eyJ", (jwt_header[3:] + f".{jwt_claims}.{b64url(rng.randbytes(32))}",)),
        Seeded(".env password", "", (pick(alnum, 18),)),
        Seeded(".env token", "", (pick(alnum, 32),)),
        Seeded(".yaml password", "", (pick(alnum, 14) + "!",)),
        Seeded(".yaml secret", "", (pick(alnum, 24),)),
        Seeded(".json password", "", (pick(alnum, 16),)),
        Seeded(".json secret", "", (pick(alnum, 28),)),
        Seeded("rsa key", "", tuple(base64.b64encode(rng.randbytes(48)).decode() for _ in range(12))),
        Seeded("openssh key", "", tuple(base64.b64encode(rng.randbytes(51)).decode() for _ in range(8))),
    ]  # fmt: skip
    v = {s.name: s.public + s.private[0] for s in seeded}
    files = {
        "app/config.py": f'AWS_ACCESS_KEY_ID = "{v["aws key id"]}"\naws_secret_access_key = "{v["aws secret key"]}"\n'
        f'GITHUB = "{v["github classic"]}"\n\n\ndef client():\n    return connect(token="{v["github oauth"]}")\n',
        "app/deploy.sh": f'#!/bin/sh\ncurl -H "PRIVATE-TOKEN: {v["gitlab"]}" https://gitlab.example.com/api/v4/user\n'
        f"gh auth login --with-token <<< {v['github fine-grained']}\n",
        "app/notify.js": f'const bot = "{v["slack bot"]}";\nconst app = "{v["slack app"]}";\n'
        f'fetch("{v["slack webhook"]}", {{method: "POST"}});\n',
        "app/auth.ts": f'export const session = "{v["jwt"]}";\n',
        "keys/server.pem": "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(seeded[-2].private)
        + "\n-----END RSA PRIVATE KEY-----\n",
        "keys/deploy_key": "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(seeded[-1].private)
        + "\n-----END OPENSSH PRIVATE KEY-----\n",
        ".env": f"DEBUG=1\nDB_PASSWORD={v['.env password']}\nexport API_TOKEN=\"{v['.env token']}\"\n",
        "deploy/config.yaml": f"database:\n  host: db.internal\n  password: {v['.yaml password']}\nservice:\n"
        f"  client_secret: \"{v['.yaml secret']}\"\n",
        "deploy/settings.json": json.dumps(
            {"db": {"user": "app", "password": v[".json password"]}, "oauth": {"client_secret": v[".json secret"]}},
            indent=2,
        ) + "\n",
    }  # fmt: skip
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    return seeded


def leaked(seeded: list[Seeded], output: str, folded: bool = False) -> list[str]:
    """Names of the secrets of which some run of WINDOW private characters appears in `output`."""
    prepare = fold if folded else (lambda t: t)
    haystack = prepare(output)
    return [
        s.name
        for s in seeded
        if any(prepare(part[i : i + WINDOW]) in haystack for part in s.private for i in range(len(part) - WINDOW + 1))
    ]


@pytest.fixture
def seeded_repo(tmp_path: Path) -> tuple[Path, list[Seeded]]:
    repo = tmp_path / "repo"
    return repo, _seed_repository(repo)


def test_mask_keeps_first_characters_and_length_class():
    assert mask_value("AKIA" + "A" * 16, keep=4) == "AKIA" + "*" * 12
    assert mask_value("hunter2", keep=0) == "*" * 8  # short values still get the smallest class
    assert len(mask_value("x" * 40, keep=4)) == 32 and len(mask_value("x" * 300, keep=4)) == 64
    assert mask_value("abcdefgh", keep=99) == "abcd****"  # at least four stars, whatever the prefix


def test_every_seeded_secret_is_masked_in_scanned_text(seeded_repo):
    repo, seeded = seeded_repo
    result = scan(repo)
    assert not result.skipped
    text = "\n".join(f.text for f in result.files)
    assert leaked(seeded, text) == []
    assert "AKIA************" in text and "ghp_" in text and "*" * 64 in text
    found = {(f.path, s.kind) for f in result.files for s in f.secrets}
    kinds = {kind for _, kind in found}
    assert {"AWS Access Key", "GitHub Token", "GitLab Token", "Slack Token", "JSON Web Token", "Private Key"} <= kinds
    assert {(".env", "Secret Keyword"), ("deploy/config.yaml", "Secret Keyword")} <= found
    by_path = {f.path: f for f in result.files}
    # Masking never changes the number of lines, so every line number stays exact.
    for rel, file in by_path.items():
        raw = normalise_newlines(decode_text((repo / rel).read_bytes()) or "")
        assert file.text.count("\n") == raw.count("\n")
        assert apply_masks(raw, file.secrets) == file.text


def test_every_format_in_every_context_is_masked(tmp_path):
    """The seeded corpus: every vendor format in every context, each key masked in the scanned text, and
    none of the decoys (hashes, hex payloads, ETags, example credentials) masked."""
    planted = plant(tmp_path / "corpus", seed=11)
    assert len({p.format for p in planted}) >= 40 and len(CONTEXTS) >= 10
    texts = {f.path: f.text for f in scan(tmp_path / "corpus").files}
    leaks = [
        (p.format, p.context)
        for p in planted
        if any(part[i : i + WINDOW] in texts[p.path] for part in p.private for i in range(len(part) - WINDOW + 1))
    ]
    assert leaks == []
    decoys = scan(tmp_path / "corpus" / "decoys").files
    assert decoys and [(f.path, s.line) for f in decoys for s in f.secrets] == []


def test_every_output_path_of_the_seeded_corpus_is_masked(tmp_path):
    """bench/secrets_bench.py at CI size: stored index, search and MCP answers hold no key (pages are read by
    OCR in test_rendered_pages_show_no_secret_when_read_by_ocr)."""
    report = measure_leaks(tmp_path / "corpus", seed=5, ocr=False)
    assert set(report.leaks) == {"scanned text", "stored index", "search", "MCP"}
    assert {name: pairs for name, pairs in report.leaks.items() if pairs} == {}
    # Each search for a key says it is masked; a key block written on one line is one masked run, of which
    # one body line is a fragment.
    assert {context for _, context in report.unreported} <= {"assignment", "call argument", "keyword argument",
        "environment default", "environment default (js)", "dict value", "JSON file", ".env file"}  # fmt: skip
    assert {format_name for format_name, _ in report.unreported} <= {"RSA private key", "OpenSSH private key"}


@pytest.mark.parametrize(
    "value, random_looking",
    [("Zq8sPk2LmW7xR4tB", True), ("MyS3cretP@ssw0rd", True), ("keyboard cat", False), ("user_profile_v2", False),
     ("bert-base-uncased-v2", False), ("HTTPDigestAuth", False), ("your-api-key-here", False), ("aaaaaaaa1", False),
     ("12345678901", False), ("_t.AuthType", False)],
)  # fmt: skip
def test_named_values_must_look_generated(value, random_looking):
    assert looks_random(value) is random_looking


def test_mask_value_random_values_are_rarely_taken_for_words():
    """The word test lets few generated values through unmasked: under 1% of 16 mixed characters."""
    rng = random.Random(3)
    alphabet = string.ascii_letters + string.digits
    values = ["".join(rng.choice(alphabet) for _ in range(16)) for _ in range(5000)]
    assert sum(not looks_random(v) for v in values) < 0.01 * len(values)


def test_index_stores_and_serves_only_masked_text(seeded_repo, tmp_path, capsys):
    repo, seeded = seeded_repo
    store_dir = tmp_path / "store"
    summary = index_repository(repo, store_dir=store_dir, workers=1)
    assert summary.files == 9 and summary.secrets
    # Every text column of every table (sources, symbols, exact strings, paths), every full-text word
    # and every packed full-text row.
    dump = index_dump(store_dir)
    assert "AKIA" in dump and leaked(seeded, dump) == []

    assert main(["stats", str(repo), "--store", str(store_dir), "--json"]) == 0
    stats_out = capsys.readouterr().out
    stats = json.loads(stats_out)
    assert leaked(seeded, stats_out) == []
    assert {"path": "app/config.py", "line": 1, "kind": "AWS Access Key"} in stats["secrets"]
    assert {"path": "keys/server.pem", "line": 2, "kind": "Private Key"} in stats["secrets"]
    assert len({(s["path"], s["line"]) for s in stats["secrets"]}) == len(stats["secrets"])

    assert main(["stats", str(repo), "--store", str(store_dir)]) == 0
    table = capsys.readouterr().out
    assert "secrets masked" in table and "app/config.py" in table and leaked(seeded, table) == []

    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude")
        stored = store.secrets(generation.id)
        assert {(p, s.line, s.kind) for p, s in stored} == {(p, s.line, s.kind) for p, s in summary.secrets}
        for module in store.modules(generation.id):
            out = tmp_path / "pages" / module.name.replace("/", "_")
            assert main(["pages", str(repo), "--store", str(store_dir), "-m", module.name, "-o", str(out)]) == 0
            assert leaked(seeded, (out / "pages.json").read_text()) == []
    capsys.readouterr()


def test_rendered_pages_show_no_secret_when_read_by_ocr(seeded_repo, tmp_path):
    """OCR of the real pages finds no secret, while the same OCR finds nearly all of them on unmasked pages."""
    repo, seeded = seeded_repo
    # Where the secrets are, known from the files themselves: only those rows need reading.
    where = {
        (str(path.relative_to(repo)), number)
        for path in repo.rglob("*") if path.is_file()
        for number, line in enumerate(path.read_text().split("\n"), start=1)
        if any(part in line for s in seeded for part in s.private)
    }  # fmt: skip
    store_dir = tmp_path / "store"
    index_repository(repo, store_dir=store_dir, workers=1)
    font_px = get_profile("claude").layout.font_px
    masked_reading = ocr_rows(index_pages(store_dir), where, font_px, tmp_path)
    # The control: the very same files, unmasked, through the same renderer and the same reader.
    control_reading = ocr_rows(unmasked_pages(repo, tmp_path), where, font_px, tmp_path)

    seen_unmasked = leaked(seeded, control_reading, folded=True)
    assert len(seen_unmasked) >= 0.9 * len(seeded), f"OCR read too little to judge: {seen_unmasked}"
    assert leaked(seeded, masked_reading, folded=True) == []
    assert len(masked_reading) > 0.5 * len(control_reading)  # the same rows were drawn and read


def _allow(repo: Path, path: str, line: str) -> None:
    with (repo / ALLOWLIST_NAME).open("a") as allowlist:
        allowlist.write(f"{path} {line_fingerprint(line)}  # a test vector, not a credential\n")


def test_copies_of_one_content_are_masked_alike(tmp_path):
    """The allowlist names a path; the store keeps one text per content, so an allowed copy of a content
    whose other copy is not allowed stays masked: both copies get the union of their masks."""
    repo = tmp_path / "repo"
    repo.mkdir()
    content = 'DB_PASSWORD = "Zq8sPk2LmW7xR4tB"\n'
    (repo / "a.py").write_text(content)
    _allow(repo, "a.py", content)
    assert [f.text for f in scan(repo).files if f.path == "a.py"] == [content]  # allowed: left as written
    (repo / "b.py").write_text(content)
    masked = 'DB_PASSWORD = "Zq' + "*" * 14 + '"\n'
    assert {f.path: f.text for f in scan(repo).files if f.path != ALLOWLIST_NAME} == {"a.py": masked, "b.py": masked}


def test_allowlist_unmasks_a_false_alarm_end_to_end(tmp_path, capsys):
    """`codectx secrets` prints the entry; with it in the allowlist the line is served as written; taking the
    entry out masks the unchanged file again at the next index, and so does editing the line."""
    repo = tmp_path / "repo"
    repo.mkdir()
    line = 'TEST_VECTOR_TOKEN = "k9Qw2ZrT7mXb4LpV"'
    (repo / "vectors.py").write_text(f"{line}\nOTHER = 1\n")
    assert main(["index", str(repo)]) == 0
    capsys.readouterr()
    assert main(["secrets", str(repo), "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["secrets"][0]
    assert entry["masked"] and entry["allowlist_entry"] == f"vectors.py {line_fingerprint(line)}"

    (repo / ALLOWLIST_NAME).write_text(f"# known false alarms\n{entry['allowlist_entry']}  # test data\n")
    assert main(["index", str(repo)]) == 0
    capsys.readouterr()
    assert main(["search", str(repo), "k9Qw2ZrT7mXb4LpV"]) == 0
    assert capsys.readouterr().out == f"vectors.py:1:{line}\n"
    assert main(["secrets", str(repo)]) == 0
    assert "(allowed)" in capsys.readouterr().out
    assert main(["stats", str(repo), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["secrets"] == [] and stats["secrets_allowed"][0]["path"] == "vectors.py"

    (repo / ALLOWLIST_NAME).write_text("")
    assert main(["index", str(repo)]) == 0
    capsys.readouterr()
    assert main(["search", str(repo), "k9Qw2ZrT7mXb4LpV"]) == 0
    assert capsys.readouterr().out == "vectors.py:1: [masked secret: Secret Keyword]\n"

    (repo / ALLOWLIST_NAME).write_text(f"{entry['allowlist_entry']}\n")
    (repo / "vectors.py").write_text(f"{line.replace('k9Qw', 'k8Qw')}\nOTHER = 1\n")  # the entry no longer fits
    assert main(["index", str(repo)]) == 0
    capsys.readouterr()
    assert main(["search", str(repo), "TEST_VECTOR_TOKEN"]) == 0
    assert capsys.readouterr().out == 'vectors.py:1:TEST_VECTOR_TOKEN = "k8' + "*" * 14 + '"\n'


def test_search_for_masked_text_answers_with_a_masked_hit(tmp_path, capsys):
    """An exact search that would have matched a masked secret says so, never with the secret, never silently."""
    repo = tmp_path / "repo"
    repo.mkdir()
    stripe = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    (repo / "app.py").write_text(f'import os\nSTRIPE_KEY = os.environ.get("STRIPE", "{stripe}")\nDEBUG = 1\n')
    assert main(["index", str(repo)]) == 0
    capsys.readouterr()
    for pattern in (stripe, f'"{stripe[:14]}', f'{stripe}")', f'"STRIPE", "{stripe}'):
        assert main(["search", str(repo), pattern]) == 0, pattern
        assert capsys.readouterr().out == "app.py:2: [masked secret: Stripe Key]\n", pattern
    assert main(["search", str(repo), "STRIPE_KEY"]) == 0  # a plain hit shows the masked line
    assert capsys.readouterr().out == 'app.py:2:STRIPE_KEY = os.environ.get("STRIPE", "sk_live_' + "*" * 24 + '")\n'
    assert main(["search", str(repo), "zdp7dc9"]) == 1  # no such text, masked or not
    capsys.readouterr()
    assert main(["search", str(repo), stripe, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"] == [
        {"path": "app.py", "line": 2, "text": "[masked secret: Stripe Key]", "masked": True}
    ]


def test_unchanged_files_are_not_scanned_again(seeded_repo, tmp_path, monkeypatch):
    repo, _ = seeded_repo
    store_dir = tmp_path / "store"
    first = index_repository(repo, store_dir=store_dir, workers=1)
    calls: list[str] = []
    real = secrets.find_secrets

    def counting(path: str, text: str) -> tuple[secrets.SecretSpan, ...]:
        calls.append(path)
        return real(path, text)

    monkeypatch.setattr("codectx.scan.find_secrets", counting)
    second = index_repository(repo, store_dir=store_dir, workers=1)
    assert calls == [] and second.secrets == first.secrets and not second.published
    (repo / "app" / "auth.ts").write_text((repo / "app" / "auth.ts").read_text() + "// edited\n")
    index_repository(repo, store_dir=store_dir, workers=1)
    assert calls == ["app/auth.ts"]


@pytest.mark.anyio
async def test_mcp_tools_serve_only_masked_text(seeded_repo):
    """Through a real MCP client: source reads, searches (plain and regex) and packed context."""
    repo, seeded = seeded_repo
    index_repository(repo, workers=1)
    outputs: list[str] = []
    async with Client(build_server(ServerConfig(repo))) as client:  # type: ignore[arg-type]
        calls: list[tuple[str, dict[str, object]]] = [
            ("read_source", {"path": str(path.relative_to(repo))}) for path in sorted(repo.rglob("*"))
            if path.is_file() and ".codectx" not in path.parts
        ]  # fmt: skip
        calls += [("search", {"pattern": word}) for word in ("PASSWORD", "token", "secret", "AKIA", "PRIVATE KEY")]
        calls += [("search", {"pattern": s.private[0][:8]}) for s in seeded]  # a raw fragment finds nothing
        calls += [("search", {"pattern": r"[A-Za-z0-9]{12,}", "regex": True})]
        calls += [("load_context", {"budget": 200_000, "query": "password token key"})]
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)
            echoed = str(arguments.get("pattern", "\0"))  # a search repeats its pattern in its answer
            outputs += [b.text.replace(echoed, "") for b in result.content if isinstance(b, TextContent)]
        # A search for a whole key answers with a masked-hit line, never silence.
        aws_key = next(s.public + s.private[0] for s in seeded if s.name == "aws key id")
        result = await client.call_tool("search", {"pattern": aws_key})
        masked_hit = [b.text for b in result.content if isinstance(b, TextContent)]
        assert any("app/config.py:1: [masked secret: AWS Access Key]" in text for text in masked_hit), masked_hit
        outputs += [text.replace(aws_key, "") for text in masked_hit]
    served = "\n".join(outputs)
    assert "AKIA" in served and "DB_PASSWORD" in served  # the files were served, masked
    assert leaked(seeded, served) == []


def test_the_watchers_scan_cache_follows_the_allowlist(tmp_path, monkeypatch):
    """codectx watch reuses unchanged files' scans; an allowlist edit still unmasks and re-masks them at once."""
    from codectx import rescan

    monkeypatch.setattr(rescan, "RACY_NS", 0)  # every file counts as settled, so the cache keeps it
    repo = tmp_path / "repo"
    repo.mkdir()
    line = 'TEST_VECTOR_TOKEN = "k9Qw2ZrT7mXb4LpV"'
    (repo / "vectors.py").write_text(line + "\n")
    cache = rescan.SourceCache()

    def text() -> str:
        return next(f.text for f in cache.scan(repo).files if f.path == "vectors.py")

    assert "k9Qw2ZrT" not in text() and "k9Qw2ZrT" not in text()  # the second scan comes from the cache
    assert cache.reads == 0
    (repo / ALLOWLIST_NAME).write_text(f"vectors.py {line_fingerprint(line)}\n")
    assert text() == line + "\n"
    (repo / ALLOWLIST_NAME).write_text("# nothing allowed\n")
    assert "k9Qw2ZrT" not in text()


def test_secret_names_finds_what_the_pattern_finds(stdlib):
    from codectx.secret_rules import SECRET_NAME
    from codectx.secrets import secret_names

    crafted = [
        "db_password = x; PASSWD=y pwd xpwd apiKey api.key auth authkey auth_token oauth bearer",
        "secrettoken passphrase private-key privatekey signing_key master.key credentials tokens",
        "access_token accesskey encryption-key  auth.  (auth) _auth_ password_hash",
    ]
    texts = crafted + [p.read_text().lower() for p in sorted((stdlib / "email").rglob("*.py"))]
    for text in texts:
        expected = [m.span() for m in SECRET_NAME.finditer(text)]
        assert [m.span() for m in secret_names(text)] == expected
    assert sum(len(list(secret_names(t))) for t in texts) > 50


def test_shortcut_scans_find_what_the_patterns_find(stdlib, tmp_path):
    """Rules tried only where their literal stands, and URL credentials found from their "://", give the
    plain patterns' matches: on every planted key in every context, on crafted edge cases and on real code."""
    from codectx.secret_rules import VENDOR_RULES
    from codectx.secrets import _URL_CREDENTIALS, rule_matches, url_credentials

    plant(tmp_path / "corpus", seed=3)
    crafted = [
        "postgres://u:s3cr3tPass@db x://a:b@c redis://:pw12345678@h aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa://u:p@h",
        "jdbc:mysql://root:Zq8xWv2k@h mongodb+srv://a:b@c://d:e@f SKSK0123456789abcdef0123456789abcdef xSK",
        "patpatABCDEFGHIJKLMN." + "a" * 64 + " key-key-" + "0" * 32,
    ]
    texts = crafted + [p.read_text() for p in sorted((tmp_path / "corpus").rglob("*")) if p.is_file()]
    texts += [p.read_text() for p in sorted((stdlib / "urllib").rglob("*.py"))]
    found = 0
    for text in texts:
        expected = [m.span() for m in _URL_CREDENTIALS.finditer(text)]
        assert [m.span() for m in url_credentials(text)] == expected
        found += len(expected)
        for rule in VENDOR_RULES:
            expected = [m.span() for m in rule.pattern.finditer(text)]
            assert [m.span() for m in rule_matches(rule, text)] == expected, rule.kind
            found += len(expected)
    assert found > 1000
    assert sum(bool(rule.literal) for rule in VENDOR_RULES) > 40
