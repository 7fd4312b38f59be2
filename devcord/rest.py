"""Discord REST v10 resources served under /api/v10 (Users, Guild, Channel, Message, Application
Commands, Receiving and Responding to interactions, Webhook follow-ups)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from devcord import forms as F
from devcord import intents as I
from devcord import limits as L
from devcord import permissions as P
from devcord import visibility as V
from devcord.errors import (
    UNKNOWN_OVERWRITE,
    ApiError,
    form_error,
    missing_access,
    missing_permissions,
    unauthorized,
)
from devcord.http import CALLER, int_query, json_response, no_content, read_json, read_message_body
from devcord.http import snowflake_param as _id
from devcord.interactions import Interactions
from devcord.model import (
    DM,
    GUILD_CATEGORY,
    GUILD_TEXT,
    Application,
    Attachment,
    Channel,
    Guild,
    Json,
    Message,
    merge_attachments,
)
from devcord.validation import check_message
from devcord.world import World

log = logging.getLogger(__name__)

_CHANNEL_TYPES = {GUILD_TEXT, GUILD_CATEGORY, 2, 5, 13, 15}


class DiscordApi:
    """Route handlers; each resolves the calling bot from the request (set by the server middleware)."""

    def __init__(self, world: World, interactions: Interactions, *, gateway_url: Callable[[], str]) -> None:
        self.world = world
        self.gateway_url = gateway_url
        self.interactions = interactions

    def routes(self) -> list[web.RouteDef]:
        r = web
        return [
            r.get("/users/@me", self.get_me),
            r.get("/users/{user_id}", self.get_user),
            r.get("/oauth2/applications/@me", self.get_application),
            r.get("/applications/@me", self.get_application),
            r.get("/gateway", self.get_gateway),
            r.get("/gateway/bot", self.get_gateway_bot),
            r.post("/users/@me/channels", self.create_dm),
            r.get("/users/@me/guilds", self.my_guilds),
            r.get("/guilds/{guild_id}", self.get_guild),
            r.get("/guilds/{guild_id}/channels", self.guild_channels),
            r.post("/guilds/{guild_id}/channels", self.create_channel),
            r.get("/channels/{channel_id}", self.get_channel),
            r.patch("/channels/{channel_id}", self.edit_channel),
            r.delete("/channels/{channel_id}", self.delete_channel),
            r.put("/channels/{channel_id}/permissions/{overwrite_id}", self.put_overwrite),
            r.delete("/channels/{channel_id}/permissions/{overwrite_id}", self.delete_overwrite),
            r.get("/channels/{channel_id}/messages", self.list_messages),
            r.post("/channels/{channel_id}/messages", self.create_message),
            r.get("/channels/{channel_id}/messages/{message_id}", self.get_message),
            r.patch("/channels/{channel_id}/messages/{message_id}", self.edit_message),
            r.delete("/channels/{channel_id}/messages/{message_id}", self.delete_message),
            r.post("/channels/{channel_id}/typing", self.typing),
            *self.interactions.routes(),
        ]

    # -- helpers -------------------------------------------------------------------------------------

    @staticmethod
    def app(request: web.Request) -> Application:
        app = request.get(CALLER)
        if not isinstance(app, Application):
            raise unauthorized()
        return app

    def me(self, request: web.Request) -> int:
        return self.app(request).bot_user_id

    def _guild(self, request: web.Request) -> Guild:
        guild = self.world.guild(_id(request, "guild_id"))
        if self.me(request) not in guild.members:
            raise missing_access()
        return guild

    def _channel(self, request: web.Request) -> Channel:
        channel = self.world.channel(_id(request, "channel_id"))
        if not V.visible(self.world, channel, self.me(request)):
            raise missing_access()
        return channel

    def message_out(self, request: web.Request, msg: Message) -> Json:
        """Apps without the MESSAGE_CONTENT intent get empty content fields across the API, as documented."""
        data = self.world.message_payload(msg)
        app = self.app(request)
        me = app.bot_user_id
        if (
            msg.guild_id is not None
            and not app.privileged_intents & I.MESSAGE_CONTENT
            and msg.author_id != me
            and me not in msg.mentions
        ):
            data.update(content="", embeds=[], attachments=[], components=[])
        return data

    # -- users / application / gateway ---------------------------------------------------------------

    async def get_me(self, request: web.Request) -> web.Response:
        user = self.world.users[self.me(request)]
        return json_response(user.payload() | {"verified": True, "mfa_enabled": False, "locale": "en-US"})

    async def get_user(self, request: web.Request) -> web.Response:
        return json_response(self.world.user(_id(request, "user_id")).payload())

    async def get_application(self, request: web.Request) -> web.Response:
        app = self.app(request)
        owner = self.world.users.get(app.owner_id) or self.world.users[app.bot_user_id]
        guilds = sum(1 for g in self.world.guilds.values() if app.bot_user_id in g.members)
        return json_response(app.payload(self.world.users[app.bot_user_id], owner, guild_count=guilds))

    async def get_gateway(self, request: web.Request) -> web.Response:
        return json_response({"url": self.gateway_url().rstrip("/")})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url().rstrip("/"),
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def create_dm(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        if body.get("recipient_id") is None:
            raise form_error("recipient_id", "BASE_TYPE_REQUIRED", "This field is required")
        recipient = self.world.user(F.snowflake(body["recipient_id"], "recipient_id"))
        channel = self.world.dm_channel(self.me(request), recipient.id)
        return json_response(self.world.dm_payload(channel, self.me(request)))

    async def my_guilds(self, request: web.Request) -> web.Response:
        me = self.me(request)
        out: list[Json] = []
        for guild in self.world.guilds.values():
            if me in guild.members:
                perms = self.world.guild_permissions(guild, me)
                out.append(
                    {
                        "id": str(guild.id),
                        "name": guild.name,
                        "icon": None,
                        "banner": None,
                        "owner": guild.owner_id == me,
                        "permissions": str(perms),
                        "features": [],
                    }
                )
        return json_response(out)

    # -- guilds and channels -------------------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        with_counts = request.query.get("with_counts", "").lower() in ("1", "true")
        return json_response(self.world.guild_payload(guild, with_counts=with_counts))

    async def guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        me = self.me(request)
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
        guild = self._guild(request)
        me = self.me(request)
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
        return json_response(self.world.channel_payload(self._channel(request)))

    async def edit_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        me = self.me(request)
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
        channel = self._channel(request)
        if channel.type == DM:
            return json_response(self.world.channel_payload(channel))
        self.world.require(channel, self.me(request), P.MANAGE_CHANNELS)
        payload = self.world.channel_payload(channel)
        self.world.delete_channel(channel)
        return json_response(payload)

    async def put_overwrite(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        me = self.me(request)
        perms = self.world.require(channel, me, P.MANAGE_ROLES)
        body = await read_json(request)
        assert channel.guild_id is not None
        guild = self.world.guilds[channel.guild_id]
        item = {**body, "id": request.match_info["overwrite_id"]}
        (overwrite,) = self._overwrites(guild, [item], me, check_against=perms, single=True).values()
        self.world.update_channel(channel, lambda ch: ch.overwrites.__setitem__(overwrite.id, overwrite))
        return no_content()

    async def delete_overwrite(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        self.world.require(channel, self.me(request), P.MANAGE_ROLES)
        target = _id(request, "overwrite_id")
        if target not in channel.overwrites:
            raise ApiError(404, UNKNOWN_OVERWRITE, "Unknown Overwrite")
        self.world.update_channel(channel, lambda ch: ch.overwrites.pop(target))
        return no_content()

    # -- messages ------------------------------------------------------------------------------------

    async def list_messages(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        perms = self.world.permissions(channel, self.me(request))
        if not perms & P.READ_MESSAGE_HISTORY:
            return json_response([])
        messages = self.world.history(channel)
        query = request.query
        limit = max(1, min(int_query(request, "limit", 50), 100))
        if "before" in query:
            before = int_query(request, "before", 0)
            messages = [m for m in messages if m.id < before]
        if "after" in query:
            after = int_query(request, "after", 0)
            messages = sorted((m for m in messages if m.id > after), key=lambda m: m.id)
            messages = list(reversed(messages[:limit]))
        if "around" in query:
            pivot = int_query(request, "around", 0)
            older = [m for m in messages if m.id <= pivot][: (limit + 1) // 2]
            newer = [m for m in reversed(messages) if m.id > pivot][: limit // 2]
            messages = list(reversed(newer)) + older
        return json_response([self.message_out(request, m) for m in messages[:limit]])

    async def get_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        self.world.require(channel, self.me(request), P.READ_MESSAGE_HISTORY)
        msg = self.world.message(channel.id, _id(request, "message_id"))
        return json_response(self.message_out(request, msg))

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self.world.channel(_id(request, "channel_id"))
        me = self.me(request)
        body, files = await read_message_body(request, self.world.ids)
        msg = post_message(self.world, channel, me, body, files or [])
        return json_response(self.message_out(request, msg))

    async def edit_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        msg = self.world.message(channel.id, _id(request, "message_id"))
        body, files = await read_message_body(request, self.world.ids)
        check_message(body, has_files=bool(files), creating=False)
        attachments = merge_attachments(msg, body, files)
        self.world.edit_message(msg, self.me(request), body, attachments)
        return json_response(self.message_out(request, msg))

    async def delete_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        me = self.me(request)
        msg = self.world.message(channel.id, _id(request, "message_id"))
        if msg.author_id != me:
            self.world.require(channel, me, P.MANAGE_MESSAGES)
        self.world.delete_message(msg)
        return no_content()

    async def typing(self, request: web.Request) -> web.Response:
        channel = self.world.channel(_id(request, "channel_id"))
        me = self.me(request)
        self.world.require(channel, me, P.SEND_MESSAGES)
        emit_typing(self.world, channel, me)
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


def post_message(
    world: World, channel: Channel, author_id: int, body: Json, files: list[Attachment]
) -> Message:
    """Create Message with Discord's checks, shared by bots (REST) and users (driver)."""
    if not world.can_view(channel, author_id):
        raise missing_access()
    needed = P.SEND_MESSAGES
    if files:
        needed |= P.ATTACH_FILES
    if body.get("message_reference"):
        needed |= P.READ_MESSAGE_HISTORY
    perms = world.require(channel, author_id, needed)
    if channel.type == DM:
        _require_mutual_guild(world, channel)
    check_message(body, has_files=bool(files), creating=True)
    ref = body.get("message_reference")
    if ref and ref.get("message_id") is not None and ref.get("fail_if_not_exists", True):
        world.message(channel.id, F.snowflake(ref["message_id"], "message_reference.message_id"))
    return world.create_message(channel, author_id, body, files, perms=perms)


def _require_mutual_guild(world: World, channel: Channel) -> None:
    a, b = (channel.recipients + channel.recipients)[:2]
    if not any(a in g.members and b in g.members for g in world.guilds.values()):
        raise ApiError(403, 50007, "Cannot send messages to this user")


def emit_typing(world: World, channel: Channel, user_id: int) -> None:
    data: dict[str, Any] = {
        "channel_id": str(channel.id),
        "user_id": str(user_id),
        "timestamp": int(time.time()),
    }
    if channel.guild_id is not None:
        guild = world.guilds[channel.guild_id]
        data["guild_id"] = str(guild.id)
        data["member"] = world.member_payload(guild, guild.members[user_id])
    world.emit("TYPING_START", data, guild_id=channel.guild_id, viewers=world.viewers(channel))
