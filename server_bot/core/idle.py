"""Idle sessions are closed: a session without a message for `ChatSettings.idle_close_after_s` goes
through the one close path (`SessionService.close`, reason "idle": generation stopped, transcript saved,
every front told by a `SessionClosed` notice, which tells its user).

One task, owned here: `start()` begins it (the core's start), `aclose()` cancels it (the core's close).
Tests call `close_idle()` on a fake clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from server_bot.core.ports import Clock, Repository
from server_bot.core.sessions import SessionService
from server_bot.db import errors as db_errors
from server_bot.db.records import SessionInfo
from shared.log import get_logger
from shared.tasks import spawn

log = get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]
_CHECK_EVERY_MAX_S = 60.0


class IdleSessionCloser:
    def __init__(
        self,
        repo: Repository,
        sessions: SessionService,
        clock: Clock,
        *,
        idle_after_s: float,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._repo = repo
        self._sessions = sessions
        self._clock = clock
        self._idle_after = timedelta(seconds=idle_after_s)
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self._idle_after > timedelta(0)

    @property
    def running(self) -> bool:
        """Is the checking task alive?"""
        return self._task is not None and not self._task.done()

    async def close_idle(self) -> list[SessionInfo]:
        """Close every open session idle for at least `idle_after_s`; returns the closed ones."""
        if not self.enabled:
            return []
        cutoff = self._clock.now() - self._idle_after
        closed = []
        for session, last_active in await self._repo.open_sessions_last_active():
            if last_active > cutoff:
                continue
            try:
                closed.append(await self._sessions.close(session.id, reason="idle"))
            except db_errors.DatabaseError:
                log.warning("could not close idle session %s; retried next pass", session.id, exc_info=True)
                continue
            log.info("session %s closed after %s idle", session.id, self._idle_after)
        return closed

    def start(self) -> None:
        """Check every so often (a tenth of the idle time, at most a minute); idempotent."""
        if self.enabled and self._task is None:
            self._task = spawn(self._run(), name="core:idle-sessions")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        interval = min(_CHECK_EVERY_MAX_S, max(1.0, self._idle_after.total_seconds() / 10))
        while True:
            await self._sleep(interval)
            try:
                await self.close_idle()
            except Exception:  # one failed pass must not end the closing of idle sessions for good
                log.exception("closing idle sessions failed")
