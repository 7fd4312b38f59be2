"""Transcripts a failed save left behind (object store down, disk full), saved once storage is back.

A closed chat's transcript is saved at once; when that fails the session is still closed (its user is
told the transcript will follow) and this retries in one owned background task, backing off from
`first_delay_s` to `max_delay_s`, until no ended session is without its transcript. `aclose` cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from server_bot import transcripts
from server_bot.core.ports import ObjectStore, Repository
from shared.log import get_logger

log = get_logger(__name__)

_BATCH = 50


class TranscriptRetry:
    def __init__(
        self,
        repo: Repository,
        objects: ObjectStore,
        *,
        first_delay_s: float = 2.0,
        max_delay_s: float = 60.0,
    ) -> None:
        self._repo = repo
        self._objects = objects
        self._first_delay_s = first_delay_s
        self._max_delay_s = max_delay_s
        self._unsaved: set[uuid.UUID] = set()
        self._task: asyncio.Task[None] | None = None

    def pending(self, session_id: uuid.UUID) -> bool:
        """Is this session's transcript still waiting for storage (as far as this run knows)?"""
        return session_id in self._unsaved

    def kick(self, session_id: uuid.UUID | None = None) -> None:
        """A save failed (or a previous run left some): start retrying, if not already."""
        if session_id is not None:
            self._unsaved.add(session_id)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._retry_until_saved(), name="core:transcript-retry")

    async def _retry_until_saved(self) -> None:
        delay = self._first_delay_s
        while True:
            await asyncio.sleep(delay)
            try:
                left = await self._save_some()
            except Exception as exc:  # storage or database still down: any failure means "later"
                log.info("transcripts still not saved (%s); next try in %.0f s", type(exc).__name__, delay)
                delay = min(delay * 2, self._max_delay_s)
                continue
            if not left:
                self._unsaved.clear()
                return

    async def _save_some(self) -> bool:
        """Save up to a batch; True if more may be waiting."""
        waiting = await self._repo.list_ended_sessions_without_transcript(_BATCH)
        for session in waiting:
            await transcripts.save_transcript(self._repo, self._objects, session.id)
            self._unsaved.discard(session.id)
        return len(waiting) == _BATCH

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
