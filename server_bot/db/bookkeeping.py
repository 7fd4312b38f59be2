"""The bot's own bookkeeping queries: unanswered requests, remembered settings. Part of `Repository`."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server_bot.db.models import BotSetting, PromptRequest, RequestState, utcnow


class BookkeepingQueries:
    """Mixed into `Repository`; needs only its sessionmaker."""

    _sessionmaker: async_sessionmaker[AsyncSession]

    # ---- requests in flight ------------------------------------------------------------------------

    async def add_request(self, request_id: str, session_id: uuid.UUID) -> None:
        """Remember a prompt handed to the relay (state pending)."""
        now = utcnow()
        async with self._sessionmaker.begin() as db:
            db.add(
                PromptRequest(
                    id=request_id,
                    session_id=session_id,
                    state=RequestState.PENDING.value,
                    created_at=now,
                    updated_at=now,
                )
            )

    async def finish_request(self, request_id: str) -> bool:
        """Mark a request finished; False if it was not pending (already finished or unknown)."""
        async with self._sessionmaker.begin() as db:
            result = await db.execute(
                update(PromptRequest)
                .where(PromptRequest.id == request_id, PromptRequest.state == RequestState.PENDING.value)
                .values(state=RequestState.FINISHED.value, updated_at=utcnow())
            )
        return bool(getattr(result, "rowcount", 0))

    async def unfinished_requests(self) -> list[tuple[str, uuid.UUID]]:
        """(request id, session id) of every pending request, oldest first."""
        query = (
            select(PromptRequest.id, PromptRequest.session_id)
            .where(PromptRequest.state == RequestState.PENDING.value)
            .order_by(PromptRequest.created_at, PromptRequest.id)
        )
        async with self._sessionmaker() as db:
            return [(row.id, row.session_id) for row in await db.execute(query)]

    # ---- remembered settings -----------------------------------------------------------------------

    async def get_setting(self, name: str) -> str | None:
        async with self._sessionmaker() as db:
            row = await db.get(BotSetting, name)
            return None if row is None else row.value

    async def set_setting(self, name: str, value: str) -> None:
        try:
            await self._write_setting(name, value)
        except IntegrityError:
            await self._write_setting(name, value)  # a concurrent first write; now it is an update

    async def _write_setting(self, name: str, value: str) -> None:
        async with self._sessionmaker.begin() as db:
            row = await db.get(BotSetting, name)
            if row is None:
                db.add(BotSetting(name=name, value=value, updated_at=utcnow()))
            else:
                row.value, row.updated_at = value, utcnow()
