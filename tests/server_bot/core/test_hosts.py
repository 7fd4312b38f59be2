"""The GPU hosts through the core: status, drain (and its end), undrain, reboot; admin only, audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from server_bot.core import (
    ADMIN_ACTION,
    AuditQuery,
    Core,
    HostStatus,
    InvalidInput,
    NotAdmin,
    RelayUnavailable,
    UnknownHost,
)
from tests.server_bot.core.conftest import ADMIN, ALICE, Harness, build
from tests.server_bot.core.fakes import FakeRelay

GPU_1 = 900000000000000001
GPU_2 = 900000000000000002


@dataclass(frozen=True)
class Row:
    user_id: int
    model: str = "smollm2"
    online: bool = True
    draining: bool = False
    in_flight: int = 0
    slots: int = 4
    queue_depth: int = 0
    tokens_per_s: float = 40.0
    last_seen_s_ago: float | None = 0.5


class FakeHosts:
    """A `HostDirectory`: draining hosts wait for `finish(host_id)` (their last request ending)."""

    def __init__(self, *host_ids: int) -> None:
        self.rows = {host_id: Row(host_id) for host_id in host_ids}
        self.rebooted: list[int | None] = []
        self._idle = {host_id: asyncio.Event() for host_id in host_ids}

    def hosts(self) -> list[Row]:
        return list(self.rows.values())

    async def drain(self, host_id: int) -> None:
        self.rows[host_id] = replace(self.rows[host_id], draining=True)
        await self._idle[host_id].wait()

    def finish(self, host_id: int) -> None:
        self._idle[host_id].set()

    def undrain(self, host_id: int) -> None:
        self.rows[host_id] = replace(self.rows[host_id], draining=False)

    async def reboot(self, host_id: int | None = None) -> None:
        self.rebooted.append(host_id)

    async def wait_idle(self) -> None:
        return None


@pytest.fixture
async def hosts(tmp_path: Path) -> AsyncIterator[tuple[Harness, FakeHosts]]:
    directory = FakeHosts(GPU_1, GPU_2)
    h, engine = await build(tmp_path, FakeRelay(), hosts=directory)
    yield h, directory
    await h.core.aclose()
    await engine.dispose()  # type: ignore[attr-defined]


async def test_status_lists_every_host_with_its_load_and_speed(hosts: tuple[Harness, FakeHosts]) -> None:
    harness, _ = hosts
    rows = await harness.core.hosts.status(ADMIN)
    assert rows == [
        HostStatus(GPU_1, "smollm2", True, False, 0, 4, 0, 40.0, 0.5),
        HostStatus(GPU_2, "smollm2", True, False, 0, 4, 0, 40.0, 0.5),
    ]


async def test_a_drain_marks_the_host_at_once_and_ends_with_its_last_request(
    hosts: tuple[Harness, FakeHosts],
) -> None:
    harness, directory = hosts
    drain = await harness.core.hosts.drain(ADMIN, str(GPU_1))
    assert drain.host.draining
    await asyncio.sleep(0.01)
    assert not drain.drained.done(), "the host still holds a request"
    directory.finish(GPU_1)
    await asyncio.wait_for(drain.drained, 1)
    undrained = await harness.core.hosts.undrain(ADMIN, GPU_1)
    assert not undrained.draining


async def test_reboot_targets_one_host_or_all(hosts: tuple[Harness, FakeHosts]) -> None:
    harness, directory = hosts
    one = await harness.core.hosts.reboot(ADMIN, f" {GPU_2} ")
    every = await harness.core.hosts.reboot(ADMIN)
    assert [row.user_id for row in one] == [GPU_2]
    assert [row.user_id for row in every] == [GPU_1, GPU_2]
    assert directory.rebooted == [GPU_2, None]


HostAction = Callable[[Core, str], Awaitable[object]]


@pytest.mark.parametrize(
    "act",
    [
        pytest.param(lambda core, host: core.hosts.drain(ADMIN, host), id="drain"),
        pytest.param(lambda core, host: core.hosts.undrain(ADMIN, host), id="undrain"),
        pytest.param(lambda core, host: core.hosts.reboot(ADMIN, host), id="reboot"),
    ],
)
@pytest.mark.parametrize(
    ("host", "refusal"),
    [
        pytest.param("12345", UnknownHost, id="unknown-host"),
        pytest.param("gpu-1", InvalidInput, id="not-digits"),
        pytest.param("1" * 21, InvalidInput, id="too-long-for-a-discord-id"),
        pytest.param("٣٤٥", InvalidInput, id="non-ascii-digits"),
        pytest.param("0", InvalidInput, id="zero"),
    ],
)
async def test_a_host_that_is_not_one_is_refused_clearly(
    hosts: tuple[Harness, FakeHosts], act: HostAction, host: str, refusal: type[Exception]
) -> None:
    harness, directory = hosts
    with pytest.raises(refusal):
        await act(harness.core, host)
    assert directory.rebooted == []
    assert not any(row.draining for row in directory.hosts())


async def test_host_actions_are_admin_only_and_audited(hosts: tuple[Harness, FakeHosts]) -> None:
    harness, _ = hosts
    with pytest.raises(NotAdmin):
        await harness.core.hosts.status(ALICE)
    with pytest.raises(NotAdmin):
        await harness.core.hosts.reboot(ALICE)
    await harness.core.hosts.drain(ADMIN, GPU_1)
    await harness.core.hosts.undrain(ADMIN, GPU_1)
    await harness.core.hosts.reboot(ADMIN)
    with pytest.raises(UnknownHost):
        await harness.core.hosts.reboot(ADMIN, "42")
    with pytest.raises(InvalidInput):
        await harness.core.hosts.drain(ADMIN, "<@everyone>")

    rows = await harness.core.oversight.audit_events(ADMIN, AuditQuery(event=ADMIN_ACTION))
    seen = [(r.command, r.user_id, r.success, r.detail) for r in reversed(rows)]
    assert seen == [
        ("host.reboot", ALICE.user_id, False, "exc:not_admin"),
        ("host.drain", ADMIN.user_id, True, f"discord:target:{GPU_1}"),
        ("host.undrain", ADMIN.user_id, True, f"discord:target:{GPU_1}"),
        ("host.reboot", ADMIN.user_id, True, "discord:target:all"),
        ("host.reboot", ADMIN.user_id, False, "exc:unknown_host"),
        ("host.drain", ADMIN.user_id, False, "exc:invalid_input"),
    ]


async def test_without_a_relay_the_hosts_are_unavailable(harness: Harness) -> None:
    with pytest.raises(RelayUnavailable):
        await harness.core.hosts.status(ADMIN)
