"""Discord REST v10 resources served under /api/v10 (Users, Guild, Message, Application Commands,
Receiving and Responding to interactions, Webhook follow-ups); channels live in rest_channels.py, members,
roles and bans in rest_members.py, pins in pins.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from devcord import forms as F
from devcord import intents as I
from devcord import permissions as P
from devcord import visibility as V
from devcord.errors import ApiError, form_error, missing_access, unauthorized
from devcord.http import CALLER, int_query, json_response, no_content, read_json, read_message_body
from devcord.http import snowflake_param as _id
from devcord.interactions import Interactions
from devcord.model import (
    DM,
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

    # -- guilds --------------------------------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        guild = self._guild(request)
        with_counts = request.query.get("with_counts", "").lower() in ("1", "true")
        return json_response(self.world.guild_payload(guild, with_counts=with_counts))

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
