"""`meatlizard model check PATH`: what a GGUF file is and what it needs, from its metadata alone.

The memory estimate is the file (the weights, loaded whole) plus the KV cache llama.cpp allocates for
the context (f16 keys and values for every layer) plus a compute buffer. It is an estimate for choosing
a model, not a promise: llama.cpp's own log at load time has the exact figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from meatlizard.gguf_metadata import GGUFMetadata, read_metadata

# llama.cpp's scratch buffers for one batch: roughly this, plus a share of the KV cache (see below).
_COMPUTE_BASE_BYTES = 64 << 20
_F16_BYTES = 2
# GGUF `general.file_type` values people meet (llama.h `llama_ftype`).
_FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    32: "BF16",
}  # fmt: skip


@dataclass(frozen=True)
class ModelFacts:
    path: Path
    size_bytes: int
    name: str | None
    architecture: str | None
    quantization: str | None
    trained_context: int | None
    layers: int | None
    has_chat_template: bool
    kv_bytes_per_token: int | None

    def kv_cache_bytes(self, context: int) -> int | None:
        return None if self.kv_bytes_per_token is None else self.kv_bytes_per_token * context

    def estimated_bytes(self, context: int) -> int | None:
        """Weights + KV cache + compute buffer at `context` tokens, when the metadata allows it."""
        kv = self.kv_cache_bytes(context)
        if kv is None:
            return None
        return self.size_bytes + kv + _COMPUTE_BASE_BYTES + kv // 8


def inspect_model(path: Path) -> ModelFacts:
    """Raises `GGUFError` when the file is missing or not a readable GGUF."""
    meta = read_metadata(path)
    file_type = meta.values.get("general.file_type")
    return ModelFacts(
        path=path,
        size_bytes=path.stat().st_size,
        name=_text(meta, "general.name"),
        architecture=meta.architecture,
        quantization=_FILE_TYPES.get(file_type) if isinstance(file_type, int) else None,
        trained_context=_int(meta.arch_value("context_length")),
        layers=_int(meta.arch_value("block_count")),
        has_chat_template=meta.chat_template is not None,
        kv_bytes_per_token=_kv_bytes_per_token(meta),
    )


def _kv_bytes_per_token(meta: GGUFMetadata) -> int | None:
    layers = _int(meta.arch_value("block_count"))
    width = _int(meta.arch_value("embedding_length"))
    heads = _int(meta.arch_value("attention.head_count"))
    if not (layers and width and heads):
        return None
    kv_heads = _int(meta.arch_value("attention.head_count_kv")) or heads
    key_size = _int(meta.arch_value("attention.key_length")) or width // heads
    value_size = _int(meta.arch_value("attention.value_length")) or width // heads
    return layers * kv_heads * (key_size + value_size) * _F16_BYTES


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(meta: GGUFMetadata, key: str) -> str | None:
    value = meta.values.get(key)
    return value if isinstance(value, str) else None


def mib(size: int) -> str:
    return f"{size / (1 << 30):.2f} GiB" if size >= 1 << 30 else f"{size / (1 << 20):.0f} MiB"


def describe(facts: ModelFacts, context: int) -> list[tuple[bool, str]]:
    """The report as (fine, line) pairs; a False line is something to fix before using the model."""
    lines: list[tuple[bool, str]] = [
        (True, f"file: {facts.path} ({mib(facts.size_bytes)})"),
        (True, f"model: {facts.name or 'unnamed'} · {facts.architecture or 'unknown architecture'}"
               f" · {facts.quantization or 'unknown quantization'}"),
    ]  # fmt: skip
    if facts.trained_context is None:
        lines.append((True, "trained context: not stated in the file"))
    else:
        fits = context <= facts.trained_context
        lines.append(
            (
                fits,
                f"trained context: {facts.trained_context} tokens"
                + (
                    ""
                    if fits
                    else f" — MODEL_CONTEXT={context} is larger; set it to {facts.trained_context} or less"
                ),
            )
        )
    lines.append(
        (True, "chat template: present")
        if facts.has_chat_template
        else (False, "chat template: MISSING — pick a chat/instruct GGUF that embeds tokenizer.chat_template")
    )
    estimate = facts.estimated_bytes(context)
    if estimate is None:
        lines.append(
            (True, f"memory at {context} tokens: cannot estimate (no layer/head counts in the file)")
        )
    else:
        kv = facts.kv_cache_bytes(context) or 0
        lines.append((True, f"memory at {context} tokens: about {mib(estimate)} (KV cache {mib(kv)})"))
    return lines
