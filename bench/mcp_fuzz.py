"""Property-based fuzzing of every MCP tool and of the page resource, through the SDK's in-process client.

    .venv/bin/python bench/mcp_fuzz.py [--cases 10000] [--seed 0]

The cases, the repository they run against (the stdlib json package with an ignored folder and
symlinks that point inside and outside the root) and the checks are tests/mcp_fuzzing.py's, which
the test suite runs with a few hundred cases. Allowed outcomes: a result, a tool error (isError),
or for a resource URI the protocol's "not found" error. A violation is anything else: an exception,
a crash inside the server, a file opened outside the root (audit hook on `open`), or an ignored,
symlinked or outside file served. Exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mcp_fuzzing import FuzzSession, fuzz_repository


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="cases in all, shared out evenly (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="codectx-fuzz-") as scratch:
        root = fuzz_repository(Path(scratch))
        started = time.perf_counter()
        with FuzzSession(root) as session:
            tallies = session.fuzz(args.cases, args.seed)
        wall = time.perf_counter() - started

    print(f"\nMCP fuzzing, seed {args.seed}: outcomes per tool (in-process client, result cap 4,000 tokens)")
    print(f"{'tool':<16}{'cases':>8}{'ok':>8}{'tool error':>12}{'violations':>12}{'seconds':>10}{'ms/case':>9}")
    for kind, tally in [*tallies.items(), ("all", None)]:
        rows = [tally] if tally else list(tallies.values())
        cases, seconds = sum(t.cases for t in rows), sum(t.seconds for t in rows)
        print(
            f"{kind:<16}{cases:>8}{sum(t.ok for t in rows):>8}{sum(t.errors for t in rows):>12}"
            f"{sum(len(t.violations) for t in rows):>12}{seconds:>10.1f}{1000 * seconds / max(cases, 1):>9.1f}"
        )
    print(f"wall time {wall:.1f} s (drawing included)")
    violations = [v for tally in tallies.values() for v in tally.violations]
    for violation in violations[:20]:
        print("VIOLATION", violation)
    print("FAIL" if violations else "OK: no violation")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
