"""The running server-bot owns a scheduled retention purge, and closing the bot ends it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from tests.e2e.harness import stack_on

pytestmark = pytest.mark.e2e


def _purge_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "periodic:retention-purge" and not t.done()]


async def test_the_retention_purge_runs_with_the_bot_and_stops_with_it(
    devcord: Devcord, tmp_path: Path
) -> None:
    async with stack_on(devcord, FakeEngine(), tmp_path) as stack:
        assert stack.settings.retention.retention_days == 90
        assert len(_purge_tasks()) == 1
    assert _purge_tasks() == []
