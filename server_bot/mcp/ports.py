"""What the MCP front needs beyond the core, as Protocols: the Discord front's few facts and actions,
and the relay's host report. The server-bot passes the real ones (`discord_front.BotDiscordFront`,
`server_bot.relay.RelayHub`); nothing here imports discord.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BotPermissions:
    """One bot's guild permissions (discord.py names), or None when the bot is not in the guild."""

    bot: str  # "server" or "client"
    granted: frozenset[str] | None


class DiscordFront(Protocol):
    async def member_role_ids(self, user_id: int) -> frozenset[int]:
        """The user's role ids in the guild (empty when not a member); admin checks use these."""
        ...

    def bot_permissions(self) -> list[BotPermissions]:
        """What each bot (server, client) is granted in the guild."""
        ...

    async def post_to_channel(self, channel_id: int, text: str) -> int:
        """Post `text` as the server-bot with every mass mention neutralised and no pings; the message id.

        Raises `PostFailed` when Discord refuses or the channel is gone."""
        ...


class PostFailed(Exception):
    """The Discord front could not post the message (gone channel, Discord error); says which, no text."""


class HostReport(Protocol):
    @property
    def model(self) -> str: ...
    @property
    def queue_depth(self) -> int: ...
    @property
    def tokens_per_s(self) -> float: ...


class RelayReport(Protocol):
    """The relay as the admin tools read it (the core does not report hosts)."""

    @property
    def client(self) -> HostReport | None: ...
    @property
    def in_flight(self) -> int: ...
    def client_online(self) -> bool: ...
