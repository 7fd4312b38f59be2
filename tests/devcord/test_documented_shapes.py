"""REST answers shaped as Discord documents them, where devcord used to be more lenient (issue #17)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import discord
import pytest

from devcord import Devcord
from devcord.errors import ScenarioError
from devcord.scenario import build
from devcord.testing import Driver, demo_scenario
from devcord.tokens import token_bot_id
from tests.devcord.bots import TOKENS, Recorder, running

pytestmark = pytest.mark.e2e


async def _call(
    server: Devcord, method: str, path: str, body: Any = None, *, bot: str | None = "server-bot", **query: str
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bot {TOKENS[bot]}"} if bot else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server.api_base + path, json=body, headers=headers, params=query) as resp,
    ):
        raw = await resp.read()
        return resp.status, (json.loads(raw) if raw else None), dict(resp.headers)


def _guild_id(server: Devcord) -> int:
    return next(iter(server.world.guilds))


async def test_get_guild_has_no_gateway_fields_and_counts_only_when_asked(devcord: Devcord) -> None:
    g = _guild_id(devcord)
    _, plain, _ = await _call(devcord, "GET", f"/guilds/{g}")
    for gateway_only in ("member_count", "unavailable", "joined_at", "large", "members", "channels"):
        assert gateway_only not in plain
    assert plain["max_presences"] is None and "approximate_member_count" not in plain
    _, counted, _ = await _call(devcord, "GET", f"/guilds/{g}", with_counts="true")
    assert counted["approximate_member_count"] == len(devcord.world.guilds[g].members)
    assert counted["approximate_presence_count"] == 0
    async with running(Recorder(), "server-bot") as bot:
        fetched = await bot.fetch_guild(g, with_counts=False)
        assert fetched.member_count is None  # as on Discord: only the gateway's guild has it
        assert (await bot.fetch_guild(g)).approximate_member_count == counted["approximate_member_count"]


async def test_rest_messages_and_members_carry_no_guild_id(devcord: Devcord, driver: Driver) -> None:
    general = await driver.channel_id("general")
    alice = await driver.user_id("alice")
    status, sent, _ = await _call(devcord, "POST", f"/channels/{general}/messages", {"content": "hi"})
    assert status == 200 and "guild_id" not in sent and "member" not in sent
    _, listed, _ = await _call(devcord, "GET", f"/channels/{general}/messages")
    assert all("guild_id" not in m for m in listed)
    _, member, _ = await _call(devcord, "GET", f"/guilds/{_guild_id(devcord)}/members/{alice}")
    assert "guild_id" not in member and member["user"]["id"] == str(alice)


async def test_gateway_messages_still_carry_guild_id_and_member(devcord: Devcord, driver: Driver) -> None:
    async with running(Recorder(), "client-bot") as bot:
        await driver.post("general", "alice", "over the gateway")
        seen = await bot.wait_for_content("over the gateway")
        assert seen.guild is not None and isinstance(seen.author, discord.Member)


async def test_dm_recipients_list_only_the_other_user(devcord: Devcord, driver: Driver) -> None:
    alice = await driver.user_id("alice")
    _, dm, _ = await _call(devcord, "POST", "/users/@me/channels", {"recipient_id": str(alice)})
    assert [u["id"] for u in dm["recipients"]] == [str(alice)]


async def test_reply_carries_reference_and_referenced_message(devcord: Devcord, driver: Driver) -> None:
    general = await driver.channel_id("general")
    _, first, _ = await _call(devcord, "POST", f"/channels/{general}/messages", {"content": "question"})
    body = {
        "content": "answer",
        "message_reference": {"message_id": first["id"], "fail_if_not_exists": False},
    }
    _, reply, _ = await _call(devcord, "POST", f"/channels/{general}/messages", body)
    assert reply["type"] == 19
    assert reply["message_reference"] == {
        "type": 0,
        "channel_id": str(general),
        "message_id": first["id"],
        "guild_id": str(_guild_id(devcord)),
    }
    assert reply["referenced_message"]["content"] == "question"
    await _call(devcord, "DELETE", f"/channels/{general}/messages/{first['id']}")
    _, again, _ = await _call(devcord, "GET", f"/channels/{general}/messages/{reply['id']}")
    assert again["referenced_message"] is None


async def test_embeds_get_a_type_and_components_an_id(devcord: Devcord, driver: Driver) -> None:
    general = await driver.channel_id("general")
    button = {"type": 2, "style": 1, "label": "go", "custom_id": "go"}
    body = {"embeds": [{"title": "t"}], "components": [{"type": 1, "components": [button]}]}
    _, sent, _ = await _call(devcord, "POST", f"/channels/{general}/messages", body)
    assert sent["embeds"][0]["type"] == "rich"
    row = sent["components"][0]
    assert row["id"] == 1 and row["components"][0]["id"] == 2


async def test_current_application_reports_counts_and_install_fields(devcord: Devcord) -> None:
    _, app, _ = await _call(devcord, "GET", "/applications/@me")
    assert app["approximate_guild_count"] == 1
    assert app["id"] == app["bot"]["id"]
    for field in (
        "approximate_user_install_count",
        "redirect_uris",
        "interactions_endpoint_url",
        "flags_new",
    ):
        assert field in app


async def test_interaction_callback_has_no_rate_limit_headers(devcord: Devcord, driver: Driver) -> None:
    app_id = next(a.id for a in devcord.world.apps.values() if a.name == "server-bot")
    command = {"name": "ping", "description": "ping"}
    await _call(devcord, "PUT", f"/applications/{app_id}/commands", [command])
    view = await driver.command("alice", "general", "ping", application="server-bot")
    interaction = devcord.interactions.by_id[int(view["id"])]
    status, _, headers = await _call(
        devcord,
        "POST",
        f"/interactions/{interaction.id}/{interaction.token}/callback",
        {"type": 4, "data": {"content": "pong"}},
        bot=None,
    )
    assert status == 204
    assert not [h for h in headers if h.lower().startswith("x-ratelimit")]


async def test_forced_429_reports_no_remaining_requests(devcord: Devcord, driver: Driver) -> None:
    await driver.set_ratelimits(force_429={"count": 1, "retry_after": 0.01})
    status, body, headers = await _call(devcord, "GET", "/users/@me")
    assert status == 429 and body["retry_after"] > 0
    assert headers["X-RateLimit-Remaining"] == "0"


async def test_demo_tokens_name_their_bot(devcord: Devcord) -> None:
    for name, token in TOKENS.items():
        app = devcord.world.app_for_token(token)
        assert app is not None and app.name == name
        assert token_bot_id(token) == app.bot_user_id


def test_scenario_refuses_a_token_not_shaped_like_discords() -> None:
    scenario = demo_scenario()
    scenario["applications"][0]["token"] = "devcord-server-bot-token"
    with pytest.raises(ScenarioError, match="Discord-shaped"):
        build(scenario)


def test_scenario_without_tokens_gets_discord_shaped_ones() -> None:
    scenario = demo_scenario()
    for app in scenario["applications"]:
        app.pop("token")
        app.pop("bot_id")
    world, _ = build(scenario)
    assert all(token_bot_id(a.token) == a.bot_user_id for a in world.apps.values())


async def test_a_bots_managed_role_is_tagged_with_the_bot(devcord: Devcord) -> None:
    async with running(Recorder(), "server-bot") as bot:
        guild = bot.guilds[0]
        assert bot.user is not None
        # discord.py finds a bot's own role through `tags.bot_id`.
        assert guild.self_role is not None and guild.self_role.name == "server-bot"
        assert guild.self_role.is_bot_managed()
        assert not guild.default_role.tags
    _, roles, _ = await _call(devcord, "GET", f"/guilds/{_guild_id(devcord)}/roles")
    tagged = {r["name"]: r["tags"]["bot_id"] for r in roles if "tags" in r}
    apps = {a.name: str(a.bot_user_id) for a in devcord.world.apps.values()}
    assert tagged == apps


def test_scenario_refuses_a_managed_role_that_is_no_bots() -> None:
    scenario = demo_scenario()
    scenario["guilds"][0]["roles"].append({"name": "integration", "managed": True})
    with pytest.raises(ScenarioError, match="managed role 'integration'"):
        build(scenario)
    scenario["guilds"][0]["roles"][-1]["bot"] = "client-bot"
    world, _ = build(scenario)
    (role,) = [r for r in next(iter(world.guilds.values())).roles.values() if r.name == "integration"]
    client_bot = next(a for a in world.apps.values() if a.name == "client-bot")
    assert role.payload()["tags"] == {"bot_id": str(client_bot.bot_user_id)}
