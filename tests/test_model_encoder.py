"""DeepSeek-OCR-2 encoder end to end on CPU, with a tiny random-initialised model of the real classes.

The model is written with save_pretrained into a temporary folder and loaded through the same path
users take (`--model DIR`). Its outputs are meaningless; the plumbing, shapes and counts are not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from PIL import Image

from codectx.cli import main
from codectx.fidelity import FidelityError, make_reader, score_rows
from codectx.model.assist import pack_embeddings, page_paths
from codectx.model.cache import EmbeddingCache
from codectx.model.encoder import PROCESSING, OpticalEncoder
from codectx.model.judge import bands, lines_to_rows, output_lines
from codectx.model.loading import ModelNotFoundError, resolve_model
from codectx.model.tiny import save_tiny_model
from codectx.profiles import get_profile
from codectx.store import Store

TARGET = "deepseek-ocr2"


def _source(name: str, lines: int = 200) -> str:
    return "".join(f"def {name}_{i}(value):\n    return value * {i} + {i * i}  # step {i}\n" for i in range(lines // 2))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny-deepseek-ocr2"))


@pytest.fixture(scope="module")
def encoder(tiny_model: Path) -> OpticalEncoder:
    return OpticalEncoder.load(str(tiny_model))


@pytest.fixture
def repo(make_repo: Callable[[dict[str, str | bytes]], Path]) -> Path:
    # Two directories above the merge threshold: two modules of one page each.
    return make_repo({"alpha/core.py": _source("alpha"), "beta/util.py": _source("beta")})


def _encode(repo: Path, model: Path, *extra: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["encode", str(repo), "--model", str(model), "--json", *extra]) == 0
    return dict(json.loads(capsys.readouterr().out))


def _pages(repo: Path) -> dict[str, list[str]]:
    with Store.open(repo / ".codectx", create=False) as store:
        generation = store.require_generation(TARGET)
        return {
            m.name: [p.blob for p in store.module_pages(generation.id, m.name)] for m in store.modules(generation.id)
        }


def _page_png(repo: Path) -> Path:
    with Store.open(repo / ".codectx", create=False) as store:
        generation = store.require_generation(TARGET)
        module = store.modules(generation.id)[0].name
        return store.pages.path_for(store.module_pages(generation.id, module)[0].blob)


def test_loads_the_native_classes_on_cpu(encoder: OpticalEncoder, tiny_model: Path) -> None:
    assert type(encoder.model).__name__ == "DeepseekOcr2ForConditionalGeneration"
    assert type(encoder.processor).__name__ == "DeepseekOcr2Processor"
    assert (encoder.device, encoder.dtype) == ("cpu", torch.float32)
    assert resolve_model(str(tiny_model)).revision == encoder.loaded.files.revision


def test_page_token_count_is_the_profiles_cost(
    encoder: OpticalEncoder, repo: Path, capsys: pytest.CaptureFixture[str], tiny_model: Path
) -> None:
    summary = _encode(repo, tiny_model, capsys=capsys)
    page = _page_png(repo)
    with Image.open(page) as opened:
        image = opened.convert("RGB")
    assert image.size == (1024, 1024)
    [embedding] = encoder.encode([image])
    profile = get_profile(TARGET)
    assert profile.page_tokens == 257
    assert tuple(embedding.shape) == (profile.page_tokens, encoder.hidden_size)
    assert summary["vision_tokens"] == summary["pages"] * profile.page_tokens
    # The processor writes as many placeholders into a prompt as the encoder yields tokens.
    prompt = encoder.processor(images=image, text="<image>", return_tensors="pt", **PROCESSING)
    assert int((prompt["input_ids"] == encoder.model.config.image_token_id).sum()) == profile.page_tokens
    # The model's learned view separator closes every page.
    assert torch.equal(embedding[-1], encoder.model.model.view_separator.detach())
    # transformers' default processing crops a 1024 px page into 768 px tiles: 256 + 4 x 144 + 1 tokens.
    cropped = encoder.processor.image_processor(images=[image], return_tensors="pt")
    assert int(cropped["num_local_patches"][0]) == 4


def test_encode_caches_per_module_and_reuses(
    encoder: OpticalEncoder, repo: Path, tiny_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _encode(repo, tiny_model, capsys=capsys)
    pages = _pages(repo)
    assert first["pages"] == sum(len(b) for b in pages.values()) >= 2
    assert (first["pages_encoded"], first["pages_reused"], first["modules"]) == (first["pages"], 0, 2)
    cache = EmbeddingCache(repo / ".codectx", TARGET, first["revision"])
    assert Path(first["cache_dir"]) == cache.directory
    for module, blobs in pages.items():
        stored = cache.load(module)
        assert sorted(stored) == sorted(blobs)
        for tensor in stored.values():
            assert tuple(tensor.shape) == (257, encoder.hidden_size)
    # What the cache holds is what the encoder computes for that page.
    some_blob = pages["alpha"][0]
    with Image.open(repo / ".codectx" / "pages" / some_blob[:2] / f"{some_blob}.png") as opened:
        fresh = encoder.encode([opened.convert("RGB")])[0]
    assert torch.allclose(cache.load("alpha")[some_blob], fresh, atol=1e-5)

    second = _encode(repo, tiny_model, capsys=capsys)
    assert (second["pages_encoded"], second["pages_reused"]) == (0, first["pages"])

    (repo / "beta" / "util.py").write_text(_source("gamma"))
    third = _encode(repo, tiny_model, capsys=capsys)
    assert third["pages_encoded"] == len(_pages(repo)["beta"])
    assert third["pages_reused"] == len(pages["alpha"])
    assert sorted(cache.load("beta")) == sorted(_pages(repo)["beta"])  # stale pages dropped

    cache.path_for("alpha").write_bytes(b"not a safetensors file")  # unreadable counts as missing
    fourth = _encode(repo, tiny_model, capsys=capsys)
    assert (fourth["pages_encoded"], fourth["pages_reused"]) == (len(pages["alpha"]), len(_pages(repo)["beta"]))
    assert sorted(cache.load("alpha")) == sorted(pages["alpha"])


def test_other_weights_do_not_reuse_embeddings(
    repo: Path, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _encode(repo, tiny_model, capsys=capsys)
    other = save_tiny_model(tmp_path / "other", seed=1)
    second = _encode(repo, other, capsys=capsys)
    assert second["revision"] != first["revision"]
    assert second["pages_encoded"] == second["pages"]


def test_prompt_inputs_equal_the_processors_own_inputs(encoder: OpticalEncoder, repo: Path, tiny_model: Path) -> None:
    assert main(["index", str(repo), "--target", TARGET, "--json"]) == 0
    with Image.open(_page_png(repo)) as opened:
        image = opened.convert("RGB")
    prompt = "<image>\nFree OCR."
    native = encoder.processor(images=image, text=prompt, return_tensors="pt", **PROCESSING)
    ours = encoder.prompt_inputs(encoder.encode([image]), prompt)
    with torch.inference_mode():
        expected = encoder.model(**native).logits
        actual = encoder.model(inputs_embeds=ours.inputs_embeds, attention_mask=ours.attention_mask).logits
        native_ids = encoder.model.generate(**native, max_new_tokens=6, do_sample=False)
    assert ours.image_tokens == 257
    assert torch.allclose(actual, expected, atol=1e-5)
    native_text = encoder.processor.decode(native_ids[0, native["input_ids"].shape[1] :], skip_special_tokens=True)
    assert encoder.read(image, prompt, max_new_tokens=6) == native_text


def test_decode_command_reads_a_page(
    encoder: OpticalEncoder, repo: Path, tiny_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(repo), "--target", TARGET, "--json"]) == 0
    page = _page_png(repo)
    capsys.readouterr()
    assert main(["decode", str(page), "--model", str(tiny_model), "--max-new-tokens", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    with Image.open(page) as opened:
        assert result["text"] == encoder.read(opened.convert("RGB"), max_new_tokens=5)
    assert main(["decode", str(repo / "missing.png"), "--model", str(tiny_model)]) == 2
    assert "not a file" in capsys.readouterr().err


def test_pack_embeddings_concatenate_pages_with_separators(
    encoder: OpticalEncoder, repo: Path, tiny_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _encode(repo, tiny_model, capsys=capsys)
    pages = _pages(repo)
    paths = [repo / ".codectx" / "pages" / b[:2] / f"{b}.png" for b in (pages["beta"][0], pages["alpha"][0])]
    pack = SimpleNamespace(
        items=[
            SimpleNamespace(pages=[SimpleNamespace(png_path=paths[0])]),
            SimpleNamespace(pages=[]),  # an item shown as text has no pages
            SimpleNamespace(pages=[SimpleNamespace(png_path=str(paths[1]))]),
        ]
    )
    assert page_paths(pack) == paths
    from_cache = pack_embeddings(pack, encoder, store_dir=repo / ".codectx")
    computed = pack_embeddings(paths, encoder)
    assert tuple(from_cache.shape) == (2 * 257, encoder.hidden_size)
    assert torch.allclose(from_cache, computed, atol=1e-5)
    separator = encoder.model.model.view_separator.detach()
    assert torch.equal(from_cache[256], separator) and torch.equal(from_cache[513], separator)
    inputs = encoder.prompt_inputs([from_cache], "<image>\nWhat does alpha do?")
    assert inputs.inputs_embeds.shape[:2] == inputs.attention_mask.shape
    assert inputs.image_tokens == 514
    with pytest.raises(ValueError, match="pages sized for claude"):
        pack_embeddings(SimpleNamespace(target="claude", items=pack.items), encoder)


def test_missing_weights_say_what_to_download(
    tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelNotFoundError, match="hf download deepseek-community/DeepSeek-OCR-2 --local-dir"):
        resolve_model(str(empty))
    (empty / "config.json").write_text(json.dumps({"model_type": "deepseek_ocr2"}))
    with pytest.raises(ModelNotFoundError, match=r"no \*\.safetensors weights"):
        resolve_model(str(empty))
    (empty / "config.json").write_text(json.dumps({"model_type": "deepseek_vl_v2"}))
    with pytest.raises(ModelNotFoundError, match="'deepseek_vl_v2' model"):
        resolve_model(str(empty))

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    assert main(["encode", str(repo), "--model", "deepseek-community/DeepSeek-OCR-2"]) == 2
    err = capsys.readouterr().err
    assert "could not fetch 'deepseek-community/DeepSeek-OCR-2'" in err and "--model" in err


def test_core_commands_do_not_import_torch() -> None:
    probe = "import sys, codectx.cli; sys.exit(int(any(m in sys.modules for m in ('torch', 'transformers'))))"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    assert subprocess.run([sys.executable, "-c", probe], env=env, check=False).returncode == 0


# --- DeepSeek-OCR-2 as the fidelity judge ---------------------------------------------------------


def test_lines_align_to_rows() -> None:
    truths = ["def f(x):", "    return x + 1", "class A:", "    pass"]
    assert lines_to_rows(truths, ["def f(x):", "return x + 1", "class A:", "pass"]) == [
        "def f(x):", "return x + 1", "class A:", "pass"
    ]  # fmt: skip
    # A misread line still lands on its row; a dropped row reads as nothing.
    assert lines_to_rows(truths, ["def f(x):", "return x + l", "pass"]) == ["def f(x):", "return x + l", "", "pass"]
    # Lines the model adds are charged to the row before them, never dropped.
    readings = lines_to_rows(truths, ["def f(x):", "return x + 1", "# invented", "class A:", "pass"])
    assert readings == ["def f(x):", "return x + 1 # invented", "class A:", "pass"]
    assert score_rows(truths, readings).errors == len(" # invented")
    assert output_lines("```python\ndef f(x):\n\n    return x\n```") == ["def f(x):", "    return x"]


def test_tall_pages_are_read_in_native_bands() -> None:
    rows: Any = [SimpleNamespace(text=f"line {i}", box=(8, 8 + 20 * i, 100, 20)) for i in range(120)]
    cut = bands(rows, height=8 + 20 * 120 + 8)
    assert [r for _, _, band in cut for r in band] == rows
    assert all(bottom - top <= 1024 for top, bottom, _ in cut) and len(cut) == 3
    assert bands(rows[:40], height=1024) == [(0, 1024, rows[:40])]


def test_fidelity_command_runs_the_deepseek_engine(
    tiny_model: Path,
    make_repo: Callable[[dict[str, str | bytes]], Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = make_repo({"small/mod.py": _source("small", lines=6)})
    with pytest.raises(FidelityError, match="needs --model"):
        make_reader("deepseek-ocr2", tmp_path)
    command = ["fidelity", str(root), "-t", TARGET, "--engine", "deepseek-ocr2", "--sample", "1", "--json"]
    assert main([*command, "--model", str(tiny_model)]) == 0
    report = json.loads(capsys.readouterr().out)
    [page] = report["pages"]
    assert report["engine"] == "deepseek-ocr2" and page["rows"] == 6
    # Random weights read nothing right; the harness still scores every drawn character.
    assert page["chars"] == sum(len(" ".join(line.split())) for line in _source("small", 6).splitlines())
    assert 0.0 <= report["char_accuracy"] < 0.5
    assert main([*command, "--model", str(tmp_path / "no-model")]) == 2
    assert "hf download deepseek-community/DeepSeek-OCR-2" in capsys.readouterr().err
