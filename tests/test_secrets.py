"""Secrets are masked once, at scan time, so no output path (text, store, search, pages) ever holds them."""

from __future__ import annotations

import base64
import json
import random
import sqlite3
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests
from detect_secrets.core.scan import _process_line_based_plugins
from detect_secrets.settings import default_settings
from mcp import Client
from mcp_types import TextContent
from PIL import Image

from codectx import secrets
from codectx.cli import main
from codectx.fidelity import READ_FONT_PX, TesseractReader
from codectx.indexer import RenderJob, index_repository, render_module
from codectx.mcp_server.server import ServerConfig, build_server
from codectx.profiles import get_profile
from codectx.scan import decode_text, normalise_newlines, scan
from codectx.secrets import apply_masks, find_secrets, mask_value
from codectx.store import Store

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


_CONFUSABLE = str.maketrans("OoIlL|S5Z2B8gq", "001111552288gg")


def _fold(text: str) -> str:
    """What OCR cannot tell apart, made equal, so that a misread secret still counts as seen."""
    return "".join(text.split()).casefold().translate(_CONFUSABLE)


def leaked(seeded: list[Seeded], output: str, fold: bool = False) -> list[str]:
    """Names of the secrets of which some run of WINDOW private characters appears in `output`."""
    prepare = _fold if fold else (lambda t: t)
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


def test_detection_never_goes_online(seeded_repo, monkeypatch):
    """Some detect-secrets plugins can verify a key with its vendor; codectx never lets them."""
    repo, _ = seeded_repo

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network request attempted: {args}")

    monkeypatch.setattr(requests.Session, "request", refuse)
    assert sum(len(f.secrets) for f in scan(repo).files) > 20


def test_gate_finds_what_detect_secrets_finds_line_by_line(seeded_repo, stdlib):
    """The candidate-line gate is only a speed-up: every line detect-secrets' own full scan flags is masked."""
    repo, _ = seeded_repo
    samples = [(str(p.relative_to(repo)), p.read_text()) for p in sorted(repo.rglob("*")) if p.is_file()]
    samples += [(name, (stdlib / name).read_text()) for name in ("hashlib.py", "shlex.py", "base64.py", "netrc.py")]
    flagged_anywhere = 0
    with default_settings():
        for path, text in samples:
            numbered = list(enumerate(text.split("\n"), start=1))
            flagged = _process_line_based_plugins(numbered, path)
            # Key headers are not secret (the PEM rule masks the lines below them); IP addresses are not credentials.
            full = {s.line_number for s in flagged if s.type not in ("Private Key", "Public IP (ipv4)")}
            assert full <= {span.line for span in find_secrets(path, text)}, path
            flagged_anywhere += len(full)
    assert flagged_anywhere > 10  # the comparison saw real detections


def test_index_stores_and_serves_only_masked_text(seeded_repo, tmp_path, capsys):
    repo, seeded = seeded_repo
    store_dir = tmp_path / "store"
    summary = index_repository(repo, store_dir=store_dir, workers=1)
    assert summary.files == 9 and summary.secrets
    # Every text column of every table: sources, full-text search rows, symbols, exact strings, paths.
    with sqlite3.connect(store_dir / "index.sqlite") as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        dump = "\n".join(
            str(value) for table in tables for row in db.execute(f'SELECT * FROM "{table}"') for value in row
        )
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


def _ocr_pages(
    pages: list[tuple[Path, str]], lines: set[tuple[str, int]], reader: TesseractReader, font_px: int
) -> str:
    """Read the rows of `lines` (path, line) on the pages with tesseract, upscaled as the fidelity judge does."""
    scale = READ_FONT_PX / font_px
    crops = []
    for png, line_map in pages:
        grey = Image.open(png).convert("L")
        for row in json.loads(line_map)["rows"]:
            if (row["path"], row["line"]) not in lines:
                continue
            x, y, w, h = row["box"]
            inked = np.flatnonzero(np.asarray(grey.crop((x, y, x + w, y + h))).min(axis=0) < 160)
            w = int(inked[-1]) + 4 if inked.size else w  # blank cells right of the text cost OCR time only
            crop = grey.crop((x, y, x + w, y + h))
            crops.append(np.asarray(crop.resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)))
    return "\n".join(reader.read(crops))


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
    profile = get_profile("claude")
    reader = TesseractReader(tmp_path)
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation("claude")
        masked = [
            (store.pages.path_for(p.blob), p.line_map)
            for m in store.modules(generation.id)
            for p in store.module_pages(generation.id, m.name)
        ]
    masked_reading = _ocr_pages(masked, where, reader, profile.layout.font_px)

    # The control: the very same files, unmasked, through the same renderer and the same reader.
    raw_files = tuple(
        (f.path, f.language, normalise_newlines(decode_text((repo / f.path).read_bytes()) or ""))
        for f in scan(repo).files
    )
    job = RenderJob("control", raw_files, profile.layout, profile.page_tokens, str(tmp_path / "control"))
    control = [(Path(tmp_path / "control" / p.blob[:2] / f"{p.blob}.png"), p.line_map) for p in render_module(job)]
    control_reading = _ocr_pages(control, where, reader, profile.layout.font_px)

    seen_unmasked = leaked(seeded, control_reading, fold=True)
    assert len(seen_unmasked) >= 0.9 * len(seeded), f"OCR read too little to judge: {seen_unmasked}"
    assert leaked(seeded, masked_reading, fold=True) == []
    assert len(masked_reading) > 0.5 * len(control_reading)  # the same rows were drawn and read


def test_copies_of_one_content_are_masked_alike(tmp_path):
    """A .env line masks unquoted values that a .py line does not; the stored text is per content, so both copies
    get the union."""
    repo = tmp_path / "repo"
    repo.mkdir()
    content = "DB_PASSWORD=Zq8sPk2LmW7xR4tB\n"
    (repo / "settings.py").write_text(content)
    alone = scan(repo)
    assert alone.files[0].text == content  # detect-secrets does not flag an unquoted Python value
    (repo / ".env").write_text(content)
    result = scan(repo)
    masked = "DB_PASSWORD=Zq" + "*" * 14 + "\n"
    assert {f.path: f.text for f in result.files} == {".env": masked, "settings.py": masked}


def test_stored_text_follows_stricter_masks(tmp_path):
    """When a content's masks grow (here: a .env copy appears), its stored text and search rows are replaced."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "settings.py").write_text("DB_PASSWORD=Zq8sPk2LmW7xR4tB\n")
    store_dir = tmp_path / "store"
    index_repository(repo, store_dir=store_dir, workers=1)
    (repo / ".env").write_text("DB_PASSWORD=Zq8sPk2LmW7xR4tB\n")
    index_repository(repo, store_dir=store_dir, workers=1)
    with sqlite3.connect(store_dir / "index.sqlite") as db:
        texts = [t for (t,) in db.execute("SELECT text FROM sources")]
        searchable = [t for (t,) in db.execute("SELECT * FROM line_fts")]
    assert texts == ["DB_PASSWORD=Zq" + "*" * 14 + "\n"]
    assert not any("Pk2LmW7x" in str(t) for t in searchable)


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
    served = "\n".join(outputs)
    assert "AKIA" in served and "DB_PASSWORD" in served  # the files were served, masked
    assert leaked(seeded, served) == []
