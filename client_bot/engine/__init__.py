"""The client-bot's inference engine: stateless, fair across sessions, streaming.

Typical use from the Discord side::

    engine = LlamaEngine(engine_config(ModelSettings()))  # or EngineConfig(n_ctx=4096, n_parallel=8)
    await engine.start()
    async for event in engine.generate(request):
        if isinstance(event, str):
            ...  # a text delta
        else:
            ...  # the GenerationResult, always last
    await engine.close()

`FakeEngine` has the same interface with canned text, for tests. Errors: see `client_bot.engine.errors`.
"""

from client_bot.engine.base import Engine
from client_bot.engine.errors import (
    EngineError,
    EngineNotRunning,
    GenerationFailed,
    InvalidRequest,
    ModelLoadError,
    ModelNotFound,
    PromptTooLong,
)
from client_bot.engine.fake import FakeEngine, echo_reply, long_reply
from client_bot.engine.generation import Generation
from client_bot.engine.llama import LlamaEngine
from client_bot.engine.metrics import EngineStats, ThroughputSample
from client_bot.engine.model_files import default_model_path
from client_bot.engine.settings import engine_config
from client_bot.engine.types import (
    ChatTurn,
    EngineConfig,
    FinishReason,
    GenerationEvent,
    GenerationRequest,
    GenerationResult,
)

__all__ = [
    "ChatTurn",
    "Engine",
    "EngineConfig",
    "EngineError",
    "EngineNotRunning",
    "EngineStats",
    "FakeEngine",
    "FinishReason",
    "Generation",
    "GenerationEvent",
    "GenerationFailed",
    "GenerationRequest",
    "GenerationResult",
    "InvalidRequest",
    "LlamaEngine",
    "ModelLoadError",
    "ModelNotFound",
    "PromptTooLong",
    "ThroughputSample",
    "default_model_path",
    "echo_reply",
    "engine_config",
    "long_reply",
]
