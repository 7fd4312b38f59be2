"""The retention purge: everything older than `RETENTION_DAYS` leaves the database and the object store.

What "expired" means, with `cutoff = now - retention`:

* an *ended* chat session whose `ended_at` is before the cutoff goes whole: its messages, its transcript
  row and its transcript objects (open sessions are never deleted, only thinned, see next point);
* any message written before the cutoff goes, also in a still-open session;
* moderation violations (their excerpts are conversation text) recorded before the cutoff go;
* transcript rows saved before the cutoff go, and so do objects under `transcripts/` and `backups/` last
  written before it - which also sweeps orphans whose rows were lost.

Users (ban and suspension state), audit events (ids and codes only, no text) and metric samples stay.
Each step commits on its own in batches, and objects are deleted before the rows that point at them, so a
purge that fails part-way is finished by the next run. The result carries counts only, for the audit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server_bot.db.models import (
    ChatSession,
    Message,
    ModerationViolation,
    PromptRequest,
    SessionStatus,
    Transcript,
    utcnow,
)
from server_bot.lifecycle.errors import PurgeError
from server_bot.lifecycle.objects import (
    BACKUP_PREFIX,
    TRANSCRIPT_PREFIX,
    delete_keys,
    delete_older_than,
    transcript_folder,
)
from server_bot.objects import ListableObjectStore, ObjectStore, ObjectStoreError
from shared.log import get_logger

log = get_logger(__name__)

DEFAULT_BATCH = 200


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """How much one purge deleted. Counts only: this is what the audit log records."""

    sessions: int = 0
    messages: int = 0
    violations: int = 0
    transcripts: int = 0
    objects: int = 0
    backups: int = 0

    @property
    def total(self) -> int:
        return (
            self.sessions + self.messages + self.violations + self.transcripts + self.objects + self.backups
        )

    @property
    def audit_detail(self) -> str:
        """The counts as an audit `detail` code (``s:1.m:12.v:0.t:1.o:2.b:0``, fits `CODE_PATTERN`)."""
        return (
            f"s:{self.sessions}.m:{self.messages}.v:{self.violations}"
            f".t:{self.transcripts}.o:{self.objects}.b:{self.backups}"
        )


def cutoff_for(retention_days: int, now: datetime | None = None) -> datetime:
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    return (now or utcnow()) - timedelta(days=retention_days)


async def purge_expired(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: ObjectStore | None,
    retention_days: int,
    *,
    now: datetime | None = None,
    batch: int = DEFAULT_BATCH,
) -> PurgeReport:
    """Delete everything older than `retention_days` (see the module note); raises `PurgeError`."""
    cutoff = cutoff_for(retention_days, now)
    try:
        ended = await _purge_ended_sessions(sessionmaker, store, cutoff, batch)
        sessions, session_messages, session_violations, objects = ended
        messages = session_messages + await _delete_old_messages(sessionmaker, cutoff)
        violations = session_violations + await _delete_old_violations(sessionmaker, cutoff)
        transcripts, transcript_objects = await _purge_old_transcripts(sessionmaker, store, cutoff)
        objects += transcript_objects
        backups = 0
        if isinstance(store, ListableObjectStore):
            objects += await delete_older_than(store, TRANSCRIPT_PREFIX, cutoff)
            backups = await delete_older_than(store, BACKUP_PREFIX, cutoff)
    except (SQLAlchemyError, ObjectStoreError, OSError) as exc:
        raise PurgeError(f"retention purge stopped: {type(exc).__name__}") from exc
    report = PurgeReport(sessions, messages, violations, transcripts, objects, backups)
    log.info("retention purge (older than %s): %s", cutoff.isoformat(), report.audit_detail)
    return report


async def _purge_ended_sessions(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: ObjectStore | None,
    cutoff: datetime,
    batch: int,
) -> tuple[int, int, int, int]:
    sessions = messages = violations = objects = 0
    expired = (
        select(ChatSession.id)
        .where(ChatSession.status == SessionStatus.ENDED.value, ChatSession.ended_at < cutoff)
        .order_by(ChatSession.id)
        .limit(batch)
    )
    while True:
        async with sessionmaker() as db:
            ids = list(await db.scalars(expired))
        if not ids:
            return sessions, messages, violations, objects
        if store is not None:
            objects += await _delete_session_objects(sessionmaker, store, ids)
        async with sessionmaker.begin() as db:
            deleted_messages, deleted_violations = await _delete_for_sessions(db, ids)
            messages += deleted_messages
            violations += deleted_violations
            result = await db.execute(delete(ChatSession).where(ChatSession.id.in_(ids)))
            sessions += _rowcount(result)


async def _delete_session_objects(
    sessionmaker: async_sessionmaker[AsyncSession], store: ObjectStore, ids: list[uuid.UUID]
) -> int:
    async with sessionmaker() as db:
        rows = (
            await db.execute(
                select(Transcript.json_key, Transcript.md_key).where(Transcript.session_id.in_(ids))
            )
        ).all()
    keys = [key for row in rows for key in row]
    if isinstance(store, ListableObjectStore):
        for session_id in ids:
            keys += [item.key for item in await store.list_objects(transcript_folder(session_id))]
    return await delete_keys(store, keys)


async def _delete_for_sessions(db: AsyncSession, ids: list[uuid.UUID]) -> tuple[int, int]:
    """Delete the rows hanging off these sessions (not relying on ON DELETE CASCADE).

    Returns (messages, violations) deleted."""
    messages = await db.execute(delete(Message).where(Message.session_id.in_(ids)))
    await db.execute(delete(Transcript).where(Transcript.session_id.in_(ids)))
    violations = await db.execute(delete(ModerationViolation).where(ModerationViolation.session_id.in_(ids)))
    await db.execute(delete(PromptRequest).where(PromptRequest.session_id.in_(ids)))
    return _rowcount(messages), _rowcount(violations)


async def _delete_old_messages(sessionmaker: async_sessionmaker[AsyncSession], cutoff: datetime) -> int:
    async with sessionmaker.begin() as db:
        return _rowcount(await db.execute(delete(Message).where(Message.created_at < cutoff)))


async def _delete_old_violations(sessionmaker: async_sessionmaker[AsyncSession], cutoff: datetime) -> int:
    async with sessionmaker.begin() as db:
        old = ModerationViolation.created_at < cutoff
        return _rowcount(await db.execute(delete(ModerationViolation).where(old)))


async def _purge_old_transcripts(
    sessionmaker: async_sessionmaker[AsyncSession], store: ObjectStore | None, cutoff: datetime
) -> tuple[int, int]:
    async with sessionmaker() as db:
        rows = (
            await db.execute(
                select(Transcript.id, Transcript.json_key, Transcript.md_key).where(
                    Transcript.created_at < cutoff
                )
            )
        ).all()
    if not rows:
        return 0, 0
    objects = 0 if store is None else await delete_keys(store, [k for row in rows for k in row[1:]])
    async with sessionmaker.begin() as db:
        result = await db.execute(delete(Transcript).where(Transcript.id.in_([row[0] for row in rows])))
    return _rowcount(result), objects


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
