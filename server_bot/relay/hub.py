"""The server-bot's side of the relay: route prompts to client-bots and their replies back to users.

A prompt that was accepted is always answered or the user is told why, exactly once:
- a live host that reports the request in its heartbeat (running or queued) is never sent it again;
  a queued request yields `Queued(position, eta_s)`, again whenever its place changes;
- a host silent for three heartbeats is out: its unanswered requests move to another live host, and
  whatever the old owner still sends about them is dropped (the request knows its owner);
- a request that no live host holds and that has been silent for `reply_timeout_s` is sent again
  (a restarted host lost it; a host ignores a request id it already holds);
- nothing is heard of the request nor of any host for `reply_timeout_s` → an `Offline` notice;
- a request silent for `prompt_keep_s` ends with an `Expired` notice (and is cancelled on the host).

All timing comes from `clock` and one ticker task; tests drive `tick()` on a fake clock. What is asked of
the hosts (status rows, online) and the admin controls (drain, reboot) are in `host_queries.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable

import discord

from server_bot.relay.host_queries import HostQueries
from server_bot.relay.hosts import ClientStatus, Host, pick_host
from server_bot.relay.pending import PendingReply
from server_bot.relay_notices import Expired, Offline, Queued
from shared import envelope, protocol
from shared.audit import AuditLog, exception_code
from shared.log import get_logger
from shared.relay_link import ForeignMessage, RelayLink

log = get_logger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class RelayHub(HostQueries):
    def __init__(
        self,
        *,
        reply_timeout_s: float,
        prompt_keep_s: float,
        heartbeat_interval_s: float,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        audit: AuditLog | None = None,
    ) -> None:
        self._reply_timeout_s = reply_timeout_s
        self._prompt_keep_s = prompt_keep_s
        self._heartbeat_interval_s = heartbeat_interval_s
        self._clock = clock
        self._sleep = sleep
        self.audit = audit
        self._hosts: dict[int, Host] = {}
        self._pending: dict[str, PendingReply] = {}
        self._affinity: dict[uuid.UUID, int] = {}
        self._ready = asyncio.Event()
        self._ticker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.moves = 0  # requests moved to another host (for the benchmark and tests)

    # ---- hosts (queries and admin controls: `HostQueries`) -----------------------------------------

    def attach(self, link: RelayLink) -> None:
        """Add a host (one client-bot) reachable through `link`."""
        self._hosts[link.peer_id] = Host(link, ClientStatus(user_id=link.peer_id))
        self._hosts[link.peer_id].idle.set()
        self._ready.set()

    async def remove_host(self, host_id: int) -> None:
        """Forget a host (its key was revoked): its posts are refused from now on, its requests move."""
        host = self._hosts.pop(host_id)
        now = self._clock()
        for request_id in list(host.owned):
            pending = self._pending.get(request_id)
            target = None if pending is None else self._route(pending, now)
            if pending is not None and target is not None:
                await self._assign(pending, target, now)
        await host.link.close(flush_within_s=0)

    def start(self) -> None:
        """Start the ticker (timeouts, failover). Called by `submit`; idempotent."""
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._tick_forever(), name="relay-hub:tick")

    async def ready(self) -> None:
        """Wait until the relay channel is set up and at least one host is attached."""
        await self._ready.wait()

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def wait_idle(self) -> None:
        """Return once no request is in flight."""
        await self._idle.wait()

    # ---- requests ----------------------------------------------------------------------------------

    async def submit(
        self, session_id: uuid.UUID, messages: list[protocol.ChatTurn], params: protocol.GenerationParams
    ) -> PendingReply:
        """Send a prompt; the returned reply yields its events as they arrive."""
        self.start()
        if not self._hosts:
            raise RuntimeError("the relay channel is not set up yet")
        now = self._clock()
        prompt = protocol.Prompt(request_id=secrets.token_hex(8), messages=messages, params=params)
        pending = PendingReply(prompt.request_id, session_id, prompt, last_heard=now, last_sent=now)
        self._pending[prompt.request_id] = pending
        self._idle.clear()
        host = self._route(pending, now) or next(iter(self._hosts.values()))
        # With no host online the prompt still goes to the first one: it may be back before the ticker.
        await self._assign(pending, host, now)
        return pending

    async def cancel(self, request_id: str) -> bool:
        """Ask the owning host to stop a request. False if it is not in flight."""
        pending = self._pending.get(request_id)
        host = None if pending is None or pending.owner is None else self._hosts.get(pending.owner)
        if pending is None or host is None:
            return False
        await host.link.send(pending.session_id, protocol.Cancel(request_id=request_id))
        return True

    def _route(self, pending: PendingReply, now: float, *, avoid: int | None = None) -> Host | None:
        candidates = [
            host
            for host in self._hosts.values()
            if self._online(host, now) and not host.draining and host.user_id != avoid
        ]
        return pick_host(candidates, affinity=self._affinity.get(pending.session_id))

    async def _assign(self, pending: PendingReply, host: Host, now: float) -> None:
        if pending.owner is not None and pending.owner != host.user_id:
            self._disown(pending, self._hosts.get(pending.owner))
            pending.moved = pending.moved or pending.shown > 0
            pending.text = ""
            pending.queue_position = None
            self.moves += 1
            log.info("moving request %s to host %s", pending.request_id, host.user_id)
        pending.owner = host.user_id
        pending.last_sent = now
        host.owned.add(pending.request_id)
        host.idle.clear()
        self._affinity[pending.session_id] = host.user_id
        try:
            await host.link.send(pending.session_id, pending.prompt)
        except discord.HTTPException:
            log.warning("could not queue prompt %s; it is kept for a re-send", pending.request_id)

    def _disown(self, pending: PendingReply, host: Host | None) -> None:
        if host is not None:
            host.owned.discard(pending.request_id)
            host.link.forget(pending.request_id)  # its relay channel is free for other requests
            if not host.owned:
                host.idle.set()

    # ---- incoming ----------------------------------------------------------------------------------

    async def handle(self, message: discord.Message) -> None:
        """Act on one message seen in the relay channel."""
        host = self._hosts.get(message.author.id)
        if host is None:
            log.warning("dropped a relay-channel message from unknown author %s", message.author.id)
            await self._audit_refusal(message, "unknown_host")
            return
        try:
            received = await host.link.receive(message)
        except ForeignMessage:
            return
        except (envelope.EnvelopeError, protocol.ProtocolError) as exc:
            log.warning("rejected a relay envelope from host %s: %s", host.user_id, type(exc).__name__)
            await self._audit_refusal(message, exception_code(exc))
            return
        now = self._clock()
        came_back = not host.was_online
        for item in received:
            self._dispatch(host, item.payload, now)
        if host.status.last_seen == now:  # a heartbeat in this batch
            await self._resend_lost_in_restart(host, now)
        if came_back and self._online(host, now):
            host.was_online = True
            await self._resend_orphans(now, host)

    async def _audit_refusal(self, message: discord.Message, reason: str) -> None:
        if self.audit is None:
            return
        await self.audit.record(
            "relay_refused",
            success=False,
            user_id=message.author.id,
            channel_id=message.channel.id,
            detail=reason,
        )

    def _dispatch(self, host: Host, payload: protocol.Payload, now: float) -> None:
        match payload:
            case protocol.Heartbeat():
                host.status.record(payload, now)
                self._heard_heartbeat(host, now)
            case protocol.Accepted() | protocol.Delta() | protocol.Done() | protocol.Failed():
                pending = self._pending.get(payload.request_id)
                if pending is None or pending.owner != host.user_id:
                    return  # a late answer to an ended request, or from a host it was moved away from
                pending.last_heard = now
                pending.warned_offline = False
                self._deliver_from_owner(pending, payload)
            case _:
                log.warning("ignored a %s envelope sent to the server-bot", type(payload).__name__)

    def _deliver_from_owner(
        self,
        pending: PendingReply,
        payload: protocol.Accepted | protocol.Delta | protocol.Done | protocol.Failed,
    ) -> None:
        match payload:
            case protocol.Accepted(queue_position=position, eta_s=eta):
                # Once text is shown, a place in the queue is old news (an acceptance posted in another
                # relay channel than the text may arrive after it).
                if position > 0 and not pending.text:
                    pending.queue_position = position
                    pending.events.put_nowait(Queued(position=position, eta_s=eta))
            case protocol.Delta():
                pending.queue_position = None
                if payload.offset > len(pending.text):
                    return  # a gap (cannot happen with an ordered relay); the final text is complete
                if payload.offset + len(payload.text) < len(pending.text):
                    # Older than what is shown (a newer delta covers at least as much): never go back.
                    return
                pending.text = pending.text[: payload.offset] + payload.text
                pending.show_text()
            case protocol.Done() | protocol.Failed():
                self._finish(pending, payload)

    def _finish(self, pending: PendingReply, event: protocol.Done | protocol.Failed | Expired) -> None:
        if self._pending.pop(pending.request_id, None) is None:
            return  # already ended: never a second final event
        if pending.owner is not None:
            self._disown(pending, self._hosts.get(pending.owner))
        pending.events.put_nowait(event)
        if not self._pending:
            self._idle.set()

    def _heard_heartbeat(self, host: Host, now: float) -> None:
        held = set(host.status.running) | set(host.status.queued)
        queued = {request_id: index + 1 for index, request_id in enumerate(host.status.queued)}
        per_slot = host.status.mean_reply_s / max(1, host.status.slots)
        for request_id in host.owned & held:
            pending = self._pending.get(request_id)
            if pending is None:
                continue
            pending.last_heard = now  # a live host holds it: it is not lost
            pending.warned_offline = False
            position = queued.get(request_id)
            if position is not None and position != pending.queue_position:
                pending.queue_position = position
                pending.events.put_nowait(Queued(position=position, eta_s=position * per_slot))

    async def _resend_lost_in_restart(self, host: Host, now: float) -> None:
        """Requests sent to `host` before its process (re)started are gone with the old process: send
        them again now, not after `reply_timeout_s` (a killed and restarted host is back in seconds)."""
        started = host.status.started_at(now)
        held = set(host.status.running) | set(host.status.queued)
        for request_id in list(host.owned - held):
            pending = self._pending.get(request_id)
            if pending is not None and pending.last_sent < started:
                log.info("relay host %s restarted; re-sending prompt %s", host.user_id, request_id)
                pending.moved = pending.moved or pending.shown > 0  # the new text replaces the old whole
                pending.text = ""
                await self._assign(pending, host, now)

    # ---- timers ------------------------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        # At most a second apart: the offline notice is promised after `reply_timeout_s`, not later.
        interval = max(0.05, min(1.0, self._reply_timeout_s / 4, self._heartbeat_interval_s / 4))
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("relay hub tick failed")
            await self._sleep(interval)

    async def tick(self) -> None:
        """One pass of every timer: hosts going out, failover, re-sends, offline notices, expiry."""
        now = self._clock()
        for host in self._hosts.values():
            if host.was_online and not self._online(host, now):
                host.was_online = False
                log.warning("relay host %s missed three heartbeats; moving its requests", host.user_id)
        for pending in list(self._pending.values()):
            await self._check(pending, now)

    async def _check(self, pending: PendingReply, now: float) -> None:
        silent_s = now - pending.last_heard
        if silent_s >= self._prompt_keep_s:
            await self._expire(pending)
            return
        owner = self._hosts.get(pending.owner) if pending.owner is not None else None
        owner_online = owner is not None and self._online(owner, now)
        if not owner_online:
            target = self._route(pending, now)
            if target is not None:
                await self._assign(pending, target, now)
                return
        elif now - max(pending.last_heard, pending.last_sent) >= self._reply_timeout_s:
            # The owner is alive but has said nothing of this request since well after it was sent:
            # the prompt was lost on the way (a restart). Send it again, to the same host.
            assert owner is not None
            log.info("re-sending prompt %s, silent for %.0f s", pending.request_id, silent_s)
            await self._assign(pending, owner, now)  # and the user may be owed the offline notice below
        if (
            silent_s >= self._reply_timeout_s
            and not pending.warned_offline
            and not self._any_host_heard_within(self._reply_timeout_s, now)
        ):
            pending.warned_offline = True
            pending.events.put_nowait(Offline(keep_for_s=self._prompt_keep_s - silent_s))

    def _any_host_heard_within(self, seconds: float, now: float) -> bool:
        # Stricter than "online" (three heartbeats): the user hears of an outage after `reply_timeout_s`.
        return any(
            host.status.last_seen is not None and now - host.status.last_seen < seconds
            for host in self._hosts.values()
        )

    async def _resend_orphans(self, now: float, back: Host) -> None:
        """A host came (back) online: requests with no live owner, and those sent to it while it was away
        that it does not hold, go out now rather than at the next tick or after `reply_timeout_s`."""
        held = set(back.status.running) | set(back.status.queued)
        for pending in list(self._pending.values()):
            owner = self._hosts.get(pending.owner) if pending.owner is not None else None
            if (
                owner is None
                or not self._online(owner, now)
                or (owner is back and pending.request_id not in held)
                or (
                    now - max(pending.last_heard, pending.last_sent) >= self._reply_timeout_s
                    and pending.request_id not in set(owner.status.running) | set(owner.status.queued)
                )
            ):
                target = self._route(pending, now)
                if target is not None:
                    await self._assign(pending, target, now)

    async def _expire(self, pending: PendingReply) -> None:
        owner = pending.owner
        # The host may still hold it in a queue; spare it the work (on the prompt's channel, so before
        # `_finish` lets the request's channel go).
        if owner is not None and owner in self._hosts:
            with contextlib.suppress(discord.HTTPException, RuntimeError):
                await self._hosts[owner].link.send(
                    pending.session_id, protocol.Cancel(request_id=pending.request_id)
                )
        self._finish(pending, Expired())

    async def close(self) -> None:
        """Stop the ticker and every link's sender (pending posts get a moment to leave)."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        for host in self._hosts.values():
            await host.link.close(flush_within_s=1.0)
        for host in self._hosts.values():
            await host.link.close_sender()
