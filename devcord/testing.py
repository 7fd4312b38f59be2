"""Helpers for tests and benchmarks: `Driver`, a typed client of the driver API, and
`point_discord_py_at`, which aims an installed discord.py at a devcord the way the product does."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import yaml

from devcord.errors import DevcordError
from devcord.scenario import DEMO

Json = dict[str, Any]


class DriverError(DevcordError):
    """The driver API answered with an error status; `status` and Discord-style `body` tell which."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"driver API answered {status}: {body}")
        self.status = status
        self.body = body

    @property
    def code(self) -> int | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


def demo_scenario(**settings: Any) -> dict[str, Any]:
    """The shipped demo scenario as a dict, with `settings` overridden (e.g. heartbeat_interval_ms)."""
    data: dict[str, Any] = yaml.safe_load(Path(DEMO).read_text())
    data.setdefault("settings", {}).update(settings)
    return data


def point_discord_py_at(api_base: str, gateway_url: str) -> Callable[[], None]:
    """Set discord.py's REST base and gateway URL; returns a function that restores the old ones."""
    # Imported here so devcord itself never needs discord.py installed.
    import discord  # noqa: PLC0415
    import yarl  # noqa: PLC0415

    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore


class Driver:
    """Async client of /_devcord/. Use as `async with Driver(base_url) as driver:`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/") + "/_devcord"
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Driver:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        query = {k: str(v) for k, v in params.items() if v is not None}
        async with self._session.request(method, self.base_url + path, json=body, params=query) as resp:
            data = await resp.json(content_type=None)
            if resp.status >= 400:
                raise DriverError(resp.status, data)
            return data

    # -- state ---------------------------------------------------------------------------------------

    async def state(self) -> Json:
        return dict(await self.request("GET", "/state"))

    async def config(self) -> Json:
        return dict(await self.request("GET", "/config"))

    async def user_id(self, name: str) -> int:
        for user in (await self.state())["users"]:
            if user["username"] == name:
                return int(user["id"])
        raise DriverError(404, {"message": f"no user {name}"})

    async def channel_id(self, name: str) -> int:
        for guild in (await self.state())["guilds"]:
            for channel in guild["channels"]:
                if channel["name"] == name:
                    return int(channel["id"])
        raise DriverError(404, {"message": f"no channel {name}"})

    # -- people --------------------------------------------------------------------------------------

    async def create_user(
        self, name: str, *, roles: list[str] | None = None, guild: str | None = None
    ) -> Json:
        return dict(
            await self.request("POST", "/users", {"name": name, "roles": roles or [], "guild": guild})
        )

    async def create_role(self, guild: str, name: str, permissions: int | list[str] = 0) -> Json:
        return dict(
            await self.request("POST", f"/guilds/{guild}/roles", {"name": name, "permissions": permissions})
        )

    async def add_role(self, guild: str, user: str, role: str) -> Json:
        return dict(await self.request("PUT", f"/guilds/{guild}/members/{user}/roles/{role}"))

    async def remove_role(self, guild: str, user: str, role: str) -> Json:
        return dict(await self.request("DELETE", f"/guilds/{guild}/members/{user}/roles/{role}"))

    async def ban(self, guild: str, user: str, reason: str | None = None) -> None:
        await self.request("POST", f"/guilds/{guild}/bans/{user}", {"reason": reason})

    async def visible_channels(self, user: str) -> list[Json]:
        return list(await self.request("GET", f"/users/{user}/channels"))

    # -- messages ------------------------------------------------------------------------------------

    async def post(
        self,
        channel: str | int,
        user: str,
        content: str = "",
        *,
        files: dict[str, bytes] | None = None,
        **fields: Any,
    ) -> Json:
        body: Json = {"user": user, "content": content, **fields}
        if files:
            body["files"] = [
                {"filename": name, "content_b64": base64.b64encode(data).decode()}
                for name, data in files.items()
            ]
        return dict(await self.request("POST", f"/channels/{channel}/messages", body))

    async def typing(self, channel: str | int, user: str) -> None:
        await self.request("POST", f"/channels/{channel}/typing", {"user": user})

    async def messages(self, channel: str | int, *, include_deleted: bool = False) -> list[Json]:
        """The channel as stored, oldest first, with each message's edit `history`."""
        return list(
            await self.request("GET", f"/channels/{channel}/messages", include_deleted=int(include_deleted))
        )

    async def wait_for_message(
        self, channel: str | int, predicate: Callable[[Json], bool], *, within: float = 5.0
    ) -> Json:
        """Poll the stored channel until a message matches (checks every 20 ms, bounded by `within`)."""
        deadline = time.monotonic() + within
        while True:
            for msg in await self.messages(channel):
                if predicate(msg):
                    return msg
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching message in {channel} after {within}s")
            await asyncio.sleep(0.02)

    # -- interactions --------------------------------------------------------------------------------

    async def command(
        self, user: str, channel: str | int, command: str, *, application: str | None = None, **options: Any
    ) -> Json:
        """Invoke `/command` (space-separated for subcommands) as `user`; returns the interaction view."""
        body = {
            "user": user,
            "channel": channel,
            "command": command,
            "options": options,
            "application": application,
        }
        return dict(await self.request("POST", "/interactions/command", body))

    async def click(
        self,
        user: str,
        channel: str | int,
        message_id: int | str,
        custom_id: str,
        values: list[str] | None = None,
    ) -> Json:
        body = {
            "user": user,
            "channel": channel,
            "message_id": str(message_id),
            "custom_id": custom_id,
            "values": values,
        }
        return dict(await self.request("POST", "/interactions/component", body))

    async def interaction(self, interaction_id: int | str) -> Json:
        return dict(await self.request("GET", f"/interactions/{interaction_id}"))

    async def wait_interaction(
        self, interaction_id: int | str, predicate: Callable[[Json], bool], *, within: float = 5.0
    ) -> Json:
        deadline = time.monotonic() + within
        while True:
            view = await self.interaction(interaction_id)
            if predicate(view):
                return view
            if time.monotonic() > deadline:
                raise TimeoutError(f"interaction {interaction_id} never matched; last view: {view}")
            await asyncio.sleep(0.02)

    async def user_interactions(self, user: str) -> list[Json]:
        return list(await self.request("GET", f"/users/{user}/interactions"))

    # -- rate limits, faults, events -----------------------------------------------------------------

    async def served_429(self) -> int:
        return int((await self.request("GET", "/ratelimits"))["served_429"])

    async def set_ratelimits(self, **body: Any) -> Json:
        return dict(await self.request("PATCH", "/ratelimits", body))

    async def drop_gateway(self, user: str) -> int:
        return int(
            (await self.request("POST", "/faults/gateway", {"user": user, "action": "drop"}))["affected"]
        )

    async def reconnect_gateway(self, user: str) -> int:
        return int(
            (await self.request("POST", "/faults/gateway", {"user": user, "action": "reconnect"}))["affected"]
        )

    async def invalidate_gateway(self, user: str) -> int:
        body = {"user": user, "action": "invalidate"}
        return int((await self.request("POST", "/faults/gateway", body))["affected"])

    async def http_faults(
        self,
        *,
        delay_s: float | None = None,
        delay_count: int = 1,
        error_status: int = 500,
        error_count: int = 0,
    ) -> Json:
        body: Json = {}
        if delay_s is not None:
            body.update(delay_s=delay_s, delay_count=delay_count)
        if error_count:
            body["errors"] = {"status": error_status, "count": error_count}
        return dict(await self.request("POST", "/faults/http", body))

    async def events(self, user: str, *, after: int = 0, wait_s: float = 0) -> Json:
        return dict(await self.request("GET", "/events", user=user, after=after, timeout=wait_s))
