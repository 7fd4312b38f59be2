"""Malformed request bodies get Discord's 400 answers (50109 invalid JSON, 50035 Invalid Form Body naming
the field), never a 500: the inputs the reliability fuzzer found."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from devcord import Devcord
from devcord.testing import Driver
from tests.devcord.bots import TOKENS

pytestmark = pytest.mark.e2e

SERVER_BOT_ID = "1300000000000000101"


async def _send(devcord: Devcord, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bot {TOKENS['server-bot']}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, devcord.api_base + path, data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def _ids(driver: Driver) -> dict[str, str]:
    state = await driver.state()
    guild = state["guilds"][0]
    general = next(c["id"] for c in guild["channels"] if c["name"] == "general")
    message = await driver.post(general, "alice", "hello")
    return {
        "guild": guild["id"],
        "channel": general,
        "message": message["id"],
        "user": str(await driver.user_id("alice")),
        "app": SERVER_BOT_ID,
    }


def _error_path(body: dict[str, Any]) -> str:
    """The dotted path of the first field error in Discord's nested `errors` tree."""
    path: list[str] = []
    node = body["errors"]
    while "_errors" not in node:
        key = next(iter(node))
        path.append(key)
        node = node[key]
    return ".".join(path)


async def test_invalid_utf8_command_overwrite_is_invalid_json(devcord: Devcord, driver: Driver) -> None:
    ids = await _ids(driver)
    path = "/applications/{app}/guilds/{guild}/commands".format(**ids)
    status, body = await _send(devcord, "PUT", path, b"\xc3\x95\x1dI'\xc2\x89\xc3(")
    assert (status, body["code"]) == (400, 50109)
    status, body = await _send(devcord, "PUT", path, b"d")
    assert (status, body["code"]) == (400, 50109)


@pytest.mark.parametrize(
    ("method", "template", "payload", "field"),
    [
        pytest.param("PUT", "/applications/{app}/guilds/{guild}/commands", [5], "0", id="command-not-object"),
        pytest.param("PUT", "/applications/{app}/commands", {"name": "x"}, "_root", id="commands-not-list"),
        pytest.param(
            "PUT",
            "/applications/{app}/commands",
            [{"name": "ok", "description": "d", "options": "x"}],
            "0.options",
            id="command-options-not-list",
        ),
        pytest.param("POST", "/users/@me/channels", {"recipient_id": {"a": 1}}, "recipient_id", id="dm"),
        pytest.param(
            "PUT",
            "/channels/{channel}/permissions/{user}",
            {"type": 1, "allow": [1]},
            "allow",
            id="overwrite-allow",
        ),
        pytest.param(
            "POST",
            "/guilds/{guild}/channels",
            {"name": "x", "permission_overwrites": [1]},
            "permission_overwrites.0",
            id="overwrite-not-object",
        ),
        pytest.param("PATCH", "/channels/{channel}", {"name": {"a": None}}, "name", id="channel-name"),
        pytest.param("PATCH", "/channels/{channel}", {"parent_id": [True]}, "parent_id", id="channel-parent"),
        pytest.param("POST", "/guilds/{guild}/roles", {"permissions": [[1]]}, "permissions", id="role-perms"),
        pytest.param("POST", "/guilds/{guild}/roles", {"name": 5}, "name", id="role-name"),
        pytest.param(
            "PATCH",
            "/channels/{channel}/messages/{message}",
            {"attachments": [5]},
            "attachments.0",
            id="attachment-not-object",
        ),
        pytest.param(
            "PATCH",
            "/channels/{channel}/messages/{message}",
            {"attachments": [{"id": "x"}]},
            "attachments.0.id",
            id="attachment-id",
        ),
        pytest.param(
            "POST", "/channels/{channel}/messages", {"components": -1.5}, "components", id="components"
        ),
        pytest.param(
            "POST", "/channels/{channel}/messages", {"components": [1]}, "components.0", id="component-row"
        ),
        pytest.param(
            "POST",
            "/channels/{channel}/messages",
            {"content": "x", "message_reference": {"message_id": []}},
            "message_reference.message_id",
            id="reference",
        ),
        pytest.param(
            "POST",
            "/channels/{channel}/messages",
            {"content": "x", "allowed_mentions": {"users": [{}]}},
            "allowed_mentions.users.0",
            id="mentions",
        ),
        pytest.param("POST", "/channels/{channel}/messages", {"embeds": ["x"]}, "embeds.0", id="embed"),
        pytest.param("PATCH", "/guilds/{guild}/members/{user}", {"roles": "abc"}, "roles", id="member-roles"),
    ],
)
async def test_wrong_types_are_invalid_form_body_naming_the_field(
    devcord: Devcord, driver: Driver, method: str, template: str, payload: Any, field: str
) -> None:
    ids = await _ids(driver)
    status, body = await _send(devcord, method, template.format(**ids), json.dumps(payload).encode())
    assert (status, body["code"], body["message"]) == (400, 50035, "Invalid Form Body")
    assert _error_path(body) == field


async def test_a_non_numeric_query_parameter_is_a_form_error(devcord: Devcord, driver: Driver) -> None:
    ids = await _ids(driver)
    headers = {"Authorization": f"Bot {TOKENS['server-bot']}"}
    url = devcord.api_base + "/channels/{channel}/messages?limit=many".format(**ids)
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        assert resp.status == 400
        assert (await resp.json())["errors"]["limit"]["_errors"][0]["code"] == "NUMBER_TYPE_COERCE"
