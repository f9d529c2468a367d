"""Command line: `codectx index | stats | pages | pack | query | search ...`."""

from __future__ import annotations

import argparse
import gc
import hashlib
import itertools
import json
import os
import shlex
import shutil
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from codectx import __version__
from codectx.fidelity import ENGINES as FIDELITY_ENGINES
from codectx.hosted import DEFAULT_MODELS as READER_DEFAULTS
from codectx.indexer import IndexSummary, index_repository
from codectx.model.encoder import DEFAULT_MAX_NEW_TOKENS, DEFAULT_PROMPT, ENCODER_TARGET, OpticalEncoder
from codectx.model.loading import DEFAULT_MODEL, ModelNotFoundError
from codectx.model.targets import DEFAULT_TARGET, TARGETS, UnknownTargetError
from codectx.progress import make_reporter
from codectx.readbench import add_readbench_command
from codectx.render.layout import read_line_map
from codectx.secrets import ALLOWLIST_NAME
from codectx.store import (
    FileRow,
    GenerationRow,
    NoIndexError,
    Store,
    StoreError,
    default_store_dir,
    is_disk_full,
)
from codectx.tables import print_table
from codectx.wording import plural

if TYPE_CHECKING:
    from codectx.history import Changes, FileChange
    from codectx.watch import Watcher

Handler = Callable[[argparse.Namespace], int]
# Commands whose positionals are a repository path and then a pattern or question.
PATH_THEN_TEXT = {"search": "pattern", "query": "question"}


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse whose complaints are one `codectx: error:` line, like every other mistake."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"codectx: error: {message} (`{self.prog} --help` lists the arguments)\n")


def _root(args: argparse.Namespace) -> Path:
    root = Path(args.path or ".").expanduser()
    if not root.exists():
        raise UsageError(f"{root} does not exist")
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory: pass the repository's root folder")
    return root.resolve()


def _store_dir(args: argparse.Namespace) -> Path | None:
    if not getattr(args, "store", None):
        return None
    store = Path(args.store).expanduser().resolve()
    if store.exists() and not store.is_dir():
        raise UsageError(f"--store {args.store} is a file: name the folder that holds (or will hold) the index")
    return store


def _writable_store(args: argparse.Namespace, root: Path) -> Path:
    """The index folder of a command that writes one, created now: a folder that cannot be made is the user's
    to fix (a read-only place, a parent that is a file), said in one line."""
    store = _store_dir(args) or default_store_dir(root)
    try:
        store.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the index folder {store}: {error.strerror or error}") from None
    return store


def _output_dir(value: str, option: str = "--out") -> Path:
    """An output folder the command may create (or reuse); a file or an impossible place is refused."""
    out = Path(value).expanduser()
    if out.exists() and not out.is_dir():
        raise UsageError(f"{option} {value} is a file: name a folder (it is created when missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the folder {out} ({option}): {error.strerror or error}") from None
    return out


def run_index(args: argparse.Namespace) -> int:
    root = _root(args)
    layout = _layout_overrides(args)
    store = _writable_store(args, root)
    with make_reporter() as reporter:
        summary = index_repository(root, target=args.target, store_dir=store, reporter=reporter, layout=layout)
    _emit(summary, args, by_module=False)
    return 0


def _layout_overrides(args: argparse.Namespace) -> dict[str, int]:
    names = ("font_px", "line_height", "columns")
    overrides = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    if overrides and not args.store:
        raise UsageError("--font-px, --line-height and --columns build a trial index: name its folder with --store")
    return overrides


def run_stats(args: argparse.Namespace) -> int:
    """The current generation as `codectx index` published it; builds nothing."""
    from codectx.scan import Skipped
    from codectx.structure import outline_coverage

    root = _root(args)
    started = time.perf_counter()
    with _open_index(args, root) as store:
        generation = _generation(store, args, root)
        modules = store.modules(generation.id)
        summary = IndexSummary(
            root=root, store_dir=store.directory, target=generation.target, generation=generation.id,
            files=sum(m.files for m in modules), modules=len(modules), pages=sum(m.pages for m in modules),
            text_tokens=sum(m.text_tokens for m in modules), vision_tokens=sum(m.vision_tokens for m in modules),
            skipped=[Skipped(path, reason) for path, reason in store.skipped(generation.id)], by_module=modules,
            modules_rendered=0, pages_rendered=0, seconds=time.perf_counter() - started, published=False,
            secrets=store.secrets(generation.id),
        )  # fmt: skip
        files = store.files(generation.id)
        coverage = outline_coverage((f.path, f.language) for f in files)
    classes = _tokens_by_class(files)
    if args.json:
        data = {**summary_json(summary, by_module=True), "by_class": classes, "outlines": coverage.as_json()}
        print(json.dumps(data, indent=2))
        return 0
    _emit(summary, args, by_module=True)
    print_table(
        "text tokens by file class (weights: .codectx.toml [weights])",
        [("class", "left"), ("files", "right"), ("text tokens", "right"), ("share", "right")],
        [(kind, str(c["files"]), f"{c['text_tokens']:,}", f"{c['share']:.1%}") for kind, c in classes.items()],
    )
    if coverage.without:
        print_table(
            f"no outline: {plural(len(coverage.without), 'file')} of {summary.files} (no grammar for the language)",
            [("path", "left"), ("language", "left")],
            list(coverage.without),
        )
    return 0


def _tokens_by_class(files: list[FileRow]) -> dict[str, dict[str, float]]:
    """class -> files, text tokens and share of the text tokens, for every class that has a file."""
    from codectx.classes import CLASSES

    total = sum(f.text_tokens for f in files) or 1
    result: dict[str, dict[str, float]] = {}
    for kind in CLASSES:
        members = [f for f in files if f.kind == kind]
        if members:
            tokens = sum(f.text_tokens for f in members)
            result[kind] = {"files": len(members), "text_tokens": tokens, "share": round(tokens / total, 4)}
    return result


def summary_json(summary: IndexSummary, by_module: bool) -> dict[str, object]:
    data: dict[str, object] = {
        "root": str(summary.root),
        "target": summary.target,
        "generation": summary.generation,
        "files": summary.files,
        "modules": summary.modules,
        "pages": summary.pages,
        "text_tokens": summary.text_tokens,
        "vision_tokens": summary.vision_tokens,
        "ratio": summary.ratio,
        "pages_rendered": summary.pages_rendered,
        "seconds": round(summary.seconds, 3),
        "skipped": [{"path": s.path, "reason": s.reason} for s in summary.skipped],
        "secrets": [{"path": path, "line": line, "kind": kind} for path, line, kind in _secret_locations(summary)],
        "secrets_allowed": [
            {"path": path, "line": line, "kind": kind} for path, line, kind in _secret_locations(summary, allowed=True)
        ],
    }
    if by_module:
        data["by_module"] = [
            {
                "module": m.name, "files": m.files, "lines": m.lines, "text_tokens": m.text_tokens,
                "pages": m.pages, "vision_tokens": m.vision_tokens,
                "ratio": round(m.text_tokens / m.vision_tokens, 3) if m.vision_tokens else 0.0,
            }
            for m in summary.by_module
        ]  # fmt: skip
    return data


def _secret_locations(summary: IndexSummary, allowed: bool = False) -> list[tuple[str, int, str]]:
    """Masked (or, with `allowed`, allowlisted) secrets as (path, line, kind), one per line and kind."""
    return sorted({(path, span.line, span.kind) for path, span in summary.secrets if span.allowed == allowed})


def _line_runs(locations: list[tuple[str, int, str]]) -> list[tuple[str, int, int, str]]:
    """Consecutive lines of one path and kind as one (path, first, last, kind): a key block is one row."""
    runs: list[tuple[str, int, int, str]] = []
    for path, line, kind in sorted(locations, key=lambda item: (item[0], item[2], item[1])):
        if runs and runs[-1][0] == path and runs[-1][3] == kind and runs[-1][2] == line - 1:
            runs[-1] = (path, runs[-1][1], line, kind)
        else:
            runs.append((path, line, line, kind))
    return sorted(runs)


def _emit(summary: IndexSummary, args: argparse.Namespace, by_module: bool) -> None:
    if args.json:
        print(json.dumps(summary_json(summary, by_module), indent=2))
        return
    title = f"codectx · {summary.root.name} · target {summary.target}"
    if by_module:
        rows = []
        for m in summary.by_module:
            ratio = f"{m.text_tokens / m.vision_tokens:.2f}x" if m.vision_tokens else "-"
            rows.append((m.name, str(m.files), f"{m.lines:,}", f"{m.text_tokens:,}", str(m.pages),
                         f"{m.vision_tokens:,}", ratio))  # fmt: skip
        headers = ("module", "files", "lines", "text tokens", "pages", "vision tokens", "ratio")
        print_table(title, [(c, "left" if c == "module" else "right") for c in headers], rows)
    secrets = _secret_locations(summary)
    if by_module and secrets:
        runs = [(path, str(first) if first == last else f"{first}-{last}", kind)
                for path, first, last, kind in _line_runs(secrets)]  # fmt: skip
        print_table("secrets masked in pages and text", [("path", "left"), ("lines", "right"), ("kind", "left")], runs)
    allowed = _secret_locations(summary, allowed=True)
    if by_module and allowed:
        print(f"{plural(len(allowed), 'detected line')} left visible by {ALLOWLIST_NAME}; `codectx secrets` lists them")
    columns = ["files", "modules", "pages", "text tokens", "vision tokens", "ratio", "skipped", "secrets"]
    totals = [
        str(summary.files), str(summary.modules), str(summary.pages), f"{summary.text_tokens:,}",
        f"{summary.vision_tokens:,}", f"{summary.ratio:.2f}x", str(len(summary.skipped)), str(len(secrets)),
    ]  # fmt: skip
    if not by_module:  # what this run of `codectx index` did
        columns += ["rendered", "time"]
        totals += [plural(summary.pages_rendered, "page"), f"{summary.seconds:.2f}s"]
    print_table(None if by_module else title, [(c, "right") for c in columns], [totals])
    if summary.skipped:
        print_table(
            f"not indexed: {plural(len(summary.skipped), 'file')}",
            [("path", "left"), ("reason", "left")],
            [(s.path, s.reason) for s in summary.skipped],
        )
    print(f"index: {summary.store_dir / 'index.sqlite'} (generation {summary.generation})")


def _weights(root: Path) -> dict[str, float]:
    """The file classes' weights: defaults, with the repository's .codectx.toml [weights] over them."""
    from codectx.classes import WeightsError, load_weights

    try:
        return load_weights(root)
    except WeightsError as error:
        raise UsageError(str(error)) from None


def _recency(root: Path) -> dict[str, float]:
    """path -> how lately and how often it changed, from git (codectx.history); empty without git."""
    from codectx.history import read_history, recency_scores

    return recency_scores(read_history(root))


def _changes(args: argparse.Namespace, root: Path) -> Changes:
    """The hunks changed since --since; git's complaints become one line that says what to do."""
    from codectx.history import HistoryError, changes_since

    try:
        return changes_since(root, args.since)
    except HistoryError as error:
        raise UsageError(f"--since {args.since}: {error}") from None


def _open_index(args: argparse.Namespace, root: Path) -> Store:
    store_dir = _store_dir(args) or default_store_dir(root)
    try:
        return Store.open(store_dir, create=False)
    except NoIndexError:
        raise UsageError(f"no index in {store_dir}: run `{_index_command(args, root)}` to build it") from None


def _index_command(args: argparse.Namespace, root: Path) -> str:
    """The `codectx index` command that builds the index this command reads."""
    store = f" --store {shlex.quote(str(_store_dir(args)))}" if getattr(args, "store", None) else ""
    return f"codectx index {shlex.quote(str(root))} --target {args.target}{store}"


def _generation(store: Store, args: argparse.Namespace, root: Path) -> GenerationRow:
    """The current generation of --target; a missing one is the user's to build, never built here."""
    generation = store.current_generation(args.target)
    if generation is None:
        raise UsageError(f"no index for target {args.target} in {store.directory}: run "
                         f"`{_index_command(args, root)}` to build it")  # fmt: skip
    return generation


def run_secrets(args: argparse.Namespace) -> int:
    root = _root(args)
    with _open_index(args, root) as store:
        spans = store.secrets(_generation(store, args, root).id)
    rows = sorted({(path, s.line, s.kind, s.fingerprint, s.allowed) for path, s in spans})
    if args.json:
        listing = [
            {"path": path, "line": line, "kind": kind, "masked": not allowed,
             "allowlist_entry": f"{path} {fingerprint}"}
            for path, line, kind, fingerprint, allowed in rows
        ]  # fmt: skip
        print(json.dumps({"allowlist": ALLOWLIST_NAME, "secrets": listing}, indent=2))
        return 0
    for path, line, kind, fingerprint, allowed in rows:
        state = "allowed" if allowed else "masked"
        print(f"{path}:{line}: {kind} ({state}); allowlist entry: {path} {fingerprint}")
    if rows:
        print(f"codectx: to unmask a false alarm, add its allowlist entry to {root / ALLOWLIST_NAME}", file=sys.stderr)
    return 0


def _module(store: Store, generation: int, value: str, root: Path) -> str:
    """The module --module names: a module name, or a file or folder path (relative to the repository root,
    or to the current folder when it exists there) that resolves to one module."""
    from codectx.modules import AmbiguousFolderError, resolve_module

    names = [m.name for m in store.modules(generation)]
    module_of = {f.path: f.module for f in store.files(generation)}
    candidates = [value]
    on_disk = Path(value).expanduser()
    if on_disk.exists():
        with_root = on_disk.resolve()
        if with_root == root or with_root.is_relative_to(root):
            candidates.append(with_root.relative_to(root).as_posix())
    try:
        for candidate in candidates:
            found = resolve_module(candidate, names, module_of)
            if found is not None:
                return found
    except AmbiguousFolderError as error:
        raise UsageError(str(error)) from None
    close = [n for n in names if value.lower() in n.lower()][:10]
    hint = f"did you mean: {', '.join(close)}?" if close else "`codectx modules` lists every module and its files"
    raise UsageError(f"{value!r} is neither a module nor an indexed file or folder: {hint}")


def run_pages(args: argparse.Namespace) -> int:
    root = _root(args)
    with _open_index(args, root) as store:
        generation = _generation(store, args, root)
        module = _module(store, generation.id, args.module, root)
        out = _output_dir(args.out)
        listing = []
        for page in store.module_pages(generation.id, module):
            number = page.page_no + 1
            name = f"page-{number:03d}.png"
            shutil.copyfile(store.pages.path_for(page.blob), out / name)
            listing.append(
                {
                    "file": name, "page": number, "sha256": hashlib.sha256((out / name).read_bytes()).hexdigest(),
                    "width": page.width, "height": page.height, "vision_tokens": page.vision_tokens,
                    "first": {"path": page.first_path, "line": page.first_line},
                    "last": {"path": page.last_path, "line": page.last_line},
                    "line_map": read_line_map(page.line_map),
                }
            )  # fmt: skip
    manifest = {"module": module, "target": args.target, "generation": generation.id, "pages": listing}
    (out / "pages.json").write_text(json.dumps(manifest, indent=1))
    print(f"{plural(len(listing), 'page')} of {module} written to {out}")
    return 0


def run_modules(args: argparse.Namespace) -> int:
    root = _root(args)
    with _open_index(args, root) as store:
        generation = _generation(store, args, root)
        modules = store.modules(generation.id)
        files: dict[str, list[str]] = {m.name: [] for m in modules}
        for row in store.files(generation.id):
            files.setdefault(row.module, []).append(row.path)
    if args.json:
        listing = [
            {"module": m.name, "directory": m.directory, "files": files[m.name], "lines": m.lines, "pages": m.pages,
             "text_tokens": m.text_tokens, "vision_tokens": m.vision_tokens}
            for m in modules
        ]  # fmt: skip
        print(json.dumps({"target": generation.target, "generation": generation.id, "modules": listing}, indent=2))
        return 0
    for m in modules:
        print(f"{m.name}  ({plural(m.files, 'file')}, {plural(m.lines, 'line')}, {plural(m.pages, 'page')})")
        for path in files[m.name]:
            print(f"  {path}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from codectx.gallery import write_gallery

    root = _root(args)
    with _open_index(args, root) as store:
        _generation(store, args, root)
        out = _output_dir(args.out) if args.out else store.directory / "gallery" / args.target
        index = write_gallery(store, args.target, out.resolve())
    print(index)
    return 0


def run_pack(args: argparse.Namespace) -> int:
    from codectx.pack import build_pack, pack_basis, summary_json, write_pack
    from codectx.pack_floor import smallest_budget

    root = _root(args)
    if args.budget <= 0:
        raise UsageError(f"--budget must be a positive number of tokens, not {args.budget}")
    with _open_index(args, root) as store:
        generation = _generation(store, args, root).id
        basis = pack_basis(store, generation)
        weights = _weights(root)
        recency = _recency(root)
        if args.since is None:
            pack = build_pack(
                store, args.target, args.budget, query=args.query, generation=generation, basis=basis,
                weights=weights, recency=recency,
            )  # fmt: skip
        else:
            from codectx.recent import pack_changes

            changes = _changes(args, root)
            pack = pack_changes(
                store, root, args.target, args.budget, changes, generation, query=args.query, basis=basis,
                weights=weights, recency=recency,
            )  # fmt: skip
        floor = smallest_budget(basis)
        if floor is not None and all(item.representation == "omitted" for item in pack.items):
            raise UsageError(
                f"--budget {args.budget:,} is below the smallest useful budget of this index: {floor.describe()}"
            )
        out = _output_dir(args.out) if args.out else store.directory / "pack" / args.target
        try:
            manifest = write_pack(pack, out)
        except FileExistsError as error:
            raise UsageError(str(error)) from None
    if args.json:
        print(json.dumps(summary_json(pack) | {"manifest": str(manifest)}, indent=2))
        return 0
    rows = [
        (item.module, item.representation.replace("_", " "), f"{item.tokens:,}", f"{item.relevance:.2f}")
        for item in pack.items
        if item.representation != "omitted"
    ]
    title = f"codectx pack · {root.name} · target {pack.target} · budget {pack.budget:,}"
    print_table(title, [("module", "left"), ("as", "left"), ("tokens", "right"), ("relevance", "right")], rows)
    omitted = sum(1 for item in pack.items if item.representation == "omitted")
    print(f"{pack.total_tokens:,} of {pack.budget:,} tokens; {plural(omitted, 'module')} omitted")
    spent = [(kind, tokens) for kind, tokens in pack.by_class.items() if tokens]
    if spent and pack.total_tokens:
        print("by file class: " + ", ".join(f"{kind} {tokens / pack.total_tokens:.1%}" for kind, tokens in spent))
    print(f"pack written to {manifest.parent} (manifest: {manifest})")
    return 0


def _check_limit(args: argparse.Namespace) -> None:
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {args.limit}")


def _text_after_path(args: argparse.Namespace, what: str) -> str:
    """The pattern or question; a lone argument that names a folder is a repository whose `what` is missing."""
    text: str = getattr(args, what)
    folder = Path(text).expanduser()
    here = (_store_dir(args) or default_store_dir(Path.cwd())) / "index.sqlite"
    if args.path is None and folder.is_dir() and (default_store_dir(folder).is_dir() or not here.exists()):
        raise UsageError(
            f"the {what} is missing: `codectx {args.command} {shlex.quote(text)} {what.upper()}` reads the index of "
            f"{text}; to look for the text {text!r} in the current folder, run "
            f"`codectx {args.command} . {shlex.quote(text)}`"
        )
    return text


def run_query(args: argparse.Namespace) -> int:
    from codectx.relevance import rank

    question = _text_after_path(args, "question")
    _check_limit(args)
    root = _root(args)
    with _open_index(args, root) as store:
        generation = _generation(store, args, root).id
        ranking = rank(store, generation, question, weights=_weights(root), recency=_recency(root))
        changed: tuple[FileChange, ...] = ()
        if args.since is not None:
            from codectx.recent import visible_changes

            changed = visible_changes(store, generation, root, _changes(args, root))
    modules, symbols = ranking.modules[: args.limit], ranking.symbols[: args.limit]
    files = ranking.files[: args.limit]
    if args.json:
        data = {
            "query": question, "terms": list(ranking.terms), "target": args.target, "generation": generation,
            "modules": [
                {"module": m.module, "score": m.score, "path": m.path, "line": m.line, "reason": m.reason}
                for m in modules
            ],
            "files": [{"path": f.path, "line": f.line, "score": f.score, "reason": f.reason} for f in files],
            "symbols": [
                {"name": s.name, "kind": s.kind, "path": s.path, "line": s.line, "end_line": s.end_line,
                 "score": round(s.score, 4), "reason": s.reason}
                for s in symbols
            ],
        }  # fmt: skip
        if args.since is not None:
            data["changed"] = [
                {"path": c.path, "status": c.status, "lines": [[h.start, h.end] for h in c.hunks if h.added > 0],
                 "removed": sum(h.removed for h in c.hunks)}
                for c in changed
            ]  # fmt: skip
        print(json.dumps(data, indent=2))
        return 0
    if args.since is not None:
        print(f"changed since {args.since}:" if changed else f"no indexed file changed since {args.since}")
        for c in changed:
            spans = ",".join(f"{h.start}" if h.start == h.end else f"{h.start}-{h.end}" for h in c.hunks if h.added > 0)
            print(f"     {c.path}{':' + spans if spans else ''}  ({c.status})")
    if not ranking.terms:
        print("no searchable words in the question: modules by centrality")
    print("modules:")
    for number, m in enumerate(modules, start=1):
        print(f"{number:>3}. {m.module}  {m.path}:{m.line}  ({m.score:.2f}) {m.reason}")
    if files:
        print("files:")
        for number, f in enumerate(files, start=1):
            print(f"{number:>3}. {f.path}:{f.line}  ({f.score:.2f}) {f.reason}")
    if symbols:
        print("symbols:")
        for s in symbols:
            print(f"     {s.path}:{s.line}  {s.kind} {s.name}: {s.reason}")
    return 0


def run_search(args: argparse.Namespace) -> int:
    from codectx.search import SearchError, search

    pattern = _text_after_path(args, "pattern")
    _check_limit(args)
    root = _root(args)
    with _open_index(args, root) as store:
        generation = _generation(store, args, root).id
        try:
            hits = list(itertools.islice(search(store, generation, pattern, regex=args.regex), args.limit + 1))
        except SearchError as error:
            raise UsageError(str(error)) from None
    more = len(hits) > args.limit
    hits = hits[: args.limit]
    if args.json:
        listing = [{"path": h.path, "line": h.line, "text": h.text, "masked": h.masked} for h in hits]
        print(json.dumps({"pattern": pattern, "regex": args.regex, "hits": listing, "truncated": bool(more)}))
        return 0
    for hit in hits:
        print(f"{hit.path}:{hit.line}:{' ' if hit.masked else ''}{hit.text}")
    if more:
        print(f"codectx: stopped after {plural(args.limit, 'hit')} (--limit)", file=sys.stderr)
    return 0 if hits else 1


def run_serve(args: argparse.Namespace) -> int:
    # Imported here: the MCP SDK is only needed by this command.
    from codectx.mcp_server.output import DEFAULT_MAX_TOKENS, MIN_MAX_TOKENS
    from codectx.mcp_server.processes import default_workers
    from codectx.mcp_server.server import ServerConfig, serve

    root = _root(args)
    max_tokens = DEFAULT_MAX_TOKENS if args.max_tokens is None else args.max_tokens
    if max_tokens < MIN_MAX_TOKENS:
        raise UsageError(f"--max-tokens must be at least {MIN_MAX_TOKENS}")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    workers = default_workers() if args.workers is None else args.workers
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}")
    if args.workers is not None and not args.http:
        raise UsageError("--workers needs --http: over stdio one process answers its one client")
    config = ServerConfig(root, _store_dir(args), args.target, max_tokens)
    serve(config, http=args.http, host=args.host, port=args.port, watch=args.watch, workers=workers)
    return 0


def _optical_encoder(args: argparse.Namespace) -> OpticalEncoder:
    """The --model encoder; torch and transformers are imported only here."""
    if args.target != ENCODER_TARGET:
        raise UsageError(f"the DeepSeek-OCR-2 encoder reads {ENCODER_TARGET} pages only, not {args.target}")
    try:
        return OpticalEncoder.load(args.model, device=args.device)
    except ModelNotFoundError as error:
        raise UsageError(str(error)) from None
    except ImportError as error:
        raise UsageError(f"{error.name} is missing: pip install 'codectx[model]'") from None


def run_encode(args: argparse.Namespace) -> int:
    from codectx.model.embed_index import embed_generation
    from codectx.model.encoder import EncoderError

    root = _root(args)
    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    encoder = _optical_encoder(args)  # first: a missing model fails before any indexing work
    with make_reporter() as reporter:
        summary = index_repository(root, target=args.target, store_dir=_store_dir(args), reporter=reporter)
        with Store.open(summary.store_dir, create=False) as store:
            try:
                encoded = embed_generation(store, args.target, encoder, reporter, batch_size=args.batch_size)
            except EncoderError as error:
                raise UsageError(str(error)) from None
    data = {
        "root": str(root), "target": encoded.target, "generation": encoded.generation, "model": encoded.model,
        "revision": encoded.revision, "device": encoded.device, "dtype": encoded.dtype,
        "hidden_size": encoded.hidden_size, "modules": len(encoded.modules), "pages": encoded.pages,
        "pages_encoded": encoded.encoded, "pages_reused": encoded.reused, "vision_tokens": encoded.tokens,
        "seconds": round(encoded.seconds, 3), "cache_dir": str(encoded.cache_dir),
    }  # fmt: skip
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    columns = ("modules", "pages", "encoded", "reused", "vision tokens", "hidden", "device", "time")
    row = (
        str(len(encoded.modules)), str(encoded.pages), str(encoded.encoded), str(encoded.reused),
        f"{encoded.tokens:,}", str(encoded.hidden_size), f"{encoded.device} {encoded.dtype}", f"{encoded.seconds:.2f}s",
    )  # fmt: skip
    print_table(f"codectx encode · {root.name} · {encoded.model}", [(c, "right") for c in columns], [row])
    print(f"embeddings: {encoded.cache_dir} (revision {encoded.revision})")
    return 0


def run_decode(args: argparse.Namespace) -> int:
    import time

    from PIL import Image, UnidentifiedImageError

    page = Path(args.path).expanduser()
    if not page.is_file():
        raise UsageError(f"{page} is not a file: pass a page image, e.g. one written by `codectx pages`")
    try:
        with Image.open(page) as opened:
            image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise UsageError(f"{page} is not a readable image: {error}") from None
    if args.max_new_tokens < 1:
        raise UsageError("--max-new-tokens must be at least 1")
    encoder = _optical_encoder(args)
    if args.prompt.count(encoder.image_token) != 1:
        raise UsageError(f"--prompt must contain {encoder.image_token} exactly once: where the page goes")
    started = time.perf_counter()
    text = encoder.read(image, prompt=args.prompt, max_new_tokens=args.max_new_tokens)
    if args.json:
        print(json.dumps({"page": str(page), "model": args.model, "seconds": round(time.perf_counter() - started, 3),
                          "text": text}, indent=2))  # fmt: skip
    else:
        print(text)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_watch(args: argparse.Namespace) -> int:
    from codectx.watch import UpdateReport, Watcher

    root = _root(args)
    if args.debounce < 0 or args.poll_interval <= 0:
        raise UsageError("--debounce must be >= 0 and --poll-interval > 0 (seconds)")

    closed = threading.Event()  # the reader of stdout went away: stop quietly

    def report(update: UpdateReport) -> None:
        if closed.is_set():
            return
        try:
            print(json.dumps(update.as_json()) if args.json else update.describe(), flush=True)
        except BrokenPipeError:
            closed.set()
            watcher.stop()

    watcher = Watcher(
        root, args.target, _store_dir(args), debounce=args.debounce, polling=args.poll,
        poll_interval=args.poll_interval, on_update=report,
    )  # fmt: skip
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        watcher.start()
        print(_watch_start_line(watcher, args.json), file=sys.stderr, flush=True)
        watcher.stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
        signal.signal(signal.SIGTERM, previous)
    if closed.is_set():
        raise BrokenPipeError
    if watcher.failure is not None:
        raise watcher.failure
    return 0


def _watch_start_line(watcher: Watcher, as_json: bool) -> str:
    """What is watched, as the updates are printed: a JSON object with --json, else a sentence."""
    facts = watcher.describe_start()
    if as_json:
        return json.dumps(facts)
    if facts["mode"] == "native":
        how = (f"native events, {plural(watcher.watched_directories, 'watch', 'watches')} covering "
               f"{plural(watcher.covered_directories, 'directory')}")  # fmt: skip
    else:
        how = f"polling every {watcher.poll_interval:g}s"
    return f"codectx: watching {watcher.root} ({how}; target {watcher.target}); Ctrl-C stops"


def run_fidelity(args: argparse.Namespace) -> int:
    from codectx.fidelity import FidelityError, measure
    from codectx.profiles import get_profile
    from codectx.render.fonts import FontUnavailableError

    root = _root(args)
    overrides = {k: v for k, v in (("font", args.font), ("font_px", args.font_px), ("line_height", args.line_height),
                                   ("columns", args.columns)) if v is not None}  # fmt: skip
    try:
        profile = get_profile(args.target, **overrides)
        report = measure(root, profile, engine=args.engine, sample=args.sample, seed=args.seed, model=args.model)
    except (FidelityError, FontUnavailableError, ValueError) as error:
        raise UsageError(str(error)) from None
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
        return 0
    title = f"codectx fidelity · {root.name} · {profile.name} · {report.engine} · {profile.layout.key()}"
    columns = ("module", "page", "rows", "chars", "char accuracy", "ceiling", "text tokens")
    rows = [
        (
            page.module, str(page.page_no + 1), str(page.rows), f"{page.score.chars:,}",
            f"{page.score.accuracy:.2%}", f"{page.ceiling.accuracy:.2%}", f"{page.text_tokens:,}",
        )
        for page in report.pages
    ]  # fmt: skip
    print_table(title, [(c, "left" if c == "module" else "right") for c in columns], rows)
    print(
        f"char accuracy {report.char_accuracy:.2%} · ceiling {report.ceiling:.2%} · "
        f"relative {report.relative_accuracy:.2%} · {report.text_tokens:,} text tokens / "
        f"{report.vision_tokens:,} vision tokens = {report.ratio:.2f}x"
    )
    return 0


def run_ask(args: argparse.Namespace) -> int:
    from codectx.hosted import CallUsage, HostedError, ReaderOptions, answer_tasks, make_reader

    if args.max_retries < 0:
        raise UsageError("--max-retries must be 0 or more")
    tasks_dir, out = Path(args.path).expanduser(), Path(args.out).expanduser()
    try:
        reader = make_reader(args.reader, ReaderOptions(max_retries=args.max_retries))

        def progress(call: CallUsage) -> None:
            tokens = f"{call.input_tokens:,} in, {call.output_tokens:,} out"
            print(f"codectx: {', '.join(call.tasks)}: {tokens} ({call.seconds:.1f}s)", file=sys.stderr, flush=True)

        run = answer_tasks(tasks_dir, out, reader, one_call_per_task=not args.per_page, on_call=progress)
    except HostedError as error:
        raise UsageError(str(error)) from None
    except KeyboardInterrupt:
        print(f"codectx: interrupted; the answers so far are in {out / 'answers.json'}", file=sys.stderr)
        return 130
    summary = {
        "reader": run.reader, "answers": len(run.answers), "calls": len(run.calls), "skipped": run.skipped,
        "input_tokens": run.input_tokens, "output_tokens": run.output_tokens,
        "answers_file": str(out / "answers.json"), "usage_file": str(out / "usage.json"),
    }  # fmt: skip
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{len(run.answers)} answers by {run.reader} in {out / 'answers.json'}; {run.input_tokens:,} input and "
              f"{run.output_tokens:,} output tokens over {len(run.calls)} calls (usage.json)")  # fmt: skip
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(
        prog="codectx", description="Render a repository into dense, indexed page images for coding assistants."
    )
    parser.add_argument("--version", action="version", version=f"codectx {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, handler: Handler, help_text: str, json_flag: bool = True,
        path_help: str = "repository root (default: .)", target: str = DEFAULT_TARGET,
    ) -> argparse.ArgumentParser:  # fmt: skip
        sub = commands.add_parser(name, help=help_text, description=help_text)
        # search and query: None tells a path given from one left out (see _text_after_path)
        sub.add_argument("path", nargs="?", default=None if name in PATH_THEN_TEXT else ".", help=path_help)
        sub.add_argument(
            "--target", "-t", default=target, choices=sorted(TARGETS), metavar="T",
            help=f"target model whose vision-token rule sizes the pages (default: {target}; "
            f"one of {', '.join(sorted(TARGETS))})",
        )  # fmt: skip
        sub.add_argument("--store", help="index folder (default: <root>/.codectx)")
        if json_flag:
            sub.add_argument("--json", action="store_true", help="print machine-readable JSON")
        sub.set_defaults(handler=handler)
        return sub

    index_cmd = add("index", run_index, "Index the repository: scan, render pages, publish a new generation.")
    trial = "for a trial of another density, in the --store folder it names (default: the target's measured layout)"
    index_cmd.add_argument("--font-px", type=int, metavar="PX", help=f"font size, {trial}")
    index_cmd.add_argument("--line-height", type=int, metavar="PX", help=f"row height, {trial}")
    index_cmd.add_argument("--columns", type=int, metavar="N", help=f"columns per page, {trial}")
    add("stats", run_stats, "Per-module files, lines, text tokens, pages, vision tokens and ratio.")
    pages = add("pages", run_pages, "Write one module's page PNGs and pages.json (line map).", json_flag=False)
    pages.add_argument(
        "--module", "-m", required=True,
        help="module name as `codectx modules` lists it, or a file or folder path: the module that holds it",
    )  # fmt: skip
    pages.add_argument("--out", "-o", required=True, help="output folder")
    show = add("show", run_show, "Write a static HTML gallery of every module's pages and print its path.",
               json_flag=False)  # fmt: skip
    show.add_argument("--out", "-o", help="output folder (default: <store>/gallery/<target>)")
    pack = add("pack", run_pack, "Fit the repository into a token budget: text, pages, reduced pages or outlines.")
    pack.add_argument("--budget", "-b", type=int, required=True, metavar="N", help="tokens (text plus vision)")
    pack.add_argument("--query", "-q", help="what the pack is for; more relevant modules stay more faithful")
    pack.add_argument(
        "--since", metavar="REV",
        help="git revision: the hunks changed since it (to the working tree) go first as exact text",
    )  # fmt: skip
    pack.add_argument(
        "--out", "-o", help="output folder for manifest.json, pages/ and text/ (default: <store>/pack/<target>)"
    )
    add("modules", run_modules, "List the modules of the index, each with its files.")
    add("secrets", run_secrets, "List every detected secret (masked or allowlisted) with its allowlist entry.")
    query = add("query", run_query, "Rank modules, files and symbols for a question, with path:line and a reason.")
    query.add_argument("question", help="a question or a few words, e.g. 'where are redirects followed'")
    query.add_argument("--limit", type=int, default=10, metavar="N", help="results per list, 1 or more (default: 10)")
    query.add_argument("--since", metavar="REV", help="git revision: list the indexed files changed since it first")
    search_cmd = add("search", run_search, "Exact, grep-like search of the indexed files: path:line:text.")
    search_cmd.add_argument("pattern", help="a fixed string (or a Python regular expression with --regex)")
    search_cmd.add_argument("--regex", "-E", action="store_true", help="treat PATTERN as a regular expression")
    search_cmd.add_argument(
        "--limit", type=int, default=1000, metavar="N", help="at most N hits, N >= 1 (default: 1000)"
    )
    serve_help = "Serve the index to coding assistants over MCP (stdio; streamable HTTP with --http)."
    serve_cmd = add("serve", run_serve, serve_help, json_flag=False)
    serve_cmd.add_argument("--http", action="store_true", help="speak streamable HTTP instead of stdio")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default: 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=8765, help="HTTP port (default: 8765)")
    serve_cmd.add_argument(
        "--workers", type=int, metavar="N",
        help="HTTP worker processes answering requests (default: one per CPU, at most 8)",
    )  # fmt: skip
    serve_cmd.add_argument(
        "--watch", action="store_true", help="keep the index current while serving, as `codectx watch` does"
    )
    serve_cmd.add_argument(
        "--max-tokens", type=int, metavar="N",
        help="size cap of one tool result in tokens (default: 25000); results say how to get the rest",
    )  # fmt: skip

    def add_model_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--model", default=DEFAULT_MODEL, metavar="DIR_OR_ID",
            help=f"DeepSeek-OCR-2 in transformers format: a local folder or a hub id (default: {DEFAULT_MODEL})",
        )  # fmt: skip
        sub.add_argument("--device", help="torch device (default: cuda with bfloat16 if available, else cpu float32)")

    encode = add(
        "encode", run_encode, "Encode every deepseek-ocr2 page into DeepSeek-OCR-2 vision-token embeddings.",
        target=ENCODER_TARGET,
    )  # fmt: skip
    add_model_options(encode)
    encode.add_argument("--batch-size", type=int, default=1, metavar="N", help="pages per forward pass (default: 1)")
    decode = add(
        "decode", run_decode, "Read a page image back to text with DeepSeek-OCR-2.", path_help="page PNG",
        target=ENCODER_TARGET,
    )  # fmt: skip
    add_model_options(decode)
    decode.add_argument(
        "--prompt", default=DEFAULT_PROMPT,
        help=f"prompt with one <image> where the page goes (default: {DEFAULT_PROMPT!r})",
    )  # fmt: skip
    decode.add_argument(
        "--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS, metavar="N",
        help=f"decoding limit (default: {DEFAULT_MAX_NEW_TOKENS})",
    )  # fmt: skip
    fidelity = add("fidelity", run_fidelity, "Render sample pages, read them back with OCR, report character accuracy.")
    fidelity.add_argument("--engine", default="tesseract", choices=FIDELITY_ENGINES, help="OCR judge")
    fidelity.add_argument(
        "--model", metavar="DIR_OR_ID", help="weights for --engine deepseek-ocr2: a DeepSeek-OCR-2 folder or hub id"
    )
    fidelity.add_argument("--sample", type=int, default=4, metavar="N", help="pages to read (default: 4)")
    fidelity.add_argument("--seed", type=int, default=0, help="seed of the page sample (default: 0)")
    fidelity.add_argument("--font", help="override the profile's font (one of the installed monospace fonts)")
    fidelity.add_argument("--font-px", type=int, metavar="PX", help="override the profile's font size")
    fidelity.add_argument("--line-height", type=int, metavar="PX", help="override the profile's line height")
    fidelity.add_argument("--columns", type=int, metavar="N", help="override the profile's columns per page")
    watch = add("watch", run_watch, "Keep the index current: re-index and publish a new generation as files change.")
    watch.add_argument(
        "--debounce", type=float, default=0.1, metavar="SECONDS",
        help="quiet time after the last change before re-indexing (default: 0.1)",
    )  # fmt: skip
    watch.add_argument("--poll", action="store_true", help="poll the file system instead of using native events")
    watch.add_argument(
        "--poll-interval", type=float, default=1.0, metavar="SECONDS", help="seconds between polls (default: 1)"
    )
    ask_help = "Ask a hosted model (Anthropic, OpenAI, Google) each reading task of a folder; write answers.json."
    ask = commands.add_parser("ask", help=ask_help, description=ask_help)
    ask.add_argument("path", metavar="TASKS_DIR", help="folder with tasks.json and its page images")
    ask.add_argument("--reader", "-r", required=True, metavar="PROVIDER[:MODEL]",
                     help="anthropic, openai or google, optionally with a model (defaults: "
                     f"{', '.join(f'{p}:{m}' for p, m in READER_DEFAULTS.items())})")  # fmt: skip
    ask.add_argument("--out", "-o", required=True, metavar="ANSWERS_DIR", help="folder for answers.json and usage.json")
    ask.add_argument("--per-page", action="store_true", help="ask all of a page's questions in one call")
    ask.add_argument("--max-retries", type=int, default=2, metavar="N", help="retries on 429 and 5xx (default: 2)")
    ask.add_argument("--json", action="store_true", help="print machine-readable JSON")
    ask.set_defaults(handler=run_ask)
    add_readbench_command(commands)
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Options may come before, between or after the positionals of every command.

    argparse alone hands the positionals out in the order it meets them, so in `search ROOT --regex PATTERN`
    an optional ROOT followed by an option would take the place of PATTERN; commands without subcommands of
    their own are parsed with all their options first, then their positionals.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    position = next((i for i, word in enumerate(words) if not word.startswith("-")), None)
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = subparsers.choices.get(words[position]) if position is not None else None
    if position != 0 or command is None or any(isinstance(a, argparse._SubParsersAction) for a in command._actions):
        return parser.parse_args(words)
    args: argparse.Namespace = command.parse_intermixed_args(words[1:])
    args.command = words[0]
    return args


def _silence_stdout() -> None:
    """Point stdout at /dev/null: the reader has gone, and the flush at exit must not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (tests capture output)


def run() -> NoReturn:
    """The `codectx` command. Python collects garbage over every object once more at exit, which costs
    a short command up to a tenth of its time; frozen objects are skipped, and are freed all the same."""
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # `codectx stats | head -1`: the reader has what it wanted; that is no error.
        _silence_stdout()
        return 0


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parse_arguments(parser, argv)
    try:
        handler: Handler = args.handler
        return handler(args)
    except (UsageError, NoIndexError, StoreError, UnknownTargetError, NotADirectoryError) as error:
        print(f"codectx: error: {error}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.OperationalError) as error:
        if isinstance(error, BrokenPipeError) or not is_disk_full(error):
            raise
        print(f"codectx: error: the disk is full ({error}); the last published index is intact", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("codectx: interrupted; the last published index is intact", file=sys.stderr)
        return 130
