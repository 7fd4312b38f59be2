"""Fan-out of `CoreNotice`s to the fronts that subscribed. A failing listener never breaks the core."""

from __future__ import annotations

from server_bot.core.events import CoreNotice, NoticeListener
from shared.log import get_logger

log = get_logger(__name__)


class Notices:
    def __init__(self) -> None:
        self._listeners: list[NoticeListener] = []

    def subscribe(self, listener: NoticeListener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: NoticeListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def publish(self, notice: CoreNotice) -> None:
        for listener in list(self._listeners):
            try:
                await listener(notice)
            except Exception:
                log.exception("a notice listener failed on %s", type(notice).__name__)
