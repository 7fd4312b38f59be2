"""Helpers for end-to-end tests: the whole stack on devcord, acting as users through the driver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from client_bot.engine import Engine
from devcord import Devcord
from meatlizard.scripted_user import bot_reply, command_reply, has_regenerate_button, shown_texts, start_chat
from meatlizard.stack import Stack, StackOptions, running_stack

__all__ = [
    "bot_reply",
    "command_reply",
    "eventually",
    "has_regenerate_button",
    "shown_texts",
    "stack_on",
    "start_chat",
]


@asynccontextmanager
async def stack_on(devcord: Devcord, engine: Engine, workdir: Path, **options: Any) -> AsyncIterator[Stack]:
    async with running_stack(devcord, engine, StackOptions(workdir=workdir, **options)) as stack:
        yield stack


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)
