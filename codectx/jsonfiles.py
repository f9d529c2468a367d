"""JSON files that people read and hand back: written readably and whole, read with one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json(path: Path, data: object) -> None:
    """Indented UTF-8 JSON, written to a temporary file and renamed: an interrupted run leaves the previous file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_json(path: Path, error: type[Exception], missing: str) -> Any:
    """The JSON value in `path`. When it is missing, `error` with `missing` (what to do) after the path;
    when it cannot be read or parsed, `error` saying so on one line."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path} does not exist: {missing}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as problem:
        detail = " ".join(str(problem).split())
        raise error(f"{path} is not readable JSON: {detail}") from None
