"""What set-up, health checks and `/ai-admin` ask of the relay's hosts, and the admin controls on them
(drain, reboot, control messages). Part of `RelayHub`, which owns the hosts."""

from __future__ import annotations

from collections.abc import Callable

from server_bot.relay.hosts import ClientStatus, Host, HostInfo
from shared import protocol
from shared.relay_link import RelayLink


class HostQueries:
    """Mixed into `RelayHub`; needs its hosts, clock and heartbeat interval."""

    _hosts: dict[int, Host]
    _clock: Callable[[], float]
    _heartbeat_interval_s: float

    @property
    def link(self) -> RelayLink | None:
        """The first host's link (its channel is the relay channel); None before set-up."""
        host = next(iter(self._hosts.values()), None)
        return None if host is None else host.link

    @property
    def client(self) -> ClientStatus | None:
        """The first host's status (single-host callers); see `hosts()` for all."""
        host = next(iter(self._hosts.values()), None)
        return None if host is None else host.status

    @property
    def posts(self) -> int:
        """Relay posts this server-bot has made (all hosts)."""
        return sum(host.link.posts for host in self._hosts.values())

    def channel_ids(self) -> frozenset[int]:
        """Every relay channel (the listener feeds the hub what is posted in them)."""
        return frozenset().union(*(host.link.channel_ids() for host in self._hosts.values()))

    def client_online(self) -> bool:
        """Is any host online?"""
        now = self._clock()
        return any(self._online(host, now) for host in self._hosts.values())

    def hosts(self) -> list[HostInfo]:
        now = self._clock()
        return [
            HostInfo(
                user_id=host.user_id,
                model=host.status.model,
                online=self._online(host, now),
                draining=host.draining,
                in_flight=len(host.owned),
                slots=host.status.slots,
                queue_depth=host.status.queue_depth,
                tokens_per_s=host.status.tokens_per_s,
                last_seen_s_ago=None if host.status.last_seen is None else now - host.status.last_seen,
            )
            for host in self._hosts.values()
        ]

    async def drain(self, host_id: int) -> None:
        """Route no new work to `host_id`; return once the last request it holds has ended."""
        host = self._host(host_id)
        host.draining = True
        await host.idle.wait()

    def undrain(self, host_id: int) -> None:
        self._host(host_id).draining = False

    async def reboot(self, host_id: int | None = None) -> None:
        """Ask one host (or every host) to finish its requests and restart."""
        targets = [self._host(host_id)] if host_id is not None else list(self._hosts.values())
        for host in targets:
            await self.send_control(host.user_id, protocol.Reboot())

    async def send_control(self, host_id: int, payload: protocol.ToClient) -> None:
        """The one way control messages (REBOOT, ...) reach a host: on the control stream."""
        await self._host(host_id).link.send(protocol.CONTROL_SESSION, payload)

    def _host(self, host_id: int) -> Host:
        host = self._hosts.get(host_id)
        if host is None:
            raise KeyError(f"no relay host {host_id}")
        return host

    def _online(self, host: Host, now: float) -> bool:
        return host.status.online(now, self._heartbeat_interval_s)
