"""Reply streams outliving the browser tab: each prompt's core `ReplyStream` is read to its end by a
task the web app owns, and the page's server-sent events follow that task.

Why: the core stops a request whose stream is closed early, which is right for a Discord message
but not for a tab that reloads or loses its connection mid-reply; here the reply is still written and
stored, and shows when the page comes back. An explicit Stop is the way to end a reply early."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from server_bot.core import FINAL_EVENTS, ReplyEvent, ReplyStream
from server_bot.web.render import event_json
from shared.log import get_logger
from shared.tasks import spawn

log = get_logger(__name__)
_END = None


class ReplyPumps:
    """Owns one task per reply being read; `aclose()` cancels them all (the web app is stopping)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def follow(self, stream: ReplyStream) -> AsyncIterator[bytes]:
        queue: asyncio.Queue[ReplyEvent | None] = asyncio.Queue()
        task = spawn(self._pump(stream, queue), name=f"web:reply:{stream.session_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return _frames(queue)

    async def _pump(self, stream: ReplyStream, queue: asyncio.Queue[ReplyEvent | None]) -> None:
        try:
            async for event in stream:
                queue.put_nowait(event)
                if isinstance(event, FINAL_EVENTS):
                    break
        except Exception:
            log.exception("web: a reply stream failed")
        finally:
            queue.put_nowait(_END)
            await stream.aclose()

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _frames(queue: asyncio.Queue[ReplyEvent | None]) -> AsyncIterator[bytes]:
    while (event := await queue.get()) is not _END:
        yield f"data: {json.dumps(event_json(event))}\n\n".encode()
