"""Re-seal every sealed row under the current storage key, so previous keys can be retired.

Sealed columns: `messages.content_sealed`, `chat_sessions.system_prompt_sealed`,
`moderation_violations.excerpt_sealed` (`server_bot.db.sealing`). Stored objects are not sealed by the
bot (transcripts rely on the store's own encryption, e.g. S3 SSE), so there is nothing to re-seal there;
database backups hold rows sealed under the keys of their day (docs/security.md).

How it stays safe and resumable:

* rows are walked in primary-key order in batches; each batch is one short transaction, committed before
  the next, so stopping at any point keeps everything done so far;
* a row already under the current key is skipped, so a second run only does what is left;
* each update is conditional on the row still holding the exact blob we read (``WHERE id = ? AND
  column = old``): if the running bot changed or deleted the row in between, our write changes nothing
  and its newer value (sealed under the current key by the bot) stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from server_bot.db.errors import SealingError
from server_bot.db.models import ChatSession, Message, ModerationViolation
from server_bot.db.sealing import StorageSealer, excerpt_context, message_context, system_prompt_context
from server_bot.lifecycle.errors import ResealError
from shared.log import get_logger

log = get_logger(__name__)

DEFAULT_BATCH = 500


@dataclass(frozen=True, slots=True)
class _Column:
    """One sealed column: its table's key, the blob, and the row fields its associated data is built from."""

    name: str
    key: InstrumentedAttribute[Any]
    blob: InstrumentedAttribute[Any]
    context_fields: tuple[InstrumentedAttribute[Any], ...]
    context: Callable[[Any], bytes]

    @property
    def model(self) -> type[Any]:
        return cast("type[Any]", self.key.class_)


SEALED_COLUMNS: tuple[_Column, ...] = (
    _Column(
        "messages",
        Message.id,
        Message.content_sealed,
        (Message.session_id, Message.role),
        lambda row: message_context(row.session_id, row.role),
    ),
    _Column(
        "system_prompts",
        ChatSession.id,
        ChatSession.system_prompt_sealed,
        (),
        lambda row: system_prompt_context(row.id),
    ),
    _Column(
        "moderation_excerpts",
        ModerationViolation.id,
        ModerationViolation.excerpt_sealed,
        (ModerationViolation.user_id, ModerationViolation.rule),
        lambda row: excerpt_context(row.user_id, row.rule),
    ),
)


@dataclass(frozen=True, slots=True)
class ResealProgress:
    """Where a reseal stands, reported after every batch."""

    column: str
    scanned: int
    total: int
    resealed: int


@dataclass(frozen=True, slots=True)
class ResealReport:
    scanned: int
    resealed: int
    # Rows the bot changed between our read and our write: its newer value stands (already current).
    skipped_changed: int


async def reseal_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    sealer: StorageSealer,
    *,
    batch: int = DEFAULT_BATCH,
    progress: Callable[[ResealProgress], None] | None = None,
) -> ResealReport:
    """Re-seal every row not under `sealer`'s current key; raises `ResealError` (what is done stays done)."""
    scanned = resealed = skipped = 0
    try:
        for column in SEALED_COLUMNS:
            done = await _reseal_column(sessionmaker, sealer, column, batch, progress)
            scanned, resealed, skipped = scanned + done[0], resealed + done[1], skipped + done[2]
    except SealingError as exc:
        raise ResealError(f"a stored row could not be opened ({exc}); is a previous key missing?") from exc
    except SQLAlchemyError as exc:
        raise ResealError(f"database error while re-sealing: {type(exc).__name__}; run it again") from exc
    log.info("reseal finished: %d rows scanned, %d re-sealed", scanned, resealed)
    return ResealReport(scanned, resealed, skipped)


async def count_stale(sessionmaker: async_sessionmaker[AsyncSession], sealer: StorageSealer) -> int:
    """How many sealed rows are still under a previous key (0 means previous keys can be removed)."""
    stale = 0
    for column in SEALED_COLUMNS:
        last: Any = None
        while True:
            rows = await _batch(sessionmaker, column, last, DEFAULT_BATCH)
            if not rows:
                break
            stale += sum(1 for row in rows if sealer.needs_reseal(row[1]))
            last = rows[-1][0]
    return stale


async def _reseal_column(
    sessionmaker: async_sessionmaker[AsyncSession],
    sealer: StorageSealer,
    column: _Column,
    batch: int,
    progress: Callable[[ResealProgress], None] | None,
) -> tuple[int, int, int]:
    async with sessionmaker() as db:
        total = int(
            await db.scalar(select(func.count()).select_from(column.model).where(column.blob.is_not(None)))
            or 0
        )
    scanned = resealed = skipped = 0
    last: Any = None
    while True:
        rows = await _batch(sessionmaker, column, last, batch)
        if not rows:
            break
        async with sessionmaker.begin() as db:
            for row in rows:
                blob: bytes = row[1]
                if not sealer.needs_reseal(blob):
                    continue
                context = column.context(row)
                fresh = sealer.seal(sealer.open(blob, context), context)
                result = await db.execute(
                    update(column.model)
                    .where(column.key == row[0], column.blob == blob)
                    .values({column.blob.key: fresh})
                )
                if int(getattr(result, "rowcount", 0) or 0) == 1:
                    resealed += 1
                else:
                    skipped += 1
        scanned += len(rows)
        last = rows[-1][0]
        if progress is not None:
            progress(ResealProgress(column.name, scanned, total, resealed))
    return scanned, resealed, skipped


async def _batch(
    sessionmaker: async_sessionmaker[AsyncSession], column: _Column, after: Any, size: int
) -> list[Any]:
    query = (
        select(column.key, column.blob, *column.context_fields)
        .where(column.blob.is_not(None))
        .order_by(column.key)
        .limit(size)
    )
    if after is not None:
        query = query.where(column.key > after)
    async with sessionmaker() as db:
        return list((await db.execute(query)).all())
