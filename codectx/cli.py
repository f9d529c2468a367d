"""Command line: `codectx index | stats | pages ...`."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from codectx import __version__
from codectx.indexer import IndexSummary, index_repository
from codectx.model.targets import DEFAULT_TARGET, TARGETS, UnknownTargetError
from codectx.progress import make_reporter
from codectx.store import NoIndexError, Store, StoreError

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


def _root(args: argparse.Namespace) -> Path:
    root = Path(args.path).expanduser()
    if not root.exists():
        raise UsageError(f"{root} does not exist")
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory: pass the repository's root folder")
    return root.resolve()


def _store_dir(args: argparse.Namespace, root: Path) -> Path | None:
    return Path(args.store).expanduser().resolve() if getattr(args, "store", None) else None


def run_index(args: argparse.Namespace) -> int:
    root = _root(args)
    with make_reporter() as reporter:
        summary = index_repository(root, target=args.target, store_dir=_store_dir(args, root), reporter=reporter)
    _emit(summary, args, by_module=False)
    return 0


def run_stats(args: argparse.Namespace) -> int:
    root = _root(args)
    with make_reporter() as reporter:
        summary = index_repository(root, target=args.target, store_dir=_store_dir(args, root), reporter=reporter)
    _emit(summary, args, by_module=True)
    return 0


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


def _emit(summary: IndexSummary, args: argparse.Namespace, by_module: bool) -> None:
    if args.json:
        print(json.dumps(summary_json(summary, by_module), indent=2))
        return
    console = Console()
    if by_module:
        table = Table(title=f"codectx · {summary.root.name} · target {summary.target}")
        for column in ("module", "files", "lines", "text tokens", "pages", "vision tokens", "ratio"):
            table.add_column(column, justify="left" if column == "module" else "right")
        for m in summary.by_module:
            ratio = f"{m.text_tokens / m.vision_tokens:.2f}x" if m.vision_tokens else "-"
            table.add_row(
                m.name, str(m.files), f"{m.lines:,}", f"{m.text_tokens:,}", str(m.pages), f"{m.vision_tokens:,}", ratio
            )
        console.print(table)
    totals = Table(title=None if by_module else f"codectx · {summary.root.name} · target {summary.target}")
    for column in ("files", "modules", "pages", "text tokens", "vision tokens", "ratio", "skipped", "rendered", "time"):
        totals.add_column(column, justify="right")
    totals.add_row(
        str(summary.files), str(summary.modules), str(summary.pages), f"{summary.text_tokens:,}",
        f"{summary.vision_tokens:,}", f"{summary.ratio:.2f}x", str(len(summary.skipped)),
        f"{summary.pages_rendered} pages", f"{summary.seconds:.2f}s",
    )  # fmt: skip
    console.print(totals)
    console.print(f"index: {summary.store_dir / 'index.sqlite'} (generation {summary.generation})")


def run_pages(args: argparse.Namespace) -> int:
    root = _root(args)
    store_dir = _store_dir(args, root) or root / ".codectx"
    try:
        store = Store.open(store_dir, create=False)
    except NoIndexError:
        raise UsageError(f"no index in {store_dir}: run `codectx index {root}` first") from None
    with store:
        generation = store.require_generation(args.target)
        names = [m.name for m in store.modules(generation.id)]
        if args.module not in names:
            close = [n for n in names if args.module.lower() in n.lower()][:10]
            hint = f"; did you mean: {', '.join(close)}" if close else "; `codectx stats` lists modules"
            raise UsageError(f"unknown module {args.module!r}{hint}")
        out = Path(args.out).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        listing = []
        for page in store.module_pages(generation.id, args.module):
            name = f"page-{page.page_no:03d}.png"
            shutil.copyfile(store.pages.path_for(page.blob), out / name)
            listing.append(
                {
                    "file": name, "page": page.page_no, "sha256": page.blob,
                    "width": page.width, "height": page.height, "vision_tokens": page.vision_tokens,
                    "first": {"path": page.first_path, "line": page.first_line},
                    "last": {"path": page.last_path, "line": page.last_line},
                    "line_map": json.loads(page.line_map),
                }
            )  # fmt: skip
    manifest = {"module": args.module, "target": args.target, "generation": generation.id, "pages": listing}
    (out / "pages.json").write_text(json.dumps(manifest, indent=1))
    print(f"{len(listing)} pages of {args.module} written to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codectx", description="Render a repository into dense, indexed page images for coding assistants."
    )
    parser.add_argument("--version", action="version", version=f"codectx {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str, json_flag: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("path", nargs="?", default=".", help="repository root (default: .)")
        sub.add_argument(
            "--target", "-t", default=DEFAULT_TARGET, choices=sorted(TARGETS), metavar="T",
            help=f"target model whose vision-token rule sizes the pages (default: {DEFAULT_TARGET}; "
            f"one of {', '.join(sorted(TARGETS))})",
        )  # fmt: skip
        sub.add_argument("--store", help="index folder (default: <root>/.codectx)")
        if json_flag:
            sub.add_argument("--json", action="store_true", help="print machine-readable JSON")
        sub.set_defaults(handler=handler)
        return sub

    add("index", run_index, "Index the repository: scan, render pages, publish a new generation.")
    add("stats", run_stats, "Per-module files, lines, text tokens, pages, vision tokens and ratio.")
    pages = add("pages", run_pages, "Write one module's page PNGs and pages.json (line map).", json_flag=False)
    pages.add_argument("--module", "-m", required=True, help="module name, as `codectx stats` lists it")
    pages.add_argument("--out", "-o", required=True, help="output folder")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler: Handler = args.handler
        return handler(args)
    except (UsageError, NoIndexError, StoreError, UnknownTargetError, NotADirectoryError) as error:
        print(f"codectx: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codectx: interrupted; the last published index is intact", file=sys.stderr)
        return 130
