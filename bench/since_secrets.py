"""Do changed hunks leak keys? The seeded key corpus (secrets_corpus.py) sent through load_context(since=...).

A git repository gets a first commit without keys; then every key of the corpus is written:
  1. uncommitted and untracked: since=HEAD sends every file as a new hunk;
  2. committed: since=HEAD~1 sends the same lines from a commit's diff;
  3. then a commit removes every key line (each file becomes one line): since=HEAD~1 shows removals.
Each time, every part of the whole pack (cursor after cursor) is searched for any six characters of
a key's random part, as bench/secrets_bench.py does for the other output paths. The control: the
same search over git's own diff text, which codectx never sends, finds the keys.

    .venv/bin/python bench/since_secrets.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from secrets_bench import leaked_in
from secrets_corpus import plant

from codectx.indexer import index_repository
from codectx.mcp_server.context import ContextPacker, PackRequest
from codectx.mcp_server.tools import CodectxTools, ServeOptions
from codectx.store import default_store_dir

BUDGET = 2_000_000


def git(repo: Path, *args: str) -> str:
    env = dict(
        os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com", GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.com", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
    )  # fmt: skip
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True)
    return done.stdout


def whole_pack(root: Path, since: str) -> tuple[str, int]:
    """Every text block of every part of load_context(since=...), and the number of parts."""
    tools = CodectxTools(ServeOptions(root, default_store_dir(root), "claude", 25000))
    packer = ContextPacker(tools.reader, 25000)
    request = PackRequest(BUDGET, "claude", None, since)
    texts: list[str] = []
    cursor: str | None = None
    parts = 0
    while True:
        blocks = packer.load_context(request, cursor)
        parts += 1
        text = "\n".join(getattr(block, "text", "") for block in blocks)
        texts.append(text)
        if "cursor='" not in text:
            return "\n".join(texts), parts
        cursor = text.rsplit("cursor='", 1)[1].split("'")[0]


def main() -> int:
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        repo = Path(folder) / "repo"
        repo.mkdir()
        git(repo, "init", "-q")
        (repo / "README.md").write_text("# corpus\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "no keys yet")
        planted = plant(repo)
        keyed = sorted({p.path for p in planted})
        stages = [("untracked, since=HEAD", "HEAD"), ("committed, since=HEAD~1", "HEAD~1"), ("removed", "HEAD~1")]
        for number, (label, since) in enumerate(stages):
            if number == 1:
                git(repo, "add", "-A")
                git(repo, "commit", "-q", "-m", "keys")
            if number == 2:
                for rel in keyed:
                    (repo / rel).write_text("gone = True\n")
                git(repo, "add", "-A")
                git(repo, "commit", "-q", "-m", "keys removed")
            start = time.perf_counter()
            index_repository(repo, workers=2)
            text, parts = whole_pack(repo, since)
            leaks = leaked_in(planted, text)
            git(repo, "add", "-N", ".")  # untracked files into git's diff, for the control only
            control = leaked_in(planted, git(repo, "diff", since))
            git(repo, "reset", "-q")
            hunks = text.count("\n@@ ")
            seconds = time.perf_counter() - start
            print(
                f"{label}: {len(planted)} keys, {hunks} hunks in {parts} parts, {len(leaks)} leaked "
                f"({seconds:.1f} s); control, git's diff text: {len(control)} keys seen"
            )
            for leak in leaks[:10]:
                print(f"  LEAK {leak.format} in {leak.context}: {leak.path}")
            failures += len(leaks)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
