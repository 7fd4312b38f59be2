"""The real engine: one llama.cpp model, continuously batching every running request on one thread.

llama.cpp's context is not thread-safe (two threads in it at once crash the process), so the model is
created, used and closed on the worker thread only; that includes tokenizing for context fitting. The
event loop only queues jobs and receives deltas through `call_soon_threadsafe`, so it never waits on
inference. The worker holds the GIL only between decode steps (llama.cpp calls release it), so the
event loop keeps its heartbeats while a batch decodes.

The worker admits queued requests (in the fair queue's order) into free slots between decode steps and
advances all of them together (`client_bot.engine.slots`). Each prompt is rendered with the model's own
chat template (the Jinja template in the GGUF metadata, the formatter `create_chat_completion` builds
from it), tokenized once, and that exact token list is both measured for context fitting and decoded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from client_bot.engine.base import QueuedEngine
from client_bot.engine.errors import EngineError, InvalidRequest, ModelLoadError, ModelNotFound
from client_bot.engine.metrics import EngineStats, RateMeter
from client_bot.engine.model_files import default_model_path, model_name_of
from client_bot.engine.native import ContextOptions, NativeModel
from client_bot.engine.slots import BatchRunner
from client_bot.engine.types import ChatTurn, EngineConfig, GenerationRequest
from shared.log import get_logger

log = get_logger(__name__)


class _ChatTemplate:
    """The model's chat template, rendering turns to prompt tokens. Worker thread only."""

    def __init__(self, model: NativeModel, path: Path) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter  # noqa: PLC0415 — after native

        template = model.metadata("tokenizer.chat_template")
        if not template:
            raise ModelLoadError(f"{path.name} has no chat template in its metadata")
        self._model = model
        self._formatter: Any = Jinja2ChatFormatter(
            template=template,
            eos_token=model.piece(model.eos(), special=True).decode("utf-8", errors="replace"),
            bos_token=model.piece(model.bos(), special=True).decode("utf-8", errors="replace"),
            stop_token_ids=[model.eos()],
        )

    def prompt_tokens(self, turns: Sequence[ChatTurn]) -> list[int]:
        rendered = self._formatter(messages=[{"role": t.role, "content": t.content} for t in turns])
        # The template writes its own special tokens, hence no BOS added by the tokenizer.
        return self._model.tokenize(rendered.prompt)


class LlamaEngine(QueuedEngine):
    """Runs up to `n_parallel` requests at once on a local GGUF model, admitted in fair order."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self._config = config or EngineConfig()
        self._path = self._config.model_path or default_model_path()
        if not self._path.is_file():
            raise ModelNotFound(f"no model file at {self._path}")
        super().__init__(model_name_of(self._path), self._config.metrics_window)
        self._work = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._runner: BatchRunner | None = None
        self._rate = RateMeter()

    @property
    def model_path(self) -> Path:
        return self._path

    @property
    def n_ctx(self) -> int:
        return self._config.n_ctx

    async def start(self) -> None:
        """Load the model on the worker thread; raises `ModelLoadError` if llama.cpp refuses it."""
        if self._thread is not None:
            return
        loop = asyncio.get_running_loop()
        loaded: asyncio.Future[None] = loop.create_future()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._worker_main, args=(loop, loaded), name=f"llama-{self.model_name}", daemon=True
        )
        self._thread.start()
        try:
            await loaded
        except EngineError:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
            raise
        self._accepting = True
        self._loaded = True
        log.info(
            "model %s loaded (n_ctx=%d per sequence, %d sequences, threads=%d)",
            self.model_name,
            self.n_ctx,
            self._config.n_parallel,
            self._config.n_threads,
        )

    async def close(self) -> None:
        """Cancel everything queued or running, wait for the worker and free the model."""
        self._cancel_queued_on_close()
        with self._work:
            self._stopping = True
            self._work.notify_all()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        self._loaded = False

    def _validate(self, request: GenerationRequest) -> None:
        super()._validate(request)
        if request.max_tokens >= self.n_ctx:
            raise InvalidRequest(f"max_tokens {request.max_tokens} leaves no room in n_ctx {self.n_ctx}")

    def _wake(self) -> None:
        with self._work:
            self._work.notify()

    def stats(self) -> EngineStats:
        stats = super().stats()
        runner = self._runner
        if runner is None:
            return stats
        free = runner.free_slots
        return replace(
            stats,
            slots_total=len(runner.slots),
            slots_free=free,
            cached_sessions=runner.cached_sessions,
            aggregate_tokens_per_s=self._rate.tokens_per_s(),
        )

    # Worker thread from here on.

    def _worker_main(self, loop: asyncio.AbstractEventLoop, loaded: asyncio.Future[None]) -> None:
        config = self._config
        options = ContextOptions(
            n_ctx_per_seq=config.n_ctx,
            n_seq=config.n_parallel,
            n_batch=config.n_batch,
            n_threads=config.n_threads,
            n_gpu_layers=config.n_gpu_layers,
            flash_attn=config.flash_attn,
        )
        try:
            model = NativeModel(self._path, options)
        except ModelLoadError as error:
            loop.call_soon_threadsafe(_settle, loaded, error)
            return
        try:
            template = _ChatTemplate(model, self._path)
        except ModelLoadError as error:
            model.close()
            loop.call_soon_threadsafe(_settle, loaded, error)
            return
        runner = BatchRunner(
            model,
            template.prompt_tokens,
            self._finish,
            config.n_ctx,
            keep_cache=config.prefix_cache,
            default_min_p=config.min_p,
            default_top_k=config.top_k,
        )
        self._runner = runner
        loop.call_soon_threadsafe(_settle, loaded, None)
        try:
            self._serve(runner)
        finally:
            runner.close()
            self._runner = None
            model.close()

    def _serve(self, runner: BatchRunner) -> None:
        while True:
            with self._work:
                self._work.wait_for(lambda: self._stopping or runner.busy or self._has_work())
            if self._stopping:
                return
            while runner.free_slots:
                job = self._take_next()
                if job is None:
                    break
                runner.admit(job)
            before, started = runner.tokens_generated, time.monotonic()
            runner.step()
            self._rate.record(runner.tokens_generated - before, time.monotonic() - started)


def _settle(future: asyncio.Future[None], error: EngineError | None) -> None:
    if future.done():  # start() was cancelled while the model loaded
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
