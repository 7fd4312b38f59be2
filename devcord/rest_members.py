"""Guild members, roles and bans (Discord's Guild resource), served under /api/v10."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from devcord import forms as F
from devcord import intents as I
from devcord import limits as L
from devcord import permissions as P
from devcord.errors import UNKNOWN_BAN, ApiError, missing_access, missing_permissions
from devcord.http import int_query, json_response, no_content, read_json
from devcord.http import snowflake_param as _id
from devcord.model import Guild

if TYPE_CHECKING:
    from devcord.rest import DiscordApi


class MembersApi:
    def __init__(self, api: DiscordApi) -> None:
        self.api = api
        self.world = api.world

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/guilds/{guild_id}/members", self.list_members),
            web.get("/guilds/{guild_id}/members/{user_id}", self.get_member),
            web.patch("/guilds/{guild_id}/members/{user_id}", self.edit_member),
            web.delete("/guilds/{guild_id}/members/{user_id}", self.kick_member),
            web.put("/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.add_member_role),
            web.delete("/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.remove_member_role),
            web.get("/guilds/{guild_id}/roles", self.list_roles),
            web.post("/guilds/{guild_id}/roles", self.create_role),
            web.patch("/guilds/{guild_id}/roles/{role_id}", self.edit_role),
            web.delete("/guilds/{guild_id}/roles/{role_id}", self.delete_role),
            web.get("/guilds/{guild_id}/bans", self.list_bans),
            web.get("/guilds/{guild_id}/bans/{user_id}", self.get_ban),
            web.put("/guilds/{guild_id}/bans/{user_id}", self.put_ban),
            web.delete("/guilds/{guild_id}/bans/{user_id}", self.delete_ban),
        ]

    async def list_members(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        if not self.api.app(request).privileged_intents & I.GUILD_MEMBERS:
            raise missing_access()
        limit = max(1, min(int_query(request, "limit", 1), 1000))
        after = int_query(request, "after", 0)
        members = sorted((m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id)
        return json_response([self.world.member_payload(guild, m) for m in members[:limit]])

    async def get_member(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        member = self.world.member(guild, _id(request, "user_id"))
        return json_response(self.world.member_payload(guild, member))

    def _manageable(self, request: web.Request, guild: Guild, needed: int, target_position: int) -> int:
        """MANAGE_ROLES-style actions also need the target below the bot's highest role."""
        me = self.api.me(request)
        perms = self.world.require_guild(guild, me, needed)
        if me != guild.owner_id and target_position >= self.world.highest_role_position(guild, me):
            raise missing_permissions()
        return perms

    async def edit_member(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        member = self.world.member(guild, _id(request, "user_id"))
        body = await read_json(request)
        if "roles" in body:
            raw = F.optional(body, "roles", F.array) or []
            roles = [F.snowflake(r, f"roles.{i}") for i, r in enumerate(raw)]
            changed = set(roles) ^ set(member.roles)
            top = max((self.world.role(guild, r).position for r in changed), default=-1)
            self._manageable(request, guild, P.MANAGE_ROLES, top)
            self.world.set_member_roles(guild, member, roles)
        if "nick" in body:
            nick = F.optional(body, "nick", F.string)
            self.world.require_guild(guild, self.api.me(request), P.MANAGE_NICKNAMES)
            member.nick = nick or None
            self.world.set_member_roles(guild, member, member.roles)
        return json_response(self.world.member_payload(guild, member))

    async def kick_member(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        user_id = _id(request, "user_id")
        self.world.member(guild, user_id)
        self._manageable(request, guild, P.KICK_MEMBERS, self.world.highest_role_position(guild, user_id))
        self.world.remove_member(guild, user_id)
        return no_content()

    async def add_member_role(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        member = self.world.member(guild, _id(request, "user_id"))
        role = self.world.role(guild, _id(request, "role_id"))
        self._manageable(request, guild, P.MANAGE_ROLES, role.position)
        if role.id not in member.roles:
            self.world.set_member_roles(guild, member, [*member.roles, role.id])
        return no_content()

    async def remove_member_role(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        member = self.world.member(guild, _id(request, "user_id"))
        role = self.world.role(guild, _id(request, "role_id"))
        self._manageable(request, guild, P.MANAGE_ROLES, role.position)
        if role.id in member.roles:
            self.world.set_member_roles(guild, member, [r for r in member.roles if r != role.id])
        return no_content()

    async def list_roles(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        return json_response([r.payload() for r in guild.roles.values()])

    async def create_role(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        perms = self.world.require_guild(guild, self.api.me(request), P.MANAGE_ROLES)
        body = await read_json(request)
        fields = _role_fields(body)
        wanted = fields.pop("permissions", None)
        wanted = guild.everyone.permissions if wanted is None else wanted
        if wanted & ~perms:
            raise missing_permissions()
        L.check_new_role(len(guild.roles))
        role = self.world.add_role(
            guild,
            fields.pop("name", None) or "new role",
            wanted,
            color=fields.get("color") or 0,
            hoist=bool(fields.get("hoist")),
            mentionable=bool(fields.get("mentionable")),
            position=1,
        )
        return json_response(role.payload())

    async def edit_role(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        role = self.world.role(guild, _id(request, "role_id"))
        perms = self._manageable(request, guild, P.MANAGE_ROLES, role.position)
        body = await read_json(request)
        changes = {key: value for key, value in _role_fields(body).items() if value is not None}
        if changes.get("permissions", 0) & ~perms:
            raise missing_permissions()
        self.world.edit_role(guild, role, changes)
        return json_response(role.payload())

    async def delete_role(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        role = self.world.role(guild, _id(request, "role_id"))
        self._manageable(request, guild, P.MANAGE_ROLES, role.position)
        self.world.delete_role(guild, role)
        return no_content()

    async def list_bans(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        self.world.require_guild(guild, self.api.me(request), P.BAN_MEMBERS)
        return json_response(
            [{"user": self.world.users[u].payload(), "reason": reason} for u, reason in guild.bans.items()]
        )

    async def get_ban(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        self.world.require_guild(guild, self.api.me(request), P.BAN_MEMBERS)
        user_id = _id(request, "user_id")
        if user_id not in guild.bans:
            raise ApiError(404, UNKNOWN_BAN, "Unknown Ban")
        return json_response({"user": self.world.users[user_id].payload(), "reason": guild.bans[user_id]})

    async def put_ban(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        user_id = _id(request, "user_id")
        self.world.user(user_id)
        self._manageable(request, guild, P.BAN_MEMBERS, self.world.highest_role_position(guild, user_id))
        reason = request.headers.get("X-Audit-Log-Reason")
        self.world.ban(guild, user_id, reason)
        return no_content()

    async def delete_ban(self, request: web.Request) -> web.Response:
        guild = self.api._guild(request)
        self.world.require_guild(guild, self.api.me(request), P.BAN_MEMBERS)
        user_id = _id(request, "user_id")
        if user_id not in guild.bans:
            raise ApiError(404, UNKNOWN_BAN, "Unknown Ban")
        self.world.unban(guild, user_id)
        return no_content()


def _role_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The role fields present in `body`, type-checked ("Create Guild Role" JSON params); null values
    stay None (Discord keeps the old or default value for them)."""
    readers: dict[str, Any] = {
        "name": F.string,
        "permissions": F.snowflake,  # a bitfield as a string of digits, or a number
        "color": F.integer,
        "hoist": F.boolean,
        "mentionable": F.boolean,
    }
    return {key: F.optional(body, key, reader) for key, reader in readers.items() if key in body}
