"""Find and load DeepSeek-OCR-2 through transformers' native `deepseek_ocr2` classes.

A model is named by a local folder or a Hugging Face hub id. Hub ids are fetched when the
network allows and otherwise served from the local hub cache. Nothing here imports torch until
a model is actually loaded, so the core commands stay free of it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "deepseek-community/DeepSeek-OCR-2"
MODEL_TYPE = "deepseek_ocr2"
HUB_FILES = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model"]


class ModelNotFoundError(RuntimeError):
    """No usable weights where the user pointed; the message says what to download and where."""


def _download_hint(source: str) -> str:
    folder = Path.home() / "models" / "DeepSeek-OCR-2"
    return (
        f"download the transformers-format weights on a machine with internet access, e.g.\n"
        f"  hf download {DEFAULT_MODEL} --local-dir {folder}\n"
        f"copy that folder here if needed, and pass --model {folder} "
        f"(it must hold config.json with model_type {MODEL_TYPE!r}, *.safetensors weights and the tokenizer "
        f"and processor files); {source!r} was not usable"
    )


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """A resolved model folder and a fingerprint of what is in it."""

    folder: Path
    source: str
    revision: str  # changes whenever the weights, config or processor settings change


def _looks_like_hub_id(source: str) -> bool:
    parts = source.split("/")
    return len(parts) == 2 and all(parts) and not source.startswith((".", "~", "/"))


def _fetch_from_hub(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        # Online this downloads or refreshes; offline it falls back to the local hub cache.
        return Path(snapshot_download(repo_id, allow_patterns=HUB_FILES))
    except (HFValidationError, OSError) as error:  # hub errors (offline, not found, gated) are OSErrors
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelNotFoundError(
            f"could not fetch {repo_id!r} from the hub ({reason}).\n{_download_hint(repo_id)}"
        ) from None


def _fingerprint(folder: Path) -> str:
    """Config and processor files by content, weight files by name, size and modification time.

    Hashing gigabytes of weights on every run would cost more than the encoding it saves; a copied
    or replaced weight file changes size or time and so invalidates cached embeddings.
    """
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.json")):
        digest.update(f"{path.name}\0".encode() + path.read_bytes() + b"\n")
    for path in sorted(folder.glob("*.safetensors")):
        stat = path.resolve().stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def resolve_model(source: str) -> ModelFiles:
    """A local folder, or a hub id; raises ModelNotFoundError with download instructions."""
    path = Path(source).expanduser()
    if path.exists():
        folder = path.resolve()
        if not folder.is_dir():
            raise ModelNotFoundError(f"{folder} is a file; --model takes a model folder.\n{_download_hint(source)}")
    elif _looks_like_hub_id(source):
        folder = _fetch_from_hub(source)
    else:
        raise ModelNotFoundError(f"no model folder at {path}.\n{_download_hint(source)}")

    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelNotFoundError(f"{folder} has no config.json.\n{_download_hint(source)}")
    try:
        model_type = json.loads(config_path.read_text()).get("model_type")
    except (OSError, ValueError, AttributeError) as error:
        raise ModelNotFoundError(f"{config_path} is not a readable model config ({error})") from None
    if model_type != MODEL_TYPE:
        raise ModelNotFoundError(
            f"{folder} holds a {model_type!r} model, not {MODEL_TYPE!r} (the original deepseek-ai release "
            f"needs its own remote code; codectx uses the transformers-native conversion).\n{_download_hint(source)}"
        )
    if not any(folder.glob("*.safetensors")):
        raise ModelNotFoundError(f"{folder} has a config but no *.safetensors weights.\n{_download_hint(source)}")
    return ModelFiles(folder, source, _fingerprint(folder))


def pick_device(requested: str | None = None) -> tuple[str, Any]:
    """CUDA with bfloat16 when a GPU is visible, else CPU with float32 (bf16 matmuls are slow on most CPUs)."""
    import torch

    device = requested or ("cuda" if torch.cuda.is_available() else "cpu")
    return device, torch.bfloat16 if device.startswith("cuda") else torch.float32


@dataclass(frozen=True, slots=True)
class LoadedModel:
    files: ModelFiles
    model: Any  # DeepseekOcr2ForConditionalGeneration, in eval mode on `device`
    processor: Any  # DeepseekOcr2Processor: the model's own image processor and tokenizer
    device: str
    dtype: Any  # torch.dtype


def load_model(source: str, device: str | None = None) -> LoadedModel:
    files = resolve_model(source)
    device, dtype = pick_device(device)
    transformers: Any = importlib.import_module("transformers")
    # Quiet transformers' progress bars and advisory warnings; real errors still raise.
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    try:
        processor = transformers.DeepseekOcr2Processor.from_pretrained(files.folder)
        model = transformers.DeepseekOcr2ForConditionalGeneration.from_pretrained(files.folder, dtype=dtype)
    except (OSError, ValueError) as error:
        raise ModelNotFoundError(f"could not load {files.folder}: {error}\n{_download_hint(source)}") from None
    return LoadedModel(files, model.to(device).eval(), processor, device, dtype)
