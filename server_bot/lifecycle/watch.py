"""`AuditWatcher`: turns audit records into security alerts, so wiring is one `audit.add_sink(...)`.

* ``admin_refused`` (or a failed ``command`` whose detail says access was refused) from one user
  `threshold` times within `window_s` -> a *Repeated authorisation failures* alert for that user (then the
  count starts again);
* ``moderation`` with detail ``suspend`` -> a *Moderation suspension* alert;
* ``relay_refused`` (the relay hub audits every envelope it refuses: unknown host, bad seal, bad
  payload) -> a *Relay envelope refused* alert naming the sender's id and the reason code.

How often any of these reaches the admin channel is `SecurityAlerts`' rate limit (the server-bot allows
one alert per kind per window; the rest are counted into the next one).
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable

from server_bot.lifecycle.alerts import AlertKind, SecurityAlerts
from shared.audit import AuditRecord

AUTH_REFUSAL_EVENTS = frozenset({"admin_refused"})
RELAY_REFUSED_EVENT = "relay_refused"
REFUSED_DETAILS = frozenset({"not_admin", "forbidden", "not_owner"})
SUSPEND_DETAIL = "suspend"


class AuditWatcher:
    """An `shared.audit.AuditLog` sink; `clock` is monotonic seconds (a fake one in tests)."""

    def __init__(
        self,
        alerts: SecurityAlerts,
        *,
        threshold: int = 5,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1 or window_s <= 0:
            raise ValueError("threshold must be >= 1 and window_s > 0")
        self._alerts = alerts
        self.threshold = threshold
        self.window_s = window_s
        self._clock = clock
        self._failures: defaultdict[int, deque[float]] = defaultdict(deque)

    async def __call__(self, record: AuditRecord) -> None:
        if record.user_id is not None and _is_auth_failure(record):
            await self._auth_failure(record.user_id)
        elif record.event == "moderation" and record.detail == SUSPEND_DETAIL:
            await self._alerts.raise_alert(AlertKind.SUSPENSION, user_id=record.user_id, detail="suspend")
        elif record.event == RELAY_REFUSED_EVENT:
            await self._alerts.raise_alert(
                AlertKind.REFUSED_ENVELOPE, user_id=record.user_id, detail=record.detail or ""
            )

    async def _auth_failure(self, user_id: int) -> None:
        now = self._clock()
        times = self._failures[user_id]
        times.append(now)
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if len(times) >= self.threshold:
            del self._failures[user_id]
            await self._alerts.raise_alert(
                AlertKind.AUTH_FAILURES, user_id=user_id, detail=f"{self.threshold}_in_{self.window_s:.0f}s"
            )
        # Forget users whose failures all aged out, so the map cannot grow without bound.
        for stale in [uid for uid, seen in self._failures.items() if now - seen[-1] >= self.window_s]:
            del self._failures[stale]


def _is_auth_failure(record: AuditRecord) -> bool:
    if record.event in AUTH_REFUSAL_EVENTS:
        return True
    return record.event == "command" and not record.success and record.detail in REFUSED_DETAILS
