"""The client-bot's side of the relay: open prompts from the paired server-bot, stream sealed replies back.

Every accepted prompt ends in exactly one DONE or FAILED message. The server-bot may send a prompt again
(after this bot was offline); a request id already answered gets its answer again, one still running is
left alone, so a prompt is never generated twice. Answered ids are also kept on disk (`AnsweredLog`), so
a replayed prompt envelope does not run a second generation after this bot restarts either.

Replies leave through the link's outbox: every token is offered as a delta, and the outbox merges what
has not been posted yet, so the number of posts follows Discord's rate limit, not the token rate.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

import discord

from client_bot.engine import ChatTurn as EngineTurn
from client_bot.engine import Engine, EngineError, GenerationRequest, GenerationResult, PromptTooLong
from shared import protocol
from shared.log import get_logger
from shared.relay_link import RelayLink

log = get_logger(__name__)

# Answers kept for re-sent prompts; a re-send comes within minutes, so a few hundred is plenty.
_RECENT_ANSWERS = 512
# Request ids kept on disk: enough to outlive the envelope freshness window at any realistic rate.
_ANSWERED_ON_DISK = 20_000
_REPLY_TIME_WINDOW = 16


class AnsweredLog:
    """Request ids this host has answered, appended to a file so they survive a restart."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._ids: OrderedDict[str, None] = OrderedDict()
        if path is not None and path.exists():
            for line in path.read_text(encoding="ascii", errors="ignore").splitlines()[-_ANSWERED_ON_DISK:]:
                if line:
                    self._ids[line] = None
            path.write_text("".join(f"{request_id}\n" for request_id in self._ids), encoding="ascii")

    def __contains__(self, request_id: str) -> bool:
        return request_id in self._ids

    def add(self, request_id: str) -> None:
        self._ids[request_id] = None
        while len(self._ids) > _ANSWERED_ON_DISK:
            self._ids.popitem(last=False)
        if self._path is not None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("a", encoding="ascii") as file:
                file.write(request_id + "\n")


class ClientRelay:
    def __init__(
        self,
        link: RelayLink,
        engine: Engine,
        *,
        heartbeat_interval_s: float,
        answered_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self.engine = engine
        self._heartbeat_interval_s = heartbeat_interval_s
        self._clock = clock
        self._started = clock()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._generating: set[str] = set()  # requests that produced their first token
        self._answered: OrderedDict[str, tuple[uuid.UUID, protocol.Done | protocol.Failed]] = OrderedDict()
        self._answered_log = AnsweredLog(answered_path)
        self._reply_times: list[float] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._heartbeat_task: asyncio.Task[None] | None = None
        # Called after a REBOOT once the requests in hand are answered; tests replace it.
        self.on_reboot: Callable[[], Awaitable[None]] = _no_restart
        self._draining = False  # stopping: new prompts are left for the server-bot to re-send

    def start(self) -> None:
        if self._heartbeat_task is None:
            self._heartbeat_task = asyncio.create_task(
                self._heartbeat_forever(), name="client-relay:heartbeat"
            )

    async def drain(self, within_s: float) -> None:
        """Stopping: let the requests in hand finish (up to `within_s`) and their answers leave. One cut
        off is re-sent by the server-bot to this host once it is back, or to another host."""
        self._draining = True
        running = list(self._running.values())
        if running:
            log.info("stopping: finishing %d requests first (up to %.0f s)", len(running), within_s)
            _, unfinished = await asyncio.wait(running, timeout=within_s)
            if unfinished:
                log.warning("stopping with %d requests unfinished", len(unfinished))

    async def stop(self) -> None:
        tasks = [t for t in [self._heartbeat_task, *self._running.values(), *self._tasks] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.link.close(flush_within_s=1.0)

    def _own(self, coro: Awaitable[None], name: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def handle(self, message: discord.Message) -> None:
        """Act on one message seen in the relay channel."""
        for received in await self.link.accept(message):
            await self.dispatch(received.session_id, received.payload)

    async def dispatch(self, session_id: uuid.UUID, payload: protocol.Payload) -> None:
        match payload:
            case protocol.Prompt():
                await self._accept(session_id, payload)
            case protocol.Cancel():
                self.engine.cancel(payload.request_id)
            case protocol.Reboot():
                self._own(self._reboot_when_idle(), "client-relay:reboot")
            case _:
                log.warning("ignored a %s envelope sent to the client-bot", type(payload).__name__)

    async def _accept(self, session_id: uuid.UUID, prompt: protocol.Prompt) -> None:
        request_id = prompt.request_id
        if request_id in self._running:
            return
        if self._draining:
            log.info("stopping: left prompt %s for the server-bot to send again", request_id)
            return
        if (answered := self._answered.get(request_id)) is not None:
            await self.link.send(answered[0], answered[1])
            return
        if request_id in self._answered_log:
            log.warning("ignored a prompt answered before a restart (replayed or re-sent): %s", request_id)
            return
        task = asyncio.create_task(self._serve(session_id, prompt), name=f"client-relay:serve:{request_id}")
        self._running[request_id] = task
        task.add_done_callback(lambda _: self._forget_running(request_id))

    def _forget_running(self, request_id: str) -> None:
        self._running.pop(request_id, None)
        self._generating.discard(request_id)

    async def _serve(self, session_id: uuid.UUID, prompt: protocol.Prompt) -> None:
        request = GenerationRequest(
            request_id=prompt.request_id,
            session_id=str(session_id),
            messages=[EngineTurn(role=t.role, content=t.content) for t in prompt.messages],
            max_tokens=prompt.params.max_tokens,
            temperature=prompt.params.temperature,
            seed=prompt.params.seed,
        )
        # Queued behind others, or every slot busy: this request waits, and the user is shown where.
        stats = self.engine.stats()
        if (waiting := stats.queue_depth) > 0 or stats.slots_free == 0:
            place = waiting + 1
            await self.link.send(
                session_id,
                protocol.Accepted(
                    request_id=request.request_id, queue_position=place, eta_s=place * self._per_slot_s()
                ),
            )
        started = self._clock()
        answer: protocol.Done | protocol.Failed
        try:
            answer = await self._generate(session_id, request)
        except PromptTooLong:
            answer = protocol.Failed(request_id=request.request_id, code="prompt_too_long")
        except EngineError:
            log.exception("generation failed for request %s", request.request_id)
            answer = protocol.Failed(request_id=request.request_id, code="engine_error")
        self._reply_times = [*self._reply_times[-_REPLY_TIME_WINDOW + 1 :], self._clock() - started]
        self._remember(request.request_id, session_id, answer)
        await self.link.send(session_id, answer)

    async def _generate(self, session_id: uuid.UUID, request: GenerationRequest) -> protocol.Done:
        sent = 0
        result: GenerationResult | None = None
        async for item in self.engine.generate(request):
            if isinstance(item, str):
                self._generating.add(request.request_id)
                # The outbox merges deltas not posted yet, so offering every token costs no extra post.
                await self.link.send(
                    session_id, protocol.Delta(request_id=request.request_id, offset=sent, text=item)
                )
                sent += len(item)
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
        await self.link.drained()
        await self.on_reboot()

    def _remember(
        self, request_id: str, session_id: uuid.UUID, answer: protocol.Done | protocol.Failed
    ) -> None:
        self._answered[request_id] = (session_id, answer)
        self._answered_log.add(request_id)
        while len(self._answered) > _RECENT_ANSWERS:
            self._answered.popitem(last=False)

    async def _heartbeat_forever(self) -> None:
        while True:
            await self.link.send(protocol.CONTROL_SESSION, self.heartbeat())
            await asyncio.sleep(self._heartbeat_interval_s)

    def _per_slot_s(self) -> float:
        if not self._reply_times:
            return 0.0
        return sum(self._reply_times) / len(self._reply_times) / max(1, self.engine.stats().slots_total)

    def heartbeat(self) -> protocol.Heartbeat:
        stats = self.engine.stats()
        # Running first, then the rest in the order they arrived (dicts keep insertion order).
        running = [rid for rid in self._running if rid in self._generating]
        queued = [rid for rid in self._running if rid not in self._generating]
        return protocol.Heartbeat(
            model=self.engine.model_name,
            queue_depth=stats.queue_depth,
            tokens_per_s=stats.tokens_per_s or 0.0,
            uptime_s=self._clock() - self._started,
            slots=max(1, stats.slots_total),
            free_slots=max(0, stats.slots_free),
            running=running[:4096],
            queued=queued[:4096],
            mean_reply_s=sum(self._reply_times) / len(self._reply_times) if self._reply_times else 0.0,
        )


async def _no_restart() -> None:
    # The bot sets its own (`ClientBot` closes and exits with RESTART_EXIT_CODE): never a SystemExit
    # raised inside a task.
    log.warning("a reboot was requested but nothing here can restart this relay")
