"""The Discord channels the server-bot manages: the bots-only relay channel and per-user session channels.

Visibility is the security boundary, so it is set with explicit overwrites on each channel (Discord does
not inherit a category's overwrites into an existing channel): @everyone denied, then only the people and
bots that need the channel allowed.
"""

from __future__ import annotations

import discord

from shared.log import get_logger

log = get_logger(__name__)

_PARTICIPANT = discord.PermissionOverwrite(
    view_channel=True, send_messages=True, read_message_history=True, attach_files=True
)
_HIDDEN = discord.PermissionOverwrite(view_channel=False)


def _bot_overwrite() -> discord.PermissionOverwrite:
    return discord.PermissionOverwrite(
        view_channel=True, send_messages=True, read_message_history=True, attach_files=True, embed_links=True
    )


async def ensure_relay_channel(guild: discord.Guild, name: str, client_bot_id: int) -> discord.TextChannel:
    """The relay channel, created if missing, visible to the two bots only."""
    me = guild.me
    client_bot = guild.get_member(client_bot_id) or await guild.fetch_member(client_bot_id)
    overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
        guild.default_role: _HIDDEN,
        me: _bot_overwrite(),
        client_bot: _bot_overwrite(),
    }
    existing = discord.utils.get(guild.text_channels, name=name)
    if existing is not None:
        if existing.overwrites != overwrites:
            await existing.edit(overwrites=overwrites, reason="MeatLizard relay: bots only")
        return existing
    log.info("creating relay channel #%s", name)
    return await guild.create_text_channel(name, overwrites=overwrites, reason="MeatLizard relay: bots only")


async def ensure_category(guild: discord.Guild, name: str) -> discord.CategoryChannel:
    existing = discord.utils.get(guild.categories, name=name)
    if existing is not None:
        return existing
    return await guild.create_category(
        name, overwrites={guild.default_role: _HIDDEN}, reason="MeatLizard sessions"
    )


def session_overwrites(
    guild: discord.Guild, owner: discord.abc.Snowflake, admin_role: discord.Role | None, client_bot_id: int
) -> dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite]:
    """Who may see a session channel: its owner, the AI Admin role and both bots; nobody else."""
    overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
        guild.default_role: _HIDDEN,
        guild.me: _bot_overwrite(),
        discord.Object(id=client_bot_id, type=discord.Member): _HIDDEN,  # least privilege: relay only
        discord.Object(id=owner.id, type=discord.Member): _PARTICIPANT,
    }
    if admin_role is not None:
        overwrites[admin_role] = _PARTICIPANT
    return overwrites


async def create_session_channel(
    guild: discord.Guild,
    category: discord.CategoryChannel,
    owner: discord.Member,
    admin_role: discord.Role | None,
    client_bot_id: int,
) -> discord.TextChannel:
    name = f"chat-{owner.name}"[:100]
    return await guild.create_text_channel(
        name,
        category=category,
        overwrites=session_overwrites(guild, owner, admin_role, client_bot_id),
        topic=f"Private AI chat of {owner.display_name}",
        reason="MeatLizard chat session",
    )
