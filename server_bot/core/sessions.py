"""Chat sessions: open, close (the one close path), transfer, settings, system prompt, history, transcripts.

Every call takes the acting `Actor`; calls on a session check that it is the actor's own (admins may act
on any session where that is said). Results are plain records (`SessionInfo`, `Turn`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from server_bot import transcripts
from server_bot.core.access import AccessService
from server_bot.core.admin_audit import admin_action
from server_bot.core.errors import NoOpenSession, NotSessionOwner, SessionAlreadyOpen
from server_bot.core.events import CloseReason, SessionClosed, SessionTransferred
from server_bot.core.identity import Actor
from server_bot.core.notices import Notices
from server_bot.core.ports import ObjectStore, Repository
from server_bot.core.transcript_retry import TranscriptRetry
from server_bot.core.validation import check_max_tokens, check_temperature, clean_system_prompt
from server_bot.db import errors as db_errors
from server_bot.db.records import SessionInfo, SessionSettings, Turn
from server_bot.objects.errors import ObjectStoreError
from shared.audit import AuditLog
from shared.config import ChatSettings
from shared.log import get_logger

log = get_logger(__name__)

CancelSession = Callable[[uuid.UUID], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TranscriptLink:
    """A saved transcript: a link valid `ttl_s` (shareable or not, see ObjectStore) and its Markdown."""

    url: str
    ttl_s: int
    shareable: bool
    markdown: bytes
    filename: str


class SessionService:
    def __init__(
        self,
        repo: Repository,
        objects: ObjectStore,
        access: AccessService,
        notices: Notices,
        chat: ChatSettings,
        *,
        transcript_link_ttl_s: int = 900,
        audit: AuditLog | None = None,
    ) -> None:
        self._repo = repo
        self._audit = audit
        self._objects = objects
        self._access = access
        self._notices = notices
        self._chat = chat
        self._link_ttl_s = transcript_link_ttl_s
        self._cancel_session: CancelSession | None = None
        self.transcript_retry = TranscriptRetry(repo, objects)
        self._on_reset: Callable[[uuid.UUID], None] | None = None

    def on_close_cancel(self, cancel: CancelSession) -> None:
        """Set by the core: stops the session's generation before it is closed."""
        self._cancel_session = cancel

    def on_reset(self, hook: Callable[[uuid.UUID], None]) -> None:
        """Set by the core: told when a session's history is cleared."""
        self._on_reset = hook

    # ---- finding sessions -----------------------------------------------------------------------------

    async def current(self, actor: Actor) -> SessionInfo | None:
        """The actor's open session, if any (on whichever front it was opened)."""
        return await self._repo.get_open_session_for_user(actor.user_id)

    async def require_current(self, actor: Actor) -> SessionInfo:
        """The actor's open session after the access check for a command; else `NoOpenSession`."""
        session = await self.current(actor)
        if session is None:
            raise NoOpenSession()
        await self._access.check(actor, "command")
        return session

    async def get(self, actor: Actor, session_id: uuid.UUID) -> SessionInfo:
        """One session by id; `NoOpenSession` if it does not exist, `NotSessionOwner` if not theirs
        (admins may read any)."""
        try:
            session = await self._repo.get_session(session_id)
        except db_errors.SessionNotFound:
            raise NoOpenSession() from None
        if session.owner_id != actor.user_id and not await self._access.is_admin(actor):
            raise NotSessionOwner()
        return session

    async def list_for(self, actor: Actor) -> list[SessionInfo]:
        """The actor's sessions, newest first (open and ended)."""
        return await self._repo.list_sessions_for_user(actor.user_id)

    async def by_channel(self, channel_id: int) -> SessionInfo | None:
        """The session bound to a Discord channel id (the Discord front's lookup), open or not."""
        return await self._repo.get_session_by_channel(channel_id)

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def open(self, actor: Actor, *, guild_id: int | None = None) -> SessionInfo:
        """Open a session on the actor's front; `SessionAlreadyOpen` carries the existing one."""
        await self._access.check(actor, "command")
        existing = await self.current(actor)
        if existing is not None:
            raise SessionAlreadyOpen(existing.id, existing.channel_id)
        try:
            return await self._repo.open_session(
                actor.user_id, guild_id, None, self.defaults(), front_end=actor.front_end
            )
        except db_errors.SessionAlreadyOpen:
            existing = await self.current(actor)
            raise SessionAlreadyOpen(existing.id if existing else uuid.UUID(int=0)) from None

    async def attach_channel(self, session_id: uuid.UUID, channel_id: int | None) -> SessionInfo:
        """Bind a Discord channel to a session (the Discord front, after it created the channel)."""
        return await self._repo.set_session_channel(session_id, channel_id)

    async def close(
        self, session_id: uuid.UUID, *, reason: CloseReason, by: Actor | None = None
    ) -> SessionInfo:
        """The one close path: stop its generation, end it, save its transcript, tell the fronts.

        `by` must own the session or be an admin; `by=None` is the platform itself (a ban, a lost channel).
        Closing an already closed session only re-saves nothing and notifies nobody.
        """
        session = await self._repo.get_session(session_id)
        if by is not None and session.owner_id != by.user_id:
            await self._access.require_admin(by)
        if not session.is_open:
            return session
        if self._cancel_session is not None:
            await self._cancel_session(session_id)
        session = await self._repo.end_session(session_id)
        try:
            await transcripts.save_transcript(self._repo, self._objects, session_id)
        except ObjectStoreError as exc:
            # The chat is closed all the same; its transcript follows once storage is back.
            log.warning("transcript of chat session %s not saved yet: %s", session_id, type(exc).__name__)
            self.transcript_retry.kick(session_id)
        await self._notices.publish(
            SessionClosed(
                session.id,
                session.owner_id,
                session.front_end,
                session.channel_id,
                reason,
                closed_via=None if by is None else by.front_end,
            )
        )
        return session

    def transcript_saved(self, session_id: uuid.UUID) -> bool:
        """False while a closed session's transcript waits for storage to come back (then it is saved)."""
        return not self.transcript_retry.pending(session_id)

    async def close_open_session_of(self, user_id: int, reason: CloseReason) -> SessionInfo | None:
        """Close `user_id`'s open session if there is one (a ban)."""
        session = await self._repo.get_open_session_for_user(user_id)
        return None if session is None else await self.close(session.id, reason=reason)

    async def transfer(self, actor: Actor, session_id: uuid.UUID, new_owner_id: int) -> SessionInfo:
        """Admin only: give an open session to another user (`SessionAlreadyOpen` if they have one)."""
        async with admin_action(self._audit, actor, "transfer", target=new_owner_id):
            await self._access.require_admin(actor)
            before = await self._repo.get_session(session_id)
            try:
                after = await self._repo.transfer_session(session_id, new_owner_id)
            except db_errors.SessionAlreadyOpen:
                theirs = await self._repo.get_open_session_for_user(new_owner_id)
                raise SessionAlreadyOpen(
                    theirs.id if theirs else session_id, theirs.channel_id if theirs else None
                ) from None
            except db_errors.SessionNotOpen:
                raise NoOpenSession() from None
        if before.owner_id != new_owner_id:
            await self._notices.publish(
                SessionTransferred(after.id, before.owner_id, new_owner_id, after.front_end, after.channel_id)
            )
        return after

    # ---- settings -------------------------------------------------------------------------------------

    def defaults(self) -> SessionSettings:
        return SessionSettings(None, self._chat.default_temperature, self._chat.default_max_tokens)

    async def update_settings(
        self,
        actor: Actor,
        session_id: uuid.UUID,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> SessionInfo:
        """Change temperature and/or max tokens (None keeps one); `InvalidSetting` names the range."""
        await self._own_open(actor, session_id)
        if temperature is not None:
            temperature = check_temperature(temperature, maximum=self._chat.max_temperature)
        if max_tokens is not None:
            max_tokens = check_max_tokens(max_tokens, maximum=self._chat.max_max_tokens)
        return await self._repo.update_settings(session_id, temperature=temperature, max_tokens=max_tokens)

    async def set_system_prompt(self, actor: Actor, session_id: uuid.UUID, prompt: str | None) -> SessionInfo:
        """Set (or with None / blank, clear) the session's system prompt; `SystemPromptTooLong`."""
        await self._own_open(actor, session_id)
        cleaned = clean_system_prompt(prompt, max_chars=self._chat.max_system_prompt_chars)
        return await self._repo.set_system_prompt(session_id, cleaned)

    async def reset(self, actor: Actor, session_id: uuid.UUID) -> int:
        """Forget the conversation so far; returns how many turns were forgotten."""
        await self._own_open(actor, session_id)
        forgotten = await self._repo.reset_history(session_id)
        if self._on_reset is not None:
            self._on_reset(session_id)
        return forgotten

    async def history(self, actor: Actor, session_id: uuid.UUID) -> list[Turn]:
        """Every stored turn, oldest first."""
        await self.get(actor, session_id)
        return await self._repo.turns(session_id)

    async def transcript(self, actor: Actor, session_id: uuid.UUID) -> TranscriptLink:
        """Save the transcript now and return a short-lived link plus its Markdown bytes (to attach)."""
        session = await self.get(actor, session_id)
        info = await transcripts.save_transcript(self._repo, self._objects, session.id)
        url = await self._objects.link(info.md_key, self._link_ttl_s)
        markdown = await self._objects.get(info.md_key)
        return TranscriptLink(
            url, self._link_ttl_s, self._objects.links_are_shareable, markdown, f"transcript-{session.id}.md"
        )

    async def _own_open(self, actor: Actor, session_id: uuid.UUID) -> SessionInfo:
        session = await self.get(actor, session_id)
        if session.owner_id != actor.user_id:
            raise NotSessionOwner()
        if not session.is_open:
            raise NoOpenSession()
        await self._access.check(actor, "command")
        return session
