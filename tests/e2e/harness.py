"""Helpers for end-to-end tests: the whole stack on devcord, acting as users through the driver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from client_bot.engine import Engine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack, StackOptions, running_stack

Json = dict[str, Any]


@asynccontextmanager
async def stack_on(devcord: Devcord, engine: Engine, workdir: Path, **options: Any) -> AsyncIterator[Stack]:
    async with running_stack(devcord, engine, StackOptions(workdir=workdir, **options)) as stack:
        yield stack


async def start_chat(driver: Driver, user: str, channel: str = "general") -> int:
    """Run `/chat start` as `user`; return the id of their private channel."""
    view = await driver.command(user, channel, "chat start")
    done = await driver.wait_interaction(view["id"], _has_followup, within=10)
    text = _texts(done)[-1]
    assert "<#" in text, text
    return int(text.split("<#")[1].split(">")[0])


async def command_reply(driver: Driver, user: str, channel: str | int, command: str, **options: Any) -> str:
    """Run a slash command as `user`; return the text the user was shown (response or follow-up)."""
    view = await driver.command(user, channel, command, **options)
    done = await driver.wait_interaction(view["id"], lambda v: bool(_texts(v)), within=10)
    return _texts(done)[-1]


async def bot_reply(
    driver: Driver,
    channel: int,
    *,
    after: int = 0,
    done: Callable[[Json], bool] | None = None,
    timeout: float = 20,
) -> Json:
    """The bot's next finished reply in `channel` (its final edit carries the Regenerate button)."""
    finished = done or _has_regenerate
    return await driver.wait_for_message(
        channel, lambda m: int(m["id"]) > after and m["author"]["bot"] and finished(m), within=timeout
    )


def _has_regenerate(message: Json) -> bool:
    return any(
        component.get("custom_id", "").startswith("ml:regen:")
        for row in message.get("components", [])
        for component in row.get("components", [])
    )


def _texts(view: Json) -> list[str]:
    """What the user was shown: the original response (a deferral's first follow-up replaces it) and
    any further follow-ups, oldest first."""
    messages = [view.get("original"), *view.get("followups", [])]
    return [m["content"] for m in messages if m and m.get("content")]


def _has_followup(view: Json) -> bool:
    return bool(_texts(view))


async def eventually(check: Callable[[], Any], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)
