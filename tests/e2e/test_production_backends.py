"""The conversation on the production backends at once: PostgreSQL 15, Redis and S3 (SeaweedFS).

The stack is the real discord.py bots through devcord, with a fast fake engine; only the storage differs
from `test_conversation.py`. Besides the conversation itself this proves what production promises: the
transcript lands in S3 (server-side encrypted) and reaches the user as a short-lived pre-signed link that
a plain HTTP GET can fetch, a dump of the database holds none of the conversation's text, and the rate
limits (counted in Redis) tell a user who is too fast when to retry.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import redis.asyncio

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack
from server_bot.objects import S3ObjectStore
from server_bot.objects.base import MAX_LINK_SECONDS
from server_bot.ratelimit import RateRules
from tests.e2e.harness import bot_reply, command_reply, stack_on, start_chat
from tests.fixtures.postgres import PostgresServer
from tests.fixtures.redis import RedisServer
from tests.fixtures.s3 import S3Bucket

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis, pytest.mark.s3]

# Distinctive words, so finding them anywhere (a dump, a link's body) cannot be a coincidence.
PROMPT = "the harbour key is marmalade-7731 under the blue stone"
REPLY = f"You said: {PROMPT}"
_LINK = re.compile(r"https?://\S+")


@pytest.fixture
def production_options(
    postgres_url: str, redis_url: str, s3_bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> dict[str, object]:
    """StackOptions for all three servers; S3 credentials come from the environment, as in production."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_bucket.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_bucket.secret_key)
    return {
        "database_url": postgres_url,
        "redis_url": redis_url,
        "s3": {"endpoint_url": s3_bucket.endpoint_url, "bucket": s3_bucket.name},
    }


@pytest.fixture
async def stack(
    devcord: Devcord, tmp_path: Path, production_options: dict[str, object]
) -> AsyncIterator[Stack]:
    async with stack_on(devcord, FakeEngine(), tmp_path, **production_options) as running:
        yield running


@pytest.fixture
async def tight_stack(
    devcord: Devcord, tmp_path: Path, production_options: dict[str, object]
) -> AsyncIterator[Stack]:
    # One prompt a minute per user: the second prompt is over the limit, whatever the machine's speed.
    rules = RateRules(prompt_per_user="1/minute")
    async with stack_on(devcord, FakeEngine(), tmp_path, rate_rules=rules, **production_options) as running:
        yield running


def _link_message(view: dict[str, Any]) -> dict[str, Any] | None:
    """The message of an interaction that carries a link (a deferral's first follow-up edits the
    original response in place, so it may be either)."""
    messages = [view.get("original"), *view.get("followups", [])]
    return next((m for m in messages if m and _LINK.search(m.get("content") or "")), None)


async def _fetch(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text()


async def test_conversation_on_postgres_redis_and_s3(
    stack: Stack,
    driver: Driver,
    s3_bucket: S3Bucket,
    postgres_server: PostgresServer,
    postgres_database: str,
) -> None:
    assert stack.server.ctx.limiter.uses_redis
    # Start-up set the bucket's expiry rules from RETENTION_DAYS (default 90).
    objects = stack.server.ctx.objects
    assert isinstance(objects, S3ObjectStore)
    assert await objects.expiry_rules() == {"transcripts/": 90, "backups/": 90}
    channel = await start_chat(driver, "alice")
    prompt = await driver.post(channel, "alice", PROMPT)
    reply = await bot_reply(driver, channel, after=int(prompt["id"]))
    assert reply["content"] == REPLY

    view = await driver.command("alice", channel, "chat transcript")
    shown = await driver.wait_interaction(view["id"], lambda v: bool(_link_message(v)), within=10)
    answer = _link_message(shown)
    assert answer is not None
    assert answer["ephemeral"], "the transcript link must be shown to its owner only"
    link = _LINK.search(answer["content"])
    assert link is not None, answer["content"]
    expires = int(parse_qs(urlsplit(link.group()).query)["X-Amz-Expires"][0])
    assert 0 < expires <= MAX_LINK_SECONDS <= 15 * 60
    status, body = await _fetch(link.group())
    assert status == 200
    assert PROMPT in body and REPLY in body

    assert "transcript saved" in await command_reply(driver, "alice", channel, "chat end")
    objects = s3_bucket.server.client().list_objects_v2(Bucket=s3_bucket.name)
    keys = [item["Key"] for item in objects.get("Contents", [])]
    assert sorted(key.rsplit("/", 1)[-1] for key in keys) == ["transcript.json", "transcript.md"]
    for key in keys:
        head = s3_bucket.server.client().head_object(Bucket=s3_bucket.name, Key=key)
        assert head["ServerSideEncryption"] == "AES256"

    # The conversation is stored (sealed): the dump below is checked against rows that do exist.
    assert int(postgres_server.psql("SELECT count(*) FROM messages", postgres_database)) >= 2
    dump = postgres_server.pg_dump(postgres_database)
    assert b"COPY public.messages" in dump, "the dump must include the messages table"
    for secret in ("marmalade-7731", "harbour key", "blue stone"):
        assert secret.encode() not in dump


async def test_rate_limited_user_is_told_when_to_retry(
    tight_stack: Stack, driver: Driver, redis_server: RedisServer
) -> None:
    channel = await start_chat(driver, "bob")
    first = await driver.post(channel, "bob", "first question")
    await bot_reply(driver, channel, after=int(first["id"]))

    second = await driver.post(channel, "bob", "second question, too soon")
    refusal = await driver.wait_for_message(
        channel,
        lambda m: int(m["id"]) > int(second["id"]) and m["author"].get("bot", False),
        within=10,
    )
    retry = re.search(r"Try again in (\d+) s", refusal["content"])
    assert retry is not None, refusal["content"]
    assert 1 <= int(retry.group(1)) <= 60
    # The count lives in Redis, shared by every server-bot process, not in this process's memory.
    async with redis.asyncio.Redis.from_url(redis_server.url) as client:
        assert [key async for key in client.scan_iter(match="*meatlizard*prompt*user*")]
