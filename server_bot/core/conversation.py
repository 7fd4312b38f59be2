"""The conversation: a prompt in, a typed stream of reply events out; stop; regenerate a given reply.

One reply per session at a time: a prompt sent while the previous one is being answered waits its turn
(the stream simply starts later). Every accepted prompt ends in exactly one final event, and is recorded
in the `requests` table until then, so a restarted server-bot tells its user (`recover_unfinished`).

Use a stream with `contextlib.aclosing` (or iterate it to its end): closing it early stops the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncGenerator

from server_bot.core.access import AccessService
from server_bot.core.db_retry import retry_db
from server_bot.core.errors import (
    NoOpenSession,
    NotSessionOwner,
    PromptBlocked,
    ReplyNotRegenerable,
    RequestNotFound,
)
from server_bot.core.events import (
    Accepted,
    ContextDropped,
    Failed,
    FallbackReply,
    Finished,
    ReplyEvent,
    RequestInterrupted,
    TextSoFar,
    Withheld,
)
from server_bot.core.identity import Actor
from server_bot.core.moderation import ModerationService
from server_bot.core.notices import Notices
from server_bot.core.ports import Relay, RelayPending, Repository
from server_bot.core.relay_events import TextChunk, translate
from server_bot.core.sessions import SessionService
from server_bot.core.streams import Closed, InFlight, ReplyStreamImpl, Stopped, pump_events
from server_bot.core.validation import clean_prompt
from server_bot.db import errors as db_errors
from server_bot.db.models import Role
from server_bot.db.records import SessionInfo
from server_bot.fallback import FallbackResponder
from shared import metrics, protocol
from shared.audit import AuditLog, exception_code
from shared.config import ChatSettings
from shared.log import get_logger
from shared.tasks import spawn

log = get_logger(__name__)

REQUEST_METRIC = "request"  # = server_bot.metrics_chart.REQUEST (that module pulls in matplotlib)


class ConversationService:
    def __init__(
        self,
        *,
        repo: Repository,
        relay: Relay,
        access: AccessService,
        sessions: SessionService,
        moderation: ModerationService,
        notices: Notices,
        audit: AuditLog,
        chat: ChatSettings,
        fallback: FallbackResponder | None = None,
    ) -> None:
        self._repo = repo
        self._relay = relay
        self._access = access
        self._sessions = sessions
        self._moderation = moderation
        self._notices = notices
        self._audit = audit
        self._chat = chat
        self._fallback = fallback or FallbackResponder()
        self._turn_locks: defaultdict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._in_flight: dict[str, InFlight] = {}
        # Per session: how many dropped turns the user was last told of (the notice is said once).
        self._context_told: dict[uuid.UUID, int] = {}
        self._closing = False
        self._streams = 0  # streams started and not yet ended (shutdown waits for them)

    # ---- public API -----------------------------------------------------------------------------------

    async def submit(self, actor: Actor, session_id: uuid.UUID, prompt: str) -> ReplyStreamImpl:
        """Check and accept `prompt` for the actor's open session; the stream yields its reply events.

        Refusals are raised here, before anything is stored: `NoOpenSession`, `NotSessionOwner`,
        `RequestsPaused`, `Banned`, `Suspended`, `RateLimited`, `EmptyPrompt`, `PromptTooLong`,
        `PromptBlocked`. Each refusal is audited (its code, never the text).
        """
        session = await self._own_open(actor, session_id)
        try:
            await self._access.check(actor, "prompt")
            text = clean_prompt(prompt, max_chars=self._chat.max_prompt_chars)
        except Exception as refusal:
            await self._audit_refusal(actor, session, refusal)
            raise
        verdict = await self._moderation.enforce(
            text, "prompt", user_id=actor.user_id, session_id=session.id, channel_id=session.channel_id
        )
        if verdict.blocked:
            raise PromptBlocked(suspended=verdict.suspend_for is not None)
        return ReplyStreamImpl(session.id, self._answer(session, prompt=text, regenerating=None))

    async def regenerate(self, actor: Actor, reply_id: int) -> ReplyStreamImpl:
        """Answer again the prompt that reply `reply_id` answered, replacing that reply.

        Only the latest reply of the actor's open session qualifies (`ReplyNotRegenerable` otherwise).
        """
        found = await self._repo.get_message_session(reply_id)
        if found is None:
            raise ReplyNotRegenerable()
        session = await self._own_open(actor, found)
        await self._access.check(actor, "prompt")
        if await self._repo.latest_reply_id(session.id) != reply_id:
            raise ReplyNotRegenerable()
        return ReplyStreamImpl(session.id, self._answer(session, prompt=None, regenerating=reply_id))

    async def stop(self, actor: Actor, request_id: str) -> None:
        """Stop a reply being written; its text so far is kept as the reply (finish reason "cancelled")."""
        flight = self._in_flight.get(request_id)
        if flight is None:
            raise RequestNotFound()
        if flight.session.owner_id != actor.user_id and not await self._access.is_admin(actor):
            raise NotSessionOwner()
        if self._relay.client_online():
            await self._relay.cancel(request_id)
        else:
            flight.queue.put_nowait(Stopped())

    async def cancel_session(self, session_id: uuid.UUID) -> None:
        """End the session's reply in flight, if any (the session is being closed)."""
        for flight in list(self._in_flight.values()):
            if flight.session.id == session_id:
                flight.queue.put_nowait(Closed())
                with contextlib.suppress(Exception):
                    await self._relay.cancel(flight.request_id)

    async def aclose(self, timeout_s: float = 5.0, *, grace_s: float = 0.0) -> None:
        """Shutting down: replies being written get `grace_s` to finish (prompts still waiting their
        turn are refused with "server restarted"); those still unfinished then end with a "server
        restarted" failure (so their users are told once, now), and this waits (up to `timeout_s`) for
        the fronts to show it."""
        self._closing = True
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_s):
                while self._streams:  # noqa: ASYNC110 - polled for a few seconds at shutdown only
                    await asyncio.sleep(0.05)
        if self._in_flight:
            log.info("shutdown: %d replies cut off, their users told", len(self._in_flight))
        for flight in list(self._in_flight.values()):
            flight.queue.put_nowait(Closed("server_restarted"))
        async with asyncio.timeout(timeout_s):
            while self._streams:  # noqa: ASYNC110 - a few ticks at shutdown, not worth an event
                await asyncio.sleep(0.01)

    def in_flight(self, session_id: uuid.UUID) -> str | None:
        """The request id of the session's reply being written, if any."""
        return next((f.request_id for f in self._in_flight.values() if f.session.id == session_id), None)

    async def recover_unfinished(self) -> list[RequestInterrupted]:
        """At start-up: every request left unfinished by the last run is closed and its user told, once.

        Each is marked finished before it is announced, so a crash while announcing does not repeat it.
        """
        interrupted = []
        for request_id, session_id in await self._repo.unfinished_requests():
            await self._repo.finish_request(request_id)
            try:
                session = await self._repo.get_session(session_id)
            except db_errors.SessionNotFound:
                continue
            if not session.is_open:
                continue
            notice = RequestInterrupted(
                request_id, session.id, session.owner_id, session.front_end, session.channel_id
            )
            interrupted.append(notice)
            await self._notices.publish(notice)
        return interrupted

    # ---- the answer -----------------------------------------------------------------------------------

    async def _answer(
        self, session: SessionInfo, *, prompt: str | None, regenerating: int | None
    ) -> AsyncGenerator[ReplyEvent, None]:
        self._streams += 1
        try:
            async with contextlib.aclosing(self._answer_in_turn(session, prompt, regenerating)) as events:
                async for event in events:
                    yield event
        finally:
            self._streams -= 1

    async def _answer_in_turn(
        self, session: SessionInfo, prompt: str | None, regenerating: int | None
    ) -> AsyncGenerator[ReplyEvent, None]:
        async with self._turn_locks[session.id]:
            if self._closing:  # it waited its turn while the server began to shut down
                yield Failed.of("server_restarted")
                return
            try:
                session = await self._repo.get_session(session.id)
                if not session.is_open:
                    yield Failed.of("session_closed")
                    return
                if regenerating is not None:
                    if await self._repo.latest_reply_id(session.id) != regenerating:
                        yield Failed.of("superseded")
                        return
                    await self._repo.drop_last_reply(session.id)
                else:
                    assert prompt is not None
                    text = prompt
                    await retry_db(lambda: self._repo.add_message(session.id, Role.USER, text), "prompt")
            except db_errors.SessionNotOpen:
                yield Failed.of("session_closed")
                return
            if not self._relay.client_online() and await self._access.fallback_enabled():
                yield await self._fallback_reply(session)
                return
            pending = await self._relay.submit(session.id, await self._turns(session), _params(session))
            # Nested generators are closed explicitly: a front that stops listening must not leave one
            # to the garbage collector (its clean-up touches the database).
            async with contextlib.aclosing(self._follow(session, pending)) as events:
                async for event in events:
                    yield event

    async def _follow(self, session: SessionInfo, pending: RelayPending) -> AsyncGenerator[ReplyEvent, None]:
        flight = InFlight(pending.request_id, session)
        self._in_flight[flight.request_id] = flight
        await retry_db(lambda: self._repo.add_request(flight.request_id, session.id), "add_request")
        pump = spawn(pump_events(pending, flight.queue), name=f"core:pump:{flight.request_id}")
        final = False
        text = ""
        withholding = False  # once the text so far would be blocked, nothing more of it is shown
        try:
            yield Accepted(flight.request_id, session.id)
            while not final:
                item = await flight.queue.get()
                if isinstance(item, Closed):
                    final = True
                    yield Failed.of(item.code)
                    continue
                if isinstance(item, Stopped):
                    item = protocol.Done(request_id=flight.request_id, text=text, finish_reason="cancelled")
                update = translate(item)
                if update is None:
                    continue
                if isinstance(update, TextChunk):
                    if update.offset + len(update.text) > len(text):
                        text = text[: update.offset] + update.text
                        withholding = withholding or self._moderation.would_block(text, "reply")
                        if not withholding:
                            yield TextSoFar(text)
                elif isinstance(update, protocol.Done):
                    final = True
                    async with contextlib.aclosing(self._finish(session, update)) as finishing:
                        async for event in finishing:
                            yield event
                elif isinstance(update, Failed):
                    final = True
                    yield update
                else:
                    yield update
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            if not final:  # the front went away mid-reply: spare the AI host the work
                with contextlib.suppress(Exception):
                    await self._relay.cancel(flight.request_id)
            try:
                # Kept unfinished, it would be announced as interrupted at the next start-up.
                await retry_db(lambda: self._repo.finish_request(flight.request_id), "finish_request")
            except Exception:  # the database stayed down: the next start-up tells the user instead
                log.warning("request %s not marked finished", flight.request_id, exc_info=True)
            finally:
                # Last, so `aclose` knows the stream touches the database no more.
                self._in_flight.pop(flight.request_id, None)

    async def _finish(self, session: SessionInfo, done: protocol.Done) -> AsyncGenerator[ReplyEvent, None]:
        await self._record_metric(done)
        verdict = await self._moderation.enforce(
            done.text, "reply", user_id=session.owner_id, session_id=session.id, channel_id=session.channel_id
        )
        if verdict.blocked:
            yield Withheld()
            return
        reply_id = None
        if done.text.strip():
            try:
                reply_id = await retry_db(
                    lambda: self._repo.add_message(
                        session.id, Role.ASSISTANT, done.text, done.completion_tokens
                    ),
                    "the reply",
                )
            except db_errors.SessionNotOpen:
                yield Failed.of("session_closed")
                return
            except Exception:  # the database stayed down: the reply is still shown, not stored
                log.warning("a reply of session %s was shown but not stored", session.id, exc_info=True)
        dropped = self._context_notice(session.id, done.dropped_turns)
        if dropped is not None:
            yield dropped
        yield Finished(done.text, done.finish_reason, reply_id, done.completion_tokens)

    def _context_notice(self, session_id: uuid.UUID, dropped_turns: int) -> ContextDropped | None:
        """Said once per session; said again only after the history shrank (`history_shrank`, a reset)."""
        if dropped_turns <= 0 or session_id in self._context_told:
            return None
        self._context_told[session_id] = dropped_turns
        return ContextDropped(dropped_turns)

    def history_shrank(self, session_id: uuid.UUID) -> None:
        """The session's history was cleared: a later overflow is worth telling again."""
        self._context_told.pop(session_id, None)

    async def _fallback_reply(self, session: SessionInfo) -> FallbackReply:
        """A labelled Markov reply to the last prompt; it is not the model, so the history skips it."""
        prompts = [text for role, text in await self._repo.history(session.id) if role is Role.USER]
        await self._audit.record(
            "prompt",
            success=True,
            user_id=session.owner_id,
            channel_id=session.channel_id,
            detail="fallback_reply",
        )
        return FallbackReply(self._fallback.reply(prompts[-1] if prompts else ""))

    # ---- helpers --------------------------------------------------------------------------------------

    async def _turns(self, session: SessionInfo) -> list[protocol.ChatTurn]:
        turns = [protocol.ChatTurn(role="system", content=system_text(self._chat, session.system_prompt))]
        turns += [
            protocol.ChatTurn(role=role.value, content=text)
            for role, text in await self._repo.history(session.id)
        ]
        return turns

    async def _own_open(self, actor: Actor, session_id: uuid.UUID) -> SessionInfo:
        session = await self._sessions.get(actor, session_id)
        if session.owner_id != actor.user_id:
            raise NotSessionOwner()
        if not session.is_open:
            raise NoOpenSession()
        return session

    async def _record_metric(self, done: protocol.Done) -> None:
        generation_s = done.total_ms / 1000
        metrics.reply_finished(done.finish_reason, generation_s, done.completion_tokens)
        try:
            await self._store_metric(done, generation_s)
        except Exception:  # a sample lost to a database outage must not cost the user the reply
            log.warning("reply metric not stored", exc_info=True)

    async def _store_metric(self, done: protocol.Done, generation_s: float) -> None:
        await self._repo.add_metric_sample(
            REQUEST_METRIC,
            tokens=done.completion_tokens,
            tokens_per_s=done.completion_tokens / generation_s if generation_s > 0 else None,
            latency_ms=done.total_ms,
        )

    async def _audit_refusal(self, actor: Actor, session: SessionInfo, refusal: Exception) -> None:
        await self._audit.record(
            "prompt",
            success=False,
            user_id=actor.user_id,
            channel_id=session.channel_id,
            detail=exception_code(refusal),
        )


def system_text(chat: ChatSettings, session_prompt: str | None) -> str:
    """The system turn the model sees: the platform's preamble, then the session's (or default) prompt.

    The preamble sits above whatever the user set, so no `/chat system` can remove it."""
    system = session_prompt or chat.system_prompt
    preamble = chat.platform_preamble.strip()
    return f"{preamble}\n\n{system}" if preamble else system


def _params(session: SessionInfo) -> protocol.GenerationParams:
    # Rows written before the core validated settings may hold anything; never let them fail a prompt.
    temperature = session.temperature if 0.0 <= session.temperature <= 2.0 else 0.7
    max_tokens = min(max(session.max_tokens, 1), 8192)
    return protocol.GenerationParams(max_tokens=max_tokens, temperature=temperature)
