"""Who may do what: bans, suspensions, the admin capability, the pause switch and rate limits.

The admin capability is decided by role id only: the configured `DISCORD_ADMIN_ROLE_ID`, else the id the
bot recorded when it created the admin role (`record_admin_role`). A role merely named like the admin role
grants nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from server_bot.core.admin_audit import admin_action
from server_bot.core.errors import Banned, NotAdmin, RateLimited, RequestsPaused, Suspended
from server_bot.core.identity import Actor
from server_bot.core.ports import Clock, RateLimiter, Repository, Scope
from server_bot.db.records import UserInfo
from shared.audit import AuditLog

# Toggle and setting names in the database.
REQUESTS_PAUSED = "requests_paused"
FALLBACK_ENABLED = "fallback_enabled"
ADMIN_ROLE_ID = "admin_role_id"

BanHook = Callable[[int], Awaitable[None]]


class AccessService:
    def __init__(
        self,
        repo: Repository,
        limiter: RateLimiter,
        clock: Clock,
        *,
        admin_role_id: int | None = None,
        fallback_default: bool = False,
        audit: AuditLog | None = None,
    ) -> None:
        self._repo = repo
        self._audit = audit  # admin actions are audited here, whichever front asked
        self._limiter = limiter
        self._clock = clock
        self._configured_admin_role_id = admin_role_id
        self._fallback_default = fallback_default
        self._on_ban: BanHook | None = None

    def on_ban(self, hook: BanHook) -> None:
        """Called with the user id after a ban is stored (the core closes their session there)."""
        self._on_ban = hook

    # ---- checks ---------------------------------------------------------------------------------------

    async def check(self, actor: Actor, scope: Scope) -> None:
        """Raise `RequestsPaused`, `Banned`, `Suspended` or `RateLimited` if `actor` may not go on.

        Admins are not exempt from the pause: it stops the AI host's work, whoever asks.
        """
        if await self._repo.get_toggle(REQUESTS_PAUSED):
            raise RequestsPaused()
        await self.check_not_blocked(actor.user_id)
        decision = await self._limiter.check(scope, actor.user_id)
        if not decision.allowed:
            raise RateLimited(decision.retry_after_s)

    async def check_not_blocked(self, user_id: int) -> None:
        user = await self._repo.get_user(user_id)
        if user is None:
            return
        if user.banned:
            raise Banned()
        if user.is_blocked(self._clock.now()):
            raise Suspended(user.suspended_until)

    # ---- the admin capability -------------------------------------------------------------------------

    async def admin_role_id(self) -> int | None:
        """The configured admin role id, else the one recorded when the bot created the role."""
        if self._configured_admin_role_id is not None:
            return self._configured_admin_role_id
        recorded = await self._repo.get_setting(ADMIN_ROLE_ID)
        return int(recorded) if recorded is not None and recorded.isdigit() else None

    async def record_admin_role(self, role_id: int) -> None:
        """Remember the id of the admin role the bot created (used when no id is configured)."""
        await self._repo.set_setting(ADMIN_ROLE_ID, str(role_id))

    async def is_admin(self, actor: Actor) -> bool:
        role_id = await self.admin_role_id()
        return role_id is not None and role_id in actor.role_ids

    async def require_admin(self, actor: Actor) -> None:
        if not await self.is_admin(actor):
            raise NotAdmin()

    # ---- switches -------------------------------------------------------------------------------------

    async def paused(self) -> bool:
        return await self._repo.get_toggle(REQUESTS_PAUSED)

    async def set_paused(self, actor: Actor, paused: bool) -> None:
        async with admin_action(self._audit, actor, f"toggle.{REQUESTS_PAUSED}", target=_on_off(paused)):
            await self.require_admin(actor)
            await self._repo.set_toggle(REQUESTS_PAUSED, paused, updated_by=actor.user_id)

    async def fallback_enabled(self) -> bool:
        return await self._repo.get_toggle(FALLBACK_ENABLED, default=self._fallback_default)

    async def set_fallback(self, actor: Actor, enabled: bool) -> None:
        async with admin_action(self._audit, actor, f"toggle.{FALLBACK_ENABLED}", target=_on_off(enabled)):
            await self.require_admin(actor)
            await self._repo.set_toggle(FALLBACK_ENABLED, enabled, updated_by=actor.user_id)

    # ---- bans and suspensions -------------------------------------------------------------------------

    async def ban(self, user_id: int, *, by: Actor | None = None) -> UserInfo:
        """Ban `user_id` and close their open session. `by=None` is the platform itself (a guild ban)."""
        async with admin_action(self._audit, by, "ban", target=user_id):
            if by is not None:
                await self.require_admin(by)
            user = await self._repo.ban_user(user_id)
            if self._on_ban is not None:
                await self._on_ban(user_id)
        return user

    async def apply_bans(self, user_ids: Iterable[int]) -> list[int]:
        """Bans made where this platform could not see them (a guild ban while the bot was offline):
        each user not yet banned here is banned now (their open session closed); returns those."""
        newly = []
        for user_id in user_ids:
            user = await self._repo.get_user(user_id)
            if user is None or not user.banned:
                await self.ban(user_id)
                newly.append(user_id)
        return newly

    async def unban(self, user_id: int, *, by: Actor | None = None) -> UserInfo:
        async with admin_action(self._audit, by, "unban", target=user_id):
            if by is not None:
                await self.require_admin(by)
            return await self._repo.unban_user(user_id)

    async def suspend(self, user_id: int, until: datetime, *, by: Actor | None = None) -> UserInfo:
        async with admin_action(self._audit, by, "suspend", target=user_id):
            if by is not None:
                await self.require_admin(by)
            return await self._repo.suspend_user(user_id, until)

    async def lift_suspension(self, user_id: int, *, by: Actor | None = None) -> UserInfo:
        async with admin_action(self._audit, by, "lift_suspension", target=user_id):
            if by is not None:
                await self.require_admin(by)
            return await self._repo.lift_suspension(user_id)


def _on_off(enabled: bool) -> str:
    return "on" if enabled else "off"
