"""Rate limits in a real redis-server: shared between processes, and degraded-not-down when Redis dies."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
import redis.asyncio

from server_bot.ratelimit import RateLimiter, RateRules
from tests.fixtures.redis import RedisServer

pytestmark = pytest.mark.redis

RULES = RateRules(prompt_per_user="3/minute", prompt_global="100/minute")
PROBE_S = 0.2


def warnings_from_limiter(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "server_bot.ratelimit" and r.levelno == logging.WARNING]


def is_degraded(limiter: RateLimiter) -> bool:
    # A function, not the bare property, so the type checker does not pin its value between steps.
    return limiter.degraded


async def redis_keys(url: str) -> list[bytes | str]:
    client = redis.asyncio.from_url(url)
    try:
        return list(await client.keys("*"))
    finally:
        await client.aclose()


async def test_two_limiters_on_one_redis_share_the_counts(redis_url: str) -> None:
    first = RateLimiter.from_url(redis_url, RULES)
    second = RateLimiter.from_url(redis_url, RULES)
    try:
        for _ in range(3):
            assert (await first.check("prompt", 1)).allowed

        denied = await second.check("prompt", 1)

        assert not denied.allowed
        assert 58.0 < denied.retry_after_s <= 60.0
        assert await redis_keys(redis_url)
        assert not first.degraded
    finally:
        await first.aclose()
        await second.aclose()


async def test_limits_survive_a_restart_of_the_bot(redis_url: str) -> None:
    before = RateLimiter.from_url(redis_url, RULES)
    for _ in range(3):
        await before.check("prompt", 5)
    await before.aclose()

    after = RateLimiter.from_url(redis_url, RULES)
    try:
        assert not (await after.check("prompt", 5)).allowed
    finally:
        await after.aclose()


async def test_a_redis_outage_degrades_to_in_memory_limits_and_recovers(
    redis_server: RedisServer, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="server_bot.ratelimit")
    limiter = RateLimiter.from_url(redis_url, RULES, probe_interval_s=PROBE_S)
    try:
        assert (await limiter.check("prompt", 1)).allowed
        assert not is_degraded(limiter)

        redis_server.stop()
        during = [await limiter.check("prompt", 1) for _ in range(4)]

        # Still serving, still limited (the in-memory window starts empty), never unlimited.
        assert [d.allowed for d in during] == [True, True, True, False]
        assert during[-1].retry_after_s > 58.0
        assert is_degraded(limiter)
        assert await limiter.healthy() == (False, "Redis unreachable; in-memory fallback")
        await asyncio.sleep(PROBE_S + 0.05)
        assert not (await limiter.check("prompt", 1)).allowed  # a failed probe stays in memory
        assert len(warnings_from_limiter(caplog)) == 1
        assert redis_url.split("//")[1] not in caplog.text

        redis_server.start()
        await asyncio.sleep(PROBE_S + 0.05)
        recovered = await limiter.check("prompt", 1)

        assert recovered.allowed  # the restarted Redis is empty
        assert not is_degraded(limiter)
        assert await limiter.healthy() == (True, "redis")
        assert await redis_keys(redis_url)
        assert "Redis is back" in caplog.text
    finally:
        await limiter.aclose()


async def test_redis_down_from_the_start_still_serves_with_limits(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on `port` once the socket is closed.
    limiter = RateLimiter.from_url(f"redis://127.0.0.1:{port}/0", RULES, probe_interval_s=60)
    try:
        decisions = [await limiter.check("prompt", 9) for _ in range(4)]

        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert is_degraded(limiter)
        assert len(warnings_from_limiter(caplog)) == 1
    finally:
        await limiter.aclose()
