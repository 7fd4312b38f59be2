"""Heartbeats as discord.py measures them when devcord runs in the bots' own process (the demo, the
in-process test stack)."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from devcord import Devcord
from devcord.gateway import HEARTBEAT_ACK_DELAY_S
from devcord.testing import demo_scenario
from tests.devcord.bots import Recorder, running

pytestmark = pytest.mark.e2e

INTERVAL_S = 0.3


@pytest.fixture
def devcord_scenario() -> dict[str, Any]:
    return demo_scenario(heartbeat_interval_ms=int(INTERVAL_S * 1000))


@pytest.fixture
def sluggish_threads() -> Iterator[None]:
    """Threads other than the event loop's get the GIL only when the loop blocks, as on a loaded
    machine: discord.py's keep-alive thread then records a heartbeat's send time late."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.mark.usefixtures("sluggish_threads")
async def test_in_process_bot_latency_is_a_round_trip_not_a_heartbeat_interval(
    devcord: Devcord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="discord.gateway")
    async with running(Recorder(), "client-bot") as bot:
        await asyncio.sleep(INTERVAL_S * 2)
        latencies = []
        for _ in range(12):  # a reading after each of the next heartbeats
            await asyncio.sleep(INTERVAL_S)
            latencies.append(bot.latency)
    # An ACK handled before the keep-alive thread noted its send would read as one whole interval.
    assert max(latencies) < INTERVAL_S / 2, latencies
    assert not [r for r in caplog.records if "Can't keep up" in r.getMessage()]


async def test_a_heartbeat_is_acknowledged_after_a_network_delay_not_at_once(
    devcord: Devcord, caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(devcord.gateway_url + "?v=10") as ws:
        assert (await ws.receive_json())["op"] == 10  # HELLO
        sent = time.monotonic()
        await ws.send_json({"op": 1, "d": None})
        assert (await ws.receive_json(timeout=5))["op"] == 11  # HEARTBEAT_ACK
        assert time.monotonic() - sent >= HEARTBEAT_ACK_DELAY_S * 0.8
        # A connection that goes away before its ACK is due is simply forgotten.
        await ws.send_json({"op": 1, "d": None})
    async with asyncio.timeout(5):
        while devcord.gateway.connections:
            await asyncio.sleep(0.01)
    await asyncio.sleep(HEARTBEAT_ACK_DELAY_S * 2)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
