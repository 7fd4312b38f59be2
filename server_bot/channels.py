"""The Discord channels the server-bot manages: the bots-only relay channel, the sessions category, the
per-user session channels and the admin channel.

Visibility is the security boundary, so it is set with explicit overwrites on each channel (Discord does
not inherit a category's overwrites into an existing channel): @everyone denied, then only the people and
bots that need the channel allowed. The server-bot allows ITSELF explicitly on everything it creates, so a
restarted bot still sees them.

Channels and roles are recognised by id, never by name (a look-alike or an obfuscated name must not
match): the ids the bot created are remembered in its database (`bot_settings`); a name is used only to
name what the bot creates.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import discord

from shared.log import get_logger

if TYPE_CHECKING:
    from server_bot.bot import ServerContext

log = get_logger(__name__)

GUILD_CHANNEL_LIMIT = 500
# Kept free for what the bot itself may have to create again (its relay and admin channels).
GUILD_CHANNELS_KEPT_FREE = 2
MAXIMUM_GUILD_CHANNELS = 30013  # Discord's JSON error code

SESSIONS_CATEGORY_ID = "sessions_category_id"
RELAY_CHANNEL_ID = "relay_channel_id"
ADMIN_CHANNEL_ID = "admin_channel_id"

_PARTICIPANT = discord.PermissionOverwrite(
    view_channel=True, send_messages=True, read_message_history=True, attach_files=True
)
_HIDDEN = discord.PermissionOverwrite(view_channel=False)


def _bot_overwrite(*, manage: bool = False) -> discord.PermissionOverwrite:
    return discord.PermissionOverwrite(
        view_channel=True,
        send_messages=True,
        read_message_history=True,
        attach_files=True,
        embed_links=True,
        manage_channels=True if manage else None,
    )


def guild_has_room(channel_count: int, *, needed: int = 2) -> bool:
    """Room for `needed` more channels (a session channel, maybe a new category) besides the kept-free."""
    return channel_count + needed + GUILD_CHANNELS_KEPT_FREE <= GUILD_CHANNEL_LIMIT


async def _remembered(
    ctx: ServerContext, guild: discord.Guild, key: str, name: str, kind: type[discord.abc.GuildChannel]
) -> discord.abc.GuildChannel | None:
    """The channel whose id is remembered under `key`. Before any id is remembered (the first start after
    an upgrade), the one existing channel of that kind and name is adopted and its id remembered."""
    value = await ctx.repo.get_setting(key)
    if value is not None:
        return guild.get_channel(int(value)) if value.isdigit() else None
    named = [c for c in guild.channels if isinstance(c, kind) and c.name == name]
    if len(named) != 1:
        return None
    await ctx.repo.set_setting(key, str(named[0].id))
    return named[0]


def relay_channel_key(number: int) -> str:
    """Where the id of relay channel `number` (1, 2, ...) is remembered; the first keeps its old key."""
    return RELAY_CHANNEL_ID if number == 1 else f"{RELAY_CHANNEL_ID}_{number}"


def relay_channel_name(base: str, number: int) -> str:
    """The name relay channel `number` is created with: `ai-relay`, then `ai-relay-2`, `ai-relay-3`..."""
    return base if number == 1 else f"{base}-{number}"


async def ensure_relay_channels(ctx: ServerContext, guild: discord.Guild) -> list[discord.TextChannel]:
    """The `RELAY_CHANNELS` relay channels (each remembered by id), created if missing, each visible to
    the bots only: the server-bot and every GPU host's client-bot. The first is the control channel.

    The others only add capacity: in a guild near Discord's 500 channels they are not created where that
    would leave no room for a session channel, and the relay runs over fewer (logged)."""
    overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
        guild.default_role: _HIDDEN,
        guild.me: _bot_overwrite(),
    }
    for host_id in ctx.relay.host_ids(ctx.discord.client_bot_user_id):
        host = guild.get_member(host_id) or await guild.fetch_member(host_id)
        overwrites[host] = _bot_overwrite()
    relays = [await _ensure_relay_channel(ctx, guild, 1, overwrites)]
    for number in range(2, ctx.relay.relay_channels + 1):
        try:
            relays.append(await _ensure_relay_channel(ctx, guild, number, overwrites, optional=True))
        except _NoRoom:
            log.warning(
                "guild near its channel limit: relaying over %d of %d relay channels",
                len(relays),
                ctx.relay.relay_channels,
            )
            break
    return relays


class _NoRoom(Exception):
    """An optional relay channel would take the room kept for sessions."""


async def _ensure_relay_channel(
    ctx: ServerContext,
    guild: discord.Guild,
    number: int,
    overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite],
    *,
    optional: bool = False,
) -> discord.TextChannel:
    key = relay_channel_key(number)
    name = relay_channel_name(ctx.discord.relay_channel, number)
    existing = await _remembered(ctx, guild, key, name, discord.TextChannel)
    if isinstance(existing, discord.TextChannel):
        if existing.overwrites != overwrites:
            await existing.edit(overwrites=overwrites, reason="MeatLizard relay: bots only")
        return existing
    if optional and not guild_has_room(len(guild.channels) + 1):
        raise _NoRoom
    log.info("creating relay channel #%s", name)
    try:
        channel = await guild.create_text_channel(
            name, overwrites=overwrites, reason="MeatLizard relay: bots only"
        )
    except discord.HTTPException as exc:
        if optional and exc.code == MAXIMUM_GUILD_CHANNELS:  # channels made by others meanwhile
            raise _NoRoom from exc
        raise
    await ctx.repo.set_setting(key, str(channel.id))
    return channel


async def sessions_category(ctx: ServerContext, guild: discord.Guild) -> discord.CategoryChannel:
    """The first sessions category (remembered by id), created if missing; hidden from @everyone, the bot
    explicitly allowed (else a restarted bot loses sight of the session channels under it). Further
    categories, once this one holds 50 sessions: `server_bot.channel_room`."""
    existing = await _remembered(
        ctx, guild, SESSIONS_CATEGORY_ID, ctx.discord.sessions_category, discord.CategoryChannel
    )
    if isinstance(existing, discord.CategoryChannel):
        overwrites = _sessions_category_overwrites(guild)
        if existing.overwrites.get(guild.me) != overwrites[guild.me]:
            await existing.edit(
                overwrites={**existing.overwrites, **overwrites}, reason="MeatLizard sessions"
            )
        return existing
    category = await create_sessions_category(guild, ctx.discord.sessions_category)
    await ctx.repo.set_setting(SESSIONS_CATEGORY_ID, str(category.id))
    return category


async def create_sessions_category(guild: discord.Guild, name: str) -> discord.CategoryChannel:
    """A new category for session channels (the caller remembers its id)."""
    return await guild.create_category(
        name, overwrites=_sessions_category_overwrites(guild), reason="MeatLizard sessions"
    )


def _sessions_category_overwrites(
    guild: discord.Guild,
) -> dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite]:
    return {guild.default_role: _HIDDEN, guild.me: _bot_overwrite(manage=True)}


async def admin_role(ctx: ServerContext, guild: discord.Guild) -> discord.Role | None:
    """The admin role, by the id the core knows (configured, or recorded at first start)."""
    role_id = await ctx.core.access.admin_role_id()
    return None if role_id is None else guild.get_role(role_id)


async def ensure_admin_role(ctx: ServerContext, guild: discord.Guild) -> None:
    """At start-up, when no admin role id is configured nor recorded yet: adopt the one role carrying the
    admin role's name (first start, set up by the guild owner) or create it, and record its id. From then
    on only that id counts; a role created later with the same name grants nothing."""
    if await ctx.core.access.admin_role_id() is not None:
        return
    named = [role for role in guild.roles if role.name == ctx.discord.admin_role]
    if len(named) > 1:
        log.error(
            "%d roles are named %r: set DISCORD_ADMIN_ROLE_ID to the right one; nobody is admin meanwhile",
            len(named),
            ctx.discord.admin_role,
        )
        return
    role = named[0] if named else await guild.create_role(name=ctx.discord.admin_role, reason="MeatLizard")
    await ctx.core.access.record_admin_role(role.id)
    log.info("admin role recorded by id %s (set DISCORD_ADMIN_ROLE_ID to pin it)", role.id)


async def delete_session_channel(guild: discord.Guild, channel_id: int, reason: str) -> None:
    channel = guild.get_channel(channel_id)
    if channel is None:
        return
    with contextlib.suppress(discord.NotFound):
        await channel.delete(reason=reason)


async def ensure_admin_channel(ctx: ServerContext, guild: discord.Guild) -> discord.TextChannel:
    """The admin channel (remembered by id), created if missing: only the admin role and this bot see it."""
    existing = await _remembered(ctx, guild, ADMIN_CHANNEL_ID, ctx.discord.admin_channel, discord.TextChannel)
    if isinstance(existing, discord.TextChannel):
        return existing
    overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
        guild.default_role: _HIDDEN,
        guild.me: _bot_overwrite(manage=True),
    }
    role = await admin_role(ctx, guild)
    if role is None:
        log.warning("no admin role known: the admin channel is visible to the bot only")
    else:
        overwrites[role] = discord.PermissionOverwrite(
            view_channel=True, send_messages=True, read_message_history=True
        )
    log.info("creating admin channel #%s", ctx.discord.admin_channel)
    channel = await guild.create_text_channel(
        ctx.discord.admin_channel, overwrites=overwrites, reason="MeatLizard admin alerts"
    )
    await ctx.repo.set_setting(ADMIN_CHANNEL_ID, str(channel.id))
    return channel


def session_overwrites(
    guild: discord.Guild, owner: discord.abc.Snowflake, admin_role: discord.Role | None, client_bot_id: int
) -> dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite]:
    """Who may see a session channel: its owner, the AI Admin role and both bots; nobody else."""
    overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
        guild.default_role: _HIDDEN,
        guild.me: _bot_overwrite(manage=True),
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
