"""Moderation wired to storage and audit: check a prompt or a reply, and carry out the verdict.

`server_bot.moderation.Moderator` decides (pure); this stores each match as a violation (the matched
excerpt only, sealed), audits it, stores a suspension that lapses by itself, and publishes a
`ModerationAlert` notice for the fronts to show admins (Discord: the admin channel).
"""

from __future__ import annotations

import uuid

from server_bot.core.events import ModerationAlert
from server_bot.core.notices import Notices
from server_bot.core.ports import Clock, Repository
from server_bot.moderation import Direction, Moderator, Verdict
from shared.audit import AuditLevel, AuditLog
from shared.log import get_logger

log = get_logger(__name__)


class ModerationService:
    def __init__(
        self, moderator: Moderator | None, repo: Repository, audit: AuditLog, clock: Clock, notices: Notices
    ) -> None:
        self._moderator = moderator
        self._repo = repo
        self._audit = audit
        self._clock = clock
        self._notices = notices

    def would_block(self, text: str, direction: Direction) -> bool:
        """Whether `text` would be blocked; stores nothing (for text still being streamed)."""
        return self._moderator is not None and self._moderator.check(text, direction).blocked

    async def enforce(
        self,
        text: str,
        direction: Direction,
        *,
        user_id: int,
        session_id: uuid.UUID | None,
        channel_id: int | None = None,
    ) -> Verdict:
        """Check `text` and carry out the verdict (store, log, audit, suspend, alert); returns it."""
        if self._moderator is None:
            return Verdict()
        verdict = self._moderator.check(text, direction)
        for match in verdict.matches:
            await self._repo.add_violation(user_id, match.rule, match.action.value, match.excerpt, session_id)
            log.info(
                "moderation: rule %s (%s) matched a %s of user %s",
                match.rule,
                match.action,
                direction,
                user_id,
            )
            await self._audit.record(
                "moderation",
                success=not verdict.blocked,
                command=direction,
                user_id=user_id,
                channel_id=channel_id,
                detail=match.action.value,
                level=AuditLevel.WARNING,
            )
        if verdict.suspend_for is not None:
            until = self._clock.now() + verdict.suspend_for
            await self._repo.suspend_user(user_id, until)
            log.info("moderation: user %s suspended until %s", user_id, until.isoformat(timespec="seconds"))
        if verdict.alert:
            await self._notices.publish(ModerationAlert(user_id, session_id, channel_id, direction, verdict))
        return verdict
