"""The host pool: what the server-bot knows of each client-bot, and which one gets the next request.

Routing, in order: only hosts that are online (heard within three heartbeats) and not draining; the host
that answered this session last (its engine holds the session's cached prefix) unless it is overloaded
while another host has a free slot; otherwise the host with the lowest load (requests it holds per slot).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from shared import protocol
from shared.relay_link import RelayLink

MISSED_HEARTBEATS_OFFLINE = 3


@dataclass
class ClientStatus:
    """What the server-bot knows of one client-bot, from its heartbeats."""

    user_id: int
    last_seen: float | None = None
    model: str = "unknown"
    queue_depth: int = 0
    tokens_per_s: float = 0.0
    uptime_s: float = 0.0
    slots: int = 1
    free_slots: int = 0
    mean_reply_s: float = 0.0
    running: tuple[str, ...] = ()
    queued: tuple[str, ...] = ()

    def online(self, now: float, heartbeat_interval_s: float) -> bool:
        # Three missed heartbeats make a host offline; one late beat is not an outage.
        return (
            self.last_seen is not None
            and now - self.last_seen < MISSED_HEARTBEATS_OFFLINE * heartbeat_interval_s
        )

    def started_at(self, now: float, margin_s: float = 1.0) -> float:
        """When the host's process started, on our clock, from its last heartbeat's uptime; `margin_s`
        earlier, for the heartbeat's time on the way (a request sent before this, it cannot hold)."""
        return (self.last_seen if self.last_seen is not None else now) - self.uptime_s - margin_s

    def record(self, beat: protocol.Heartbeat, now: float) -> None:
        self.last_seen = now
        self.model = beat.model
        self.queue_depth = beat.queue_depth
        self.tokens_per_s = beat.tokens_per_s
        self.uptime_s = beat.uptime_s
        self.slots = beat.slots
        self.free_slots = beat.free_slots
        self.mean_reply_s = beat.mean_reply_s
        self.running = tuple(beat.running)
        self.queued = tuple(beat.queued)


@dataclass
class Host:
    """One client-bot behind this server-bot: its link, its status and the hub's bookkeeping."""

    link: RelayLink
    status: ClientStatus
    owned: set[str] = field(default_factory=set)  # request ids this host is answering
    draining: bool = False
    was_online: bool = False
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def user_id(self) -> int:
        return self.status.user_id

    def load(self) -> float:
        return len(self.owned) / max(1, self.status.slots)

    def has_free_slot(self) -> bool:
        return len(self.owned) < max(1, self.status.slots)


@dataclass(frozen=True, slots=True)
class HostInfo:
    """One row of `/ai-admin status`."""

    user_id: int
    model: str
    online: bool
    draining: bool
    in_flight: int
    slots: int
    queue_depth: int
    tokens_per_s: float
    last_seen_s_ago: float | None


def pick_host(candidates: list[Host], *, affinity: int | None) -> Host | None:
    """The host for a new request among `candidates` (online, not draining), or None if there is none."""
    if not candidates:
        return None
    by_load = min(candidates, key=lambda host: (host.load(), -host.status.tokens_per_s, host.user_id))
    preferred = next((host for host in candidates if host.user_id == affinity), None)
    if preferred is None:
        return by_load
    overloaded = not preferred.has_free_slot() and by_load.has_free_slot()
    return by_load if overloaded else preferred
