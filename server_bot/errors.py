"""Errors a user can be told about: the core's refusal tree (`server_bot.core.errors`), under the names the
Discord front has always used. The central handler (`server_bot.exts.errors`) shows `str(exc)`.

`ChatError` is `CoreError`; raise `ChatError("message")` for a Discord-only refusal.
"""

from __future__ import annotations

from server_bot.core.errors import (
    Blocked,
    NoOpenSession,
    NotAdmin,
    NotSessionOwner,
    RateLimited,
    RelayUnavailable,
    RequestsPaused,
)
from server_bot.core.errors import CoreError as ChatError

__all__ = [
    "Blocked",
    "ChatError",
    "NoOpenSession",
    "NotAdmin",
    "NotSessionOwner",
    "RateLimited",
    "RelayUnavailable",
    "RequestsPaused",
]
