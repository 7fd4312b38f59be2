"""`Core`: the application core every front end (Discord, web, MCP) drives. Built once in `main()`.

    core = Core(repo=..., objects=..., limiter=..., relay=hub, audit=..., chat=ChatSettings(), ...)
    core.subscribe(on_notice)                  # SessionClosed / SessionTransferred / RequestInterrupted / ...
    session = await core.sessions.open(actor)
    async with contextlib.aclosing(await core.conversation.submit(actor, session.id, "hi")) as stream:
        async for event in stream: ...

Refusals are `server_bot.core.errors.CoreError` subclasses with a user-facing message.
"""

from __future__ import annotations

from server_bot.core.access import AccessService
from server_bot.core.conversation import ConversationService
from server_bot.core.events import NoticeListener, RequestInterrupted
from server_bot.core.hosts import HostService
from server_bot.core.idle import IdleSessionCloser
from server_bot.core.moderation import ModerationService
from server_bot.core.notices import Notices
from server_bot.core.oversight import OversightService
from server_bot.core.ports import (
    Clock,
    HostDirectory,
    ObjectStore,
    RateLimiter,
    Relay,
    Repository,
    SystemClock,
)
from server_bot.core.sessions import SessionService
from server_bot.core.user_data import UserData, UserDataStore
from server_bot.fallback import FallbackResponder
from server_bot.moderation import Moderator
from shared.audit import AuditLog
from shared.config import ChatSettings


class Core:
    """The services, wired together. Attributes: `access`, `sessions`, `conversation`, `moderation`,
    `oversight` (admins' reads), `idle` (closes idle sessions), `hosts` (the GPU hosts: status, drain,
    reboot; `hosts=` is usually the relay hub, which is both the `Relay` and the `HostDirectory`),
    `user_data` (a person's forget and export; `user_data=` is `server_bot.lifecycle.UserDataService`)."""

    def __init__(
        self,
        *,
        repo: Repository,
        objects: ObjectStore,
        limiter: RateLimiter,
        relay: Relay,
        audit: AuditLog,
        hosts: HostDirectory | None = None,
        chat: ChatSettings,
        moderator: Moderator | None = None,
        clock: Clock | None = None,
        fallback: FallbackResponder | None = None,
        fallback_default: bool = False,
        admin_role_id: int | None = None,
        transcript_link_ttl_s: int = 900,
        user_data: UserDataStore | None = None,
    ) -> None:
        clock = clock or SystemClock()
        self.repo = repo
        self.notices = Notices()
        self.access = AccessService(
            repo, limiter, clock, admin_role_id=admin_role_id, fallback_default=fallback_default, audit=audit
        )
        self.oversight = OversightService(repo, self.access)
        self.hosts = HostService(hosts, self.access, audit)
        self.moderation = ModerationService(moderator, repo, audit, clock, self.notices)
        self.sessions = SessionService(
            repo,
            objects,
            self.access,
            self.notices,
            chat,
            transcript_link_ttl_s=transcript_link_ttl_s,
            audit=audit,
        )
        self.conversation = ConversationService(
            repo=repo,
            relay=relay,
            access=self.access,
            sessions=self.sessions,
            moderation=self.moderation,
            notices=self.notices,
            audit=audit,
            chat=chat,
            fallback=fallback,
        )
        # The one close path stops the session's generation first; a ban closes the user's session.
        self.idle = IdleSessionCloser(repo, self.sessions, clock, idle_after_s=chat.idle_close_after_s)
        self.sessions.on_close_cancel(self.conversation.cancel_session)
        self.sessions.on_reset(self.conversation.history_shrank)
        self.access.on_ban(self._close_after_ban)
        # A person's own data: forget (after closing their session) and export.
        self.user_data = UserData(self.sessions, user_data)

    def subscribe(self, listener: NoticeListener) -> None:
        """Receive `CoreNotice`s (closes, transfers, interrupted requests, moderation alerts)."""
        self.notices.subscribe(listener)

    async def start(self) -> list[RequestInterrupted]:
        """Call once the fronts have subscribed: tells the users of requests a restart interrupted, and
        starts closing idle sessions (`ChatSettings.idle_close_after_s`), and saves transcripts a previous
        run could not (storage was down)."""
        if await self.repo.list_ended_sessions_without_transcript(1):
            self.sessions.transcript_retry.kick()
        interrupted = await self.conversation.recover_unfinished()
        self.idle.start()
        return interrupted

    async def aclose(self, *, grace_s: float = 0.0) -> None:
        """On shutdown, before the database closes: replies being written get `grace_s` to finish; the
        rest end, their users told."""
        await self.idle.aclose()
        await self.hosts.aclose()
        await self.conversation.aclose(grace_s=grace_s)
        await self.sessions.transcript_retry.aclose()

    async def _close_after_ban(self, user_id: int) -> None:
        await self.sessions.close_open_session_of(user_id, "banned")
