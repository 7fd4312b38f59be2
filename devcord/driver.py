"""The driver API under /_devcord/: how tests, benchmarks and the web client act as people and as
the network. JSON in and out; users, channels, guilds and roles may be named or given by id.

Endpoints (documented in docs/devcord.md): state and config; users, roles, member roles, bans; post a
message or type as a user; invoke a slash command or click a component as a user and read what that
user saw; read a channel as stored; channels a user can view; the 429 counter and rate-limit settings;
gateway and HTTP fault injection; a long-poll and a websocket feed of the events a user can see.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections import deque
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from devcord import permissions as P
from devcord.errors import UNKNOWN_GUILD, UNKNOWN_INTERACTION, ApiError, form_error, unknown
from devcord.http import json_response, read_json
from devcord.model import Attachment, Event, Guild, Json, Message, User, media_type
from devcord.ratelimit import Limit
from devcord.rest import emit_typing, post_message

if TYPE_CHECKING:
    from devcord.server import Devcord

PREFIX = "/_devcord"
FEED_SIZE = 10_000


class DriverApi:
    def __init__(self, devcord: Devcord) -> None:
        self.dc = devcord
        self.world = devcord.world
        self.feed: deque[Event] = deque(maxlen=FEED_SIZE)
        self._changed = asyncio.Event()
        self.world.listeners.append(self._record)

    def routes(self) -> list[web.RouteDef]:
        p = PREFIX
        return [
            web.get(f"{p}/state", self.state),
            web.get(f"{p}/config", self.config),
            web.post(f"{p}/users", self.create_user),
            web.get(f"{p}/users/{{user}}/channels", self.visible_channels),
            web.get(f"{p}/users/{{user}}/interactions", self.user_interactions),
            web.post(f"{p}/guilds/{{guild}}/roles", self.create_role),
            web.put(f"{p}/guilds/{{guild}}/members/{{user}}/roles/{{role}}", self.add_member_role),
            web.delete(f"{p}/guilds/{{guild}}/members/{{user}}/roles/{{role}}", self.remove_member_role),
            web.post(f"{p}/guilds/{{guild}}/bans/{{user}}", self.ban),
            web.get(f"{p}/channels/{{channel}}/messages", self.read_channel),
            web.post(f"{p}/channels/{{channel}}/messages", self.post_message),
            web.post(f"{p}/channels/{{channel}}/typing", self.typing),
            web.post(f"{p}/interactions/command", self.invoke_command),
            web.post(f"{p}/interactions/component", self.click),
            web.get(f"{p}/interactions/{{interaction_id}}", self.get_interaction),
            web.get(f"{p}/ratelimits", self.ratelimits),
            web.patch(f"{p}/ratelimits", self.set_ratelimits),
            web.post(f"{p}/faults/gateway", self.gateway_fault),
            web.post(f"{p}/faults/http", self.http_fault),
            web.get(f"{p}/events", self.poll_events),
            web.get(f"{p}/events/ws", self.stream_events),
        ]

    # -- lookups -------------------------------------------------------------------------------------

    def _guild(self, ref: str) -> Guild:
        for guild in self.world.guilds.values():
            if guild.name == ref or str(guild.id) == ref:
                return guild
        raise unknown(UNKNOWN_GUILD, "Guild")

    def _user_id(self, ref: Any) -> int:
        return self.world.user_named(ref).id

    # -- state ---------------------------------------------------------------------------------------

    async def config(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "api_base": self.dc.api_base,
                "gateway_url": self.dc.gateway_url,
                "applications": [
                    {"id": str(a.id), "name": a.name, "bot_user_id": str(a.bot_user_id)}
                    for a in self.world.apps.values()
                ],
            }
        )

    async def state(self, request: web.Request) -> web.Response:
        w = self.world
        guilds = []
        for guild in w.guilds.values():
            guilds.append(
                {
                    "id": str(guild.id),
                    "name": guild.name,
                    "owner_id": str(guild.owner_id),
                    "roles": [r.payload() for r in guild.roles.values()],
                    "members": [w.member_payload(guild, m) for m in guild.members.values()],
                    "channels": [w.channel_payload(w.channels[c]) for c in guild.channel_ids],
                    "bans": [str(u) for u in guild.bans],
                }
            )
        apps = [
            {
                "id": str(a.id),
                "name": a.name,
                "bot_user_id": str(a.bot_user_id),
                "global_commands": list(a.global_commands.values()),
                "guild_commands": {str(g): list(c.values()) for g, c in a.guild_commands.items()},
            }
            for a in w.apps.values()
        ]
        sessions = [
            {"id": s.id, "user_id": str(s.user_id), "seq": s.seq, "connected": s.conn is not None}
            for s in self.dc.gateway.sessions.values()
        ]
        return json_response(
            {
                "users": [u.payload() for u in w.users.values()],
                "applications": apps,
                "guilds": guilds,
                "sessions": sessions,
                "served_429": self.dc.limiter.served_429,
            }
        )

    # -- people, roles, bans -------------------------------------------------------------------------

    async def create_user(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise form_error("name", "BASE_TYPE_REQUIRED", "This field is required")
        user = User(self.world.ids.next(), name, global_name=body.get("display_name"))
        self.world.users[user.id] = user
        guild_ref = body.get("guild")
        if guild_ref is not None or len(self.world.guilds) == 1:
            guild = (
                self._guild(str(guild_ref))
                if guild_ref is not None
                else next(iter(self.world.guilds.values()))
            )
            roles = [self._role(guild, r).id for r in body.get("roles") or []]
            self.world.add_member(guild, user.id, roles)
        return json_response(user.payload(), status=201)

    def _role(self, guild: Guild, ref: str) -> Any:
        for role in guild.roles.values():
            if role.name == ref or str(role.id) == str(ref):
                return role
        raise ApiError(404, 10011, "Unknown Role")

    async def create_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request.match_info["guild"])
        body = await read_json(request)
        perms = P.parse_bits(body.get("permissions") or 0)
        role = self.world.add_role(guild, str(body.get("name") or "new role"), perms)
        return json_response(role.payload(), status=201)

    async def add_member_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request.match_info["guild"])
        member = self.world.member(guild, self._user_id(request.match_info["user"]))
        role = self._role(guild, request.match_info["role"])
        self.world.set_member_roles(guild, member, [*member.roles, role.id])
        return json_response(self.world.member_payload(guild, member))

    async def remove_member_role(self, request: web.Request) -> web.Response:
        guild = self._guild(request.match_info["guild"])
        member = self.world.member(guild, self._user_id(request.match_info["user"]))
        role = self._role(guild, request.match_info["role"])
        self.world.set_member_roles(guild, member, [r for r in member.roles if r != role.id])
        return json_response(self.world.member_payload(guild, member))

    async def ban(self, request: web.Request) -> web.Response:
        guild = self._guild(request.match_info["guild"])
        body = await read_json(request)
        self.world.ban(guild, self._user_id(request.match_info["user"]), body.get("reason"))
        return json_response({"banned": True})

    async def visible_channels(self, request: web.Request) -> web.Response:
        user_id = self._user_id(request.match_info["user"])
        out = [
            self.world.channel_payload(c) | {"permissions": str(self.world.permissions(c, user_id))}
            for c in self.world.channels.values()
            if self.world.can_view(c, user_id)
        ]
        return json_response(out)

    # -- acting as a user ----------------------------------------------------------------------------

    async def post_message(self, request: web.Request) -> web.Response:
        channel = self.world.channel_named(request.match_info["channel"])
        body = await read_json(request)
        author = self._user_id(body.pop("user"))
        files = [
            Attachment(
                self.world.ids.next(),
                str(f["filename"]),
                media_type(str(f["filename"]), f.get("content_type")),
                base64.b64decode(f.get("content_b64") or b""),
            )
            for f in body.pop("files", None) or []
        ]
        msg = post_message(self.world, channel, author, body, files)
        return json_response(self.world.message_payload(msg), status=201)

    async def typing(self, request: web.Request) -> web.Response:
        channel = self.world.channel_named(request.match_info["channel"])
        body = await read_json(request)
        user_id = self._user_id(body["user"])
        self.world.require(channel, user_id, P.SEND_MESSAGES)
        emit_typing(self.world, channel, user_id)
        return json_response({"ok": True})

    async def read_channel(self, request: web.Request) -> web.Response:
        channel = self.world.channel_named(request.match_info["channel"])
        include_deleted = request.query.get("include_deleted") in ("1", "true")
        stored = sorted(self.world.messages.get(channel.id, {}).values(), key=lambda m: m.id)
        return json_response([self._raw(m) for m in stored if include_deleted or not m.deleted])

    def _raw(self, msg: Message) -> Json:
        out = self.world.message_payload(msg)
        out["deleted"] = msg.deleted
        out["history"] = msg.history
        return out

    async def invoke_command(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        user_id = self._user_id(body["user"])
        channel = self.world.channel_named(body["channel"])
        try:
            interaction = self.dc.interactions.invoke_command(
                user_id,
                channel,
                str(body["command"]),
                dict(body.get("options") or {}),
                body.get("application"),
            )
        except ApiError as exc:
            # Discord's error shape, with a message a person can act on (the web client shows it).
            return json_response(exc.body() | {"message": exc.explained()}, status=exc.status)
        return json_response(self.dc.interactions.view(interaction), status=201)

    async def click(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        user_id = self._user_id(body["user"])
        channel = self.world.channel_named(body["channel"])
        message_id = int(body["message_id"])
        try:
            message = self.world.message(channel.id, message_id)
        except ApiError:
            # Components on an ephemeral response can be pressed too, by the one user who sees it.
            found = self.dc.interactions.ephemeral_message(user_id, message_id)
            if found is None:
                raise
            message = found
        interaction = self.dc.interactions.click(user_id, message, str(body["custom_id"]), body.get("values"))
        return json_response(self.dc.interactions.view(interaction), status=201)

    async def get_interaction(self, request: web.Request) -> web.Response:
        interaction = self.dc.interactions.by_id.get(int(request.match_info["interaction_id"]))
        if interaction is None:
            raise unknown(UNKNOWN_INTERACTION, "interaction")
        return json_response(self.dc.interactions.view(interaction))

    async def user_interactions(self, request: web.Request) -> web.Response:
        user_id = self._user_id(request.match_info["user"])
        views = [
            self.dc.interactions.view(i) for i in self.dc.interactions.by_id.values() if i.user_id == user_id
        ]
        return json_response(views)

    # -- rate limits and faults ----------------------------------------------------------------------

    async def ratelimits(self, request: web.Request) -> web.Response:
        limiter = self.dc.limiter
        routes = {name: {"limit": lim.limit, "per": lim.per} for name, lim in limiter.config.routes.items()}
        return json_response(
            {
                "served_429": limiter.served_429,
                "routes": routes,
                "global_per_second": limiter.config.global_per_second,
            }
        )

    async def set_ratelimits(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        config = self.dc.limiter.config
        for name, value in (body.get("routes") or {}).items():
            config.routes[name] = Limit(int(value["limit"]), float(value["per"]))
        if "global_per_second" in body:
            config.global_per_second = int(body["global_per_second"])
        forced = body.get("force_429")
        if forced:
            self.dc.limiter.forced_429.extend([float(forced.get("retry_after", 0.2))] * int(forced["count"]))
        if body.get("reset_counter"):
            self.dc.limiter.served_429 = 0
        return await self.ratelimits(request)

    async def gateway_fault(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        user_id = self._user_id(body["user"])
        action = body.get("action", "drop")
        gateway = self.dc.gateway
        if action == "drop":
            count = await gateway.drop(user_id)
        elif action == "reconnect":
            count = gateway.request_reconnect(user_id)
        elif action == "invalidate":
            count = gateway.invalidate(user_id)
        else:
            raise form_error("action", "BASE_TYPE_CHOICES", "drop, reconnect or invalidate")
        return json_response({"affected": count})

    async def http_fault(self, request: web.Request) -> web.Response:
        body = await read_json(request)
        faults = self.dc.faults
        if "delay_s" in body:
            faults.delay_s = float(body["delay_s"])
            faults.delay_count = int(body.get("delay_count", 1))
        errors = body.get("errors")
        if errors:
            faults.errors.extend([int(errors.get("status", 500))] * int(errors.get("count", 1)))
        return json_response(
            {
                "delay_s": faults.delay_s,
                "delay_count": faults.delay_count,
                "pending_errors": len(faults.errors),
            }
        )

    # -- event feed ----------------------------------------------------------------------------------

    def _record(self, event: Event) -> None:
        self.feed.append(event)
        self._changed.set()
        self._changed = asyncio.Event()

    def _visible(self, user_id: int, after: int) -> list[Json]:
        return [
            {"seq": e.seq, "t": e.name, "d": e.data}
            for e in self.feed
            if e.seq > after and user_id in e.viewers
        ]

    async def poll_events(self, request: web.Request) -> web.Response:
        """Long-poll: events the user can see with seq > `after`, waiting up to `timeout` seconds."""
        user_id = self._user_id(request.query["user"])
        after = int(request.query.get("after", 0))
        timeout = min(float(request.query.get("timeout", 25)), 60.0)
        events = self._visible(user_id, after)
        if not events and timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_for_visible(user_id, after), timeout)
            events = self._visible(user_id, after)
        last = events[-1]["seq"] if events else max(after, 0)
        return json_response({"events": events, "last_seq": last})

    async def _wait_for_visible(self, user_id: int, after: int) -> None:
        while not self._visible(user_id, after):
            await self._changed.wait()

    async def stream_events(self, request: web.Request) -> web.StreamResponse:
        """Websocket: every event the user can see, as JSON text frames, from `after` on."""
        user_id = self._user_id(request.query["user"])
        after = int(request.query.get("after", 0))
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        reader = asyncio.create_task(self._drain_client(ws))
        try:
            while not ws.closed and not reader.done():
                for item in self._visible(user_id, after):
                    await ws.send_str(json.dumps(item))
                    after = item["seq"]
                waiter = asyncio.create_task(self._changed.wait())
                await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
        finally:
            reader.cancel()
        return ws

    @staticmethod
    async def _drain_client(ws: web.WebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is WSMsgType.CLOSE:
                break
