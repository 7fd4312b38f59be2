"""Every REST route devcord serves, called with success and error cases, each JSON answer validated
against Discord's OpenAPI description for that route and status (tests/devcord/openapi.py; the spec's
own disagreements with Discord's documentation are the commented quirks there)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from devcord import Devcord
from devcord.server import API_PREFIX
from devcord.testing import Driver
from tests.devcord.openapi import Spec

pytestmark = pytest.mark.e2e


@dataclass
class Answer:
    method: str
    path: str
    status: int
    body: Any
    headers: dict[str, str]
    problems: list[str] = field(default_factory=list)


class Prober:
    """Calls devcord's REST API as a bot and validates each answer against the spec."""

    def __init__(self, server: Devcord, session: aiohttp.ClientSession, spec: Spec) -> None:
        self.server = server
        self.session = session
        self.spec = spec
        self.answers: list[Answer] = []
        self.tokens = {app.name: app.token for app in server.world.apps.values()}

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        bot: str | None = "server-bot",
        expect: int | None = None,
        query: dict[str, str] | None = None,
    ) -> Any:
        headers = {"Authorization": f"Bot {self.tokens[bot]}"} if bot else {}
        async with self.session.request(
            method, self.server.api_base + path, json=body, headers=headers, params=query
        ) as resp:
            raw = await resp.read()
            data = json.loads(raw) if raw else None
            answer = Answer(method, path, resp.status, data, dict(resp.headers))
        answer.problems = self.spec.check(method, path, answer.status, data)
        self.answers.append(answer)
        if expect is not None:
            assert answer.status == expect, (method, path, answer.status, data)
        return data


async def server_call(server: Devcord, method: str, path: str, body: Any, token: str) -> Any:
    """A set-up request whose answer is not itself under test."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, server.api_base + path, json=body, headers={"Authorization": f"Bot {token}"}
        ) as resp,
    ):
        assert resp.status < 300, (method, path, resp.status, await resp.text())
        raw = await resp.read()
        return json.loads(raw) if raw else None


async def _probe_everything(p: Prober, server: Devcord, driver: Driver) -> None:
    world = server.world
    guild = next(iter(world.guilds.values()))
    g = guild.id
    alice = await driver.user_id("alice")
    bob = await driver.user_id("bob")
    general = await driver.channel_id("general")
    app = next(a for a in world.apps.values() if a.name == "server-bot")
    # Room for the whole probe inside one window; the forced 429 at the end tests the limiter's answer.
    await driver.set_ratelimits(
        global_per_second=10_000,
        routes={name: {"limit": 1000, "per": 1} for name in ("message_create", "message_delete", "default")},
    )

    # Users, application, gateway.
    await p.call("GET", "/users/@me", expect=200)
    await p.call("GET", f"/users/{alice}", expect=200)
    await p.call("GET", "/users/1", expect=404)
    await p.call("GET", "/users/@me", bot=None, expect=401)
    await p.call("GET", "/oauth2/applications/@me", expect=200)
    await p.call("GET", "/applications/@me", expect=200)
    await p.call("GET", "/gateway", expect=200)
    await p.call("GET", "/gateway/bot", expect=200)
    dm = await p.call("POST", "/users/@me/channels", {"recipient_id": str(alice)}, expect=200)
    await p.call("POST", "/users/@me/channels", {}, expect=400)
    await p.call("GET", "/users/@me/guilds", expect=200)

    # Guild and channels.
    await p.call("GET", f"/guilds/{g}", expect=200)
    await p.call("GET", f"/guilds/{g}", query={"with_counts": "true"}, expect=200)
    await p.call("GET", "/guilds/1", expect=404)
    await p.call("GET", f"/guilds/{g}/channels", expect=200)
    created = await p.call("POST", f"/guilds/{g}/channels", {"name": "probe", "type": 0}, expect=201)
    await p.call("POST", f"/guilds/{g}/channels", {"name": "nope"}, bot="rogue-bot", expect=403)
    await p.call("POST", f"/guilds/{g}/channels", {"name": ""}, expect=400)
    cid = created["id"]
    await p.call("GET", f"/channels/{general}", expect=200)
    await p.call("GET", "/channels/1", expect=404)
    await p.call("PATCH", f"/channels/{cid}", {"topic": "probing"}, expect=200)
    await p.call("PUT", f"/channels/{cid}/permissions/{alice}", {"type": 1, "allow": "1024"}, expect=204)
    await p.call("DELETE", f"/channels/{cid}/permissions/{alice}", expect=204)
    await p.call("DELETE", f"/channels/{cid}/permissions/1", expect=404)

    # Messages.
    first = await p.call("POST", f"/channels/{general}/messages", {"content": "hello"}, expect=200)
    reply = {"content": "reply", "message_reference": {"message_id": first["id"]}}
    await p.call("POST", f"/channels/{general}/messages", reply, expect=200)
    rich = {
        "content": "rich",
        "embeds": [{"title": "t", "description": "d"}],
        "components": [
            {"type": 1, "components": [{"type": 2, "style": 1, "label": "go", "custom_id": "go"}]}
        ],
    }
    await p.call("POST", f"/channels/{general}/messages", rich, expect=200)
    await p.call("POST", f"/channels/{general}/messages", {"content": "x" * 2001}, expect=400)
    await p.call("POST", f"/channels/{general}/messages", {}, expect=400)
    await p.call("POST", f"/channels/{dm['id']}/messages", {"content": "dm"}, expect=200)
    await p.call("GET", f"/channels/{general}/messages", expect=200)
    await p.call("GET", f"/channels/{general}/messages/{first['id']}", expect=200)
    await p.call("GET", f"/channels/{general}/messages/1", expect=404)
    await p.call("PATCH", f"/channels/{general}/messages/{first['id']}", {"content": "edited"}, expect=200)
    await p.call("PUT", f"/channels/{general}/messages/pins/{first['id']}", expect=204)
    await p.call("GET", f"/channels/{general}/messages/pins", expect=200)
    await p.call("GET", f"/channels/{general}/pins", expect=200)
    await p.call("DELETE", f"/channels/{general}/pins/{first['id']}", expect=204)
    await p.call("PUT", f"/channels/{general}/pins/{first['id']}", bot="rogue-bot", expect=403)
    await p.call("DELETE", f"/channels/{general}/messages/pins/1", expect=404)
    await p.call("DELETE", f"/channels/{general}/messages/{first['id']}", expect=204)
    await p.call("POST", f"/channels/{general}/typing", expect=204)

    # Members, roles, bans.
    await p.call("GET", f"/guilds/{g}/members", query={"limit": "100"}, expect=200)
    await p.call("GET", f"/guilds/{g}/members/{alice}", expect=200)
    await p.call("GET", f"/guilds/{g}/members/1", expect=404)
    await p.call("PATCH", f"/guilds/{g}/members/{alice}", {"roles": []}, expect=200)
    await p.call("GET", f"/guilds/{g}/roles", expect=200)
    role = await p.call("POST", f"/guilds/{g}/roles", {"name": "probe-role"}, expect=200)
    await p.call("POST", f"/guilds/{g}/roles", {"name": "x"}, bot="rogue-bot", expect=403)
    await p.call("PATCH", f"/guilds/{g}/roles/{role['id']}", {"name": "renamed"}, expect=200)
    await p.call("PUT", f"/guilds/{g}/members/{alice}/roles/{role['id']}", expect=204)
    await p.call("DELETE", f"/guilds/{g}/members/{alice}/roles/{role['id']}", expect=204)
    await p.call("DELETE", f"/guilds/{g}/roles/{role['id']}", expect=204)
    await p.call("DELETE", f"/guilds/{g}/roles/1", expect=404)
    await p.call("GET", f"/guilds/{g}/bans", expect=200)
    await p.call("GET", f"/guilds/{g}/bans/{bob}", expect=404)
    await p.call("PUT", f"/guilds/{g}/bans/{bob}", {}, expect=204)
    await p.call("GET", f"/guilds/{g}/bans/{bob}", expect=200)
    await p.call("DELETE", f"/guilds/{g}/bans/{bob}", expect=204)
    await p.call("DELETE", f"/guilds/{g}/members/{alice}", expect=204)
    await p.call("DELETE", f"/channels/{cid}", expect=200)

    # Application commands and interactions.
    command = {
        "name": "probe",
        "description": "probe command",
        "options": [{"type": 4, "name": "count", "description": "how many", "min_value": 1, "max_value": 5}],
    }
    base = f"/applications/{app.id}"
    await p.call("PUT", f"{base}/commands", [command], expect=200)
    await p.call("GET", f"{base}/commands", expect=200)
    await p.call("POST", f"{base}/commands", {**command, "name": "probe2"}, expect=201)
    await p.call("POST", f"{base}/commands", {"name": ""}, expect=400)
    await p.call("PUT", f"{base}/guilds/{g}/commands", [command], expect=200)
    await p.call("GET", f"{base}/guilds/{g}/commands", expect=200)
    await p.call("POST", f"{base}/guilds/{g}/commands", {**command, "name": "probe3"}, expect=201)

    async def invoke() -> tuple[str, str]:
        view = await driver.command("admin", "general", "probe", application="server-bot", count=2)
        interaction = server.interactions.by_id[int(view["id"])]
        return str(interaction.id), interaction.token

    iid, token = await invoke()
    callback = f"/interactions/{iid}/{token}/callback"
    await p.call("POST", callback, {"type": 4, "data": {"content": "hi"}}, bot=None, expect=204)
    await p.call("POST", callback, {"type": 4, "data": {"content": "again"}}, bot=None, expect=400)
    iid, token = await invoke()
    callback = f"/interactions/{iid}/{token}/callback"
    await p.call("POST", callback, {"type": 5}, bot=None, query={"with_response": "true"}, expect=200)
    hook = f"/webhooks/{app.id}/{token}"
    await p.call("POST", hook, {"content": "done"}, bot=None, query={"wait": "true"}, expect=200)
    await p.call("GET", f"{hook}/messages/@original", bot=None, expect=200)
    await p.call("PATCH", f"{hook}/messages/@original", {"content": "changed"}, bot=None, expect=200)
    follow = await p.call("POST", hook, {"content": "more"}, bot=None, query={"wait": "true"}, expect=200)
    await p.call("PATCH", f"{hook}/messages/{follow['id']}", {"content": "more!"}, bot=None, expect=200)
    await p.call("DELETE", f"{hook}/messages/{follow['id']}", bot=None, expect=204)
    await p.call("GET", f"{hook}/messages/1", bot=None, expect=404)
    await p.call("GET", f"/webhooks/{app.id}/wrong/messages/@original", bot=None, expect=401)
    await p.call("POST", "/interactions/1/nope/callback", {"type": 4}, bot=None, expect=404)

    # A button click answered by editing the message (7) and one acknowledged for a later edit (6).
    button = {"type": 2, "style": 1, "label": "ok", "custom_id": "ok"}
    clickable = await p.call(
        "POST",
        f"/channels/{general}/messages",
        {"content": "press", "components": [{"type": 1, "components": [button]}]},
        expect=200,
    )
    for kind in (7, 6):
        view = await driver.click("admin", "general", int(clickable["id"]), "ok")
        clicked = server.interactions.by_id[int(view["id"])]
        data = {"content": "pressed"} if kind == 7 else None
        await p.call(
            "POST",
            f"/interactions/{clicked.id}/{clicked.token}/callback",
            {"type": kind, "data": data} if data else {"type": kind},
            bot=None,
            query={"with_response": "true"},
            expect=200,
        )
    relay = await driver.channel_id("relay")
    await p.call("GET", f"/channels/{relay}", bot="rogue-bot", expect=403)
    await p.call("POST", f"/channels/{relay}/messages", {"content": "x"}, bot="rogue-bot", expect=403)
    await p.call("GET", f"/channels/{relay}/messages", bot="rogue-bot", expect=403)
    await p.call("GET", f"/channels/{general}/messages/notanid", expect=400)

    # Structural maximums, each answered with Discord's error.
    category = await p.call("POST", f"/guilds/{g}/channels", {"name": "full", "type": 4}, expect=201)
    for n in range(50):
        body = {"name": f"c{n}", "parent_id": category["id"]}
        await server_call(server, "POST", f"/guilds/{g}/channels", body, p.tokens["server-bot"])
    full = await p.call(
        "POST", f"/guilds/{g}/channels", {"name": "c50", "parent_id": category["id"]}, expect=400
    )
    assert full["errors"]["parent_id"]["_errors"][0]["code"] == "CHANNEL_PARENT_MAX_CHANNELS"
    while len(guild.channel_ids) < 500:
        await server_call(server, "POST", f"/guilds/{g}/channels", {"name": "filler"}, p.tokens["server-bot"])
    assert (await p.call("POST", f"/guilds/{g}/channels", {"name": "extra"}, expect=400))["code"] == 30013
    while len(guild.roles) < 251:
        await server_call(server, "POST", f"/guilds/{g}/roles", {"name": "r"}, p.tokens["server-bot"])
    assert (await p.call("POST", f"/guilds/{g}/roles", {"name": "extra"}, expect=400))["code"] == 30005
    for n in range(51):
        msg = await server_call(
            server, "POST", f"/channels/{general}/messages", {"content": f"{n}"}, p.tokens["server-bot"]
        )
        if n < 50:
            await server_call(
                server, "PUT", f"/channels/{general}/messages/pins/{msg['id']}", None, p.tokens["server-bot"]
            )
    pin = await p.call("PUT", f"/channels/{general}/messages/pins/{msg['id']}", expect=400)
    assert pin["code"] == 30003

    # A forced 429.
    await driver.set_ratelimits(force_429={"count": 1, "retry_after": 0.01})
    await p.call("GET", "/users/@me", expect=429)


async def test_every_devcord_route_answers_as_discords_openapi_describes(
    devcord: Devcord, driver: Driver
) -> None:
    spec = Spec()
    async with aiohttp.ClientSession() as session:
        prober = Prober(devcord, session, spec)
        await _probe_everything(prober, devcord, driver)
    valid = [a for a in prober.answers if not a.problems]
    print(f"valid={len(valid)}/{len(prober.answers)}")
    bad = [f"{a.method} {a.path} -> {a.status}: {a.problems[:6]}" for a in prober.answers if a.problems]
    assert not bad, "\n".join(bad)
    # Every route devcord registers was probed at least once.
    probed = {(a.method, spec.operation(a.method, a.path).template) for a in prober.answers}  # type: ignore[union-attr]
    served = set()
    for route in devcord.api_route_defs():
        template = route.path
        op = spec.operation(route.method, _example(template))
        assert op is not None, f"{route.method} {template} is not in Discord's spec"
        served.add((route.method, op.template))
    assert served <= probed, sorted(served - probed)


def _example(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template).replace(API_PREFIX, "")
