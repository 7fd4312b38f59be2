"""The caller's handle on one submitted request, fed from whichever thread runs the model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from client_bot.engine.types import GenerationEvent, GenerationRequest, GenerationResult
from shared.log import get_logger

log = get_logger(__name__)


class Generation:
    """Streams one request's deltas and final result to the event loop that submitted it.

    Read it once, either with `events()` (deltas then the result) or `deltas()` plus `result()`.
    `result()` alone is fine too: it can be awaited any number of times.
    """

    def __init__(
        self,
        request: GenerationRequest,
        loop: asyncio.AbstractEventLoop,
        canceller: Callable[[str], bool],
    ) -> None:
        self.request = request
        self._loop = loop
        self._canceller = canceller
        self._events: asyncio.Queue[GenerationEvent] = asyncio.Queue()
        self._result: asyncio.Future[GenerationResult] = loop.create_future()

    @property
    def request_id(self) -> str:
        return self.request.request_id

    @property
    def done(self) -> bool:
        return self._result.done()

    async def events(self) -> AsyncIterator[GenerationEvent]:
        """Text deltas as they are generated, then the `GenerationResult`."""
        while True:
            event = await self._events.get()
            yield event
            if isinstance(event, GenerationResult):
                return

    async def deltas(self) -> AsyncIterator[str]:
        """Only the text deltas; await `result()` afterwards for the outcome."""
        async for event in self.events():
            if isinstance(event, str):
                yield event

    async def result(self) -> GenerationResult:
        # Shielded so that a caller timing out on the result does not poison it for other awaiters.
        return await asyncio.shield(self._result)

    def cancel(self) -> bool:
        """Ask the engine to stop this request; True if it was still queued or running."""
        return self._canceller(self.request.request_id)

    # Producer side: safe to call from any thread.

    def emit_delta(self, text: str) -> None:
        self._emit(text)

    def finish(self, result: GenerationResult) -> None:
        self._emit(result)

    def _emit(self, event: GenerationEvent) -> None:
        try:
            self._loop.call_soon_threadsafe(self._deliver, event)
        except RuntimeError:
            # The submitting loop is gone (its owner exited without closing the engine); nobody listens.
            log.debug("dropped an event for %s: event loop closed", self.request_id)

    def _deliver(self, event: GenerationEvent) -> None:
        self._events.put_nowait(event)
        if isinstance(event, GenerationResult) and not self._result.done():
            self._result.set_result(event)
