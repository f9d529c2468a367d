"""The standard-library sample used by the benchmarks: every .py file of the running Python's
standard library, without test suites or site-packages, copied into a scratch repository."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

EXCLUDED_DIRS = {"test", "tests", "idle_test", "site-packages", "__pycache__"}
DEFAULT_LOCATION = Path("/tmp/codectx-stdlib-sample")


def sample_files(stdlib: Path) -> list[Path]:
    files = []
    for path in sorted(stdlib.rglob("*.py")):
        rel = path.relative_to(stdlib)
        if EXCLUDED_DIRS & set(rel.parts[:-1]) or rel.name.startswith("test_") or rel.parts[0].startswith("config-"):
            continue
        files.append(rel)
    return files


def build_sample(location: Path = DEFAULT_LOCATION) -> Path:
    """Create (once) and return the sample repository."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    marker = location / ".sample-complete"
    if marker.exists():
        return location
    if location.exists():
        shutil.rmtree(location)
    for rel in sample_files(stdlib):
        target = location / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stdlib / rel, target)
    marker.write_text("")
    (location / ".codectxignore").write_text(".sample-complete\n")
    return location


if __name__ == "__main__":
    print(build_sample())
