"""Who sees which channel, and how the others see it ("Permissions > Channel Visibility"; change log
"Channel Obfuscation for Users and Bots").

Over the Gateway every guild channel is dispatched to every member; one the member cannot view is
obfuscated: named `___hidden___`, its sensitive fields nulled, the CHANNEL_OBFUSCATED flag set and its
overwrites replaced by a single @everyone VIEW_CHANNEL deny. A category is viewable when it or any of its
children is. The REST API omits channels the caller cannot view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from devcord import permissions as P
from devcord.model import DM, GUILD_CATEGORY, Channel, Json

if TYPE_CHECKING:
    from devcord.world import World

OBFUSCATED_NAME = "___hidden___"
CHANNEL_OBFUSCATED = 1 << 17


def visible(world: World, channel: Channel, user_id: int) -> bool:
    if world.can_view(channel, user_id):
        return True
    if channel.type != GUILD_CATEGORY or channel.guild_id is None:
        return False
    children = (world.channels[c] for c in world.guilds[channel.guild_id].channel_ids)
    return any(c.parent_id == channel.id and world.can_view(c, user_id) for c in children)


def sighted(world: World, channel: Channel) -> frozenset[int]:
    """Members who see `channel` in full."""
    if channel.type == DM or channel.guild_id is None:
        return frozenset(channel.recipients)
    return frozenset(u for u in world.guilds[channel.guild_id].members if visible(world, channel, u))


def obfuscated(channel: Channel) -> Json:
    out = channel.payload()
    out.update(
        name=OBFUSCATED_NAME,
        nsfw=False,
        flags=CHANNEL_OBFUSCATED,
        permission_overwrites=[
            {"id": str(channel.guild_id), "type": 0, "allow": "0", "deny": str(P.VIEW_CHANNEL)}
        ],
    )
    for key in ("topic", "last_message_id"):
        if key in out:
            out[key] = None
    return out


def channel_view(world: World, channel: Channel, user_id: int) -> Json:
    return world.channel_payload(channel) if visible(world, channel, user_id) else obfuscated(channel)


def emit_channel(world: World, name: str, channel: Channel, full: frozenset[int]) -> None:
    """Send `name` in full to `full` and obfuscated to every other member of the guild."""
    if channel.guild_id is None:
        return
    everyone = frozenset(world.guilds[channel.guild_id].members)
    if full:
        world.emit(name, world.channel_payload(channel), guild_id=channel.guild_id, viewers=full)
    if everyone - full:
        world.emit(name, obfuscated(channel), guild_id=channel.guild_id, viewers=everyone - full)


Sight = dict[int, frozenset[int]]


def snapshot(world: World, guild_id: int | None, *, categories_only: bool = False) -> Sight:
    """Who sees each channel of the guild in full, to compare after a change."""
    if guild_id is None or guild_id not in world.guilds:
        return {}
    channels = (world.channels[c] for c in world.guilds[guild_id].channel_ids)
    return {c.id: sighted(world, c) for c in channels if not categories_only or c.type == GUILD_CATEGORY}


def announce_changes(world: World, before: Sight, *, skip: int | None = None) -> None:
    """After a change (overwrites, roles, a child added or removed), tell each member whose sight of a
    channel changed: a full CHANNEL_UPDATE to who gained it, an obfuscated one to who lost it."""
    for channel_id, was in before.items():
        channel = world.channels.get(channel_id)
        if channel is None or channel_id == skip:
            continue
        now = sighted(world, channel)
        if now - was:
            world.emit(
                "CHANNEL_UPDATE", world.channel_payload(channel), guild_id=channel.guild_id, viewers=now - was
            )
        if was - now:
            world.emit("CHANNEL_UPDATE", obfuscated(channel), guild_id=channel.guild_id, viewers=was - now)
