"""Every admin action the core performs (ban, unban, suspensions, the pause and fallback switches,
transfers) is one audit record, whichever front asked: who, through which front, what, on whom, and
whether it was allowed. Codes and ids only, never message text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from server_bot.core.identity import Actor
from shared.audit import AuditLog

ADMIN_ACTION = "admin_action"  # the audit event of every admin action the core performs


@asynccontextmanager
async def admin_action(
    audit: AuditLog | None, by: Actor | None, action: str, *, target: int | str | None = None
) -> AsyncIterator[None]:
    """Record the body as one admin action; a refusal or failure is recorded (its code) and re-raised.

    `by=None` is the platform itself (a guild ban seen on Discord, moderation)."""
    if audit is None:
        yield
        return
    front = by.front_end if by is not None else "platform"
    async with audit.timed(ADMIN_ACTION, command=action, user_id=by.user_id if by else None) as outcome:
        outcome.note(front if target is None else f"{front}:target:{target}")
        yield
