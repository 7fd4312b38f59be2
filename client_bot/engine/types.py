"""Request, result and configuration types shared by every engine implementation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from client_bot.engine.errors import EngineError

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "cancelled", "error"]


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One reply to generate. `messages` is the session's full history.

    The engine needs no state to answer, but it keeps the session's KV cache between turns (keyed by
    `session_id`) so a next turn that extends the same history only processes the new tokens.
    """

    request_id: str
    session_id: str
    messages: tuple[ChatTurn, ...] | list[ChatTurn]
    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    # Tiny models loop without a mild repetition penalty.
    repeat_penalty: float = 1.1
    seed: int | None = None
    # Drop tokens below min_p x the top token's probability (0 = off), and keep at most top_k (0 = all).
    # None: the host's defaults (`EngineConfig.min_p` / `top_k`, from MODEL_MIN_P / MODEL_TOP_K).
    min_p: float | None = None
    top_k: int | None = None


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """The last event of every generation.

    `text` is exactly the concatenation of the deltas streamed before it. Times are seconds measured
    from submission: `queued_s` until the worker picked the request up, `first_token_s` until the first
    delta (None if there was none), `total_s` until the end.
    """

    text: str
    finish_reason: FinishReason
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dropped_turns: int = 0
    queued_s: float = 0.0
    first_token_s: float | None = None
    total_s: float = 0.0
    cached_prompt_tokens: int = 0  # of prompt_tokens, how many were reused from the session's KV cache
    error: EngineError | None = field(default=None, compare=False)

    def raise_for_error(self) -> None:
        """Raise the error that ended this generation, if any."""
        if self.error is not None:
            raise self.error

    @property
    def tokens_per_s(self) -> float | None:
        """Completion tokens per second of run time (queue wait excluded)."""
        run_s = self.total_s - self.queued_s
        if self.completion_tokens == 0 or run_s <= 0:
            return None
        return self.completion_tokens / run_s


GenerationEvent = str | GenerationResult
"""What a generation streams: text deltas (`str`), then exactly one `GenerationResult`."""


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How to run the local model. `model_path=None` means the bundled SmolLM2 (`default_model_path()`).

    `n_ctx` is the context of one sequence; the KV cache holds `n_parallel` of them, so its memory grows
    with both. `n_batch` is the most tokens one decode step takes (prompt chunks plus one token per
    generating sequence). `n_gpu_layers=None` offloads every layer when llama.cpp was built with a GPU
    backend; `flash_attn=None` lets llama.cpp decide. `prefix_cache=False` drops every sequence's cache
    when its request ends (each turn prefills its whole prompt; for comparison in benchmarks).
    """

    model_path: Path | None = None
    n_ctx: int = 2048
    n_threads: int = 2
    n_batch: int = 256
    metrics_window: int = 32
    n_parallel: int = 4
    n_gpu_layers: int | None = None
    flash_attn: bool | None = None
    prefix_cache: bool = True
    # Sampling defaults for requests that leave min_p / top_k unset (bench/sampling.py, docs/engine.md).
    min_p: float = 0.05
    top_k: int = 40
