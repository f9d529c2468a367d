"""DeepSeek-OCR-2 on a GPU: encode pages/s, and how well `decode` reads the standard-library sample.

    python bench/encode_gpu.py --model /models/DeepSeek-OCR-2            # real weights, full run
    python bench/encode_gpu.py --model DIR --pages-dir PNGS --no-fidelity  # encode timing only
    python bench/encode_gpu.py --random-full-vision --pages-dir PNGS       # no weights: encoder cost

Encode: deepseek-ocr2 pages (rendered from the standard-library sample, or PNGs from --pages-dir)
are encoded at each --batch-sizes, medians of --repeats runs after a warm-up, CUDA synchronised,
embeddings copied back to the host as `codectx encode` does. The baseline row is transformers'
default processing (768 px tiles, 833 tokens per page) in the same run.
Fidelity: the harness (`codectx fidelity --engine deepseek-ocr2`) on --fidelity-pages seeded pages
of the sample: the model reads each whole page; char_accuracy, the 16 px reference ceiling and
relative_accuracy are printed with decode seconds per page.
Writes the figures as JSON to --out when given.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from codectx.model.encoder import ENCODER_TARGET, OpticalEncoder


def sample_page_paths(limit: int, scratch: Path) -> list[Path]:
    """The first `limit` deepseek-ocr2 pages of the standard-library sample (needs the full codectx install)."""
    from stdlib_sample import build_sample

    from codectx.indexer import index_repository
    from codectx.store import Store

    sample = build_sample()
    store_dir = scratch / "store"
    # A few packages of the sample are enough for timing; rendering all of it takes minutes.
    repo = scratch / "repo"
    for package in ("json", "logging", "email", "asyncio"):
        target = repo / package
        target.mkdir(parents=True, exist_ok=True)
        for source in (sample / package).glob("*.py"):
            (target / source.name).write_bytes(source.read_bytes())
    index_repository(repo, target=ENCODER_TARGET, store_dir=store_dir)
    with Store.open(store_dir, create=False) as store:
        generation = store.require_generation(ENCODER_TARGET)
        return [
            store.pages.path_for(page.blob)
            for module in store.modules(generation.id)
            for page in store.module_pages(generation.id, module.name)
        ][:limit]


def timed(work: Callable[[], object], repeats: int) -> float:
    work()
    timings = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        started = time.perf_counter()
        work()
        torch.cuda.synchronize()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def encode_rows(encoder: OpticalEncoder, images: list[Image.Image], batches: list[int], repeats: int) -> list[Any]:
    def default_processing() -> None:
        with torch.inference_mode():
            for image in images:
                pixels = encoder.processor.image_processor(images=[image], return_tensors="pt")
                features = encoder.model.get_image_features(
                    pixel_values=pixels["pixel_values"].to(encoder.device, encoder.dtype),
                    pixel_values_local=pixels["pixel_values_local"].to(encoder.device, encoder.dtype),  # 4 tiles
                    num_local_patches=pixels["num_local_patches"],
                ).pooler_output
                [f.to("cpu") for f in features]

    def ours(batch: int) -> Callable[[], None]:
        def run() -> None:
            for start in range(0, len(images), batch):
                encoder.encode(images[start : start + batch])

        return run

    rows = [{"processing": "transformers default, batch 1", "tokens_per_page": 833,
             "seconds": timed(default_processing, repeats)}]  # fmt: skip
    for batch in batches:
        rows.append(
            {"processing": f"codectx, batch {batch}", "tokens_per_page": 257, "seconds": timed(ours(batch), repeats)}
        )
    for row in rows:
        row["pages_per_s"] = round(len(images) / row["seconds"], 2)
        row["seconds"] = round(row["seconds"], 4)
    return rows


def path_checks(encoder: OpticalEncoder, image: Image.Image, against_cpu: bool) -> dict[str, Any]:
    """The GPU path agrees with transformers' own: token counts, decoded tokens, and (optionally) CPU float32."""
    from codectx.model.encoder import DEFAULT_PROMPT, PROCESSING

    [embedding] = encoder.encode([image])
    native = encoder.processor(images=image, text=DEFAULT_PROMPT, return_tensors="pt", **PROCESSING).to(encoder.device)
    native["pixel_values"] = native["pixel_values"].to(encoder.dtype)
    with torch.inference_mode():
        native_ids = encoder.model.generate(**native, max_new_tokens=16, do_sample=False)
    native_text = encoder.processor.decode(native_ids[0, native["input_ids"].shape[1] :], skip_special_tokens=True)
    checks: dict[str, Any] = {
        "tokens_per_page": embedding.shape[0],
        "dtype": str(embedding.dtype),
        "prompt_placeholders": int((native["input_ids"] == encoder.model.config.image_token_id).sum()),
        "decode_matches_native_16_tokens": encoder.read(image, max_new_tokens=16) == native_text,
    }
    if against_cpu:
        cpu = OpticalEncoder.load(encoder.loaded.files.source, device="cpu")
        [reference] = cpu.encode([image])
        cosine = torch.nn.functional.cosine_similarity(embedding.float(), reference.float(), dim=-1)
        checks["cosine_vs_cpu_float32"] = {"min": round(cosine.min().item(), 4), "mean": round(cosine.mean().item(), 4)}
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="DeepSeek-OCR-2 folder or hub id")
    parser.add_argument(
        "--random-full-vision", action="store_true",
        help="no weights: time a random model with the published vision sizes (encode only)",
    )  # fmt: skip
    parser.add_argument("--pages-dir", type=Path, help="encode these PNGs instead of rendering the sample")
    parser.add_argument("--pages", type=int, default=32)
    parser.add_argument("--batch-sizes", default="1,8,16")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fidelity-pages", type=int, default=4)
    parser.add_argument("--no-fidelity", action="store_true")
    parser.add_argument("--check-cpu", action="store_true", help="also compare with a CPU float32 copy (slow)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if bool(args.model) == args.random_full_vision:
        parser.error("pass --model or --random-full-vision")
    if args.random_full_vision:
        args.no_fidelity = True  # random weights read nothing
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: this benchmark is for a GPU machine (bench/encode_speed.py times the CPU)")

    import tempfile

    report: dict[str, Any] = {"model": args.model, "gpu": torch.cuda.get_device_name(), "torch": torch.__version__}
    with tempfile.TemporaryDirectory(prefix="codectx-gpu-bench-") as scratch:
        if args.pages_dir:
            paths = sorted(args.pages_dir.glob("*.png"))[: args.pages]
        else:
            paths = sample_page_paths(args.pages, Path(scratch))
        images = []
        for path in paths:
            with Image.open(path) as opened:
                images.append(opened.convert("RGB"))
        if args.random_full_vision:
            from codectx.model.tiny import save_tiny_model

            args.model = str(save_tiny_model(Path(scratch) / "random-full-vision", full_vision=True))
            report["model"] = "random weights, published vision sizes"
        started = time.perf_counter()
        encoder = OpticalEncoder.load(args.model)
        report["load_seconds"] = round(time.perf_counter() - started, 2)
        report["device"], report["dtype"] = encoder.device, str(encoder.dtype)
        report["pages"] = len(images)
        batches = [int(b) for b in args.batch_sizes.split(",")]
        report["encode"] = encode_rows(encoder, images, batches, args.repeats)
        report["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
        report["checks"] = path_checks(encoder, images[0], args.check_cpu)

        if not args.no_fidelity:
            from stdlib_sample import build_sample

            from codectx.fidelity import measure
            from codectx.profiles import get_profile

            del encoder  # the harness loads its own reader
            torch.cuda.empty_cache()
            started = time.perf_counter()
            fidelity = measure(
                build_sample(), get_profile(ENCODER_TARGET), engine="deepseek-ocr2",
                sample=args.fidelity_pages, model=args.model,
            )  # fmt: skip
            report["fidelity"] = fidelity.as_json()
            report["fidelity_seconds_with_load"] = round(time.perf_counter() - started, 1)

    print(json.dumps(report, indent=1))
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
