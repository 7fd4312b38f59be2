"""Guild channels and their permission overwrites (Discord's Channel resource and Get/Create Guild Channels),
served under /api/v10: the bot may only allow/deny bits it holds, and category/guild channel limits apply."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from devcord import forms as F
from devcord import limits as L
from devcord import permissions as P
from devcord import visibility as V
from devcord.errors import UNKNOWN_OVERWRITE, ApiError, form_error, missing_permissions
from devcord.http import json_response, no_content, read_json
from devcord.http import snowflake_param as _id
from devcord.model import DM, GUILD_CATEGORY, GUILD_TEXT, Channel, Guild, Json

if TYPE_CHECKING:
    from devcord.rest import DiscordApi

_CHANNEL_TYPES = {GUILD_TEXT, GUILD_CATEGORY, 2, 5, 13, 15}


class ChannelsApi:
    def __init__(self, api: DiscordApi) -> None:
        self.api = api
        self.world = api.world

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/guilds/{guild_id}/channels", self.guild_channels),
            web.post("/guilds/{guild_id}/channels", self.create_channel),
            web.get("/channels/{channel_id}", self.get_channel),
            web.patch("/channels/{channel_id}", self.edit_channel),
            web.delete("/channels/{channel_id}", self.delete_channel),
            web.put("/channels/{channel_id}/permissions/{overwrite_id}", self.put_overwrite),
            web.delete("/channels/{channel_id}/permissions/{overwrite_id}", self.delete_overwrite),
        ]

    async def guild_channels(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        me = self.api.me(request)
        channels = [self.world.channels[c] for c in guild.channel_ids]
        # Channels the bot cannot view are omitted here; only the Gateway sends them, obfuscated.
        shown = [c for c in channels if V.visible(self.world, c, me)]
        return json_response([self.world.channel_payload(c) for c in shown])

    def _overwrites(
        self, guild: Guild, raw: Any, me: int, *, check_against: int, single: bool = False
    ) -> dict[int, P.Overwrite]:
        """Parse `permission_overwrites`; a bot can only allow/deny bits it holds itself (50013 otherwise),
        and only administrators may put MANAGE_ROLES in an overwrite ("Create Guild Channel").
        `single`: one overwrite as the whole body (Edit Channel Permissions), so errors name its fields."""
        out: dict[int, P.Overwrite] = {}
        is_admin = bool(self.world.guild_permissions(guild, me) & P.ADMINISTRATOR)
        for i, item in enumerate(F.objects(raw, "permission_overwrites")):
            at = "" if single else f"permission_overwrites.{i}."
            if item.get("id") is None:
                raise form_error(f"{at}id", "BASE_TYPE_REQUIRED", "This field is required")
            ow = P.Overwrite(
                F.snowflake(item["id"], f"{at}id"),
                F.optional(item, "type", F.integer, at) or 0,
                F.optional(item, "allow", F.snowflake, at) or 0,
                F.optional(item, "deny", F.snowflake, at) or 0,
            )
            if ow.type not in (0, 1):
                raise form_error(f"{at}type", "BASE_TYPE_CHOICES", "Value must be 0 or 1.")
            touched = ow.allow | ow.deny
            if not is_admin and (touched & ~check_against or touched & P.MANAGE_ROLES):
                raise missing_permissions()
            out[ow.id] = ow
        return out

    async def create_channel(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        me = self.api.me(request)
        perms = self.world.require_guild(guild, me, P.MANAGE_CHANNELS)
        body = await read_json(request)
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        ctype = F.optional(body, "type", F.integer) or GUILD_TEXT
        if ctype not in _CHANNEL_TYPES:
            raise form_error("type", "BASE_TYPE_CHOICES", "Value must be one of {0, 2, 4, 5, 13, 15}.")
        parent_id = F.optional(body, "parent_id", F.snowflake)
        if parent_id is not None:
            parent = self.world.channels.get(parent_id)
            if parent is None or parent.guild_id != guild.id or parent.type != GUILD_CATEGORY:
                raise form_error("parent_id", "CHANNEL_PARENT_INVALID", "Not a category")
        overwrites = self._overwrites(guild, body.get("permission_overwrites") or [], me, check_against=perms)
        position = F.optional(body, "position", F.integer)
        topic = F.optional(body, "topic", F.string)
        nsfw = F.optional(body, "nsfw", F.boolean)
        L.check_new_channel(len(guild.channel_ids), self._children(guild, parent_id))
        channel = Channel(
            id=self.world.ids.next(),
            type=ctype,
            name=name,
            guild_id=guild.id,
            position=position or len(guild.channel_ids),
            parent_id=parent_id,
            topic=topic,
            nsfw=bool(nsfw),
            overwrites=overwrites,
        )
        self.world.add_channel(channel)
        return json_response(self.world.channel_payload(channel), status=201)

    def _children(self, guild: Guild, parent_id: int | None) -> int | None:
        if parent_id is None:
            return None
        return sum(1 for c in guild.channel_ids if self.world.channels[c].parent_id == parent_id)

    async def get_channel(self, request: web.Request) -> web.Response:
        return json_response(self.world.channel_payload(self.api._channel(request)))

    async def edit_channel(self, request: web.Request) -> web.Response:
        channel = self.api._channel(request)
        me = self.api.me(request)
        perms = self.world.require(channel, me, P.MANAGE_CHANNELS)
        body = await read_json(request)
        assert channel.guild_id is not None
        guild = self.world.guilds[channel.guild_id]
        changes = _channel_changes(body)
        overwrites = None
        if "permission_overwrites" in body:
            self.world.require(channel, me, P.MANAGE_ROLES)
            overwrites = self._overwrites(guild, body["permission_overwrites"] or [], me, check_against=perms)
        parent_id = changes.get("parent_id")
        if parent_id is not None and parent_id != channel.parent_id:
            L.check_category_room(self._children(guild, parent_id))

        def change(ch: Channel) -> None:
            for key, value in changes.items():
                setattr(ch, key, value)
            if overwrites is not None:
                ch.overwrites = overwrites

        self.world.update_channel(channel, change)
        return json_response(self.world.channel_payload(channel))

    async def delete_channel(self, request: web.Request) -> web.Response:
        channel = self.api._channel(request)
        if channel.type == DM:
            return json_response(self.world.channel_payload(channel))
        self.world.require(channel, self.api.me(request), P.MANAGE_CHANNELS)
        payload = self.world.channel_payload(channel)
        self.world.delete_channel(channel)
        return json_response(payload)

    async def put_overwrite(self, request: web.Request) -> web.Response:
        channel = self.api._channel(request)
        me = self.api.me(request)
        perms = self.world.require(channel, me, P.MANAGE_ROLES)
        body = await read_json(request)
        assert channel.guild_id is not None
        guild = self.world.guilds[channel.guild_id]
        item = {**body, "id": request.match_info["overwrite_id"]}
        (overwrite,) = self._overwrites(guild, [item], me, check_against=perms, single=True).values()
        self.world.update_channel(channel, lambda ch: ch.overwrites.__setitem__(overwrite.id, overwrite))
        return no_content()

    async def delete_overwrite(self, request: web.Request) -> web.Response:
        channel = self.api._channel(request)
        self.world.require(channel, self.api.me(request), P.MANAGE_ROLES)
        target = _id(request, "overwrite_id")
        if target not in channel.overwrites:
            raise ApiError(404, UNKNOWN_OVERWRITE, "Unknown Overwrite")
        self.world.update_channel(channel, lambda ch: ch.overwrites.pop(target))
        return no_content()


def _channel_changes(body: Json) -> Json:
    """The Modify Channel fields devcord stores, type-checked; `name` and `nsfw` are not nullable."""
    changes: Json = {}
    if "name" in body:
        name = F.string(body["name"], "name")
        if not 1 <= len(name) <= 100:
            raise form_error("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        changes["name"] = name
    if "nsfw" in body:
        changes["nsfw"] = F.boolean(body["nsfw"], "nsfw")
    for key, reader in (("topic", F.string), ("position", F.integer), ("parent_id", F.snowflake)):
        if key in body:
            changes[key] = F.optional(body, key, reader)
    if "position" in changes and changes["position"] is None:
        changes["position"] = 0
    return changes
