"""Discord's permission arithmetic ("Permissions > Permission Overwrites"), on REST payloads."""

from __future__ import annotations

from typing import Any

ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
READ_MESSAGE_HISTORY = 1 << 16
ALL = (1 << 53) - 1


def base_permissions(guild_id: str, roles: list[dict[str, Any]], member_role_ids: list[str]) -> int:
    """A member's guild-wide permissions: @everyone's plus every role's; Administrator means all."""
    by_id = {str(r["id"]): int(r["permissions"]) for r in roles}
    value = by_id.get(str(guild_id), 0)
    for role_id in member_role_ids:
        value |= by_id.get(str(role_id), 0)
    return ALL if value & ADMINISTRATOR else value


def channel_permissions(
    base: int, guild_id: str, channel: dict[str, Any], member_id: str, member_role_ids: list[str]
) -> int:
    """Apply the channel's overwrites in Discord's order: @everyone, then roles together, then the member."""
    if base & ADMINISTRATOR or base == ALL:
        return ALL
    overwrites = {str(o["id"]): o for o in channel.get("permission_overwrites") or []}
    value = base
    everyone = overwrites.get(str(guild_id))
    if everyone:
        value = (value & ~int(everyone["deny"])) | int(everyone["allow"])
    allow = deny = 0
    for role_id in member_role_ids:
        overwrite = overwrites.get(str(role_id))
        if overwrite and int(overwrite.get("type", 0)) == 0:
            allow |= int(overwrite["allow"])
            deny |= int(overwrite["deny"])
    value = (value & ~deny) | allow
    own = overwrites.get(str(member_id))
    if own and int(own.get("type", 1)) == 1:
        value = (value & ~int(own["deny"])) | int(own["allow"])
    return value
