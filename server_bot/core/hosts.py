"""The GPU hosts behind the relay, as admins see and steer them: status, drain, undrain, reboot.

The same for every front (the Discord `/ai-admin` commands and the web dashboard): each call checks the
admin capability, and every action (drain, undrain, reboot) is one audit record (`admin_action`). A host
is named by its Discord user id; the core validates it (digits, a host it knows) whatever the front did.
The hosts themselves are the `HostDirectory` port (the relay hub in production).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from server_bot.core.access import AccessService
from server_bot.core.admin_audit import admin_action
from server_bot.core.errors import InvalidInput, RelayUnavailable, UnknownHost
from server_bot.core.identity import Actor
from server_bot.core.ports import HostDirectory, HostRow
from shared.audit import AuditLog
from shared.log import get_logger
from shared.tasks import spawn

log = get_logger(__name__)

_SNOWFLAKE_DIGITS = range(1, 21)  # a Discord id is a 64-bit integer: at most 20 digits


@dataclass(frozen=True, slots=True)
class HostStatus:
    """One GPU host as an admin sees it."""

    user_id: int
    model: str
    online: bool
    draining: bool
    in_flight: int  # requests the server-bot routed to it that have not ended
    slots: int  # requests it runs at once
    queue_depth: int  # waiting on the host for a slot
    tokens_per_s: float
    last_seen_s_ago: float | None  # None: never heard from

    @classmethod
    def of(cls, row: HostRow) -> HostStatus:
        return cls(
            row.user_id,
            row.model,
            row.online,
            row.draining,
            row.in_flight,
            row.slots,
            row.queue_depth,
            row.tokens_per_s,
            row.last_seen_s_ago,
        )


@dataclass(frozen=True, slots=True)
class HostDrain:
    """A drain that has begun: no new work goes to `host`; `drained` ends when its last request does."""

    host: HostStatus
    drained: asyncio.Task[None]


def parse_host_id(value: str | int) -> int:
    """A host's Discord user id from what an admin typed; `InvalidInput` says what is expected."""
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) not in _SNOWFLAKE_DIGITS or int(text) == 0:
        raise InvalidInput("A GPU host is named by its Discord user id: digits only, as the status lists it.")
    return int(text)


def _audit_target(host: str | int) -> str:
    # Ids only in the audit log, never what someone typed.
    try:
        return str(parse_host_id(host))
    except InvalidInput:
        return "invalid"


class HostService:
    """Admin-only: every call checks the admin capability (`NotAdmin`)."""

    def __init__(
        self, directory: HostDirectory | None, access: AccessService, audit: AuditLog | None
    ) -> None:
        self._directory = directory
        self._access = access
        self._audit = audit
        self._drains: set[asyncio.Task[None]] = set()

    async def status(self, actor: Actor) -> list[HostStatus]:
        """Every host the server-bot knows, online or not, in the order they were attached."""
        await self._access.require_admin(actor)
        return [HostStatus.of(row) for row in self._require_directory().hosts()]

    async def drain(self, actor: Actor, host: str | int) -> HostDrain:
        """Route no new work to `host`; the returned `drained` task ends when its last request ends."""
        async with admin_action(self._audit, actor, "host.drain", target=_audit_target(host)):
            await self._access.require_admin(actor)
            host_id = self._known(host)
            directory = self._require_directory()
            drained: asyncio.Task[None] = spawn(directory.drain(host_id), name=f"core:drain:{host_id}")
            self._drains.add(drained)
            drained.add_done_callback(self._drains.discard)
            # The directory marks the host draining in the first step of `drain`, before it waits:
            # let that step run, so the status returned below already says "draining".
            await asyncio.sleep(0)
        log.info("host %s draining (asked by %s)", host_id, actor.user_id)
        return HostDrain(self._row(host_id), drained)

    async def undrain(self, actor: Actor, host: str | int) -> HostStatus:
        """Route new work to `host` again."""
        async with admin_action(self._audit, actor, "host.undrain", target=_audit_target(host)):
            await self._access.require_admin(actor)
            host_id = self._known(host)
            self._require_directory().undrain(host_id)
        log.info("host %s undrained (asked by %s)", host_id, actor.user_id)
        return self._row(host_id)

    async def reboot(self, actor: Actor, host: str | int | None = None) -> list[HostStatus]:
        """Ask `host` (None: every host) to finish its current requests and restart; returns the targets."""
        target = "all" if host is None else _audit_target(host)
        async with admin_action(self._audit, actor, "host.reboot", target=target):
            await self._access.require_admin(actor)
            directory = self._require_directory()
            host_id = None if host is None else self._known(host)
            await directory.reboot(host_id)
        targets = self._require_directory().hosts()
        return [HostStatus.of(row) for row in targets if host_id is None or row.user_id == host_id]

    async def wait_idle(self) -> None:
        """Return once no request is in flight on any host (before the server-bot restarts)."""
        if self._directory is not None:
            await self._directory.wait_idle()

    async def aclose(self) -> None:
        """Stop waiting for drains (on shutdown); the hosts stay drained."""
        for task in list(self._drains):
            task.cancel()
        await asyncio.gather(*self._drains, return_exceptions=True)

    def _require_directory(self) -> HostDirectory:
        if self._directory is None:
            raise RelayUnavailable()
        return self._directory

    def _known(self, host: str | int) -> int:
        host_id = parse_host_id(host)
        if all(row.user_id != host_id for row in self._require_directory().hosts()):
            raise UnknownHost(host_id)
        return host_id

    def _row(self, host_id: int) -> HostStatus:
        (row,) = [row for row in self._require_directory().hosts() if row.user_id == host_id]
        return HostStatus.of(row)
