"""Rate limits in the embedded in-memory store: per user, global, per scope, with an exact retry time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from server_bot.ratelimit import (
    Decision,
    RateLimitConfigError,
    RateLimiter,
    RateLimitError,
    RateRules,
)

GENEROUS = "1000/minute"


@pytest.fixture
async def limiter() -> AsyncIterator[RateLimiter]:
    rules = RateRules(
        prompt_per_user="3/minute",
        prompt_global="5/minute",
        command_per_user="2/minute",
        command_global=GENEROUS,
    )
    limiter = RateLimiter.from_url(None, rules)
    yield limiter
    await limiter.aclose()


async def test_a_user_is_limited_after_their_quota(limiter: RateLimiter) -> None:
    decisions = [await limiter.check("prompt", 1) for _ in range(4)]

    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].reason == "user"


async def test_the_retry_time_is_when_the_oldest_hit_leaves_the_window(limiter: RateLimiter) -> None:
    for _ in range(3):
        await limiter.check("prompt", 1)

    denied = await limiter.check("prompt", 1)

    assert 58.0 < denied.retry_after_s <= 60.0
    assert denied.retry_after_whole_s == 60


async def test_users_have_separate_quotas_under_a_shared_global_one(limiter: RateLimiter) -> None:
    for _ in range(3):
        assert (await limiter.check("prompt", 1)).allowed
    assert (await limiter.check("prompt", 2)).allowed
    assert (await limiter.check("prompt", 2)).allowed

    third_user = await limiter.check("prompt", 3)

    assert not third_user.allowed
    assert third_user.reason == "global"


async def test_prompts_and_commands_are_counted_apart(limiter: RateLimiter) -> None:
    for _ in range(3):
        await limiter.check("prompt", 1)

    assert (await limiter.check("command", 1)).allowed
    assert not (await limiter.check("prompt", 1)).allowed


async def test_a_denied_request_uses_up_no_quota() -> None:
    rules = RateRules(prompt_per_user="2/minute", prompt_global="3/minute")
    limiter = RateLimiter.from_url(None, rules)
    await limiter.check("prompt", 1)
    await limiter.check("prompt", 1)
    for _ in range(5):
        assert not (await limiter.check("prompt", 1)).allowed

    # User 1's denied attempts did not eat the global quota: user 2 still gets the last global slot.
    assert (await limiter.check("prompt", 2)).allowed
    await limiter.aclose()


async def test_a_limited_user_who_waits_the_retry_time_is_served_again() -> None:
    limiter = RateLimiter.from_url(None, RateRules(command_per_user="1/second"))
    assert (await limiter.check("command", 7)).allowed
    denied = await limiter.check("command", 7)
    assert not denied.allowed
    assert 0 < denied.retry_after_s <= 1.0

    await asyncio.sleep(denied.retry_after_s + 0.05)

    assert (await limiter.check("command", 7)).allowed
    await limiter.aclose()


async def test_an_in_memory_limiter_is_never_degraded(limiter: RateLimiter) -> None:
    assert not limiter.uses_redis
    assert not limiter.degraded
    assert await limiter.healthy() == (True, "in-memory limiter")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("prompt_per_user", "lots", id="not-notation"),
        pytest.param("command_global", "5 per fortnight", id="unknown-granularity"),
    ],
)
def test_a_bad_rule_is_refused_naming_it(field: str, value: str) -> None:
    with pytest.raises(RateLimitConfigError, match=field):
        RateRules(**{field: value})


def test_a_non_redis_url_is_refused() -> None:
    with pytest.raises(RateLimitConfigError, match="REDIS_URL"):
        RateLimiter.from_url("http://127.0.0.1:6379", RateRules())


async def test_an_unknown_scope_is_refused(limiter: RateLimiter) -> None:
    with pytest.raises(RateLimitError, match="scope"):
        await limiter.check("upload", 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("decision", "whole"),
    [
        pytest.param(Decision(allowed=True), 0, id="allowed"),
        pytest.param(Decision(allowed=False, retry_after_s=0.2), 1, id="under-a-second-says-one"),
        pytest.param(Decision(allowed=False, retry_after_s=4.01), 5, id="rounded-up"),
    ],
)
def test_the_retry_time_shown_to_users_is_rounded_up(decision: Decision, whole: int) -> None:
    assert decision.retry_after_whole_s == whole
