"""`/help` through devcord: the registered commands, admin ones only for the AI Admin role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack
from tests.e2e.harness import command_reply, stack_on

pytestmark = pytest.mark.e2e


@pytest.fixture
async def stack(devcord: Devcord, tmp_path: Path) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path) as running:
        yield running


async def test_help_lists_the_chat_commands_and_hides_admin_ones_from_members(
    stack: Stack, driver: Driver
) -> None:
    shown = await command_reply(driver, "alice", "general", "help")
    assert "`/chat start` — Open your private AI chat channel" in shown
    assert "`/chat end`" in shown
    assert "`/ai-admin status`" not in shown
    assert "`/ai-admin …` — for holders of the AI Admin role" in shown
    assert "How it works" in shown

    shown_to_admin = await command_reply(driver, "admin", "general", "help")
    assert "`/ai-admin status`" in shown_to_admin
    assert "for holders of" not in shown_to_admin
