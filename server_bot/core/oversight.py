"""What admins look at, the same for every front end: open sessions, banned users, and the audit trail
with its filters applied in the database (admin actions themselves are audited in `admin_audit`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from server_bot.core.access import AccessService
from server_bot.core.identity import Actor
from server_bot.core.ports import Repository
from server_bot.db.records import AuditEventInfo, SessionInfo, UserInfo

AUDIT_LIMIT_MAX = 1000


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for the audit trail; each None means "any". `since`/`until` are inclusive."""

    event: str | None = None
    user_id: int | None = None
    success: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200


class OversightService:
    """Admin-only reads. Every call checks the admin capability (`NotAdmin`)."""

    def __init__(self, repo: Repository, access: AccessService) -> None:
        self._repo = repo
        self._access = access

    async def open_sessions(self, actor: Actor) -> list[SessionInfo]:
        """Every open session on every front end, oldest first."""
        await self._access.require_admin(actor)
        return await self._repo.list_open_sessions()

    async def banned_users(self, actor: Actor) -> list[UserInfo]:
        await self._access.require_admin(actor)
        return await self._repo.list_banned_users()

    async def audit_events(self, actor: Actor, query: AuditQuery) -> list[AuditEventInfo]:
        """Newest first; at most `query.limit` (capped at `AUDIT_LIMIT_MAX`)."""
        await self._access.require_admin(actor)
        return await self._repo.audit_events(
            event=query.event,
            user_id=query.user_id,
            success=query.success,
            since=_aware(query.since),
            until=_aware(query.until),
            limit=max(1, min(query.limit, AUDIT_LIMIT_MAX)),
        )


def _aware(moment: datetime | None) -> datetime | None:
    # A moment without a zone is taken as UTC, the zone every stored moment is in.
    return moment if moment is None or moment.tzinfo is not None else moment.replace(tzinfo=UTC)
