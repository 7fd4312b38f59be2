"""Rate limits as Discord documents them ("Topics > Rate Limits").

Per-route buckets keyed by the route's bucket hash plus its major parameters (channel_id, guild_id,
webhook_id + webhook_token), fixed windows, the `X-RateLimit-*` headers, and a global per-bot limit that
interaction endpoints are exempt from. A 429 carries `{message, retry_after, global}`, `Retry-After` and
`Via: 1.1 google` (discord.py treats a 429 without `Via` as a Cloudflare ban and does not retry).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field

from devcord.errors import DevcordError

MAJOR_PARAMETERS = ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id")


@dataclass
class Limit:
    limit: int
    per: float


@dataclass
class RateLimitConfig:
    """Window sizes; `routes` maps a route name (see `route_name`) to its limit."""

    routes: dict[str, Limit] = field(
        default_factory=lambda: {
            "message_create": Limit(5, 5.0),
            "message_edit": Limit(5, 5.0),
            "message_delete": Limit(5, 1.0),
            "default": Limit(50, 1.0),
        }
    )
    global_per_second: int = 50


class RateLimited(DevcordError):
    """Raised by `RateLimiter.check`; the server answers it with a 429."""

    def __init__(self, retry_after: float, *, is_global: bool, scope: str, headers: dict[str, str]) -> None:
        super().__init__(f"rate limited for {retry_after:.3f}s")
        self.retry_after = retry_after
        self.is_global = is_global
        self.scope = scope
        self.headers = headers


@dataclass
class _Window:
    limit: int
    per: float
    remaining: int
    reset_at: float


def route_name(method: str, template: str) -> str:
    if template.endswith("/channels/{channel_id}/messages") and method == "POST":
        return "message_create"
    if template.endswith("/messages/{message_id}") and template.startswith("/channels"):
        return {"PATCH": "message_edit", "DELETE": "message_delete"}.get(method, "default")
    return "default"


def bucket_hash(method: str, template: str) -> str:
    return hashlib.sha1(f"{method} {template}".encode()).hexdigest()[:16]  # noqa: S324 - a label, not security


class RateLimiter:
    """Counts requests per (bot, bucket, major parameters) and per bot globally."""

    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self.served_429 = 0
        self.forced_429: list[float] = []
        self._buckets: dict[tuple[int, str, str], _Window] = {}
        self._global: dict[int, _Window] = {}

    def check(
        self, app_id: int, method: str, template: str, params: dict[str, str], *, global_exempt: bool
    ) -> dict[str, str]:
        """Count one request; return the headers to send, or raise `RateLimited`."""
        now = time.time()
        if not global_exempt:
            self._check_global(app_id, now)
        name = route_name(method, template)
        limit = self.config.routes.get(name) or self.config.routes["default"]
        bucket = bucket_hash(method, template)
        major = ":".join(params.get(p, "") for p in MAJOR_PARAMETERS)
        key = (app_id, bucket, major)
        window = self._buckets.get(key)
        if window is None or now >= window.reset_at or window.limit != limit.limit:
            window = _Window(limit.limit, limit.per, limit.limit, now + limit.per)
            self._buckets[key] = window
        headers = self._headers(window, bucket, now)
        if self.forced_429:
            retry_after = self.forced_429.pop(0)
            self.served_429 += 1
            # A 429 means the bucket is spent: Discord never reports requests left alongside it.
            headers["X-RateLimit-Remaining"] = "0"
            raise RateLimited(retry_after, is_global=False, scope="user", headers=headers)
        if window.remaining <= 0:
            self.served_429 += 1
            raise RateLimited(window.reset_at - now, is_global=False, scope="user", headers=headers)
        window.remaining -= 1
        return self._headers(window, bucket, now)

    def _check_global(self, app_id: int, now: float) -> None:
        window = self._global.get(app_id)
        if window is None or now >= window.reset_at:
            limit = self.config.global_per_second
            window = _Window(limit, 1.0, limit, now + 1.0)
            self._global[app_id] = window
        if window.remaining <= 0:
            self.served_429 += 1
            headers = {"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}
            raise RateLimited(window.reset_at - now, is_global=True, scope="global", headers=headers)
        window.remaining -= 1

    @staticmethod
    def _headers(window: _Window, bucket: str, now: float) -> dict[str, str]:
        # Round the wait up so a client that sleeps exactly Reset-After never arrives early.
        reset_after = math.ceil(max(window.reset_at - now, 0) * 1000) / 1000
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(window.remaining, 0)),
            "X-RateLimit-Reset": f"{window.reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }
