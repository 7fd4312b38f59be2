"""The web's per-user and per-address limits counted in a real Redis (as in production)."""

from __future__ import annotations

import pytest
import redis.asyncio

from tests.web.conftest import Stack, sign_in

pytestmark = pytest.mark.redis


@pytest.fixture
def limits_redis_url(redis_url: str) -> str:
    return redis_url


@pytest.mark.parametrize("web_overrides", [{"rate_per_user": "3/minute"}])
async def test_limits_count_in_redis_and_answer_429_with_retry_after(stack: Stack, redis_url: str) -> None:
    alice = await sign_in(stack, "alice")
    answers = [await alice.get("/api/sessions") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1
    client = redis.asyncio.Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter("*meatlizard*")]
    await client.aclose()
    assert keys, "the counters live in Redis"
    await alice.aclose()
