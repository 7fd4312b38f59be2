"""Each bot process serves /health with its component checks; a required component down means 503."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from meatlizard.stack import Stack
from tests.e2e.harness import stack_on

pytestmark = pytest.mark.e2e


async def _health(stack: Stack, bot: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{stack.health[bot].url}") as response:
        return response.status, await response.json()


async def test_both_bots_report_healthy_components_then_503_when_the_gateway_is_gone(
    devcord: Devcord, tmp_path: Path
) -> None:
    async with stack_on(devcord, FakeEngine(), tmp_path) as stack:
        status, server = await _health(stack, "server-bot")
        assert status == 200
        assert server["status"] == "ok"
        assert set(server["components"]) == {"gateway", "database", "object_store", "rate_limiter"}
        assert all(component["ok"] for component in server["components"].values())

        status, client = await _health(stack, "client-bot")
        assert (status, client["status"]) == (200, "ok")
        assert set(client["components"]) == {"gateway", "model"}

        await stack.stop_client()
        status, client = await _health(stack, "client-bot")
        assert status == 503
        assert client["components"]["gateway"]["ok"] is False
