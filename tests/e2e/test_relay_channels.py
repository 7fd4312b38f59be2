"""Several relay channels on devcord: requests spread over them, replies complete, in order, once.

Discord paces a bot's posts per channel, so the relay's capacity grows with its channels
(`RELAY_CHANNELS`). Every message about one request stays on one channel; these tests prove the whole
product keeps each reply whole and ordered while two hosts answer over three channels, and that a host
sees nothing of the guild but the relay channels (and what @everyone sees).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import discord
import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from devcord.testing import Driver
from meatlizard.stack import Stack, multi_host_scenario
from server_bot import channels
from tests.e2e.harness import bot_reply, eventually, stack_on, start_chat

pytestmark = pytest.mark.e2e

WORDS = 40
REPLY = " ".join(f"w{index}" for index in range(WORDS))
WORD = re.compile(r"\bw\d+\b")
RELAY_CHANNELS = 3
USERS = ["alice", "bob", "admin", "user-001", "user-002", "user-003", "user-004", "user-005"]


@pytest.fixture
def devcord_scenario() -> dict[str, Any]:
    return multi_host_scenario(2, users=6, heartbeat_interval_ms=1000)


def engine() -> FakeEngine:
    return FakeEngine(lambda _: REPLY, token_delay_s=0.02)


async def _all_online(stack: Stack) -> bool:
    return all(host.online for host in stack.server.ctx.hub.hosts())


def words_shown(version: dict[str, Any]) -> list[str]:
    return WORD.findall(version.get("content") or "")


async def _post_after(driver: Driver, delay_s: float, channel: int, user: str, text: str) -> dict[str, Any]:
    await asyncio.sleep(delay_s)
    return await driver.post(channel, user, text)


async def test_replies_over_three_relay_channels_complete_in_order_exactly_once(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(
        devcord,
        engine(),
        tmp_path,
        heartbeat_interval_s=1.0,
        relay_channels=RELAY_CHANNELS,
        extra_host_engines=[engine()],
    ) as stack:
        relay_ids = stack.relay_channel_ids
        assert len(relay_ids) == RELAY_CHANNELS
        await eventually(lambda: _all_online(stack), timeout=10)
        sessions = await asyncio.gather(*(start_chat(driver, user) for user in USERS))
        for round_ in range(2):
            # Two at a time, 0.6 s apart: a wave rides in the posts of a channel that just posted, the
            # next finds that channel's early posts spent and opens another.
            prompts = await asyncio.gather(
                *(
                    _post_after(driver, 0.6 * (index // 2), channel, user, f"hello {round_}")
                    for index, (user, channel) in enumerate(zip(USERS, sessions, strict=True))
                )
            )
            replies = await asyncio.gather(
                *(
                    bot_reply(driver, channel, after=int(prompt["id"]), timeout_s=60)
                    for channel, prompt in zip(sessions, prompts, strict=True)
                )
            )
            assert [reply["content"] for reply in replies] == [REPLY] * len(USERS)
        relayed = {channel_id: await driver.messages(channel_id) for channel_id in relay_ids}
        remembered = [
            await stack.server.ctx.repo.get_setting(channels.relay_channel_key(n)) for n in (1, 2, 3)
        ]

    for channel, user in zip(sessions, USERS, strict=True):
        bot_messages = [m for m in await driver.messages(channel) if m["author"].get("bot")]
        answers = [m for m in bot_messages if WORD.search(m["content"] or "")]
        assert len(answers) == 2, user  # exactly one reply per prompt, never a second copy
        for answer in answers:
            shown = [words_shown(version) for version in [*answer["history"], answer]]
            shown = [words for words in shown if words]
            # Every version the user saw is a prefix of the reply, each at least as long as the one before.
            assert all(words == REPLY.split()[: len(words)] for words in shown), user
            assert [len(words) for words in shown] == sorted(len(words) for words in shown), user
            assert shown[-1] == REPLY.split()
    # Both directions used several channels; the channels are remembered by id.
    authors = {
        channel_id: {int(m["author"]["id"]) for m in messages} for channel_id, messages in relayed.items()
    }
    server_id = stack.settings.discord.server_bot_user_id
    assert sum(server_id in posted for posted in authors.values()) >= 2
    assert sum(len(posted - {server_id}) >= 1 for posted in authors.values()) >= 2
    assert remembered == [str(channel_id) for channel_id in relay_ids]


async def test_a_host_sees_only_the_relay_channels_of_everything_not_public(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(
        devcord, engine(), tmp_path, relay_channels=RELAY_CHANNELS, extra_host_engines=[engine()]
    ) as stack:
        sessions = set(await asyncio.gather(*(start_chat(driver, user) for user in ("alice", "bob"))))
        public = {int(c["id"]) for c in await driver.visible_channels("user-006")}
        for host in ("client-bot", "client-bot-2"):
            private = [c for c in await driver.visible_channels(host) if int(c["id"]) not in public]
            seen = {int(c["id"]) for c in private}
            assert not seen & sessions, host
            # Besides the product's relay channels, only the scenario's own `relay` channel (made for its
            # `client-bot` role by the devcord scenario, not by the product), which the host ignores.
            assert {c["name"] for c in private if int(c["id"]) not in stack.relay_channel_ids} <= {"relay"}
            assert set(stack.relay_channel_ids) <= seen, host
        # Each host relays in all of them: the control channel first.
        assert stack.client is not None and stack.client.relay is not None
        assert [c.id for c in stack.client.relay.link.channels] == stack.relay_channel_ids
        assert [c.id for c in stack.hosts[2].relay.link.channels] == stack.relay_channel_ids  # type: ignore[union-attr]


async def test_a_host_adopts_a_private_relay_channel_created_later_and_never_a_public_look_alike(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(devcord, engine(), tmp_path, relay_channels=1) as stack:
        assert stack.client is not None and stack.client.relay is not None
        link = stack.client.relay.link
        guild = stack.server.get_guild(stack.settings.discord.guild_id)
        assert guild is not None
        host = guild.get_member(stack.settings.discord.client_bot_user_id)
        assert host is not None
        bots_only: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
            guild.default_role: discord.PermissionOverwrite(view_channel=False),
            guild.me: discord.PermissionOverwrite(view_channel=True, send_messages=True),
            host: discord.PermissionOverwrite(view_channel=True, send_messages=True),
        }
        public = await guild.create_text_channel("ai-relay-2")
        not_a_number = await guild.create_text_channel("ai-relay-two", overwrites=bots_only)
        private = await guild.create_text_channel("ai-relay-3", overwrites=bots_only)
        await eventually(lambda: _has(link.channel_ids(), private.id), timeout=10)
        assert public.id not in link.channel_ids()
        assert not_a_number.id not in link.channel_ids()
        assert link.channel.id == stack.relay_channel_id  # the control channel is still `ai-relay`


async def _has(channel_ids: frozenset[int], channel_id: int) -> bool:
    return channel_id in channel_ids
