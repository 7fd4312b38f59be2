"""Redis with a password (``requirepass``) and over TLS (``rediss://``): works, and a wrong password or
TLS setting stops start-up with a message that names REDIS_URL but never shows its value."""

from __future__ import annotations

import pytest

from server_bot.ratelimit import RateLimiter, RateRules, RedisConfigError
from tests.fixtures.redis import RedisServer

pytestmark = pytest.mark.redis

RULES = RateRules(prompt_per_user="2/minute", prompt_global="100/minute")


async def _limits_and_shares(url: str) -> None:
    first, second = RateLimiter.from_url(url, RULES), RateLimiter.from_url(url, RULES)
    try:
        await first.verify()
        assert (await first.check("prompt", 1)).allowed
        assert (await second.check("prompt", 1)).allowed
        assert not (await first.check("prompt", 1)).allowed  # the count lives in Redis, shared
        assert not first.degraded and not second.degraded
    finally:
        await first.aclose()
        await second.aclose()


async def _refusal(url: str) -> str:
    limiter = RateLimiter.from_url(url, RULES)
    try:
        with pytest.raises(RedisConfigError) as caught:
            await limiter.verify()
    finally:
        await limiter.aclose()
    return _full_text(caught.value)


def _full_text(exc: BaseException) -> str:
    """The message and everything chained to it: what a traceback at start-up would show."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        parts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


async def test_a_password_protected_redis_works_with_the_password(redis_auth_server: RedisServer) -> None:
    redis_auth_server.flush()
    await _limits_and_shares(redis_auth_server.url)


@pytest.mark.parametrize("password", ["wrong-password-value", None], ids=["wrong", "missing"])
async def test_a_wrong_or_missing_password_fails_start_up_naming_redis_url_only(
    redis_auth_server: RedisServer, password: str | None
) -> None:
    url = redis_auth_server.url_with_password(password)

    text = await _refusal(url)

    assert "REDIS_URL" in text and "password" in text
    assert url not in text and "wrong-password-value" not in text
    assert str(redis_auth_server.password) not in text


async def test_redis_over_tls_with_a_password_works(redis_tls_server: RedisServer) -> None:
    redis_tls_server.flush()
    assert redis_tls_server.url.startswith("rediss://")
    await _limits_and_shares(redis_tls_server.url)


async def test_tls_against_an_untrusted_certificate_fails_start_up(redis_tls_server: RedisServer) -> None:
    # No ssl_ca_certs: the server's private CA is not trusted, so the handshake is refused.
    url = redis_tls_server.url.split("?", 1)[0]

    text = await _refusal(url)

    assert "REDIS_URL" in text and "TLS" in text and str(redis_tls_server.password) not in text


async def test_plain_redis_url_against_a_tls_only_server_fails_start_up_or_degrades(
    redis_tls_server: RedisServer,
) -> None:
    url = f"redis://:{redis_tls_server.password}@127.0.0.1:{redis_tls_server.port}/0"
    limiter = RateLimiter.from_url(url, RULES)
    try:
        try:
            await limiter.verify()
        except RedisConfigError as exc:
            assert str(redis_tls_server.password) not in _full_text(exc)
        else:
            # The server dropped the plaintext connection: indistinguishable from an outage, so degraded.
            assert limiter.degraded
    finally:
        await limiter.aclose()


async def test_an_unreachable_redis_starts_degraded_not_refused(redis_auth_server: RedisServer) -> None:
    limiter = RateLimiter.from_url("redis://:pw@127.0.0.1:1/0", RULES)
    try:
        await limiter.verify()
        assert limiter.degraded
        assert (await limiter.check("prompt", 1)).allowed
    finally:
        await limiter.aclose()
