"""The server-bot's side of the relay: send prompts to the client-bot and route its replies back.

A prompt that was accepted is always answered or the user is told why:
- nothing is heard of the request nor of the client-bot for `reply_timeout_s` → an `Offline` notice
  (the prompt is kept; a long queue on a live host is not an outage);
- whenever the client-bot is heard from, every request silent for longer than `reply_timeout_s` is sent
  again (a restarted host lost it; a live one ignores the duplicate request id), so a host that comes back
  within `prompt_keep_s` answers it;
- a request silent for `prompt_keep_s` ends with an `Expired` notice (and is cancelled on the host).

Several client-bots behind one server-bot (routing, failover) fit here: `_pick_link` chooses among the
attached links; today there is one.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import discord

from shared import protocol
from shared.log import get_logger
from shared.relay_link import RelayLink
from shared.tasks import spawn

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Offline:
    """The client-bot has not answered in time; the prompt is kept until `keep_until` (monotonic)."""

    keep_for_s: float


@dataclass(frozen=True, slots=True)
class Expired:
    """The client-bot did not come back in time; the prompt was dropped."""


ReplyEvent = protocol.Accepted | protocol.Delta | protocol.Done | protocol.Failed | Offline | Expired
_FINAL = (protocol.Done, protocol.Failed, Expired)


@dataclass
class ClientStatus:
    """What the server-bot knows of a client-bot, from its heartbeats."""

    user_id: int
    last_seen: float | None = None
    model: str = "unknown"
    queue_depth: int = 0
    tokens_per_s: float = 0.0
    uptime_s: float = 0.0

    def online(self, now: float, heartbeat_interval_s: float) -> bool:
        # Three missed heartbeats make a host offline; one late beat is not an outage.
        return self.last_seen is not None and now - self.last_seen < 3 * heartbeat_interval_s


@dataclass
class PendingReply:
    """One request in flight. Iterate it to receive its events; the last one is Done, Failed or Expired."""

    request_id: str
    session_id: uuid.UUID
    prompt: protocol.Prompt
    # Monotonic times: the last word about this request from the client-bot, and the last (re)send.
    last_heard: float = field(default_factory=time.monotonic)
    last_sent: float = field(default_factory=time.monotonic)
    warned_offline: bool = False
    events: asyncio.Queue[ReplyEvent] = field(default_factory=asyncio.Queue)

    async def __aiter__(self) -> AsyncIterator[ReplyEvent]:
        while True:
            event = await self.events.get()
            yield event
            if isinstance(event, _FINAL):
                return


class RelayHub:
    def __init__(self, *, reply_timeout_s: float, prompt_keep_s: float, heartbeat_interval_s: float) -> None:
        self._reply_timeout_s = reply_timeout_s
        self._prompt_keep_s = prompt_keep_s
        self._heartbeat_interval_s = heartbeat_interval_s
        self._link: RelayLink | None = None
        self.client: ClientStatus | None = None
        self._pending: dict[str, PendingReply] = {}
        self._watchdogs: dict[str, asyncio.Task[None]] = {}

    def attach(self, link: RelayLink) -> None:
        self._link = link
        self.client = ClientStatus(user_id=link.peer_id)

    @property
    def link(self) -> RelayLink | None:
        return self._link

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    def client_online(self) -> bool:
        return self.client is not None and self.client.online(time.monotonic(), self._heartbeat_interval_s)

    async def submit(
        self, session_id: uuid.UUID, messages: list[protocol.ChatTurn], params: protocol.GenerationParams
    ) -> PendingReply:
        """Send a prompt; the returned reply yields its events as they arrive."""
        prompt = protocol.Prompt(request_id=secrets.token_hex(8), messages=messages, params=params)
        pending = PendingReply(prompt.request_id, session_id, prompt)
        self._pending[prompt.request_id] = pending
        self._watchdogs[prompt.request_id] = spawn(
            self._watch(pending), name=f"relay:watch:{prompt.request_id}"
        )
        try:
            await self._pick_link().send(session_id, prompt)
        except discord.HTTPException:
            # Kept anyway: the watchdog tells the user and a returning client gets it re-sent.
            log.warning(
                "could not post prompt %s; it is kept for a re-send", prompt.request_id, exc_info=True
            )
        return pending

    async def cancel(self, request_id: str) -> bool:
        """Ask the client-bot to stop a request. False if it is not in flight."""
        pending = self._pending.get(request_id)
        if pending is None:
            return False
        await self._pick_link().send(pending.session_id, protocol.Cancel(request_id=request_id))
        return True

    async def handle(self, message: discord.Message) -> None:
        """Act on one message seen in the relay channel."""
        if self._link is None:
            return
        received = await self._link.accept(message)
        if received is None:
            return
        payload = received.payload
        if isinstance(payload, protocol.Heartbeat):
            self._record_heartbeat(payload)
        else:
            request_id = getattr(payload, "request_id", None)
            pending = self._pending.get(request_id) if isinstance(request_id, str) else None
            if pending is not None:  # else: a late answer to a request that already ended
                pending.last_heard = time.monotonic()
                pending.warned_offline = False
                self._deliver(pending, payload)  # type: ignore[arg-type]
        self._heard_from_client()

    def _deliver(self, pending: PendingReply, event: ReplyEvent) -> None:
        pending.events.put_nowait(event)
        if isinstance(event, _FINAL):
            self._pending.pop(pending.request_id, None)
            watchdog = self._watchdogs.pop(pending.request_id, None)
            if watchdog is not None and watchdog is not asyncio.current_task():
                watchdog.cancel()

    def _heard_from_client(self) -> None:
        assert self.client is not None
        self.client.last_seen = now = time.monotonic()
        for pending in list(self._pending.values()):
            stalled = now - max(pending.last_heard, pending.last_sent) >= self._reply_timeout_s
            if stalled:
                log.info(
                    "re-sending prompt %s, silent for %.0f s", pending.request_id, now - pending.last_heard
                )
                pending.last_sent = now
                spawn(
                    self._pick_link().send(pending.session_id, pending.prompt),
                    name=f"relay:resend:{pending.request_id}",
                )

    def _record_heartbeat(self, beat: protocol.Heartbeat) -> None:
        assert self.client is not None
        self.client.model = beat.model
        self.client.queue_depth = beat.queue_depth
        self.client.tokens_per_s = beat.tokens_per_s
        self.client.uptime_s = beat.uptime_s

    async def _watch(self, pending: PendingReply) -> None:
        while pending.request_id in self._pending:
            now = time.monotonic()
            silent_s = now - pending.last_heard
            if silent_s >= self._prompt_keep_s:
                await self._expire(pending)
                return
            if (
                silent_s >= self._reply_timeout_s
                and not pending.warned_offline
                and not self._client_heard_within(self._reply_timeout_s, now)
            ):
                pending.warned_offline = True
                pending.events.put_nowait(Offline(keep_for_s=self._prompt_keep_s - silent_s))
            await asyncio.sleep(min(self._reply_timeout_s / 2, self._prompt_keep_s - silent_s))

    def _client_heard_within(self, seconds: float, now: float) -> bool:
        return (
            self.client is not None
            and self.client.last_seen is not None
            and now - self.client.last_seen < seconds
        )

    async def _expire(self, pending: PendingReply) -> None:
        self._deliver(pending, Expired())
        # The host may still hold it in a queue; spare it the work.
        with contextlib.suppress(discord.HTTPException, RuntimeError):
            await self._pick_link().send(pending.session_id, protocol.Cancel(request_id=pending.request_id))

    def _pick_link(self) -> RelayLink:
        if self._link is None:
            raise RuntimeError("the relay channel is not set up yet")
        return self._link

    async def close(self) -> None:
        tasks = list(self._watchdogs.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
