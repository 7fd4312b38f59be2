"""The bot's oversight queries: audit trail, moderation violations, metric samples, admin toggles, health.
Part of `Repository`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server_bot.db.models import AdminToggle, AuditEvent, MetricSample, ModerationViolation, utcnow
from server_bot.db.records import AuditEventInfo, MetricSampleInfo, ToggleInfo, ViolationInfo
from server_bot.db.sealing import StorageSealer, excerpt_context
from shared.audit import AuditRecord


class OversightQueries:
    """Mixed into `Repository`; needs its sessionmaker and sealer."""

    _sessionmaker: async_sessionmaker[AsyncSession]
    _sealer: StorageSealer

    # ---- audit and moderation ----------------------------------------------------------------------

    async def add_audit_event(
        self,
        event: str,
        *,
        success: bool,
        level: str = "INFO",
        command: str | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        latency_ms: float | None = None,
        detail: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Record one bot action. There is deliberately no parameter for message text."""
        async with self._sessionmaker.begin() as db:
            db.add(
                AuditEvent(
                    at=at or utcnow(),
                    level=level,
                    event=event,
                    command=command,
                    user_id=user_id,
                    channel_id=channel_id,
                    success=success,
                    latency_ms=latency_ms,
                    detail=detail,
                )
            )

    async def audit_sink(self, record: AuditRecord) -> None:
        """An `shared.audit.AuditLog` sink: the audit table mirrors the audit file."""
        await self.add_audit_event(
            record.event,
            success=record.success,
            level=record.level.value,
            command=record.command,
            user_id=record.user_id,
            channel_id=record.channel_id,
            latency_ms=record.latency_ms,
            detail=record.detail,
            at=record.timestamp,
        )

    async def recent_audit_events(self, limit: int = 100, user_id: int | None = None) -> list[AuditEventInfo]:
        """Newest first."""
        query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        if user_id is not None:
            query = query.where(AuditEvent.user_id == user_id)
        async with self._sessionmaker() as db:
            return [_audit_event_info(row) for row in await db.scalars(query)]

    async def add_violation(
        self,
        user_id: int,
        rule: str,
        action: str,
        excerpt: str | None,
        session_id: uuid.UUID | None = None,
    ) -> int:
        """Record a moderation hit; the matched excerpt is conversation text, so it is sealed."""
        sealed = None if excerpt is None else self._sealer.seal(excerpt, excerpt_context(user_id, rule))
        async with self._sessionmaker.begin() as db:
            row = ModerationViolation(
                user_id=user_id,
                session_id=session_id,
                rule=rule,
                action=action,
                excerpt_sealed=sealed,
                created_at=utcnow(),
            )
            db.add(row)
            await db.flush()
            return row.id

    async def violations_for_user(self, user_id: int, since: datetime | None = None) -> list[ViolationInfo]:
        """Oldest first; `since` limits to hits at or after that moment (for escalation windows)."""
        query = (
            select(ModerationViolation)
            .where(ModerationViolation.user_id == user_id)
            .order_by(ModerationViolation.created_at, ModerationViolation.id)
        )
        if since is not None:
            query = query.where(ModerationViolation.created_at >= since)
        async with self._sessionmaker() as db:
            rows = list(await db.scalars(query))
        return [self._violation_info(row) for row in rows]

    # ---- metrics -----------------------------------------------------------------------------------

    async def add_metric_sample(
        self,
        kind: str,
        *,
        value: float | None = None,
        tokens: int | None = None,
        tokens_per_s: float | None = None,
        latency_ms: float | None = None,
        at: datetime | None = None,
    ) -> None:
        async with self._sessionmaker.begin() as db:
            db.add(
                MetricSample(
                    at=at or utcnow(),
                    kind=kind,
                    value=value,
                    tokens=tokens,
                    tokens_per_s=tokens_per_s,
                    latency_ms=latency_ms,
                )
            )

    async def metric_samples(
        self, start: datetime, end: datetime, kinds: Sequence[str] | None = None
    ) -> list[MetricSampleInfo]:
        """Samples with start <= at < end, oldest first, optionally only the given kinds."""
        query = (
            select(MetricSample)
            .where(MetricSample.at >= start, MetricSample.at < end)
            .order_by(MetricSample.at, MetricSample.id)
        )
        if kinds is not None:
            query = query.where(MetricSample.kind.in_(list(kinds)))
        async with self._sessionmaker() as db:
            return [
                MetricSampleInfo(r.at, r.kind, r.value, r.tokens, r.tokens_per_s, r.latency_ms)
                for r in await db.scalars(query)
            ]

    # ---- admin toggles -----------------------------------------------------------------------------

    async def get_toggle(self, name: str, default: bool = False) -> bool:
        async with self._sessionmaker() as db:
            row = await db.get(AdminToggle, name)
            return default if row is None else row.enabled

    async def set_toggle(self, name: str, enabled: bool, updated_by: int | None = None) -> ToggleInfo:
        try:
            return await self._write_toggle(name, enabled, updated_by)
        except IntegrityError:
            # Two admins flipped a new toggle at once; the second write now updates the first's row.
            return await self._write_toggle(name, enabled, updated_by)

    async def _write_toggle(self, name: str, enabled: bool, updated_by: int | None) -> ToggleInfo:
        async with self._sessionmaker.begin() as db:
            row = await db.get(AdminToggle, name)
            if row is None:
                row = AdminToggle(name=name)
                db.add(row)
            row.enabled, row.updated_at, row.updated_by = enabled, utcnow(), updated_by
        return ToggleInfo(row.name, row.enabled, row.updated_at, row.updated_by)

    async def all_toggles(self) -> dict[str, ToggleInfo]:
        async with self._sessionmaker() as db:
            rows = await db.scalars(select(AdminToggle).order_by(AdminToggle.name))
            return {r.name: ToggleInfo(r.name, r.enabled, r.updated_at, r.updated_by) for r in rows}

    # ---- health ------------------------------------------------------------------------------------

    async def health(self) -> tuple[bool, str]:
        """A `shared.health` check: can we run a query? The detail names an error's class, never its text."""
        try:
            async with self._sessionmaker() as db:
                await db.execute(select(1))
        except (SQLAlchemyError, OSError) as exc:
            return False, exc.__class__.__name__
        return True, "ok"

    def _violation_info(self, row: ModerationViolation) -> ViolationInfo:
        excerpt = None
        if row.excerpt_sealed is not None:
            excerpt = self._sealer.open(row.excerpt_sealed, excerpt_context(row.user_id, row.rule))
        return ViolationInfo(
            row.id, row.user_id, row.session_id, row.rule, row.action, excerpt, row.created_at
        )


def _audit_event_info(row: AuditEvent) -> AuditEventInfo:
    return AuditEventInfo(
        row.at,
        row.level,
        row.event,
        row.command,
        row.user_id,
        row.channel_id,
        row.success,
        row.latency_ms,
        row.detail,
    )
