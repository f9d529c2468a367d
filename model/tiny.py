"""A tiny, randomly initialised DeepSeek-OCR-2 built offline from transformers' own classes.

Same architecture, image processor, processor and file layout as the real checkpoint, with
small widths and a byte-level vocabulary: it exercises every loading, encoding, caching and
decoding path on a CPU in well under a second per page. Its outputs are meaningless.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

BOS, EOS, PAD, IMAGE = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜▁pad▁｜>", "<image>"


def _tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    transformers: Any = importlib.import_module("transformers")

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokenizer = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([BOS, EOS, PAD, IMAGE])
    bos_id = tokenizer.token_to_id(BOS)
    # Like the real tokenizer, prepend BOS to every encoded prompt.
    tokenizer.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", special_tokens=[(BOS, bos_id)])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS, pad_token=PAD)


# Widths of the tiny model: every layer type of the real one, at a size a CPU encodes in a blink.
TINY_VISION: dict[str, Any] = {
    "sam_config": {
        "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "mlp_dim": 32,
        "output_channels": 16, "downsample_channels": [16, 32], "global_attn_indexes": [1],
    },
    "encoder_config": {
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
        "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 16,
    },
}  # fmt: skip
# The published vision sizes (SAM ViT-B with its 1024 px neck, a Qwen2-0.5B-sized encoder, 1280-wide
# projection), for timing the encoder at full cost without the weights; the decoder stays tiny.
FULL_VISION: dict[str, Any] = {
    "sam_config": {},  # transformers' defaults are SAM ViT-B's
    "encoder_config": {
        "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
        "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 16,
    },
}  # fmt: skip
FULL_TEXT_HIDDEN = 1280


def save_tiny_model(folder: Path, seed: int = 0, full_vision: bool = False) -> Path:
    """Write config, random weights, tokenizer and processor into `folder` with save_pretrained."""
    import torch

    transformers: Any = importlib.import_module("transformers")
    transformers.logging.disable_progress_bar()
    tokenizer = _tokenizer()
    ids = tokenizer.convert_tokens_to_ids
    config = transformers.DeepseekOcr2Config(
        vision_config=FULL_VISION if full_vision else TINY_VISION,
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": FULL_TEXT_HIDDEN if full_vision else 32, "intermediate_size": 64,
            "num_hidden_layers": 1, "num_attention_heads": 2,
            "mlp_layer_types": ["dense"], "max_position_embeddings": 4096,
            "bos_token_id": ids(BOS), "eos_token_id": ids(EOS), "pad_token_id": ids(PAD),
        },
        image_token_id=ids(IMAGE),
    )  # fmt: skip
    torch.manual_seed(seed)
    model = transformers.DeepseekOcr2ForConditionalGeneration(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor = transformers.DeepseekOcr2Processor(
        image_processor=transformers.DeepseekOcr2ImageProcessorPil(), tokenizer=tokenizer
    )
    processor.save_pretrained(folder)
    return folder
