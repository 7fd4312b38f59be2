"""`export`: everything the platform holds about one user, as one JSON document (the right of access).

The document holds the user row, every chat session they own (settings, opened system prompt, every
message opened, where its transcript is stored), their moderation violations (opened excerpts) and their
audit events (ids and codes only - the audit never held text). Text is opened with the storage sealer in
memory; the document is meant for that user alone (an ephemeral attachment or an authenticated download).
Discord ids are strings, so no JSON reader rounds them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server_bot.db.models import (
    AuditEvent,
    ChatSession,
    Message,
    ModerationViolation,
    Transcript,
    User,
    utcnow,
)
from server_bot.db.sealing import StorageSealer, excerpt_context, message_context, system_prompt_context

EXPORT_FORMAT = "meatlizard-export/1"


async def export_user(
    sessionmaker: async_sessionmaker[AsyncSession],
    sealer: StorageSealer,
    user_id: int,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """All of `user_id`'s data as a JSON-ready dict; a user we never saw gets an empty document."""
    async with sessionmaker() as db:
        user = await db.get(User, user_id)
        sessions = list(
            await db.scalars(
                select(ChatSession).where(ChatSession.owner_id == user_id).order_by(ChatSession.created_at)
            )
        )
        ids = [session.id for session in sessions]
        messages = list(
            await db.scalars(select(Message).where(Message.session_id.in_(ids)).order_by(Message.id))
        )
        transcripts = {
            row.session_id: row
            for row in await db.scalars(select(Transcript).where(Transcript.session_id.in_(ids)))
        }
        violations = list(
            await db.scalars(
                select(ModerationViolation)
                .where(ModerationViolation.user_id == user_id)
                .order_by(ModerationViolation.id)
            )
        )
        audit = list(
            await db.scalars(select(AuditEvent).where(AuditEvent.user_id == user_id).order_by(AuditEvent.id))
        )
    by_session: dict[object, list[dict[str, Any]]] = {session_id: [] for session_id in ids}
    for message in messages:
        by_session[message.session_id].append(
            {
                "role": message.role,
                "text": sealer.open(
                    message.content_sealed, message_context(message.session_id, message.role)
                ),
                "created_at": _iso(message.created_at),
                "token_count": message.token_count,
            }
        )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _iso(now or utcnow()),
        "user": None
        if user is None
        else {
            "id": str(user.id),
            "created_at": _iso(user.created_at),
            "banned": user.banned,
            "suspended_until": _iso(user.suspended_until),
        },
        "sessions": [
            _session(sealer, session, by_session[session.id], transcripts.get(session.id))
            for session in sessions
        ],
        "moderation_violations": [
            {
                "rule": row.rule,
                "action": row.action,
                "session_id": None if row.session_id is None else str(row.session_id),
                "excerpt": None
                if row.excerpt_sealed is None
                else sealer.open(row.excerpt_sealed, excerpt_context(row.user_id, row.rule)),
                "created_at": _iso(row.created_at),
            }
            for row in violations
        ],
        "audit_events": [
            {
                "at": _iso(row.at),
                "event": row.event,
                "command": row.command,
                "channel_id": None if row.channel_id is None else str(row.channel_id),
                "success": row.success,
                "detail": row.detail,
            }
            for row in audit
        ],
    }


async def export_user_json(
    sessionmaker: async_sessionmaker[AsyncSession], sealer: StorageSealer, user_id: int
) -> bytes:
    """`export_user` as UTF-8 JSON bytes, ready to attach as ``meatlizard-export-<user>.json``."""
    document = await export_user(sessionmaker, sealer, user_id)
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _session(
    sealer: StorageSealer, row: ChatSession, messages: list[dict[str, Any]], transcript: Transcript | None
) -> dict[str, Any]:
    prompt = None
    if row.system_prompt_sealed is not None:
        prompt = sealer.open(row.system_prompt_sealed, system_prompt_context(row.id))
    return {
        "id": str(row.id),
        "front_end": row.front_end,
        "guild_id": None if row.guild_id is None else str(row.guild_id),
        "channel_id": None if row.channel_id is None else str(row.channel_id),
        "status": row.status,
        "system_prompt": prompt,
        "temperature": row.temperature,
        "max_tokens": row.max_tokens,
        "created_at": _iso(row.created_at),
        "ended_at": _iso(row.ended_at),
        "transcript": None
        if transcript is None
        else {
            "json_key": transcript.json_key,
            "md_key": transcript.md_key,
            "created_at": _iso(transcript.created_at),
        },
        "messages": messages,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
