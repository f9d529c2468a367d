"""Secret detection on the standard-library sample: false positives, and the gate's speed-up.

    .venv/bin/python bench/secrets_scan.py [--runs 3] [--baseline-every 10] [--sample /tmp/codectx-stdlib-sample]

The sample holds no real credential, so every location codectx masks there is a false positive:
all are listed. Speed: codectx.secrets.find_secrets (detect-secrets' plugins and filters on the
lines a cheap gate picks, plus codectx's own rules) on the whole sample, and on a subset (every
--baseline-every-th file, plus the files with findings) beside the baseline measured in the same
run: detect-secrets' own line-by-line scan of every line with the same plugins. The subset also
checks that every line the baseline flags is masked. Medians over --runs.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from detect_secrets.core.scan import _process_line_based_plugins
from detect_secrets.settings import default_settings
from stdlib_sample import DEFAULT_LOCATION, build_sample
from timing import median_seconds

from codectx.secrets import EXCLUDED_PLUGINS, PRIVATE_KEY, find_secrets

Texts = list[tuple[str, str]]


def codectx_lines(texts: Texts) -> dict[str, set[int]]:
    return {path: {s.line for s in find_secrets(path, text)} for path, text in texts}


def baseline_lines(texts: Texts) -> dict[str, set[int]]:
    """detect-secrets' own scan: every plugin on every line (public IPs and key headers left out, as codectx does)."""
    flagged: dict[str, set[int]] = {}
    with default_settings() as settings:
        settings.disable_plugins(*EXCLUDED_PLUGINS)
        for path, text in texts:
            found = _process_line_based_plugins(list(enumerate(text.split("\n"), start=1)), path)
            flagged[path] = {s.line_number for s in found if s.type != PRIVATE_KEY}
    return flagged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-every", type=int, default=10)
    parser.add_argument("--sample", type=Path, default=DEFAULT_LOCATION)
    args = parser.parse_args()
    root = build_sample(args.sample)
    texts = [(str(p.relative_to(root)), p.read_text(encoding="utf-8")) for p in sorted(root.rglob("*.py"))]
    findings = [(path, span.line, span.kind) for path, text in texts for span in find_secrets(path, text)]
    locations = sorted(set(findings))
    flagged_files = {path for path, _, _ in locations}
    subset = [(p, t) for i, (p, t) in enumerate(texts) if i % args.baseline_every == 0 or p in flagged_files]
    print(f"false positives on the standard-library sample ({len(texts)} files, "
          f"{sum(len(t) for _, t in texts) / 1e6:.1f} MB): {len(locations)} masked locations "
          f"in {len({p for p, _, _ in locations})} files")  # fmt: skip
    for kind, count in sorted(Counter(kind for _, _, kind in locations).items()):
        print(f"  {count:3d}  {kind}")
    for path, line, kind in locations:
        print(f"        {path}:{line}  {kind}")

    ours, theirs = codectx_lines(subset), baseline_lines(subset)
    missed = {path: lines - ours[path] for path, lines in theirs.items() if lines - ours[path]}
    print(f"\nsubset of {len(subset)} files: detect-secrets flags {sum(map(len, theirs.values()))} lines, "
          f"codectx masks {sum(map(len, ours.values()))}; flagged but not masked: {missed or 'none'}")  # fmt: skip

    whole = median_seconds(lambda: codectx_lines(texts), args.runs)
    gated = median_seconds(lambda: codectx_lines(subset), args.runs)
    full = median_seconds(lambda: baseline_lines(subset), args.runs)
    subset_mb = sum(len(t) for _, t in subset) / 1e6
    print(f"\nmedian of {args.runs} runs          seconds     MB/s")
    print(f"codectx, whole sample        {whole:8.2f}  {sum(len(t) for _, t in texts) / 1e6 / whole:7.2f}")
    print(f"codectx, subset              {gated:8.2f}  {subset_mb / gated:7.2f}")
    print(f"detect-secrets, subset       {full:8.2f}  {subset_mb / full:7.2f}   (baseline; {full / gated:.1f}x slower)")


if __name__ == "__main__":
    main()
