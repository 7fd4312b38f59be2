"""The queries the server-bot needs, each in its own short transaction.

`Repository(sessionmaker, sealer)` is the one entry point. It returns plain records (`server_bot.db.records`)
and seals every piece of conversation text (message bodies, system prompts, moderation excerpts) before it
reaches the database. Errors are `server_bot.db.errors.DatabaseError` subclasses.

Split by concept: users, sessions, messages and transcripts here; the audit trail, moderation, metrics,
toggles and health in `oversight`; unanswered requests and remembered settings in `bookkeeping`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server_bot.db.bookkeeping import BookkeepingQueries
from server_bot.db.errors import (
    ChannelInUse,
    DatabaseError,
    SessionAlreadyOpen,
    SessionNotFound,
    SessionNotOpen,
)
from server_bot.db.models import (
    ChatSession,
    Message,
    Role,
    SessionStatus,
    Transcript,
    User,
    utcnow,
)
from server_bot.db.oversight import OversightQueries
from server_bot.db.records import (
    FrontEnd,
    SessionInfo,
    SessionSettings,
    TranscriptInfo,
    Turn,
    UserInfo,
    as_front_end,
)
from server_bot.db.sealing import StorageSealer, message_context, system_prompt_context
from shared.log import get_logger

log = get_logger(__name__)

_OPEN = SessionStatus.OPEN.value


class Repository(BookkeepingQueries, OversightQueries):
    """All persistence the bot does, over an async sessionmaker and the storage sealer."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], sealer: StorageSealer) -> None:
        self._sessionmaker = sessionmaker
        self._sealer = sealer

    # ---- users -------------------------------------------------------------------------------------

    async def get_user(self, user_id: int) -> UserInfo | None:
        async with self._sessionmaker() as db:
            user = await db.get(User, user_id)
            return None if user is None else _user_info(user)

    async def get_or_create_user(self, user_id: int) -> UserInfo:
        existing = await self.get_user(user_id)
        if existing is not None:
            return existing
        try:
            async with self._sessionmaker.begin() as db:
                user = User(id=user_id, created_at=utcnow(), banned=False)
                db.add(user)
            return _user_info(user)
        except IntegrityError:
            # Another task created the same user between our read and our insert; theirs is as good.
            created = await self.get_user(user_id)
            if created is None:
                raise
            return created

    async def ban_user(self, user_id: int) -> UserInfo:
        return await self._update_user(user_id, banned=True)

    async def unban_user(self, user_id: int) -> UserInfo:
        return await self._update_user(user_id, banned=False)

    async def suspend_user(self, user_id: int, until: datetime) -> UserInfo:
        return await self._update_user(user_id, suspended_until=until)

    async def lift_suspension(self, user_id: int) -> UserInfo:
        return await self._update_user(user_id, suspended_until=None)

    async def _update_user(self, user_id: int, **changes: object) -> UserInfo:
        # Banning someone who never chatted is allowed: the row is created first.
        await self.get_or_create_user(user_id)
        async with self._sessionmaker.begin() as db:
            user = await db.get_one(User, user_id)
            for name, value in changes.items():
                setattr(user, name, value)
            return _user_info(user)

    # ---- chat sessions -----------------------------------------------------------------------------

    async def open_session(
        self,
        owner_id: int,
        guild_id: int | None,
        channel_id: int | None,
        defaults: SessionSettings,
        *,
        front_end: FrontEnd = "discord",
    ) -> SessionInfo:
        """Open a session for `owner_id`; raises `SessionAlreadyOpen` if they already have one."""
        await self.get_or_create_user(owner_id)
        session_id = uuid.uuid4()
        row = ChatSession(
            id=session_id,
            owner_id=owner_id,
            front_end=front_end,
            guild_id=guild_id,
            channel_id=channel_id,
            status=_OPEN,
            system_prompt_sealed=self._seal_prompt(session_id, defaults.system_prompt),
            temperature=defaults.temperature,
            max_tokens=defaults.max_tokens,
            created_at=utcnow(),
        )
        try:
            async with self._sessionmaker.begin() as db:
                if await _open_row_for(db, owner_id) is not None:
                    raise SessionAlreadyOpen(owner_id)
                db.add(row)
        except IntegrityError as exc:
            # The partial unique index caught a concurrent open the check above could not see.
            raise await self._explain_conflict(owner_id, channel_id) from exc
        log.info("chat session %s opened", session_id)
        return self._session_info(row)

    async def get_session(self, session_id: uuid.UUID) -> SessionInfo:
        async with self._sessionmaker() as db:
            return self._session_info(await _session_row(db, session_id))

    async def get_open_session_for_user(self, user_id: int) -> SessionInfo | None:
        async with self._sessionmaker() as db:
            row = await _open_row_for(db, user_id)
            return None if row is None else self._session_info(row)

    async def list_sessions_for_user(self, user_id: int, limit: int = 100) -> list[SessionInfo]:
        """The user's sessions, newest first."""
        query = (
            select(ChatSession)
            .where(ChatSession.owner_id == user_id)
            .order_by(ChatSession.created_at.desc(), ChatSession.id)
            .limit(limit)
        )
        async with self._sessionmaker() as db:
            return [self._session_info(row) for row in await db.scalars(query)]

    async def count_open_sessions(self) -> int:
        async with self._sessionmaker() as db:
            return int(await db.scalar(select(func.count()).where(ChatSession.status == _OPEN)) or 0)

    async def get_session_by_channel(self, channel_id: int) -> SessionInfo | None:
        async with self._sessionmaker() as db:
            row = await db.scalar(select(ChatSession).where(ChatSession.channel_id == channel_id))
            return None if row is None else self._session_info(row)

    async def set_session_channel(self, session_id: uuid.UUID, channel_id: int | None) -> SessionInfo:
        try:
            async with self._sessionmaker.begin() as db:
                row = await _session_row(db, session_id)
                row.channel_id = channel_id
        except IntegrityError as exc:
            raise ChannelInUse(f"channel {channel_id} already belongs to another session") from exc
        return self._session_info(row)

    async def end_session(self, session_id: uuid.UUID) -> SessionInfo:
        """Mark the session ended; ending an already ended session changes nothing."""
        async with self._sessionmaker.begin() as db:
            row = await _session_row(db, session_id)
            if row.status == _OPEN:
                row.status = SessionStatus.ENDED.value
                row.ended_at = utcnow()
                log.info("chat session %s ended", session_id)
        return self._session_info(row)

    async def set_system_prompt(self, session_id: uuid.UUID, prompt: str | None) -> SessionInfo:
        async with self._sessionmaker.begin() as db:
            row = await _open_session_row(db, session_id)
            row.system_prompt_sealed = self._seal_prompt(session_id, prompt)
        return self._session_info(row)

    async def update_settings(
        self, session_id: uuid.UUID, *, temperature: float | None = None, max_tokens: int | None = None
    ) -> SessionInfo:
        """Change the given settings (None leaves one as it is). Range checks are the caller's policy."""
        async with self._sessionmaker.begin() as db:
            row = await _open_session_row(db, session_id)
            if temperature is not None:
                row.temperature = temperature
            if max_tokens is not None:
                row.max_tokens = max_tokens
        return self._session_info(row)

    async def transfer_session(self, session_id: uuid.UUID, new_owner_id: int) -> SessionInfo:
        """Hand an open session to another user; raises `SessionAlreadyOpen` if they own one already.

        Sealed messages are bound to the session, not its owner, so nothing is re-encrypted.
        """
        await self.get_or_create_user(new_owner_id)
        try:
            async with self._sessionmaker.begin() as db:
                row = await _open_session_row(db, session_id)
                if row.owner_id == new_owner_id:
                    return self._session_info(row)
                if await _open_row_for(db, new_owner_id) is not None:
                    raise SessionAlreadyOpen(new_owner_id)
                row.owner_id = new_owner_id
        except IntegrityError as exc:
            raise SessionAlreadyOpen(new_owner_id) from exc
        log.info("chat session %s transferred", session_id)
        return self._session_info(row)

    async def list_ended_sessions_without_transcript(self, limit: int = 100) -> list[SessionInfo]:
        """Ended sessions still waiting for their final transcript, oldest first.

        A transcript saved while the session was still open (`/chat transcript`) does not count.
        """
        query = (
            select(ChatSession)
            .outerjoin(Transcript, Transcript.session_id == ChatSession.id)
            .where(
                ChatSession.status == SessionStatus.ENDED.value,
                or_(Transcript.id.is_(None), Transcript.created_at < ChatSession.ended_at),
            )
            .order_by(ChatSession.ended_at, ChatSession.id)
            .limit(limit)
        )
        async with self._sessionmaker() as db:
            return [self._session_info(row) for row in await db.scalars(query)]

    # ---- messages ----------------------------------------------------------------------------------

    async def add_message(
        self, session_id: uuid.UUID, role: Role, text: str, token_count: int | None = None
    ) -> int:
        """Store one turn, sealed and bound to (session, role); returns the message id."""
        role = Role(role)
        sealed = self._sealer.seal(text, message_context(session_id, role.value))
        async with self._sessionmaker.begin() as db:
            await _open_session_row(db, session_id)
            message = Message(
                session_id=session_id,
                role=role.value,
                content_sealed=sealed,
                created_at=utcnow(),
                token_count=token_count,
            )
            db.add(message)
            await db.flush()
            return message.id

    async def turns(self, session_id: uuid.UUID) -> list[Turn]:
        """Every stored turn of the session, oldest first, opened."""
        query = select(Message).where(Message.session_id == session_id).order_by(Message.id)
        async with self._sessionmaker() as db:
            rows = list(await db.scalars(query))
        return [self._turn(row) for row in rows]

    async def history(self, session_id: uuid.UUID) -> list[tuple[Role, str]]:
        """The conversation as (role, text) pairs, oldest first — what the relay sends to the model."""
        return [(turn.role, turn.text) for turn in await self.turns(session_id)]

    async def drop_last_reply(self, session_id: uuid.UUID) -> int:
        """Forget the assistant turns after the last user turn (to answer it again); returns how many."""
        async with self._sessionmaker.begin() as db:
            await _open_session_row(db, session_id)
            last_prompt = await db.scalar(
                select(func.max(Message.id)).where(
                    Message.session_id == session_id, Message.role == Role.USER.value
                )
            )
            query = delete(Message).where(
                Message.session_id == session_id, Message.role == Role.ASSISTANT.value
            )
            if last_prompt is not None:
                query = query.where(Message.id > last_prompt)
            result = await db.execute(query)
        return int(getattr(result, "rowcount", 0) or 0)

    async def get_message_session(self, message_id: int) -> uuid.UUID | None:
        """The session a stored message belongs to, or None if there is no such message."""
        async with self._sessionmaker() as db:
            return await db.scalar(select(Message.session_id).where(Message.id == message_id))

    async def latest_reply_id(self, session_id: uuid.UUID) -> int | None:
        """The id of the session's latest assistant turn if it is the last turn, else None."""
        async with self._sessionmaker() as db:
            last = await db.scalar(
                select(Message).where(Message.session_id == session_id).order_by(Message.id.desc()).limit(1)
            )
        return last.id if last is not None and last.role == Role.ASSISTANT.value else None

    async def reset_history(self, session_id: uuid.UUID) -> int:
        """Forget the session's turns (the session stays open); returns how many were deleted."""
        async with self._sessionmaker.begin() as db:
            await _session_row(db, session_id)
            result = await db.execute(delete(Message).where(Message.session_id == session_id))
        return int(getattr(result, "rowcount", 0) or 0)

    # ---- transcripts -------------------------------------------------------------------------------

    async def record_transcript(self, session_id: uuid.UUID, json_key: str, md_key: str) -> TranscriptInfo:
        """Remember where a session's transcript was stored; recording again replaces the keys."""
        async with self._sessionmaker.begin() as db:
            await _session_row(db, session_id)
            row = await db.scalar(select(Transcript).where(Transcript.session_id == session_id))
            if row is None:
                row = Transcript(session_id=session_id, json_key=json_key, md_key=md_key, created_at=utcnow())
                db.add(row)
            else:
                row.json_key, row.md_key, row.created_at = json_key, md_key, utcnow()
        return _transcript_info(row)

    async def get_transcript(self, session_id: uuid.UUID) -> TranscriptInfo | None:
        async with self._sessionmaker() as db:
            row = await db.scalar(select(Transcript).where(Transcript.session_id == session_id))
            return (
                None
                if row is None
                else TranscriptInfo(row.session_id, row.json_key, row.md_key, row.created_at)
            )

    # ---- sealing and conversion --------------------------------------------------------------------

    def _seal_prompt(self, session_id: uuid.UUID, prompt: str | None) -> bytes | None:
        return None if prompt is None else self._sealer.seal(prompt, system_prompt_context(session_id))

    def _session_info(self, row: ChatSession) -> SessionInfo:
        prompt = None
        if row.system_prompt_sealed is not None:
            prompt = self._sealer.open(row.system_prompt_sealed, system_prompt_context(row.id))
        return SessionInfo(
            id=row.id,
            owner_id=row.owner_id,
            front_end=as_front_end(row.front_end),
            guild_id=row.guild_id,
            channel_id=row.channel_id,
            status=SessionStatus(row.status),
            system_prompt=prompt,
            temperature=row.temperature,
            max_tokens=row.max_tokens,
            created_at=row.created_at,
            ended_at=row.ended_at,
        )

    def _turn(self, row: Message) -> Turn:
        text = self._sealer.open(row.content_sealed, message_context(row.session_id, row.role))
        return Turn(Role(row.role), text, row.created_at, row.token_count)

    async def _explain_conflict(self, owner_id: int, channel_id: int | None) -> DatabaseError:
        if await self.get_open_session_for_user(owner_id) is not None:
            return SessionAlreadyOpen(owner_id)
        return ChannelInUse(f"channel {channel_id} already belongs to another session")


async def _session_row(db: AsyncSession, session_id: uuid.UUID) -> ChatSession:
    row = await db.get(ChatSession, session_id)
    if row is None:
        raise SessionNotFound(f"no chat session {session_id}")
    return row


async def _open_session_row(db: AsyncSession, session_id: uuid.UUID) -> ChatSession:
    row = await _session_row(db, session_id)
    if row.status != _OPEN:
        raise SessionNotOpen(f"chat session {session_id} has ended")
    return row


async def _open_row_for(db: AsyncSession, owner_id: int) -> ChatSession | None:
    query = select(ChatSession).where(ChatSession.owner_id == owner_id, ChatSession.status == _OPEN)
    return await db.scalar(query)


def _user_info(user: User) -> UserInfo:
    return UserInfo(user.id, user.created_at, user.banned, user.suspended_until)


def _transcript_info(row: Transcript) -> TranscriptInfo:
    return TranscriptInfo(row.session_id, row.json_key, row.md_key, row.created_at)
