"""`UserData`: a person's own data, for every front: `forget` (erasure) and `export` (access).

The fronts confirm first and deliver the result privately (Discord: a button, an ephemeral attachment;
web: a confirmation step, a download); the core does the rest in the right order. A forget ends the
user's open session through the one close path first (its generation stops, no reply lands after the
data is gone), then `server_bot.lifecycle.UserDataService` deletes everything and audits the bare fact.
"""

from __future__ import annotations

from typing import Protocol

from server_bot.core.errors import CoreError
from server_bot.core.identity import Actor
from server_bot.core.sessions import SessionService
from server_bot.lifecycle import ForgetReport


class UserDataStore(Protocol):
    """What `server_bot.lifecycle.UserDataService` offers."""

    async def forget(self, user_id: int) -> ForgetReport: ...

    async def export(self, user_id: int) -> bytes: ...


class UserDataUnavailable(CoreError):
    """This server-bot was built without a user-data store (a test core)."""

    def __init__(self) -> None:
        super().__init__("Forgetting and exporting your data is not available on this server.")


EXPORT_FILENAME = "meatlizard-export.json"


class UserData:
    """Forget and export for the acting user only (an actor can never name another user)."""

    def __init__(self, sessions: SessionService, store: UserDataStore | None) -> None:
        self._sessions = sessions
        self._store = store

    @property
    def available(self) -> bool:
        return self._store is not None

    async def forget(self, actor: Actor) -> ForgetReport:
        """End the actor's open session, then delete all their data. `report.channel_ids` are the Discord
        channels of the deleted sessions, for the Discord front to delete."""
        store = self._require()
        await self._sessions.close_open_session_of(actor.user_id, "forgotten")
        return await store.forget(actor.user_id)

    async def export(self, actor: Actor) -> bytes:
        """The actor's data as one JSON document (`meatlizard-export/1`), to be given to them alone."""
        return await self._require().export(actor.user_id)

    def _require(self) -> UserDataStore:
        if self._store is None:
            raise UserDataUnavailable()
        return self._store
