"""Vision-token embeddings cached per module as safetensors, keyed by page hash and encoder revision.

Layout: <store>/embeddings/<target>/<revision>/<module slug>-<hash>.safetensors, one tensor per
page named by the page PNG's sha256. A file is replaced atomically (write to temp + rename), so
a crash leaves the previous file or the new one, never half of one; an unreadable file counts as
missing and is rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

EMBEDDINGS_DIRNAME = "embeddings"


def module_filename(module: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", module).strip("._")[:60] or "module"
    return f"{slug}-{hashlib.sha256(module.encode()).hexdigest()[:12]}.safetensors"


class EmbeddingCache:
    def __init__(self, store_dir: Path, target: str, revision: str) -> None:
        self.directory = store_dir / EMBEDDINGS_DIRNAME / target / revision
        self.revision = revision

    def path_for(self, module: str) -> Path:
        return self.directory / module_filename(module)

    def load(self, module: str) -> dict[str, Any]:
        """The module's cached embeddings by page hash; empty when absent or unreadable."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = self.path_for(module)
        if not path.exists():
            return {}
        try:
            return dict(load_file(path))
        except (SafetensorError, OSError, ValueError, RuntimeError):
            return {}

    def save(self, module: str, embeddings: Mapping[str, Any]) -> Path:
        from safetensors.torch import save_file

        path = self.path_for(module)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        os.close(fd)
        try:
            tensors = {digest: tensor.contiguous() for digest, tensor in embeddings.items()}
            save_file(tensors, tmp, metadata={"module": module, "revision": self.revision})
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return path

    def find(self, digests: Iterable[str]) -> dict[str, Any]:
        """Embeddings for any of `digests` found in any module file (reads only the tensors asked for)."""
        from safetensors import SafetensorError, safe_open

        wanted = set(digests)
        found: dict[str, Any] = {}
        if not self.directory.exists():
            return found
        for path in sorted(self.directory.glob("*.safetensors")):
            if not wanted - found.keys():
                break
            try:
                with safe_open(str(path), framework="pt") as handle:
                    for key in wanted.intersection(handle.keys()) - found.keys():
                        found[key] = handle.get_tensor(key)
            except (SafetensorError, OSError, ValueError, RuntimeError):
                continue
        return found

    def prune(self, modules: Iterable[str]) -> int:
        """Remove files of modules no longer in the index; returns how many went."""
        keep = {module_filename(m) for m in modules}
        removed = 0
        for path in self.directory.glob("*.safetensors"):
            if path.name not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed += 1
        return removed
