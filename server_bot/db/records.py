"""Plain, immutable values the repository returns: no ORM rows (and so no lazy IO) leave `server_bot.db`.

Text fields here are already opened (decrypted); they exist only in memory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from server_bot.db.models import Role, SessionStatus

# The front ends a session can live on (the values of `chat_sessions.front_end`).
FrontEnd = Literal["discord", "web", "mcp"]
FRONT_END_VALUES: tuple[FrontEnd, ...] = ("discord", "web", "mcp")


def as_front_end(value: str) -> FrontEnd:
    for known in FRONT_END_VALUES:
        if value == known:
            return known
    raise ValueError(f"unknown front end {value!r}")


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    created_at: datetime
    banned: bool
    suspended_until: datetime | None

    def is_blocked(self, now: datetime) -> bool:
        """Banned, or suspended until a moment still in the future."""
        return self.banned or (self.suspended_until is not None and self.suspended_until > now)


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """The per-session generation settings; the bot's configured defaults seed a new session."""

    system_prompt: str | None
    temperature: float
    max_tokens: int


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A chat session. `guild_id` / `channel_id` are set for Discord sessions only."""

    id: uuid.UUID
    owner_id: int
    front_end: FrontEnd
    guild_id: int | None
    channel_id: int | None
    status: SessionStatus
    system_prompt: str | None
    temperature: float
    max_tokens: int
    created_at: datetime
    ended_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status is SessionStatus.OPEN

    @property
    def settings(self) -> SessionSettings:
        return SessionSettings(self.system_prompt, self.temperature, self.max_tokens)


@dataclass(frozen=True, slots=True)
class Turn:
    role: Role
    text: str
    created_at: datetime
    token_count: int | None


@dataclass(frozen=True, slots=True)
class TranscriptInfo:
    session_id: uuid.UUID
    json_key: str
    md_key: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEventInfo:
    at: datetime
    level: str
    event: str
    command: str | None
    user_id: int | None
    channel_id: int | None
    success: bool
    latency_ms: float | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class ViolationInfo:
    id: int
    user_id: int
    session_id: uuid.UUID | None
    rule: str
    action: str
    excerpt: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MetricSampleInfo:
    at: datetime
    kind: str
    value: float | None
    tokens: int | None
    tokens_per_s: float | None
    latency_ms: float | None


@dataclass(frozen=True, slots=True)
class ToggleInfo:
    name: str
    enabled: bool
    updated_at: datetime
    updated_by: int | None
