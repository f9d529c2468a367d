"""Modules: the unit an assistant loads.

Rule (documented in README):
1. A module is a directory's own source files (not its subdirectories).
2. A directory whose files total fewer than MERGE_BELOW_CHARS characters merges into the nearest
   ancestor directory that has a module, so scattered tiny folders do not become tiny modules.
3. A module larger than SPLIT_ABOVE_CHARS is split, at file boundaries and in path order, into
   parts of similar size, none over that size unless it is one file; each part is named
   `<dir>[<first file>..]`, so the name stays stable while edits do not move files across a boundary.
   SPLIT_ABOVE_CHARS keeps a part loadable: ~80k characters of code are ~20-25k cl100k tokens as
   text and fewer as pages, so a 32k-token window holds a whole part.
The root directory's module is named "." .
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from codectx.scan import SourceFile

MERGE_BELOW_CHARS = 4_000
SPLIT_ABOVE_CHARS = 80_000


@dataclass(frozen=True, slots=True)
class Module:
    name: str
    directory: str
    files: tuple[SourceFile, ...]

    @property
    def chars(self) -> int:
        return sum(len(f.text) for f in self.files)


def _parent(directory: str) -> str:
    return directory.rpartition("/")[0]


def _greedy(files: Sequence[SourceFile], limit: float) -> list[list[SourceFile]]:
    """Files in order, cut before the file that would take a part over `limit`."""
    chunks: list[list[SourceFile]] = [[]]
    size = 0
    for file in files:
        if chunks[-1] and size + len(file.text) > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(file)
        size += len(file.text)
    return chunks


def _split(files: Sequence[SourceFile], limit: int) -> list[list[SourceFile]]:
    """Files in order, in as few parts of even size as `limit` allows: each file joins the part its middle
    character falls in, so no tiny tail is left over. A part over `limit` (large files) is then cut greedily."""
    total = sum(len(f.text) for f in files)
    count = -(-total // limit) or 1
    parts: list[list[SourceFile]] = [[] for _ in range(count)]
    offset = 0
    for file in files:
        parts[min(int((offset + len(file.text) / 2) * count // total) if total else 0, count - 1)].append(file)
        offset += len(file.text)
    return [chunk for part in parts if part for chunk in _greedy(part, limit)]


def group_modules(
    files: Sequence[SourceFile],
    merge_below: int = MERGE_BELOW_CHARS,
    split_above: int = SPLIT_ABOVE_CHARS,
) -> list[Module]:
    by_dir: dict[str, list[SourceFile]] = defaultdict(list)
    for file in files:
        by_dir[file.path.rpartition("/")[0]].append(file)

    # Merge tiny directories upwards, deepest first, so chains of tiny folders collapse together.
    for directory in sorted(by_dir, key=lambda d: (-d.count("/"), d)):
        if not directory or sum(len(f.text) for f in by_dir[directory]) >= merge_below:
            continue
        target = _parent(directory)
        while target and target not in by_dir:
            target = _parent(target)
        by_dir[target].extend(by_dir.pop(directory))

    modules: list[Module] = []
    for directory in sorted(by_dir):
        members = sorted(by_dir[directory], key=lambda f: f.path)
        name = directory or "."
        chunks = _split(members, split_above)
        if len(chunks) == 1:
            modules.append(Module(name, directory, tuple(members)))
            continue
        for chunk in chunks:
            first = chunk[0].path.rpartition("/")[2]
            modules.append(Module(f"{name}[{first}..]", directory, tuple(chunk)))
    return modules


class AmbiguousFolderError(LookupError):
    """A folder whose files belong to several modules: the message names them."""

    def __init__(self, folder: str, modules: list[str]) -> None:
        shown = ", ".join(modules[:10]) + (f" and {len(modules) - 10} more" if len(modules) > 10 else "")
        super().__init__(f"the folder {folder} holds files of {len(modules)} modules ({shown}): name one of them")
        self.modules = modules


def resolve_module(value: str, modules: Sequence[str], module_of: Mapping[str, str]) -> str | None:
    """The module `value` names: a module name, or a file or folder path relative to the root.

    `module_of` maps every indexed file path to its module. A file names its module; a folder names
    the one module its indexed files belong to (AmbiguousFolderError when they belong to several).
    None when `value` is neither a module, an indexed file nor a folder holding one.
    """
    if value in modules:
        return value
    path = "/".join(part for part in value.strip().split("/") if part not in ("", "."))
    if not path:
        return "." if "." in modules else _folder_module(".", "", module_of)
    if path in modules:
        return path
    if path in module_of:
        return module_of[path]
    return _folder_module(path, path + "/", module_of)


def _folder_module(folder: str, prefix: str, module_of: Mapping[str, str]) -> str | None:
    inside = sorted({module for path, module in module_of.items() if path.startswith(prefix)})
    if len(inside) > 1:
        raise AmbiguousFolderError(folder, inside)
    return inside[0] if inside else None
