"""`/ai-admin`: status, switches, session transfer, metrics, backups, restarts and a permission check.

The commands live here; what they report (and the metrics sampler) in `reports`.

Only members holding the admin role may use it. The core decides, by role id (`DISCORD_ADMIN_ROLE_ID`, or
the id recorded at first start), on every invocation, from the member's role ids Discord sends with the
interaction: the command is not hidden with `default_member_permissions`, because a guild can change
those, and the check must not depend on it. Anyone else is told so (ephemerally) and the refusal is
audited.

Every reply is ephemeral, neutralises mass mentions and pings nobody.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from server_bot.actors import actor_of
from server_bot.backup import BackupError, backup_database, backup_transcripts
from server_bot.bot import ServerBot, ServerContext
from server_bot.command_tree import command_code
from server_bot.core import Actor, NotAdmin, SessionAlreadyOpen
from server_bot.errors import ChatError, RelayUnavailable
from server_bot.exts.admin import reports
from server_bot.metrics_chart import KINDS, period, render_png, summarise
from shared import protocol
from shared.audit import AuditLevel
from shared.config import RESTART_EXIT_CODE
from shared.log import get_logger
from shared.mentions import NO_PINGS, neutralise_mentions
from shared.tasks import spawn

log = get_logger(__name__)


ExitFunction = Callable[[int], Coroutine[Any, Any, None]]


class Admin(commands.Cog):
    ai_admin = app_commands.Group(
        name="ai-admin", description="Run the AI chat (AI Admins only)", guild_only=True
    )

    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot
        self.ctx: ServerContext = bot.ctx
        self.started = time.monotonic()
        # How the server-bot leaves for a restart; tests put a recorder here.
        self.exit: ExitFunction = bot.exit_with
        self._sampler: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self._sampler = spawn(reports.sample_client_forever(self.ctx), name="admin:metrics-sampler")

    async def cog_unload(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()

    # ---- commands -------------------------------------------------------------------------------

    @ai_admin.command(name="status", description="Client-bot, sessions, queue and speed at a glance")
    async def status(self, interaction: discord.Interaction) -> None:
        await self._require_admin(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await _reply(interaction, await reports.status_text(self.ctx, self.started))

    @ai_admin.command(
        name="toggle", description="Pause new chats and prompts, or switch offline fallback replies"
    )
    @app_commands.describe(setting="requests: pause/resume new chats and prompts; fallback: offline replies")
    async def toggle(
        self, interaction: discord.Interaction, setting: Literal["requests", "fallback"]
    ) -> None:
        admin = await self._require_admin(interaction)
        access = self.ctx.core.access
        if setting == "requests":
            paused = not await access.paused()
            await access.set_paused(admin, paused)
            text = (
                "New chats and prompts are **paused**; replies already being written finish."
                if paused
                else "New chats and prompts are **accepted** again."
            )
        else:
            enabled = not await access.fallback_enabled()
            await access.set_fallback(admin, enabled)
            text = f"Fallback replies while the AI host is offline: **{'on' if enabled else 'off'}**."
        log.info("admin %s toggled %s", admin.user_id, setting)
        await _reply(interaction, text)

    @ai_admin.command(name="transfer", description="Give a chat session to another member")
    @app_commands.describe(session="The session's channel", new_owner="The member who gets it")
    async def transfer(
        self, interaction: discord.Interaction, session: discord.TextChannel, new_owner: discord.Member
    ) -> None:
        user = new_owner
        admin = await self._require_admin(interaction)
        if user.bot:
            raise ChatError("A chat session can only belong to a person.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        info = await self.ctx.core.sessions.by_channel(session.id)
        if info is None or not info.is_open:
            raise ChatError(f"{session.mention} is not an open chat session.")
        old_owner = info.owner_id
        try:
            # The channel's new permissions follow from the core's SessionTransferred notice.
            await self.ctx.core.sessions.transfer(admin, info.id, user.id)
        except SessionAlreadyOpen:
            raise ChatError(f"{user.mention} already has an open chat session.") from None
        log.info("session %s transferred from %s to %s", info.id, old_owner, user.id)
        await _reply(
            interaction, f"{session.mention} now belongs to {user.mention}; <@{old_owner}> lost access."
        )

    @ai_admin.command(name="metrics", description="Requests, tokens/s and client-bot uptime as a chart")
    @app_commands.describe(window="How far back to look")
    async def metrics(self, interaction: discord.Interaction, window: Literal["24h", "7d", "30d"]) -> None:
        await self._require_admin(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        chosen = period(window)
        end = datetime.now(UTC)
        start = end - chosen.length
        samples = await self.ctx.repo.metric_samples(start, end, KINDS)
        summary = summarise(samples, start, chosen)
        png = await asyncio.to_thread(render_png, summary)
        await interaction.followup.send(
            neutralise_mentions(summary.describe()),
            file=discord.File(io.BytesIO(png), filename=f"metrics-{window}.png"),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @ai_admin.command(name="backup", description="Back up the database, or save every missing transcript")
    @app_commands.describe(target="database: a compressed dump to the object store; transcripts: fill gaps")
    async def backup(
        self, interaction: discord.Interaction, target: Literal["database", "transcripts"]
    ) -> None:
        await self._require_admin(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if target == "transcripts":
            saved = await backup_transcripts(self.ctx.repo, self.ctx.objects)
            await _reply(
                interaction, f"Transcripts: {saved} missing transcripts saved; every ended session has one."
            )
            return
        try:
            done = await backup_database(
                self.ctx.storage.database_url, self.ctx.objects, pg_dump=self.ctx.server.pg_dump
            )
        except BackupError as exc:
            raise ChatError(f"The backup failed: {exc}") from exc
        text = (
            f"Database backup stored as `{done.key}` ({done.size_bytes} bytes).\n"
            f"Restore (bot stopped): `{done.restore_command}` — see docs/admin.md."
        )
        if self.ctx.objects.links_are_shareable:
            ttl = self.ctx.storage.transcript_link_ttl_s
            text += f"\nDownload (valid {ttl // 60} min): {await self.ctx.objects.link(done.key, ttl)}"
        await _reply(interaction, text)

    @ai_admin.command(name="reboot", description="Restart a bot after it finishes its current work")
    @app_commands.describe(target="Which bot to restart")
    async def reboot(
        self, interaction: discord.Interaction, target: Literal["client-bot", "server-bot"]
    ) -> None:
        admin = await self._require_admin(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        if target == "client-bot":
            link = self.ctx.hub.link
            if link is None:
                raise RelayUnavailable()
            await link.send(protocol.CONTROL_SESSION, protocol.Reboot())
            log.info("admin %s asked the client-bot to restart", admin.user_id)
            await _reply(
                interaction,
                "The client-bot restarts once its current replies are done. "
                "Prompts sent meanwhile are kept and answered when it is back.",
            )
            return
        in_flight = self.ctx.hub.in_flight
        await reports.drain(self.ctx)
        log.info("admin %s restarts the server-bot (exit code %d)", admin.user_id, RESTART_EXIT_CODE)
        await _reply(
            interaction,
            f"Server-bot restarting now ({in_flight} replies were finished first); back in a moment.",
        )
        # Leave after this command has returned, so its audit record is written first.
        spawn(self.exit(RESTART_EXIT_CODE), name="admin:restart")

    @ai_admin.command(
        name="permissions", description="The bot's guild permissions against the least it needs"
    )
    async def permissions(self, interaction: discord.Interaction) -> None:
        await self._require_admin(interaction)
        guild = interaction.guild
        assert guild is not None  # guild_only
        await _reply(interaction, reports.permissions_report(guild.me.guild_permissions))

    # ---- helpers --------------------------------------------------------------------------------

    async def _require_admin(self, interaction: discord.Interaction) -> Actor:
        """The invoking member if the core counts them as admin; otherwise audit the refusal and refuse."""
        member = interaction.user
        role = self.ctx.discord.admin_role
        actor = actor_of(member)
        if await self.ctx.core.access.is_admin(actor):
            return actor
        await self.ctx.audit.record(
            "admin_refused",
            success=False,
            command=command_code(interaction),
            user_id=member.id,
            channel_id=interaction.channel_id,
            detail="not_admin",
            level=AuditLevel.WARNING,
        )
        log.info("refused /%s to user %s: not an admin", command_code(interaction), member.id)
        raise NotAdmin(role)


async def _reply(interaction: discord.Interaction, text: str, **kwargs: Any) -> None:
    text = neutralise_mentions(text)
    if interaction.response.is_done():
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS, **kwargs)
    else:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS, **kwargs)


async def setup(bot: ServerBot) -> None:
    await bot.add_cog(Admin(bot))
