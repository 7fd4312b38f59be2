"""Background tasks that are never lost: a kept reference and a done-callback that logs failures."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from shared.log import get_logger

log = get_logger(__name__)

# asyncio keeps only weak references to tasks; this set keeps them alive until they finish.
_running: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
    """Start `coro` in the background; its exception, if any, is logged with the task's name."""
    task = asyncio.create_task(coro, name=name)
    _running.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("background task %s failed", task.get_name(), exc_info=exc)
