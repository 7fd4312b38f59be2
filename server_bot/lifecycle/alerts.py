"""Security alerts for the admin channel, rate limited so a flood cannot spam it.

`SecurityAlerts.raise_alert(kind, ...)` posts through an `AlertPoster` (the Discord front implements it
by sending to the admin channel; nothing here imports discord). Per kind, at most `per_window` alerts go
out in any `window_s`; the rest are counted, and the count rides on the next alert of that kind that goes
out ("… and 37 more since …"), or is posted by `flush()` once the window has passed; `start()` runs
`flush()` in the background (a quarter window apart) until `aclose()`, so a burst that ends is still
summarised. Alerts carry ids and counts, never message text or secrets.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from server_bot.lifecycle.scheduler import PeriodicJob
from shared.log import get_logger

log = get_logger(__name__)


class AlertKind(StrEnum):
    AUTH_FAILURES = "auth_failures"
    REFUSED_ENVELOPE = "refused_envelope"
    SUSPENSION = "suspension"


_TITLES = {
    AlertKind.AUTH_FAILURES: "Repeated authorisation failures",
    AlertKind.REFUSED_ENVELOPE: "Relay envelope refused",
    AlertKind.SUSPENSION: "Moderation suspension",
}


class AlertPoster(Protocol):
    """Where alerts go; the Discord front posts `text` to the admin channel (mentions disabled)."""

    async def post_alert(self, text: str) -> None: ...


@dataclass
class _KindState:
    sent: deque[float] = field(default_factory=deque)
    suppressed: int = 0


class SecurityAlerts:
    """Rate-limited alert sink. `clock` is monotonic seconds (a fake one in tests)."""

    def __init__(
        self,
        poster: AlertPoster,
        *,
        per_window: int = 3,
        window_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_window < 1 or window_s <= 0:
            raise ValueError("per_window must be >= 1 and window_s > 0")
        self._poster = poster
        self.per_window = per_window
        self.window_s = window_s
        self._clock = clock
        self._state: dict[AlertKind, _KindState] = {kind: _KindState() for kind in AlertKind}
        self._flusher = PeriodicJob("security-alerts", window_s / 4, self.flush, first_delay_s=window_s / 4)

    @property
    def flushing(self) -> bool:
        return self._flusher.running

    def start(self) -> None:
        """Summarise suppressed alerts in the background until `aclose()`; starting twice is a no-op."""
        self._flusher.start()

    async def aclose(self) -> None:
        await self._flusher.aclose()

    def suppressed(self, kind: AlertKind) -> int:
        return self._state[kind].suppressed

    async def raise_alert(self, kind: AlertKind, *, user_id: int | None = None, detail: str = "") -> bool:
        """Post one alert now if the kind has room, else count it; returns whether it was posted.

        `detail` must be a short code (a rule name, an error class), never user text.
        """
        state = self._state[AlertKind(kind)]
        now = self._clock()
        self._forget_old(state, now)
        if len(state.sent) >= self.per_window:
            state.suppressed += 1
            return False
        text = self._format(AlertKind(kind), user_id, detail, state.suppressed)
        state.suppressed = 0
        state.sent.append(now)
        await self._post(text)
        return True

    async def flush(self) -> int:
        """Post a summary for each kind whose suppressed alerts now fit a window; returns how many posted."""
        posted = 0
        now = self._clock()
        for kind, state in self._state.items():
            self._forget_old(state, now)
            if state.suppressed and len(state.sent) < self.per_window:
                text = f"⚠️ {_TITLES[kind]}: {state.suppressed} more in the last {self.window_s:g} s."
                state.suppressed = 0
                state.sent.append(now)
                await self._post(text)
                posted += 1
        return posted

    def _forget_old(self, state: _KindState, now: float) -> None:
        while state.sent and now - state.sent[0] >= self.window_s:
            state.sent.popleft()

    @staticmethod
    def _format(kind: AlertKind, user_id: int | None, detail: str, suppressed: int) -> str:
        parts = [f"⚠️ {_TITLES[kind]}"]
        if user_id is not None:
            parts.append(f"user {user_id}")
        if detail:
            parts.append(detail[:64])
        text = " · ".join(parts)
        if suppressed:
            text += f" (and {suppressed} more not shown)"
        return text

    async def _post(self, text: str) -> None:
        try:
            await self._poster.post_alert(text)
        except Exception as exc:
            # An alert that cannot be posted must not break what raised it (a refused envelope, a ban).
            log.warning("security alert could not be posted: %s", type(exc).__name__)
