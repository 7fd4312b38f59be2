"""Discord snowflakes: (ms since 2015-01-01) << 22 | worker | process | increment, strictly increasing."""

from __future__ import annotations

import time

DISCORD_EPOCH_MS = 1420070400000


class SnowflakeFactory:
    """Hands out unique, time-ordered ids so `discord.utils.snowflake_time` gives the creation time."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22 | (1 << 17)
        self._last = max(candidate, self._last + 1)
        return self._last
