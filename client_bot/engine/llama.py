"""The real engine: one llama.cpp model driven by one dedicated worker thread.

llama.cpp's context is not thread-safe (two threads in it at once crash the process), so the `Llama`
object is created, used and closed on the worker thread only; that includes tokenizing for context
fitting. The event loop only queues jobs and receives deltas through `call_soon_threadsafe`, so it never
waits on inference.

The prompt is rendered with the model's own chat template (the Jinja template in the GGUF metadata, the
same formatter `create_chat_completion` builds from it), tokenized once, and that exact token list is
both measured for context fitting and handed to `create_completion`. Going through
`create_chat_completion` instead would re-render the prompt and drop our stopping criterion, which is
what stops a cancelled request within one token and counts the tokens sampled.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from client_bot.engine.base import Job, QueuedEngine
from client_bot.engine.context import FittedPrompt, fit_history
from client_bot.engine.errors import (
    EngineError,
    GenerationFailed,
    InvalidRequest,
    ModelLoadError,
    ModelNotFound,
)
from client_bot.engine.model_files import default_model_path, model_name_of
from client_bot.engine.types import (
    ChatTurn,
    EngineConfig,
    FinishReason,
    GenerationRequest,
    GenerationResult,
)
from shared.log import get_logger

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

log = get_logger(__name__)


class _ChatModel:
    """A loaded `Llama` plus its chat template. Worker thread only."""

    def __init__(self, config: EngineConfig, path: Path) -> None:
        _prefer_passive_openmp()
        # Imported here so the fake engine and the types work on hosts without llama-cpp-python.
        try:
            from llama_cpp import Llama  # noqa: PLC0415
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter  # noqa: PLC0415
        except ImportError as error:
            raise ModelLoadError("llama-cpp-python is not installed (the `llm` extra)") from error

        try:
            self.llm: Any = Llama(
                model_path=str(path),
                n_ctx=config.n_ctx,
                n_threads=config.n_threads,
                n_threads_batch=config.n_threads,
                n_batch=config.n_batch,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as error:
            raise ModelLoadError(f"llama.cpp could not load {path}: {error}") from error
        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            self.llm.close()
            raise ModelLoadError(f"{path.name} has no chat template in its metadata")
        eos_id = self.llm.token_eos()
        self.eos_token = self._token_text(eos_id)
        self._formatter: Any = Jinja2ChatFormatter(
            template=template,
            eos_token=self.eos_token,
            bos_token=self._token_text(self.llm.token_bos()),
            stop_token_ids=[eos_id],
        )
        # Not llm.n_ctx(): llama.cpp pads the context it allocates, but llama-cpp-python's token buffer
        # holds exactly the n_ctx asked for.
        self.n_ctx = config.n_ctx

    def _token_text(self, token_id: int) -> str:
        if token_id < 0:
            return ""
        return bytes(self.llm.detokenize([token_id], special=True)).decode("utf-8", errors="replace")

    def prompt_tokens(self, turns: Sequence[ChatTurn]) -> list[int]:
        rendered = self._formatter(messages=[{"role": t.role, "content": t.content} for t in turns])
        # The template writes its own special tokens (added_special), hence no extra BOS.
        tokens: list[int] = self.llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=False, special=True)
        return tokens

    def close(self) -> None:
        self.llm.close()


class _TokenWatch:
    """A llama.cpp stopping criterion: counts sampled tokens and stops a cancelled request.

    llama.cpp calls it once per sampled token, with the ids before that token, and once more after the
    loop with an id list no longer than the last one; the position tells the two apart.
    """

    def __init__(self, prompt_len: int, cancelled: threading.Event) -> None:
        self._prompt_len = prompt_len
        self._cancelled = cancelled
        self.sampled = 0
        self.discarded_by_cancel = False

    def __call__(self, input_ids: npt.NDArray[np.intc], logits: npt.NDArray[np.single]) -> bool:
        position = len(input_ids) - self._prompt_len + 1
        if position <= self.sampled:
            return False
        self.sampled = position
        if self._cancelled.is_set():
            self.discarded_by_cancel = True  # llama.cpp drops the token it just sampled
            return True
        return False


class LlamaEngine(QueuedEngine):
    """Runs requests one at a time on a local GGUF model, in fair order across sessions."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self._config = config or EngineConfig()
        self._path = self._config.model_path or default_model_path()
        if not self._path.is_file():
            raise ModelNotFound(f"no model file at {self._path}")
        super().__init__(model_name_of(self._path), self._config.metrics_window)
        self._work = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

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
            "model %s loaded (n_ctx=%d, threads=%d)", self.model_name, self.n_ctx, self._config.n_threads
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

    # Worker thread from here on.

    def _worker_main(self, loop: asyncio.AbstractEventLoop, loaded: asyncio.Future[None]) -> None:
        try:
            model = _ChatModel(self._config, self._path)
        except ModelLoadError as error:
            loop.call_soon_threadsafe(_settle, loaded, error)
            return
        loop.call_soon_threadsafe(_settle, loaded, None)
        try:
            self._serve(model)
        finally:
            model.close()

    def _serve(self, model: _ChatModel) -> None:
        while True:
            with self._work:
                self._work.wait_for(lambda: self._stopping or self._has_work())
            job = self._take_next()
            if job is not None:
                self._run(job, model)
            elif self._stopping:
                return

    def _run(self, job: Job, model: _ChatModel) -> None:
        if job.cancelled.is_set():
            self._finish(job, job.result("cancelled"))
            return
        try:
            fitted = fit_history(
                job.request.messages,
                model.n_ctx - job.request.max_tokens,
                lambda turns: len(model.prompt_tokens(turns)),
            )
            finish, completion_tokens = self._stream(job, model, model.prompt_tokens(fitted.turns))
        except EngineError as error:
            self._finish(job, job.result("error", error=error))
            return
        except Exception as error:  # the worker must outlive any one request's failure
            log.exception("generation %s failed", job.request.request_id)
            failed = GenerationFailed(f"{type(error).__name__}: {error}")
            self._finish(job, job.result("error", error=failed))
            return
        self._finish(job, self._result(job, fitted, finish, completion_tokens))

    def _stream(self, job: Job, model: _ChatModel, prompt: list[int]) -> tuple[FinishReason, int]:
        from llama_cpp import StoppingCriteriaList  # noqa: PLC0415

        request = job.request
        watch = _TokenWatch(len(prompt), job.cancelled)
        chunks = model.llm.create_completion(
            prompt=prompt,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            repeat_penalty=request.repeat_penalty,
            seed=request.seed,
            stop=[model.eos_token],
            stopping_criteria=StoppingCriteriaList([watch]),
            stream=True,
        )
        finish: FinishReason = "length"
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                job.emit(choice["text"])
                if choice["finish_reason"] is not None:
                    finish = choice["finish_reason"]
                if job.cancelled.is_set():
                    break
        finally:
            chunks.close()
        if job.cancelled.is_set():
            finish = "cancelled"
        # The end-of-turn token is sampled but is not part of the reply.
        unseen = int(watch.discarded_by_cancel) + int(finish == "stop")
        return finish, max(0, watch.sampled - unseen)

    @staticmethod
    def _result(
        job: Job, fitted: FittedPrompt, finish: FinishReason, completion_tokens: int
    ) -> GenerationResult:
        return job.result(
            finish,
            prompt_tokens=fitted.prompt_tokens,
            completion_tokens=completion_tokens,
            dropped_turns=fitted.dropped_turns,
        )


def _prefer_passive_openmp() -> None:
    """Make llama.cpp's OpenMP threads sleep rather than spin between operations.

    Spinning threads occupy every core they were given, so the event loop thread (and anything else on
    the host) has to preempt them; on 2 shared cores decoding measured 5-6x slower with spinning
    (bench/engine.py: ~5 against ~32 tokens/s).
    libgomp reads this once, when llama_cpp is first imported; an explicit setting is left alone.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _settle(future: asyncio.Future[None], error: EngineError | None) -> None:
    if future.done():  # start() was cancelled while the model loaded
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
