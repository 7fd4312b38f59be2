"""What the core needs from the outside world, as Protocols. Tests pass fakes; `main()` passes the real ones.

- `Relay`: today's `server_bot.relay.RelayHub` satisfies it (submit / cancel / client_online). Its events
  are mapped to core events in one place, `server_bot.core.relay_events.translate`, which tolerates event
  types it does not know.
- `RateLimiter`: `server_bot.ratelimit.RateLimiter`.
- `ObjectStore`: `server_bot.objects.ObjectStore` (transcripts).
- `Clock`: wall-clock time (suspensions, bans); `SystemClock` in production.
- The repository is the core's own db layer, `server_bot.db.Repository` (SQLite or PostgreSQL; tests
  use a real SQLite file, never a mock).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Literal, Protocol

from server_bot.db.repository import Repository
from server_bot.objects.base import ObjectStore
from shared import protocol

__all__ = [
    "Clock",
    "LimitDecision",
    "ObjectStore",
    "RateLimiter",
    "Relay",
    "RelayPending",
    "Repository",
    "SystemClock",
]

Scope = Literal["prompt", "command"]


class RelayPending(Protocol):
    """One request in flight on the relay; iterating yields relay events until a final one."""

    request_id: str

    def __aiter__(self) -> AsyncIterator[object]: ...


class Relay(Protocol):
    async def submit(
        self, session_id: uuid.UUID, messages: list[protocol.ChatTurn], params: protocol.GenerationParams
    ) -> RelayPending: ...

    async def cancel(self, request_id: str) -> bool: ...

    def client_online(self) -> bool: ...


class LimitDecision(Protocol):
    @property
    def allowed(self) -> bool: ...

    @property
    def retry_after_s(self) -> float: ...


class RateLimiter(Protocol):
    async def check(self, scope: Scope, user_id: int) -> LimitDecision: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
