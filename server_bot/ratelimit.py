"""Per-user and global rate limits for prompts and for commands, on the `limits` library.

Each scope (``"prompt"``, ``"command"``) has a per-user and a global rule, each in `limits` notation
(``"6/minute;60/hour"``). A request is allowed only if every rule that applies has room; a denied
request consumes nothing. The strategy is the *moving window*: it remembers each hit's time, so the
``retry_after_s`` of a denial is exact - the moment the oldest hit in the window expires and one slot frees.

Storage: an embedded in-memory store by default (one process), Redis when ``REDIS_URL`` is set (shared by
every server-bot process, survives a bot restart).

When Redis is down
------------------
The bot keeps serving, rate-limited by a per-process in-memory limiter with the same rules - never
unlimited, never a total outage. While degraded:

* the first Redis failure logs one WARNING for the whole outage, and `RateLimiter.degraded` is true (the
  server-bot shows it on ``/health`` as an optional component, so the status is ``degraded``, not down);
* each request uses the in-memory limiter; Redis is probed again at most every ``probe_interval_s``;
* the first successful probe logs one INFO, clears `degraded`, and requests go back to Redis.

Start-up check
--------------
`RateLimiter.verify()` runs once at start-up. Redis with a password (``redis://:password@host``) and TLS
(``rediss://``, with ``?ssl_ca_certs=/path/ca.pem`` for a private CA) are supported. A wrong or missing
password, or a TLS handshake Redis or we refuse, is a *configuration* error: `verify()` raises
`RedisConfigError` naming ``REDIS_URL`` - never its value - and the bot does not start. An unreachable
Redis is an outage, not a configuration error: the bot starts degraded, as below.

Counts made in memory during the outage are not copied to Redis, and counts in Redis are lost if Redis
restarted empty, so a user may get up to one extra window's worth around an outage. Redis calls have a
short socket timeout, so a black-holed Redis costs a request at most about a second before the fallback.
"""

from __future__ import annotations

import math
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import redis.asyncio
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from shared.log import get_logger

log = get_logger(__name__)

Scope = Literal["prompt", "command"]
SCOPES: tuple[Scope, ...] = ("prompt", "command")
Reason = Literal["user", "global"]

DEFAULT_PROBE_INTERVAL_S = 5.0
REDIS_SOCKET_TIMEOUT_S = 0.5
# Storage failures as the limits library and redis-py report them (wrapped or, for safety, raw).
_STORAGE_FAILURES = (StorageError, redis.RedisError, OSError, TimeoutError)


class RateLimitError(Exception):
    """Base of the rate-limit errors (configuration only: an outage degrades, it does not raise)."""


class RateLimitConfigError(RateLimitError):
    """A rule string is not valid `limits` notation; the message names the rule."""


class RedisConfigError(RateLimitConfigError):
    """Redis refused our credentials or our TLS handshake; the message names REDIS_URL, never its value."""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after_s: float = 0.0
    # Which rule denied the request: "user" (this user is too fast) or "global" (everyone is).
    reason: Reason | None = None

    @property
    def retry_after_whole_s(self) -> int:
        """Seconds to tell the user, rounded up so that retrying then is sure to work."""
        return max(1, math.ceil(self.retry_after_s)) if not self.allowed else 0


@dataclass(frozen=True, slots=True)
class RateRules:
    """The limits, in `limits` notation; several per rule are separated by ``;``."""

    prompt_per_user: str = "6/minute;60/hour"
    prompt_global: str = "60/minute"
    command_per_user: str = "20/minute"
    command_global: str = "600/minute"
    _parsed: Mapping[str, tuple[RateLimitItem, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = {}
        for name in ("prompt_per_user", "prompt_global", "command_per_user", "command_global"):
            value = getattr(self, name)
            try:
                parsed[name] = tuple(parse_many(value))
            except ValueError:
                raise RateLimitConfigError(
                    f"rate rule {name} is not valid limits notation (e.g. '6/minute;60/hour')"
                ) from None
        object.__setattr__(self, "_parsed", parsed)

    def items(self, scope: Scope, reason: Reason) -> tuple[RateLimitItem, ...]:
        return self._parsed[f"{scope}_per_user" if reason == "user" else f"{scope}_global"]


class _Window:
    """One storage and its moving-window limiter."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)

    async def decide(self, rules: RateRules, scope: Scope, user_id: int) -> Decision:
        targets: list[tuple[Reason, tuple[str, ...]]] = [
            ("user", ("meatlizard", scope, "user", str(user_id))),
            ("global", ("meatlizard", scope, "global")),
        ]
        # Test everything first so a request denied by one rule does not use up another rule's quota.
        for reason, ids in targets:
            for item in rules.items(scope, reason):
                if not await self.limiter.test(item, *ids):
                    return await self._denied(item, ids, reason)
        for reason, ids in targets:
            for item in rules.items(scope, reason):
                # A concurrent request may have taken the last slot between test and hit.
                if not await self.limiter.hit(item, *ids):
                    return await self._denied(item, ids, reason)
        return Decision(allowed=True)

    async def _denied(self, item: RateLimitItem, ids: tuple[str, ...], reason: Reason) -> Decision:
        stats = await self.limiter.get_window_stats(item, *ids)
        # Moving window: reset_time is when the oldest hit in the window expires and a slot frees.
        return Decision(allowed=False, retry_after_s=max(0.0, stats.reset_time - time.time()), reason=reason)


class RateLimiter:
    """`check(scope, user_id)` -> `Decision`. Build with `from_url`; call `aclose()` on shutdown."""

    def __init__(
        self,
        rules: RateRules,
        redis_url: str | None = None,
        *,
        probe_interval_s: float = DEFAULT_PROBE_INTERVAL_S,
    ) -> None:
        self.rules = rules
        self.probe_interval_s = probe_interval_s
        self._memory = _Window(MemoryStorage())
        self._pool: redis.asyncio.ConnectionPool | None = None
        self._redis: _Window | None = None
        if redis_url is not None:
            self._pool = _connection_pool(redis_url)
            storage = RedisStorage(
                _limits_uri(redis_url),
                wrap_exceptions=True,
                implementation="redispy",
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
            self._redis = _Window(storage)
        self._degraded = False
        self._next_probe = 0.0

    @classmethod
    def from_url(cls, redis_url: str | None, rules: RateRules | None = None, **kwargs: float) -> RateLimiter:
        """Redis-backed when `redis_url` is set (``redis://``/``rediss://``), in memory otherwise."""
        return cls(rules or RateRules(), redis_url or None, **kwargs)

    @property
    def uses_redis(self) -> bool:
        return self._redis is not None

    @property
    def degraded(self) -> bool:
        """True while Redis is configured but unreachable and the in-memory fallback is in use."""
        return self._degraded

    async def check(self, scope: Scope, user_id: int) -> Decision:
        """Count one `scope` request by `user_id` if every limit has room; otherwise say how long to wait."""
        if scope not in SCOPES:
            raise RateLimitError(f"scope must be one of {SCOPES}")
        if self._redis is None:
            return await self._memory.decide(self.rules, scope, user_id)
        if self._degraded and time.monotonic() < self._next_probe:
            return await self._memory.decide(self.rules, scope, user_id)
        try:
            decision = await self._redis.decide(self.rules, scope, user_id)
        except _STORAGE_FAILURES as exc:
            self._enter_degraded(exc)
            return await self._memory.decide(self.rules, scope, user_id)
        if self._degraded:
            self._degraded = False
            log.info("rate limiter: Redis is back, leaving the in-memory fallback")
        return decision

    async def verify(self) -> None:
        """Start-up check: raise `RedisConfigError` if Redis refuses the password or TLS; an unreachable
        Redis only starts the bot degraded (see the module note). Without Redis there is nothing to check."""
        if self._pool is None:
            return
        client = redis.asyncio.Redis(connection_pool=self._pool)
        try:
            await client.ping()
        except (redis.AuthenticationError, redis.exceptions.AuthenticationWrongNumberOfArgsError) as exc:
            raise RedisConfigError(
                "REDIS_URL: Redis refused the credentials (wrong or missing password)"
            ) from _without_url(exc)
        except _STORAGE_FAILURES as exc:
            if _is_tls_failure(exc):
                raise RedisConfigError(
                    "REDIS_URL: the TLS handshake with Redis failed (a rediss:// URL needs a TLS port, and "
                    "a private CA needs ?ssl_ca_certs=)"
                ) from None
            self._enter_degraded(exc)

    async def healthy(self) -> tuple[bool, str]:
        """A `shared.health` check: ok unless degraded (it reports; it does not probe on every call)."""
        if self._redis is None:
            return True, "in-memory limiter"
        if self._degraded:
            return False, "Redis unreachable; in-memory fallback"
        return True, "redis"

    def _enter_degraded(self, exc: BaseException) -> None:
        self._next_probe = time.monotonic() + self.probe_interval_s
        if not self._degraded:
            self._degraded = True
            # The class only: a redis error message can include the URL, and with it a password.
            log.warning(
                "rate limiter: Redis unreachable (%s); per-process in-memory limits until it is back",
                type(exc).__name__,
            )

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        timer = self._memory.storage.timer if isinstance(self._memory.storage, MemoryStorage) else None
        if timer is not None and not timer.done():
            timer.cancel()


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "SSL" in type(seen).__name__:
            return True
        if "ssl" in str(seen).lower() or "tls" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _without_url(exc: BaseException) -> RateLimitError:
    # Chain only the error's class: redis-py messages can quote the URL, and with it the password.
    return RateLimitError(type(exc).__name__)


def _limits_uri(redis_url: str) -> str:
    if not redis_url.startswith(("redis://", "rediss://")):
        raise RateLimitConfigError("REDIS_URL must start with redis:// or rediss://")
    return "async+" + redis_url


def _connection_pool(redis_url: str) -> redis.asyncio.ConnectionPool:
    _limits_uri(redis_url)  # validate the scheme before anything connects
    return redis.asyncio.ConnectionPool.from_url(
        redis_url,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S,
        # One immediate retry: enough to replace a connection that went stale when Redis restarted.
        retry=Retry(NoBackoff(), 1),
    )
