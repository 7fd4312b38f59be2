"""The engine's configuration from the client-bot's settings (`MODEL_*` in the environment)."""

from __future__ import annotations

from client_bot.engine.types import EngineConfig
from shared.config import ModelSettings


def engine_config(model: ModelSettings) -> EngineConfig:
    return EngineConfig(
        model_path=model.path,
        n_ctx=model.context,
        n_threads=model.threads,
        n_batch=model.batch,
        n_parallel=model.parallel,
        n_gpu_layers=model.gpu_layers,
        flash_attn=model.flash_attn,
        min_p=model.min_p,
        top_k=model.top_k,
    )
