"""What every engine shares: the `Engine` protocol, request bookkeeping, the fair queue and cancellation.

A subclass supplies the worker: it takes jobs with `_take_next()`, streams through `Job.emit()`, and
ends each with `_finish()`. Everything here may be called from the event loop and the worker thread at
once, so shared state lives behind one lock.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol, Self

from client_bot.engine.errors import EngineError, EngineNotRunning, InvalidRequest
from client_bot.engine.generation import Generation
from client_bot.engine.metrics import EngineStats, ThroughputWindow
from client_bot.engine.scheduler import FairScheduler
from client_bot.engine.types import FinishReason, GenerationEvent, GenerationRequest, GenerationResult
from shared.log import get_logger

log = get_logger(__name__)


class Engine(Protocol):
    """The client-bot's view of an inference engine (`LlamaEngine`, or `FakeEngine` in tests).

    `submit()` queues a request and returns its `Generation` handle at once; `generate()` is the same
    as an async iterator of deltas then the `GenerationResult` (leaving the loop early cancels it).
    """

    @property
    def model_name(self) -> str: ...
    @property
    def loaded(self) -> bool: ...
    @property
    def queue_depth(self) -> int: ...
    async def start(self) -> None: ...
    async def close(self) -> None: ...
    def submit(self, request: GenerationRequest) -> Generation: ...
    def generate(self, request: GenerationRequest) -> AsyncGenerator[GenerationEvent, None]: ...
    def cancel(self, request_id: str) -> bool: ...
    def stats(self) -> EngineStats: ...


@dataclass(slots=True)
class Job:
    """One request on its way through the engine; owned by the worker once taken."""

    request: GenerationRequest
    generation: Generation
    submitted_at: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)
    started_at: float | None = None
    first_token_at: float | None = None
    parts: list[str] = field(default_factory=list)
    unsent: list[str] = field(default_factory=list)
    sent_at: float = 0.0

    def emit(self, text: str) -> None:
        """Stream `text` to the caller now."""
        self.hold(text)
        self.flush()

    def hold(self, text: str) -> None:
        """Add `text` to the reply; the caller sees it at the next `flush()`."""
        if not text:
            return
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
        self.parts.append(text)
        self.unsent.append(text)

    def flush(self, min_interval_s: float = 0.0) -> None:
        """Send the held text as one delta, unless the last one went out under `min_interval_s` ago.

        A batching worker produces a token every few milliseconds per sequence; one wake-up of the
        event loop per token would compete with the decode threads for the cores for no visible gain.
        """
        if not self.unsent:
            return
        now = time.monotonic()
        if self.sent_at and now - self.sent_at < min_interval_s:
            return
        self.sent_at = now
        text = "".join(self.unsent)
        self.unsent.clear()
        self.generation.emit_delta(text)

    def result(
        self,
        finish_reason: FinishReason,
        *,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        dropped_turns: int = 0,
        cached_prompt_tokens: int = 0,
        error: EngineError | None = None,
    ) -> GenerationResult:
        now = time.monotonic()
        started = self.started_at if self.started_at is not None else now
        return GenerationResult(
            text="".join(self.parts),
            finish_reason=finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            dropped_turns=dropped_turns,
            cached_prompt_tokens=cached_prompt_tokens,
            queued_s=started - self.submitted_at,
            first_token_s=None if self.first_token_at is None else self.first_token_at - self.submitted_at,
            total_s=now - self.submitted_at,
            error=error,
        )


class QueuedEngine:
    """Bookkeeping shared by the engines; subclasses add `start`, `close`, the worker and `_wake`."""

    def __init__(self, model_name: str, metrics_window: int = 32) -> None:
        self._model_name = model_name
        self._lock = threading.Lock()
        self._queue: FairScheduler[Job] = FairScheduler()
        self._jobs: dict[str, Job] = {}  # queued and running, by request id
        self._running = 0
        self._slots_total = 1  # requests run at once; an engine that runs several sets its own
        self._accepting = False
        self._loaded = False
        self._throughput = ThroughputWindow(metrics_window)

    @property
    def model_name(self) -> str:
        return self._model_name

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def queue_depth(self) -> int:
        """Requests waiting to run (the one running is not counted)."""
        with self._lock:
            return len(self._queue)

    def stats(self) -> EngineStats:
        with self._lock:
            depth, running = len(self._queue), self._running
        return EngineStats(
            model_name=self._model_name,
            loaded=self._loaded,
            queue_depth=depth,
            running=running,
            tokens_per_s=self._throughput.tokens_per_s(),
            recent=self._throughput.samples(),
            slots_total=self._slots_total,
            slots_free=max(0, self._slots_total - running),
        )

    def submit(self, request: GenerationRequest) -> Generation:
        """Queue `request`; raises `EngineNotRunning` or `InvalidRequest`, never blocks."""
        self._validate(request)
        generation = Generation(request, asyncio.get_running_loop(), self.cancel)
        with self._lock:
            if not self._accepting:
                raise EngineNotRunning(f"{type(self).__name__} is not running")
            if request.request_id in self._jobs:
                raise InvalidRequest(f"request id {request.request_id!r} is already in flight")
            job = Job(request, generation)
            self._jobs[request.request_id] = job
            self._queue.push(request.session_id, request.request_id, job)
        self._wake()
        return generation

    async def generate(self, request: GenerationRequest) -> AsyncGenerator[GenerationEvent, None]:
        """Deltas, then the result.

        Closing the generator early (`aclose()`, or the garbage collector after a `break`) cancels the
        request, so an abandoned stream never keeps the model busy.
        """
        generation = self.submit(request)
        try:
            async for event in generation.events():
                yield event
        finally:
            if not generation.done:
                self.cancel(request.request_id)

    def cancel(self, request_id: str) -> bool:
        """Stop a request: a queued one never runs, a running one stops at its next token.

        Returns False if the id is unknown or already finished. Either way the request's stream ends
        with `finish_reason="cancelled"` and whatever text was generated so far.
        """
        with self._lock:
            job = self._jobs.get(request_id)
            if job is None:
                return False
            job.cancelled.set()
            was_queued = self._queue.remove(request_id) is not None
        if was_queued:
            self._finish(job, job.result("cancelled"))
        return True

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    # For subclasses.

    def _validate(self, request: GenerationRequest) -> None:
        if not request.messages:
            raise InvalidRequest("a request needs at least one message")
        if request.max_tokens < 1:
            raise InvalidRequest(f"max_tokens must be at least 1, got {request.max_tokens}")
        if request.temperature < 0:
            raise InvalidRequest(f"temperature must not be negative, got {request.temperature}")
        if not 0 < request.top_p <= 1:
            raise InvalidRequest(f"top_p must be in (0, 1], got {request.top_p}")
        if request.min_p is not None and not 0 <= request.min_p < 1:
            raise InvalidRequest(f"min_p must be in [0, 1), got {request.min_p}")
        if request.top_k is not None and request.top_k < 0:
            raise InvalidRequest(f"top_k must not be negative, got {request.top_k}")
        if request.repeat_penalty <= 0:
            raise InvalidRequest(f"repeat_penalty must be positive, got {request.repeat_penalty}")

    def _wake(self) -> None:
        """Tell the worker that a job was queued (or that it should look at `_accepting` again)."""
        raise NotImplementedError

    def _take_next(self) -> Job | None:
        """The next job by fair order, marked as running; None if nothing waits."""
        with self._lock:
            job = self._queue.pop()
            if job is not None:
                self._running += 1
                job.started_at = time.monotonic()
            return job

    def _has_work(self) -> bool:
        with self._lock:
            return len(self._queue) > 0

    def _finish(self, job: Job, result: GenerationResult) -> None:
        with self._lock:
            self._jobs.pop(job.request.request_id, None)
            if job.started_at is not None:
                self._running -= 1
        if job.started_at is not None:
            self._throughput.record(result.completion_tokens, result.total_s - result.queued_s)
        job.generation.finish(result)

    def _stop_accepting(self) -> list[Job]:
        """Refuse new requests, cancel the running ones, and return the queued ones (to be finished)."""
        with self._lock:
            self._accepting = False
            for job in self._jobs.values():
                job.cancelled.set()
            return self._queue.drain()

    def _cancel_queued_on_close(self) -> None:
        for job in self._stop_accepting():
            self._finish(job, job.result("cancelled"))
