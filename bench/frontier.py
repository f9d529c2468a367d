"""Legibility against density on the standard-library sample.

    python bench/frontier.py fonts  [--sample 2] [--sizes 6,7,8,9,10]      # docs/FONTS.md
    python bench/frontier.py layout                                         # docs/FRONTIER.md, layout choices
    python bench/frontier.py sweep  [--targets ...] [--sample 3]            # docs/FRONTIER.md, the frontier

`fonts` reads every candidate font at each size with the fidelity judge. `layout` measures what each
layout choice (line numbers, headers, blank-run collapsing, wrapping width) costs in text tokens per
page. `sweep` lays out the whole sample for every (font px, line height, columns) on each target's
page sizes, which gives the exact whole-sample ratio, then reads a seeded sample of pages of each
(font px, line height) with the judge. Accuracy is a property of the glyphs (font, px, line height),
not of the page they sit on, so each size is read once on one geometry and shared by all targets.
Runs are seeded and deterministic; `--workers` spreads the OCR over processes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stdlib_sample import build_sample

from codectx.fidelity import DEFAULT_SEED, FidelityReport, Judge, code_rows
from codectx.model.targets import get_target
from codectx.modules import group_modules
from codectx.profiles import Profile, get_profile
from codectx.render.fonts import FONT_PACKAGES, cell_metrics
from codectx.render.layout import FileLines, LayoutSettings, grid_for, layout_pages
from codectx.scan import scan
from codectx.tokens import count_tokens_batch

THRESHOLD = 0.97
GOALS = {"deepseek-ocr2": 10.0, "gpt-4o": 4.0, "gemini": 4.0, "claude": 2.0, "qwen2.5-vl": 2.0}
# Native page sizes worth trying per target (none is resized by its target; see model/targets.py).
PAGE_SIZES: dict[str, tuple[tuple[int, int], ...]] = {
    "claude": ((1092, 1092), (1568, 784)),
    "claude-hires": ((1904, 1904),),
    "gpt-4o": ((768, 2048), (2048, 512), (512, 2048), (2048, 768)),
    "gpt-4.1-mini": ((1536, 1024),),
    "gemini": ((768, 768), (1536, 768)),
    "qwen2.5-vl": ((1092, 1092), (1568, 784)),
    "deepseek-ocr": ((1024, 1024),),
    "deepseek-ocr2": ((1024, 1024),),
}
READ_PAGE = (1024, 1024)  # the geometry on which each glyph size is read


# --- whole-sample ratio (layout only, no OCR) ----------------------------------------------------


@lru_cache(maxsize=1)
def _sample_modules() -> tuple[tuple[tuple[FileLines, ...], ...], int]:
    """Every module's files as plain lines (layout depends on text only), and the sample's token count."""
    files = scan(build_sample()).files
    modules = tuple(
        tuple(FileLines(f.path, [(line, bytes(len(line))) for line in _lines(f.text)]) for f in m.files)
        for m in group_modules(files)
    )
    return modules, sum(count_tokens_batch([f.text for f in files]))


def _lines(text: str) -> list[str]:
    return (text[:-1] if text.endswith("\n") else text).split("\n")


def whole_sample_pages(settings: LayoutSettings) -> int:
    modules, _tokens = _sample_modules()
    return sum(len(layout_pages(list(files), settings)) for files in modules)


# --- OCR ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    settings: LayoutSettings
    char_accuracy: float
    ceiling: float
    relative: float
    median_page_relative: float
    chars: int
    sampled_ratio: float
    seconds: float


@lru_cache(maxsize=2)
def _judge(engine: str) -> Judge:
    """One judge per engine and process, so reference rows read for one setting are not read again."""
    return Judge(engine, Path(tempfile.mkdtemp(prefix="codectx-frontier-")))


def read_layout(job: tuple[Profile, str, int, int]) -> Reading:
    profile, engine, sample, seed = job
    started = time.perf_counter()
    report: FidelityReport = _judge(engine).measure(build_sample(), profile, sample, seed)
    per_page = [p.score.accuracy / p.ceiling.accuracy for p in report.pages if p.ceiling.accuracy]
    return Reading(
        profile.layout, report.char_accuracy, report.ceiling, report.relative_accuracy,
        statistics.median(per_page), report.score.chars, report.ratio, time.perf_counter() - started,
    )  # fmt: skip


def read_all(jobs: Sequence[tuple[Profile, str, int, int]], workers: int) -> list[Reading]:
    readings = []
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        for reading in pool.map(read_layout, jobs):
            s = reading.settings
            print(f"  read {s.font} {s.font_px}/{s.line_height}: relative {reading.relative:.3f} "
                  f"({reading.seconds:.0f}s)", file=sys.stderr, flush=True)  # fmt: skip
            readings.append(reading)
    return readings


def _size_profile(font: str, font_px: int, line_height: int, columns: int = 2, blank_rows: int = 1) -> Profile:
    """A profile on READ_PAGE (DeepSeek-OCR-2's page; any target would do: only the glyphs matter)."""
    return get_profile(
        "deepseek-ocr2", font=font, font_px=font_px, line_height=line_height, columns=columns, blank_rows=blank_rows
    )


def _print(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
    sys.stdout.flush()


# --- commands ------------------------------------------------------------------------------------


def cmd_fonts(args: argparse.Namespace) -> None:
    if args.settings:  # font:px/line height, e.g. to compare fonts in cells of one size
        chosen = [(f, int(px), int(lh)) for f, size in (s.rsplit(":", 1) for s in args.settings.split(","))
                  for px, lh in [size.split("/")]]  # fmt: skip
    else:
        fonts = args.fonts.split(",") if args.fonts else list(FONT_PACKAGES)
        chosen = [(font, int(px), int(px) + args.leading) for font in fonts for px in args.sizes.split(",")]
    jobs = [(_size_profile(font, px, lh, columns=2), args.engine, args.sample, args.seed) for font, px, lh in chosen]
    readings = read_all(jobs, args.workers)
    rows = []
    for r in readings:
        s = r.settings
        cell = cell_metrics(s.font, s.font_px, s.line_height)
        rows.append([
            s.font, str(s.font_px), f"{cell.width}x{cell.height}", f"{cell.width * cell.height}",
            f"{r.char_accuracy:.3f}", f"{r.ceiling:.3f}", f"{r.relative:.3f}", f"{r.median_page_relative:.3f}",
            str(r.chars),
        ])  # fmt: skip
    spacing = "" if args.settings else f", line height = px + {args.leading}"
    print(f"\nfonts: {args.engine}, {args.sample} pages per row (seed {args.seed}){spacing}")
    _print(rows, ["font", "px", "cell", "px²/char", "char acc", "ceiling", "relative", "median page", "chars"])


def _row_kinds(settings: LayoutSettings) -> Counter[str]:
    """What the whole sample's rows carry: code, wrapped continuations, blank rows, headers, marks."""
    modules, _tokens = _sample_modules()
    kinds: Counter[str] = Counter()
    for files in modules:
        line_counts = {f.path: len(f.lines) for f in files}
        for page in layout_pages(list(files), settings):
            code = [s for s in page.spans if s.kind == "code"]
            kinds.update(s.kind for s in page.spans if s.kind != "code")
            kinds["wrapped part"] += sum(1 for s in code if s.part)
            lines = sum(1 for r in code_rows(page, settings, line_counts) if r.part == 0)
            kinds["code line"] += lines
            kinds["blank line"] += sum(1 for s in code if not s.part) - lines
    return kinds


def cmd_layout(args: argparse.Namespace) -> None:
    """Text tokens per page for each layout choice, on one target's default profile."""
    base = get_profile(args.target).layout
    _modules, tokens = _sample_modules()
    variants = {
        "as profiled": base,
        "no line numbers": replace(base, line_numbers=False),
        "blank runs dropped": replace(base, blank_rows=0),
        "one row per blank run": replace(base, blank_rows=1),
        "blank runs kept whole": replace(base, blank_rows=1000),
        "one column fewer": replace(base, columns=base.columns - 1) if base.columns > 1 else None,
        "one column more": replace(base, columns=base.columns + 1),
    }
    baseline = whole_sample_pages(base)
    rows = []
    for name, settings in variants.items():
        if settings is None:
            continue
        try:
            pages = whole_sample_pages(settings)
        except ValueError as error:  # too narrow a column
            rows.append([name, settings.key(), "-", "-", str(error)])
            continue
        rows.append([name, settings.key(), str(pages), f"{tokens / pages:,.0f}", f"{baseline / pages - 1:+.1%}"])
    print(f"\nlayout choices on {args.target}: whole sample, {tokens:,} cl100k tokens")
    _print(rows, ["variant", "layout", "pages", "text tokens / page", "vs profiled"])
    kinds = _row_kinds(base)
    total = sum(kinds.values())
    print(f"\nrows of the profiled layout ({total:,})")
    _print([[k, f"{v:,}", f"{v / total:.1%}"] for k, v in kinds.most_common()], ["row", "count", "share"])


def _column_options(settings: LayoutSettings) -> list[int]:
    options = []
    for columns in range(1, 9):
        try:
            grid = grid_for(replace(settings, columns=columns))
        except ValueError:
            break
        if 48 <= grid.column_chars <= 110 or (columns == 1 and grid.column_chars > 110):
            options.append(columns)  # narrower columns wrap too often; wider ones hold mostly blanks
    return options


def _candidates(target_name: str, sizes: Sequence[tuple[int, int]], font: str, blank_rows: int) -> list[LayoutSettings]:
    target = get_target(target_name)
    found = []
    for width, height in PAGE_SIZES.get(target_name, ((target.page_width, target.page_height),)):
        if target.resizes(width, height):
            raise SystemExit(f"{width}x{height} would be resized by {target_name}")
        for px, lh in sizes:
            base = LayoutSettings(
                width, height, font_px=px, line_height=lh, columns=1, font=font, blank_rows=blank_rows
            )
            found.extend(replace(base, columns=columns) for columns in _column_options(base))
    return found


def _pages_all(settings: Sequence[LayoutSettings], workers: int) -> dict[LayoutSettings, int]:
    unique = list(dict.fromkeys(settings))
    if workers <= 1:
        return {s: whole_sample_pages(s) for s in unique}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return dict(zip(unique, pool.map(whole_sample_pages, unique), strict=True))


def cmd_sweep(args: argparse.Namespace) -> None:
    sizes = [(int(px), int(lh)) for px, lh in (s.split("/") for s in args.sizes.split(","))]
    targets = args.targets.split(",")
    _modules, tokens = _sample_modules()
    candidates = {t: _candidates(t, sizes, args.font, args.blank_rows) for t in targets}
    started = time.perf_counter()
    pages = _pages_all([s for found in candidates.values() for s in found], args.workers)
    layout_seconds = time.perf_counter() - started
    readings: dict[tuple[int, int], Reading] = {}
    if args.sample:
        jobs = [
            (_size_profile(args.font, px, lh, 2, args.blank_rows), args.engine, args.sample, args.seed)
            for px, lh in sizes
        ]
        readings = {(r.settings.font_px, r.settings.line_height): r for r in read_all(jobs, args.workers)}
    ocr_seconds = time.perf_counter() - started - layout_seconds
    for target_name in targets:
        target = get_target(target_name)
        rows = []
        for settings in candidates[target_name]:
            cost = target.cost(settings.page_width, settings.page_height)
            ratio = tokens / (pages[settings] * cost)
            reading = readings.get((settings.font_px, settings.line_height))
            measured = (
                [f"{reading.char_accuracy:.3f}", f"{reading.ceiling:.3f}", f"{reading.relative:.3f}",
                 f"{reading.median_page_relative:.3f}", "yes" if reading.relative >= THRESHOLD else "no"]
                if reading else ["-"] * 5
            )  # fmt: skip
            rows.append([
                f"{settings.page_width}x{settings.page_height}", str(cost), str(settings.font_px),
                str(settings.line_height), str(settings.columns), str(grid_for(settings).column_chars),
                str(pages[settings]), f"{ratio:.2f}", *measured,
                "default" if settings == get_profile(target_name).layout else "",
            ])  # fmt: skip
        goal = GOALS.get(target_name)
        print(f"\n{target_name}: {args.font}, blank rows {args.blank_rows}, whole sample ({tokens:,} cl100k tokens)"
              + (f", goal >= {goal:g}x at >= {THRESHOLD:.0%}" if goal else ""))  # fmt: skip
        _print(rows, ["page", "tokens", "px", "line", "cols", "chars/col", "pages", "ratio", "char acc", "ceiling",
                      "relative", "median page", ">=97%", "profile"])  # fmt: skip
    print(f"\n{args.engine}: {args.sample} pages per size (seed {args.seed}) read on {READ_PAGE[0]}x{READ_PAGE[1]}; "
          f"layout {layout_seconds:.0f}s, OCR {ocr_seconds:.0f}s, {args.workers} workers")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--engine", default="tesseract", choices=("tesseract", "rapidocr"))
    common.add_argument("--sample", type=int, default=3, help="pages read per setting")
    common.add_argument("--seed", type=int, default=DEFAULT_SEED)
    common.add_argument("--workers", type=int, default=2)
    fonts = commands.add_parser("fonts", parents=[common])
    fonts.add_argument("--fonts", default="", help="comma-separated (default: all of FONT_PACKAGES)")
    fonts.add_argument("--sizes", default="6,7,8,9,10")
    fonts.add_argument("--leading", type=int, default=1, help="line height = font px + this")
    fonts.add_argument("--settings", default="", help="font[:weight]:px/line,... instead of --fonts x --sizes")
    layout = commands.add_parser("layout", parents=[common])
    layout.add_argument("--target", default="claude")
    sweep = commands.add_parser("sweep", parents=[common])
    sweep.add_argument("--font", default="jetbrains-mono")
    sweep.add_argument("--sizes", default="6/7,7/8,8/8,8/9,9/10", help="font px/line height pairs")
    sweep.add_argument("--targets", default="deepseek-ocr2,gpt-4o,gemini,claude,qwen2.5-vl")
    sweep.add_argument("--blank-rows", type=int, default=0, help="rows kept per run of blank lines")
    args = parser.parse_args(argv)
    {"fonts": cmd_fonts, "layout": cmd_layout, "sweep": cmd_sweep}[args.command](args)


if __name__ == "__main__":
    main()
