from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from codectx.modules import SPLIT_ABOVE_CHARS, group_modules
from codectx.scan import SourceFile, scan
from codectx.tokens import count_tokens


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


def test_split_parts_are_even_and_never_over_the_limit():
    # 37,000 characters under a 10,000 limit: four even parts, not four full ones and a 1,000-character tail.
    files = [source(f"d/f{i:02d}.py", 3000) for i in range(12)] + [source("d/zz.py", 1000)]
    parts = group_modules(files, merge_below=1, split_above=10_000)
    assert [m.name for m in parts] == ["d[f00.py..]", "d[f03.py..]", "d[f06.py..]", "d[f09.py..]"]
    assert [m.chars for m in parts] == [9000, 9000, 9000, 10_000]
    lone = group_modules([source("d/huge.py", 25_000), source("d/small.py", 2000)], merge_below=1, split_above=10_000)
    assert [(m.name, m.chars) for m in lone] == [("d[huge.py..]", 25_000), ("d[small.py..]", 2000)]


def test_default_parts_fit_a_32k_window_as_text(stdlib_copy: Callable[..., Path]):
    # The point of the split size: an assistant with a 32k-token budget can load any multi-file part whole.
    modules = group_modules(scan(stdlib_copy("email", "json", "http")).files)
    split = [m for m in modules if "[" in m.name]
    assert split, "email is larger than the split size and must be split"
    for module in modules:
        assert module.chars <= SPLIT_ABOVE_CHARS or len(module.files) == 1
        if len(module.files) > 1:
            assert count_tokens("".join(f.text for f in module.files)) < 32_000, module.name
