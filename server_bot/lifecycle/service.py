"""`UserDataService`: what the `/chat forget` and `/chat export` front ends (Discord, web) call.

It wraps `forget_user` and `export_user` with the audit: a forget also scrubs the user's lines from the
audit file and then records only that a forget happened (`user_data_forgotten`, no user id, counts in
`detail`); an export is recorded as `user_data_exported` for that user (the user asked; the record holds
no data). The front end still owns what only it can do: confirm first (a button), delete the user's
Discord session channels (`ForgetReport.channel_ids`) and deliver the export privately.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server_bot.db.sealing import StorageSealer
from server_bot.lifecycle.audit_file import scrub_audit_file
from server_bot.lifecycle.export import export_user_json
from server_bot.lifecycle.forget import FORGET_AUDIT_EVENT, ForgetReport, forget_user
from server_bot.objects import ObjectStore

EXPORT_AUDIT_EVENT = "user_data_exported"


class Auditor(Protocol):
    """What `shared.audit.AuditLog.record` offers (the fields used here)."""

    async def record(
        self, event: str, *, success: bool, user_id: int | None = None, detail: str | None = None
    ) -> object: ...


class UserDataService:
    """Forget and export for one user at a time; errors derive from `LifecycleError`."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sealer: StorageSealer,
        store: ObjectStore | None,
        audit: Auditor,
        audit_file: Path | None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._sealer = sealer
        self._store = store
        self._audit = audit
        self._audit_file = audit_file

    async def forget(self, user_id: int) -> ForgetReport:
        """Delete all of the user's data, their audit lines included, then audit the bare fact."""
        report = await forget_user(self._sessionmaker, self._store, user_id)
        if self._audit_file is not None:
            scrub_audit_file(self._audit_file, user_id)
        await self._audit.record(FORGET_AUDIT_EVENT, success=True, detail=report.audit_detail)
        return report

    async def export(self, user_id: int) -> bytes:
        """The user's data as JSON bytes (attach as ``meatlizard-export.json``, to that user only)."""
        document = await export_user_json(self._sessionmaker, self._sealer, user_id)
        await self._audit.record(EXPORT_AUDIT_EVENT, success=True, user_id=user_id)
        return document
