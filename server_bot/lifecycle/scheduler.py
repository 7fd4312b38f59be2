"""A periodic job with an owner: `PeriodicJob` runs a coroutine every N seconds until `aclose()`.

The retention purge runs this way (`retention_job`). A failing run is logged and the next one still
happens; a run is never overlapped by the next, and closing cancels a run in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server_bot.lifecycle.errors import LifecycleError
from server_bot.lifecycle.expiry import apply_bucket_expiry
from server_bot.lifecycle.purge import PurgeReport, purge_expired
from server_bot.objects import ObjectStore, S3ObjectStore
from shared.config import RetentionSettings
from shared.log import get_logger

log = get_logger(__name__)

PURGE_AUDIT_EVENT = "retention_purge"


class PeriodicJob:
    """Runs `job()` now (or after `first_delay_s`) and then every `interval_s`; `aclose()` stops it."""

    def __init__(
        self,
        name: str,
        interval_s: float,
        job: Callable[[], Awaitable[object]],
        *,
        first_delay_s: float = 0.0,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.name = name
        self.interval_s = interval_s
        self.first_delay_s = first_delay_s
        self.runs = 0
        self._job = job
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop on the running event loop; starting twice is a no-op."""
        if self.running:
            return
        self._task = asyncio.create_task(self._loop(), name=f"periodic:{self.name}")

    async def run_once(self) -> None:
        """One run now; exceptions are logged (by class) and swallowed so the schedule survives."""
        try:
            await self._job()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # The class only: messages of storage errors can name hosts or keys.
            log.error("periodic job %s failed: %s", self.name, type(exc).__name__)
        finally:
            self.runs += 1

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _loop(self) -> None:
        if self.first_delay_s > 0:
            await asyncio.sleep(self.first_delay_s)
        while True:
            await self.run_once()
            await asyncio.sleep(self.interval_s)


class AuditRecorder(Protocol):
    """What `shared.audit.AuditLog.record` offers (only the fields used here)."""

    async def record(self, event: str, *, success: bool, detail: str | None = None) -> object: ...


def retention_job(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: ObjectStore | None,
    retention_days: int,
    interval_s: float,
    audit: AuditRecorder | None = None,
    *,
    first_delay_s: float = 60.0,
) -> PeriodicJob:
    """The scheduled retention purge; each run is audited with counts only (``retention_purge``).

    `first_delay_s` keeps the first purge out of the bot's start-up rush.
    """

    async def purge() -> PurgeReport | None:
        try:
            report = await purge_expired(sessionmaker, store, retention_days)
        except LifecycleError:
            if audit is not None:
                await audit.record(PURGE_AUDIT_EVENT, success=False, detail="purge_error")
            raise
        if audit is not None:
            await audit.record(PURGE_AUDIT_EVENT, success=True, detail=report.audit_detail)
        return report

    return PeriodicJob("retention-purge", interval_s, purge, first_delay_s=first_delay_s)


async def start_retention(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: ObjectStore | None,
    settings: RetentionSettings,
    audit: AuditRecorder | None = None,
) -> PeriodicJob:
    """Server-bot start-up in one call: S3 expiry rules (when the store is S3), then the scheduled purge.

    The caller owns the returned job: ``stack.push_async_callback(job.aclose)``.
    """
    if isinstance(store, S3ObjectStore):
        await apply_bucket_expiry(store, settings.retention_days)
    job = retention_job(
        sessionmaker, store, settings.retention_days, settings.retention_purge_interval_s, audit
    )
    job.start()
    return job
