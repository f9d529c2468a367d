"""Pages -> DeepSeek-OCR-2 vision-token embeddings, prompts around them, and pages read back to text.

Everything runs through the loaded model's own classes: its image processor prepares the page,
`get_image_features` returns the projected vision tokens with the learned view separator last,
and the decoder receives them exactly where the processor would put its image placeholders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from codectx.model.loading import LoadedModel, load_model
from codectx.model.targets import deepseek_ocr2_cost

ENCODER_TARGET = "deepseek-ocr2"  # the profile whose pages and cost rule this encoder matches
EMBEDDING_FORMAT = 1  # bump when what an embedding means changes: invalidates cached embeddings
GLOBAL_VIEW_PX = 1024
# transformers' DeepSeek-OCR-2 image processor crops every page wider than 768 px into at least two
# 768 px tiles by default (256 + 2..6 x 144 + 1 tokens). Without cropping it resizes the single global
# view to `tile_size`, so tile_size=1024 keeps a 1024 px page at its own resolution: 16 x 16 = 256
# query tokens + 1 view separator = 257, the same count its processor writes into the prompt.
# (crop_to_patches=False alone would yield a 768 px view, 145 tokens, and a prompt that expects 257.)
PROCESSING: dict[str, Any] = {
    "crop_to_patches": False,
    "tile_size": GLOBAL_VIEW_PX,
    "size": {"height": GLOBAL_VIEW_PX, "width": GLOBAL_VIEW_PX},
}
DEFAULT_PROMPT = "<image>\nFree OCR."
DEFAULT_MAX_NEW_TOKENS = 4096


class EncoderError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class PromptInputs:
    """Decoder inputs: `model.generate(inputs_embeds=..., attention_mask=...)` or `model(...)` take them as is."""

    inputs_embeds: Any  # torch.Tensor (1, sequence, hidden) on the model's device and dtype
    attention_mask: Any  # torch.Tensor (1, sequence)
    image_tokens: int


def tokens_per_page(width: int, height: int) -> int:
    """What the encoder yields for one page; equals the deepseek-ocr2 target's cost rule."""
    return deepseek_ocr2_cost(width, height)


class OpticalEncoder:
    """A loaded DeepSeek-OCR-2 used as a page encoder and a page reader."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.processor = loaded.processor
        self.device = loaded.device
        self.dtype = loaded.dtype
        key = f"{EMBEDDING_FORMAT}\n{loaded.files.revision}\n{loaded.dtype}\n{sorted(PROCESSING.items())}"
        # Keys the embedding cache: a different model, dtype or processing gives different vectors.
        self.revision = hashlib.sha256(key.encode()).hexdigest()[:16]

    @classmethod
    def load(cls, source: str, device: str | None = None) -> OpticalEncoder:
        return cls(load_model(source, device))

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.text_config.hidden_size)

    @property
    def image_token(self) -> str:
        return str(self.processor.image_token)

    def encode(self, images: Sequence[Image.Image]) -> list[Any]:
        """One (tokens, hidden) tensor per image, on the CPU in the model's dtype; the separator is last."""
        import torch

        if not images:
            return []
        pixels = self.processor.image_processor(images=list(images), return_tensors="pt", **PROCESSING)
        with torch.inference_mode():
            features = self.model.get_image_features(
                pixel_values=pixels["pixel_values"].to(self.device, self.dtype),
                num_local_patches=pixels["num_local_patches"],
            ).pooler_output
        result = [f.detach().to("cpu").contiguous() for f in features]
        for image, embedding in zip(images, result, strict=True):
            expected = tokens_per_page(*image.size)
            if embedding.shape != (expected, self.hidden_size):
                raise EncoderError(
                    f"the model returned {tuple(embedding.shape)} for a {image.size[0]}x{image.size[1]} page; "
                    f"the deepseek-ocr2 cost rule expects ({expected}, {self.hidden_size})"
                )
        return result

    def encode_files(self, paths: Sequence[Path], batch_size: int = 1) -> list[Any]:
        embeddings: list[Any] = []
        for start in range(0, len(paths), batch_size):
            images = []
            for path in paths[start : start + batch_size]:
                with Image.open(path) as image:
                    images.append(image.convert("RGB"))
            embeddings.extend(self.encode(images))
        return embeddings

    def prompt_inputs(self, page_embeddings: Sequence[Any], prompt: str = DEFAULT_PROMPT) -> PromptInputs:
        """The prompt's embeddings with the pages' vision tokens where its one image token stands.

        Mirrors DeepseekOcr2Model.forward: the processor expands the image token into one
        placeholder per vision token, the tokenizer encodes the text, and the placeholders'
        embeddings are replaced by the pages' (each page ends with the model's view separator).
        """
        import torch

        if prompt.count(self.image_token) != 1:
            raise ValueError(f"the prompt must contain {self.image_token!r} exactly once, where the pages go")
        if not page_embeddings:
            raise ValueError("no pages to put in the prompt")
        vision = torch.cat(list(page_embeddings), dim=0)
        text = prompt.replace(self.image_token, self.image_token * vision.shape[0])
        encoded = self.processor.tokenizer(text, return_tensors="pt")
        input_ids = encoded["input_ids"].to(self.device)
        placeholders = input_ids == self.model.config.image_token_id
        if int(placeholders.sum()) != vision.shape[0]:
            raise EncoderError(f"the tokenizer produced {int(placeholders.sum())} placeholders for {vision.shape[0]}")
        with torch.inference_mode():
            embeds = self.model.get_input_embeddings()(input_ids)
            embeds = embeds.masked_scatter(placeholders.unsqueeze(-1), vision.to(embeds.device, embeds.dtype))
        return PromptInputs(embeds, encoded["attention_mask"].to(self.device), vision.shape[0])

    def generate(self, inputs: PromptInputs, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> str:
        """Greedy decoding from prepared inputs; returns the new text without special tokens."""
        import torch

        with torch.inference_mode():
            # Given only inputs_embeds, generate returns just the new tokens.
            output = self.model.generate(
                inputs_embeds=inputs.inputs_embeds,
                attention_mask=inputs.attention_mask,
                max_new_tokens=max_new_tokens,
                do_sample=False,
            )
        return str(self.processor.decode(output[0], skip_special_tokens=True))

    def read(
        self, image: Image.Image, prompt: str = DEFAULT_PROMPT, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    ) -> str:
        """Read one page image back to text."""
        return self.generate(self.prompt_inputs(self.encode([image.convert("RGB")]), prompt), max_new_tokens)
