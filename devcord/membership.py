"""Guild membership in a devcord world: members joining, leaving and changing roles, bans, and roles
created, edited and deleted, each announced to the guild (and any change of what members may see
announced as channel updates). `World` exposes these as its methods."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from devcord import visibility as V
from devcord.model import Guild, Member, Role

if TYPE_CHECKING:
    from devcord.world import World


def add_member(world: World, guild: Guild, user_id: int, roles: list[int] | None = None) -> Member:
    member = Member(user_id=user_id, guild_id=guild.id, roles=list(roles or []), joined_at=time.time())
    guild.members[user_id] = member
    world.emit(
        "GUILD_MEMBER_ADD",
        world.member_event_payload(guild, member),
        guild_id=guild.id,
        viewers=guild.members,
    )
    return member


def set_member_roles(world: World, guild: Guild, member: Member, roles: list[int]) -> None:
    for role_id in roles:
        world.role(guild, role_id)
    sight = V.snapshot(world, guild.id)
    member.roles = [r for r in dict.fromkeys(roles) if r != guild.id]
    world.emit(
        "GUILD_MEMBER_UPDATE",
        world.member_event_payload(guild, member),
        guild_id=guild.id,
        viewers=world.guild_viewers(guild),
    )
    V.announce_changes(world, sight)


def remove_member(world: World, guild: Guild, user_id: int) -> None:
    viewers = world.guild_viewers(guild)
    guild.members.pop(user_id, None)
    data = {"guild_id": str(guild.id), "user": world.users[user_id].payload()}
    world.emit("GUILD_MEMBER_REMOVE", data, guild_id=guild.id, viewers=viewers)


def ban(world: World, guild: Guild, user_id: int, reason: str | None) -> None:
    user = world.user(user_id)
    guild.bans[user_id] = reason
    viewers = world.guild_viewers(guild)
    if user_id in guild.members:
        world.remove_member(guild, user_id)
    data = {"guild_id": str(guild.id), "user": user.payload()}
    world.emit("GUILD_BAN_ADD", data, guild_id=guild.id, viewers=viewers)


def unban(world: World, guild: Guild, user_id: int) -> None:
    guild.bans.pop(user_id)
    data = {"guild_id": str(guild.id), "user": world.user(user_id).payload()}
    world.emit("GUILD_BAN_REMOVE", data, guild_id=guild.id, viewers=world.guild_viewers(guild))


def add_role(world: World, guild: Guild, name: str, permissions: int, **fields: Any) -> Role:
    position = fields.pop("position", max((r.position for r in guild.roles.values()), default=0) + 1)
    role = Role(world.ids.next(), guild.id, name, permissions, position=position, **fields)
    guild.roles[role.id] = role
    data = {"guild_id": str(guild.id), "role": role.payload()}
    world.emit("GUILD_ROLE_CREATE", data, guild_id=guild.id, viewers=world.guild_viewers(guild))
    return role


def edit_role(world: World, guild: Guild, role: Role, changes: dict[str, Any]) -> None:
    sight = V.snapshot(world, guild.id) if "permissions" in changes else {}
    for key, value in changes.items():
        setattr(role, key, value)
    data = {"guild_id": str(guild.id), "role": role.payload()}
    world.emit("GUILD_ROLE_UPDATE", data, guild_id=guild.id, viewers=world.guild_viewers(guild))
    V.announce_changes(world, sight)


def delete_role(world: World, guild: Guild, role: Role) -> None:
    sight = V.snapshot(world, guild.id)
    del guild.roles[role.id]
    for member in guild.members.values():
        if role.id in member.roles:
            member.roles.remove(role.id)
    data = {"guild_id": str(guild.id), "role_id": str(role.id)}
    world.emit("GUILD_ROLE_DELETE", data, guild_id=guild.id, viewers=world.guild_viewers(guild))
    V.announce_changes(world, sight)
