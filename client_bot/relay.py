"""The client-bot's side of the relay: open prompts from the paired server-bot, stream sealed replies back.

Every accepted prompt ends in exactly one DONE or FAILED envelope. The server-bot may re-send a prompt
(after this bot was offline); a request id already answered gets its answer again, one still running is
left alone, so a prompt is never generated twice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import discord

from client_bot.engine import ChatTurn as EngineTurn
from client_bot.engine import Engine, EngineError, GenerationRequest, GenerationResult, PromptTooLong
from shared import protocol
from shared.config import RESTART_EXIT_CODE
from shared.log import get_logger
from shared.pacing import LatestValueSender
from shared.relay_link import RelayLink
from shared.tasks import spawn

log = get_logger(__name__)

# Answers kept for re-sent prompts; a re-send comes within minutes, so a few hundred is plenty.
_RECENT_ANSWERS = 512


class ClientRelay:
    def __init__(self, link: RelayLink, engine: Engine, *, heartbeat_interval_s: float) -> None:
        self.link = link
        self.engine = engine
        self._heartbeat_interval_s = heartbeat_interval_s
        self._started = time.monotonic()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._answered: OrderedDict[str, tuple[uuid.UUID, protocol.Done | protocol.Failed]] = OrderedDict()
        self._heartbeat_task: asyncio.Task[None] | None = None
        # Called after a REBOOT once the requests in hand are answered; tests replace it.
        self.on_reboot: Callable[[], Awaitable[None]] = _exit_for_restart

    def start(self) -> None:
        if self._heartbeat_task is None:
            self._heartbeat_task = spawn(self._heartbeat_forever(), name="client-relay:heartbeat")

    async def stop(self) -> None:
        tasks = [t for t in [self._heartbeat_task, *self._running.values()] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def handle(self, message: discord.Message) -> None:
        """Act on one message seen in the relay channel."""
        received = await self.link.accept(message)
        if received is None:
            return
        payload = received.payload
        if isinstance(payload, protocol.Prompt):
            self._accept(received.session_id, payload)
        elif isinstance(payload, protocol.Cancel):
            self.engine.cancel(payload.request_id)
        elif isinstance(payload, protocol.Reboot):
            spawn(self._reboot_when_idle(), name="client-relay:reboot")
        else:
            log.warning("ignored a %s envelope sent to the client-bot", type(payload).__name__)

    def _accept(self, session_id: uuid.UUID, prompt: protocol.Prompt) -> None:
        request_id = prompt.request_id
        if request_id in self._running:
            return
        if (answered := self._answered.get(request_id)) is not None:
            spawn(self.link.send(answered[0], answered[1]), name=f"client-relay:resend:{request_id}")
            return
        task = spawn(self._serve(session_id, prompt), name=f"client-relay:serve:{request_id}")
        self._running[request_id] = task
        task.add_done_callback(lambda _: self._running.pop(request_id, None))

    async def _serve(self, session_id: uuid.UUID, prompt: protocol.Prompt) -> None:
        request = GenerationRequest(
            request_id=prompt.request_id,
            session_id=str(session_id),
            messages=[EngineTurn(role=t.role, content=t.content) for t in prompt.messages],
            max_tokens=prompt.params.max_tokens,
            temperature=prompt.params.temperature,
            seed=prompt.params.seed,
        )
        if (waiting := self.engine.queue_depth) > 0:
            await self.link.send(
                session_id, protocol.Accepted(request_id=request.request_id, queue_position=waiting)
            )
        stream = _DeltaStream(self.link, session_id, request.request_id)
        answer: protocol.Done | protocol.Failed
        try:
            answer = await self._generate(request, stream)
        except PromptTooLong:
            answer = protocol.Failed(request_id=request.request_id, code="prompt_too_long")
        except EngineError:
            log.exception("generation failed for request %s", request.request_id)
            answer = protocol.Failed(request_id=request.request_id, code="engine_error")
        self._remember(request.request_id, session_id, answer)
        await stream.finish(answer)

    async def _generate(self, request: GenerationRequest, stream: _DeltaStream) -> protocol.Done:
        text = ""
        result: GenerationResult | None = None
        async for item in self.engine.generate(request):
            if isinstance(item, str):
                text += item
                stream.update(text)
            else:
                result = item
        if result is None:
            raise EngineError("the engine ended a stream without a result")
        result.raise_for_error()
        assert result.finish_reason != "error"
        return protocol.Done(
            request_id=request.request_id,
            text=result.text,
            finish_reason=result.finish_reason,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            dropped_turns=result.dropped_turns,
            first_token_ms=(result.first_token_s or 0.0) * 1000,
            total_ms=result.total_s * 1000,
        )

    async def _reboot_when_idle(self) -> None:
        log.info("reboot requested; finishing %d requests first", len(self._running))
        await asyncio.gather(*self._running.values(), return_exceptions=True)
        await self.on_reboot()

    def _remember(
        self, request_id: str, session_id: uuid.UUID, answer: protocol.Done | protocol.Failed
    ) -> None:
        self._answered[request_id] = (session_id, answer)
        while len(self._answered) > _RECENT_ANSWERS:
            self._answered.popitem(last=False)

    async def _heartbeat_forever(self) -> None:
        while True:
            try:
                await self.link.send(protocol.CONTROL_SESSION, self._heartbeat())
            except discord.HTTPException:
                log.warning("could not post a heartbeat; trying again next interval", exc_info=True)
            await asyncio.sleep(self._heartbeat_interval_s)

    def _heartbeat(self) -> protocol.Heartbeat:
        return protocol.Heartbeat(
            model=self.engine.model_name,
            queue_depth=self.engine.queue_depth,
            tokens_per_s=self.engine.stats().tokens_per_s or 0.0,
            uptime_s=time.monotonic() - self._started,
        )


async def _exit_for_restart() -> None:
    # SystemExit leaves asyncio.run, so the process exits with the code its supervisor restarts on.
    raise SystemExit(RESTART_EXIT_CODE)


class _DeltaStream:
    """Relays a growing reply as paced DELTA envelopes, then its final DONE/FAILED."""

    def __init__(self, link: RelayLink, session_id: uuid.UUID, request_id: str) -> None:
        self._link = link
        self._session_id = session_id
        self._request_id = request_id
        self._sent = 0
        self._sender: LatestValueSender[str | protocol.Payload] = LatestValueSender(
            self._send, link.budget, name=f"deltas:{request_id}"
        )

    def update(self, text_so_far: str) -> None:
        self._sender.update(text_so_far)

    async def finish(self, answer: protocol.Done | protocol.Failed) -> None:
        await self._sender.finish(answer)

    async def _send(self, value: str | protocol.Payload) -> None:
        if not isinstance(value, str):
            await self._link.send(self._session_id, value)
            return
        delta = protocol.Delta(request_id=self._request_id, offset=self._sent, text=value[self._sent :])
        self._sent = len(value)
        await self._link.send(self._session_id, delta)
