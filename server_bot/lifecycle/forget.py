"""`forget`: delete everything the platform holds about one user (the GDPR/CCPA right to erasure).

Deleted: the chat sessions they own with all their messages, transcript rows and transcript objects
(S3 or the local folder), their moderation violations (with the sealed excerpts), their audit events and
their user row (ban and suspension state included); admin switches they flipped forget who flipped them.
The caller records that a forget happened, *without* the user's id (see `FORGET_AUDIT_EVENT`), so the
audit keeps only the fact. Database backups taken before the forget still hold the user's (sealed) rows
until they age out under `RETENTION_DAYS` - docs/security.md says so to the user.

Objects are deleted before rows, and rows in one transaction, so a failed forget is finished by running
it again. Sessions the user once owned but handed to someone else (`/ai-admin transfer`) are the new
owner's and stay.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server_bot.db.models import (
    AccessToken,
    AdminToggle,
    AuditEvent,
    ChatSession,
    Message,
    ModerationViolation,
    PromptRequest,
    Transcript,
    User,
)
from server_bot.lifecycle.errors import ForgetError
from server_bot.lifecycle.objects import delete_keys, delete_under, transcript_folder
from server_bot.objects import ObjectStore, ObjectStoreError
from shared.log import get_logger

log = get_logger(__name__)

# The audit event the caller records after a forget: no user id, no channel - only that it happened.
FORGET_AUDIT_EVENT = "user_data_forgotten"


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What one forget deleted (counts only)."""

    sessions: int
    messages: int
    violations: int
    audit_events: int
    objects: int
    user_row: bool
    # The Discord channels of the deleted sessions: the Discord front deletes them (they hold the chat).
    channel_ids: tuple[int, ...] = ()

    @property
    def audit_detail(self) -> str:
        return (
            f"s:{self.sessions}.m:{self.messages}.v:{self.violations}.a:{self.audit_events}.o:{self.objects}"
        )


async def forget_user(
    sessionmaker: async_sessionmaker[AsyncSession], store: ObjectStore | None, user_id: int
) -> ForgetReport:
    """Delete all of `user_id`'s data (see the module note); raises `ForgetError`. Idempotent."""
    try:
        async with sessionmaker() as db:
            owned = (
                await db.execute(
                    select(ChatSession.id, ChatSession.channel_id).where(ChatSession.owner_id == user_id)
                )
            ).all()
            session_ids = [row.id for row in owned]
            key_rows = (
                await db.execute(
                    select(Transcript.json_key, Transcript.md_key).where(
                        Transcript.session_id.in_(session_ids)
                    )
                )
            ).all()
        objects = 0
        if store is not None:
            objects = await delete_keys(store, [key for row in key_rows for key in row])
            for session_id in session_ids:
                objects += await delete_under(store, transcript_folder(session_id))
        async with sessionmaker.begin() as db:
            report = await _delete_rows(db, user_id, session_ids, objects)
        channels = tuple(sorted(row.channel_id for row in owned if row.channel_id is not None))
        report = replace(report, channel_ids=channels)
    except (SQLAlchemyError, ObjectStoreError, OSError) as exc:
        raise ForgetError(f"forget stopped: {type(exc).__name__}; run it again") from exc
    log.info("forgot a user's data: %s", report.audit_detail)
    return report


async def _delete_rows(
    db: AsyncSession, user_id: int, session_ids: list[uuid.UUID], objects: int
) -> ForgetReport:
    messages = await db.execute(delete(Message).where(Message.session_id.in_(session_ids)))
    await db.execute(delete(Transcript).where(Transcript.session_id.in_(session_ids)))
    await db.execute(delete(PromptRequest).where(PromptRequest.session_id.in_(session_ids)))
    violations = await db.execute(
        delete(ModerationViolation).where(
            or_(ModerationViolation.user_id == user_id, ModerationViolation.session_id.in_(session_ids))
        )
    )
    sessions = await db.execute(delete(ChatSession).where(ChatSession.id.in_(session_ids)))
    audit = await db.execute(delete(AuditEvent).where(AuditEvent.user_id == user_id))
    # Their MCP access tokens (hashes, names, scopes) go too: a forgotten user keeps no way in.
    await db.execute(delete(AccessToken).where(AccessToken.user_id == user_id))
    await db.execute(update(AdminToggle).where(AdminToggle.updated_by == user_id).values(updated_by=None))
    user = await db.execute(delete(User).where(User.id == user_id))
    return ForgetReport(
        sessions=_count(sessions),
        messages=_count(messages),
        violations=_count(violations),
        audit_events=_count(audit),
        objects=objects,
        user_row=_count(user) > 0,
    )


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
