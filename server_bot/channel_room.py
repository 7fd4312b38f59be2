"""Room for session channels within Discord's limits: 50 channels per category, 500 per guild (categories
included). Past 50 sessions, channels overflow into further categories the bot creates and remembers by
id (`bot_settings`, never recognised by name); when the guild is near 500, `/chat start` is refused with a
clear message instead of failing on Discord's error.

`SessionChannels` is one per bot: it serialises placing, so two `/chat start`s at once cannot both take a
category's 50th place, and it counts channels it created that the gateway has not reported yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import discord

from server_bot import channels
from server_bot.channels import MAXIMUM_GUILD_CHANNELS, guild_has_room
from server_bot.errors import ChatError
from shared.log import get_logger

if TYPE_CHECKING:
    from server_bot.bot import ServerContext

log = get_logger(__name__)

CATEGORY_CHANNEL_LIMIT = 50
SESSIONS_CATEGORY_IDS = "sessions_category_ids"  # every sessions category the bot made, in order

GUILD_FULL = (
    "This server is close to Discord's limit of 500 channels, so a new private chat cannot be opened "
    "right now. Please try again later, or ask an admin to make room."
)


class GuildChannelsFull(ChatError):
    def __init__(self) -> None:
        super().__init__(GUILD_FULL)


def first_with_room(counts: Sequence[tuple[int, int]], limit: int = CATEGORY_CHANNEL_LIMIT) -> int | None:
    """The first category id, of `(id, channels in it)` in the bot's order, with room for one more."""
    return next((category_id for category_id, count in counts if count < limit), None)


class SessionChannels:
    def __init__(self, ctx: ServerContext) -> None:
        self._ctx = ctx
        self._placing = asyncio.Lock()
        self._unseen: dict[int, int] = {}  # created channel id -> its category id, until the cache has it

    def check_room(self, guild: discord.Guild) -> None:
        """`GuildChannelsFull` when the guild is near its 500 channels."""
        if not guild_has_room(self._guild_count(guild)):
            log.warning("guild %s is near its channel limit: /chat start refused", guild.id)
            raise GuildChannelsFull()

    async def create(
        self, guild: discord.Guild, owner: discord.Member, admin_role: discord.Role | None
    ) -> discord.TextChannel:
        """The owner's new session channel, in the first of the bot's categories with room."""
        async with self._placing:
            self._forget_seen(guild)
            self.check_room(guild)
            category = await self._category_with_room(guild)
            try:
                channel = await channels.create_session_channel(
                    guild, category, owner, admin_role, self._ctx.discord.client_bot_user_id
                )
            except discord.HTTPException as exc:
                if exc.code == MAXIMUM_GUILD_CHANNELS:  # channels made by others since the check
                    raise GuildChannelsFull() from exc
                raise
            self._unseen[channel.id] = category.id
            return channel

    async def _category_with_room(self, guild: discord.Guild) -> discord.CategoryChannel:
        owned = await self._owned(guild)
        counts = [(category.id, self._category_count(category)) for category in owned]
        chosen = first_with_room(counts)
        if chosen is not None:
            return next(category for category in owned if category.id == chosen)
        name = self._ctx.discord.sessions_category
        if owned:
            name = f"{name} {len(owned) + 1}"
        log.info("every sessions category is full: creating %r", name)
        category = await channels.create_sessions_category(guild, name)
        await self._remember([*owned, category])
        return category

    async def _owned(self, guild: discord.Guild) -> list[discord.CategoryChannel]:
        """The bot's sessions categories that still exist, the first (kept under its old key) first."""
        value = await self._ctx.repo.get_setting(SESSIONS_CATEGORY_IDS)
        if value is None:
            first = await channels.sessions_category(self._ctx, guild)
            await self._remember([first])
            return [first]
        found = [guild.get_channel(int(part)) for part in value.split(",") if part.isdigit()]
        owned = [category for category in found if isinstance(category, discord.CategoryChannel)]
        if not owned:  # every category was deleted by hand: the first is made again
            first = await channels.sessions_category(self._ctx, guild)
            await self._remember([first])
            return [first]
        return owned

    async def _remember(self, categories: list[discord.CategoryChannel]) -> None:
        await self._ctx.repo.set_setting(SESSIONS_CATEGORY_IDS, ",".join(str(c.id) for c in categories))

    def _forget_seen(self, guild: discord.Guild) -> None:
        for channel_id in [cid for cid in self._unseen if guild.get_channel(cid) is not None]:
            del self._unseen[channel_id]

    def _category_count(self, category: discord.CategoryChannel) -> int:
        cached = {channel.id for channel in category.channels}
        unseen = {cid for cid, parent in self._unseen.items() if parent == category.id}
        return len(cached | unseen)

    def _guild_count(self, guild: discord.Guild) -> int:
        cached = {channel.id for channel in guild.channels}
        return len(cached | set(self._unseen))
