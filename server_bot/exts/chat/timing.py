"""Where one reply's time to first visible text goes, leg by leg, as the server-bot sees it.

A `FirstTextTimer` starts when the prompt's gateway event arrives and reports each leg of
`shared.metrics.FIRST_TEXT_LEGS` once, in order, to the Prometheus histogram
`meatlizard_first_text_leg_seconds`. The first leg is measured from the prompt message's snowflake
(Discord's own timestamp, millisecond precision), so it includes the gateway delivery.
"""

from __future__ import annotations

import time

import discord

from shared import metrics


class FirstTextTimer:
    def __init__(self, prompt_id: int, *, clock: float | None = None) -> None:
        now = time.time() if clock is None else clock
        posted = discord.utils.snowflake_time(prompt_id).timestamp()
        metrics.first_text_leg(metrics.FIRST_TEXT_LEGS[0], now - posted)
        self._since = now
        self._next = 1  # index of the next leg to report

    def reached(self, leg: str) -> None:
        """`leg` has ended now; reported only if it is the next one (each once, never out of order)."""
        if self._next < len(metrics.FIRST_TEXT_LEGS) and metrics.FIRST_TEXT_LEGS[self._next] == leg:
            now = time.time()
            metrics.first_text_leg(leg, now - self._since)
            self._since = now
            self._next += 1
