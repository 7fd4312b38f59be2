"""The server-bot: slash commands, private session channels, and the relay to the client-bot."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.ext import commands

from server_bot import channels
from server_bot.alert_poster import AdminChannelPoster
from server_bot.command_tree import AuditedCommandTree
from server_bot.core import Core
from server_bot.db.repository import Repository
from server_bot.fallback import FallbackResponder
from server_bot.lifecycle import AuditWatcher, SecurityAlerts
from server_bot.moderation import Moderator
from server_bot.objects import ObjectStore
from server_bot.ratelimit import RateLimiter
from server_bot.relay import RelayHub
from server_bot.relay.wiring import attach_relay
from server_bot.reply_writer import LatestReplies
from shared.audit import AuditLog
from shared.config import ChatSettings, DiscordSettings, RelaySettings, ServerBotSettings, StorageSettings
from shared.gateway_health import gateway_check
from shared.log import get_logger

log = get_logger(__name__)

EXTENSIONS = (
    "server_bot.exts.relay",
    "server_bot.exts.chat",
    "server_bot.exts.safety",
    "server_bot.exts.admin",
    "server_bot.exts.help",
)


@dataclass(frozen=True)
class ServerContext:
    """Everything the extensions share, opened once in `main()` and handed in. Cogs call `core`; the rest
    is for Discord-only work (channels, the relay listener, admin status)."""

    core: Core
    discord: DiscordSettings
    relay: RelaySettings
    server: ServerBotSettings
    chat: ChatSettings
    storage: StorageSettings
    repo: Repository
    objects: ObjectStore
    limiter: RateLimiter
    moderator: Moderator | None
    audit: AuditLog
    hub: RelayHub
    fallback: FallbackResponder = field(default_factory=FallbackResponder)


class ServerBot(commands.Bot):
    def __init__(self, ctx: ServerContext) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.message_content = True  # prompts in session channels and envelopes in the relay channel
        intents.members = True  # session channels name their owner; bans close sessions
        intents.moderation = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            guild_ready_timeout=ctx.discord.guild_ready_timeout_s,
            tree_cls=AuditedCommandTree,
        )
        self.ctx = ctx
        if isinstance(self.tree, AuditedCommandTree):
            self.tree.audit = ctx.audit
        # Which reply in each session channel still carries a Regenerate button.
        self.latest_replies = LatestReplies()
        self._ready_once = False
        # Set by `exit_with`; `main` exits the process with it once the bot has closed.
        self.exit_code: int | None = None
        # Security alerts (auth refusals, refused envelopes, suspensions) to the admin channel: one per
        # kind per window, the rest counted into the next (docs/security.md).
        self.alert_poster = AdminChannelPoster(self)
        self.alerts = SecurityAlerts(self.alert_poster, per_window=1)
        ctx.audit.add_sink(AuditWatcher(self.alerts))
        self._grace_s = 0.0  # how long replies being written may take to finish at close
        self._stopping: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)

    async def on_ready(self) -> None:
        if self._ready_once:
            return
        self._ready_once = True
        guild = self.get_guild(self.ctx.discord.guild_id)
        if guild is None:
            log.error("the server-bot is not in guild %s (DISCORD_GUILD_ID)", self.ctx.discord.guild_id)
            return
        await channels.ensure_admin_role(self.ctx, guild)
        await self._attach_relay(guild)
        await self._sync_commands_if_changed(guild)
        # Prompts the previous run accepted but never answered: their users are told, once.
        interrupted = await self.ctx.core.start()
        if interrupted:
            log.info("told %d users that a restart interrupted their prompt", len(interrupted))
        # The relay is attached: prompts posted while down can be answered (not those just told of).
        self.dispatch("chat_ready", frozenset(n.channel_id for n in interrupted if n.channel_id is not None))
        log.info("server-bot ready as %s in %s", self.user, guild.name)

    async def _attach_relay(self, guild: discord.Guild) -> None:
        relays = await channels.ensure_relay_channels(self.ctx, guild)
        await attach_relay(self.ctx.hub, relays, self.ctx.discord, self.ctx.relay, audit=self.ctx.audit)

    async def _sync_commands_if_changed(self, guild: discord.Guild) -> None:
        """Sync slash commands only when they differ from what Discord has (syncing is rate limited)."""
        self.tree.copy_global_to(guild=guild)
        local = [dict(command.to_dict(self.tree)) for command in self.tree.get_commands(guild=guild)]
        remote = [dict(command.to_dict()) for command in await self.tree.fetch_commands(guild=guild)]
        if _comparable(local) == _comparable(remote):
            return
        await self.tree.sync(guild=guild)
        log.info("synced %d slash commands to %s", len(local), guild.name)

    async def gateway_health(self) -> tuple[bool, str]:
        return await gateway_check(self)()

    async def exit_with(self, code: int) -> None:
        """Close the bot; the process then exits with `code` (`RESTART_EXIT_CODE` asks for a restart)."""
        self.exit_code = code
        await self.close()

    def stop_soon(self, grace_s: float) -> None:
        """Close from a signal handler (SIGTERM): replies being written get `grace_s` to finish, prompts
        arriving meanwhile are refused with "server restarted"; idempotent. The task is the bot's."""
        if self._stopping is None:
            log.info("stopping: replies in progress get %.0f s to finish", grace_s)
            self._grace_s = grace_s
            self._stopping = asyncio.create_task(self.close(), name="server-bot:stop")

    async def stopped(self) -> None:
        """Return once a `stop_soon` close (if any) has run to its end."""
        if self._stopping is not None:
            await asyncio.gather(self._stopping, return_exceptions=True)

    async def close(self) -> None:
        try:
            await self.ctx.core.aclose(grace_s=self._grace_s)
        except TimeoutError:
            log.warning("replies in progress did not end in time at shutdown")
        await self.ctx.hub.close()
        await self.alert_poster.aclose()
        if isinstance(self.tree, AuditedCommandTree):
            await self.tree.drain()
        log.info("closing the Discord connection")
        await super().close()


_COMPARED_KEYS = ("name", "description", "type", "required", "choices", "min_value", "max_value", "options")


def _comparable(commands_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parts of command definitions a user sees, in a stable order, for change detection."""

    def project(item: dict[str, Any]) -> dict[str, Any]:
        kept = {key: item[key] for key in _COMPARED_KEYS if item.get(key) not in (None, [], False)}
        if "options" in kept:
            kept["options"] = [project(option) for option in kept["options"]]
        kept.setdefault("type", 1)
        return kept

    return sorted((project(c) for c in commands_), key=lambda c: (c["name"], c["type"]))
