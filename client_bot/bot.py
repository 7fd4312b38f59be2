"""The client-bot: a discord.py client that only reads the relay channels and answers through them.

It can see nothing else of the guild but what @everyone sees (the server-bot denies it every session
channel). Relay channels are recognised by what the server-bot makes them: named `ai-relay` (the control
channel) or `ai-relay-N`, and hidden from @everyone. A look-alike channel gains nothing: a post there is
sealed, and only the server-bot's authenticated envelopes, whose stream names the channel they were sealed
for, are ever opened.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import discord

from client_bot.engine import Engine
from client_bot.relay import ClientRelay
from shared.config import RESTART_EXIT_CODE, DiscordSettings, RelaySettings
from shared.log import get_logger
from shared.relay_wiring import client_link

log = get_logger(__name__)

ANSWERED_FILE = "answered-requests.txt"


class ClientBot(discord.Client):
    def __init__(
        self,
        discord_settings: DiscordSettings,
        relay_settings: RelaySettings,
        engine: Engine,
        *,
        data_dir: Path | None = None,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.message_content = True  # envelopes travel as message content
        super().__init__(
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=discord_settings.guild_ready_timeout_s,
        )
        self._discord = discord_settings
        self._relay_settings = relay_settings
        self.engine = engine
        self._data_dir = data_dir
        self.relay: ClientRelay | None = None
        # Set by a REBOOT request; `main` exits the process with it once the bot has closed.
        self.exit_code: int | None = None
        self._grace_s = 0.0  # how long requests in hand may take to finish at close
        self._stopping: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        await self.engine.start()

    async def on_ready(self) -> None:
        if self.relay is not None:
            return  # a reconnect: the relay is already running
        self._attach_if_ready()

    async def on_guild_channel_create(self, channel: discord.abc.GuildChannel) -> None:
        self._adopt(channel)

    async def on_guild_channel_update(
        self, _before: discord.abc.GuildChannel, after: discord.abc.GuildChannel
    ) -> None:
        self._adopt(after)  # e.g. the server-bot let this host into an existing relay channel

    def _adopt(self, channel: discord.abc.GuildChannel) -> None:
        if not isinstance(channel, discord.TextChannel) or not self._is_relay_channel(channel):
            return
        if self.relay is None:
            self._attach_if_ready()
        else:
            self.relay.link.add_channel(channel)

    def _attach_if_ready(self) -> None:
        """Start relaying once the control channel is visible (with every other relay channel seen)."""
        found = self._find_relay_channels()
        if not found or found[0].name != self._discord.relay_channel:
            log.warning(
                "no #%s channel visible yet; waiting for the server-bot to create it",
                self._discord.relay_channel,
            )
            return
        self._attach(found)

    def _attach(self, channels: list[discord.TextChannel]) -> None:
        own_id = self.user.id if self.user is not None else self._discord.client_bot_user_id
        link = client_link(channels, self._relay_settings, self._discord.server_bot_user_id, own_id)
        self.relay = ClientRelay(
            link,
            self.engine,
            heartbeat_interval_s=self._relay_settings.relay_heartbeat_interval_s,
            answered_path=None if self._data_dir is None else self._data_dir / ANSWERED_FILE,
        )
        self.relay.on_reboot = self._reboot
        self.relay.start()
        names = ", ".join(f"#{channel.name}" for channel in channels)
        log.info("client-bot ready as %s; relaying in %s", self.user, names)

    async def on_message(self, message: discord.Message) -> None:
        if self.relay is None or message.channel.id not in self.relay.link.channel_ids():
            return
        if self.user is not None and message.author.id == self.user.id:
            return
        if message.author.bot and message.author.id != self._discord.server_bot_user_id:
            return  # another GPU host's post in the shared relay channel; the server-bot audits strangers
        await self.relay.handle(message)

    async def _reboot(self) -> None:
        # The requests in hand are answered: leave cleanly, the supervisor restarts on this exit code.
        self.exit_code = RESTART_EXIT_CODE
        self.stop_soon(grace_s=0.0)

    def stop_soon(self, grace_s: float) -> None:
        """Close from a signal handler (SIGTERM) or a REBOOT: requests in hand get `grace_s` to finish;
        idempotent. The closing task is the bot's (not the relay's, which `close` cancels)."""
        if self._stopping is None:
            self._grace_s = grace_s
            self._stopping = asyncio.create_task(self.close(), name="client-bot:stop")

    async def stopped(self) -> None:
        """Return once a `stop_soon` close (if any) has run to its end."""
        if self._stopping is not None:
            await asyncio.gather(self._stopping, return_exceptions=True)

    async def close(self) -> None:
        if self.relay is not None:
            await self.relay.drain(self._grace_s)
            await self.relay.stop()
        await self.engine.close()
        await super().close()

    def _find_relay_channels(self) -> list[discord.TextChannel]:
        """Every visible relay channel, the control channel (`ai-relay`) first."""
        guild = self.get_guild(self._discord.guild_id)
        if guild is None:
            return []
        found = [c for c in guild.text_channels if self._is_relay_channel(c)]
        return sorted(found, key=lambda c: (c.name != self._discord.relay_channel, c.id))

    def _is_relay_channel(self, channel: discord.TextChannel) -> bool:
        base = self._discord.relay_channel
        number = channel.name.removeprefix(f"{base}-")
        named = channel.name == base or (number != channel.name and number.isascii() and number.isdigit())
        private = channel.overwrites_for(channel.guild.default_role).view_channel is False
        return channel.guild.id == self._discord.guild_id and named and private

    async def gateway_health(self) -> tuple[bool, str]:
        if self.is_closed() or not self.is_ready():
            return False, "not connected"
        return True, f"latency {self.latency * 1000:.0f} ms"

    async def model_health(self) -> tuple[bool, str]:
        return (True, self.engine.model_name) if self.engine.loaded else (False, "model not loaded")
