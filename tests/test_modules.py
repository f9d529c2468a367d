from __future__ import annotations

from codectx.modules import group_modules
from codectx.scan import SourceFile


def source(path: str, chars: int) -> SourceFile:
    return SourceFile(path, "python", path, "x" * chars, chars)


def test_directory_modules_merge_tiny_and_split_large():
    files = [
        source("pkg/a.py", 5000),
        source("pkg/tiny/b.py", 100),
        source("pkg/tiny/deeper/c.py", 50),
        source("big/a.py", 3000),
        *[source(f"big/f{i:02d}.py", 500) for i in range(10)],
        source("top.py", 10),
    ]
    modules = {m.name: [f.path for f in m.files] for m in group_modules(files, merge_below=1000, split_above=5200)}
    assert modules["pkg"] == ["pkg/a.py", "pkg/tiny/b.py", "pkg/tiny/deeper/c.py"]
    big = [name for name in modules if name.startswith("big[")]
    assert big and all(name.endswith("..]") for name in big)
    assert sum(len(modules[n]) for n in big) == 11
    assert modules["."] == ["top.py"]


def test_names_are_stable_when_content_changes():
    before = [source("a/x.py", 5000), source("a/y.py", 5000), source("b/z.py", 5000)]
    after = [source("a/x.py", 5200), source("a/y.py", 4800), source("b/z.py", 5100)]
    assert [m.name for m in group_modules(before)] == [m.name for m in group_modules(after)]
