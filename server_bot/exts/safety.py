"""Safety wiring: guild bans close sessions, moderation verdicts are enforced, every slash command is audited.

- A ban (GUILD_BAN_ADD) marks the user banned in the database, which `Chat._check_allowed` refuses, and
  closes their open session: it is ended, its transcript saved and its channel deleted. An unban lifts it.
- `enforce_moderation` applies the configured `Moderator` to a prompt or a reply and carries out the
  verdict: each match is stored as a violation (the matched excerpt only, sealed), logged by rule and
  action, audited; `suspend` stores a suspension that lapses by itself; alerts go to the admin channel,
  which only the AI Admin role can see, with the excerpt neutralised and nobody pinged. The caller
  decides what a blocked text means for the conversation.
- Every slash command is audited with its outcome and latency (the time since Discord created the
  interaction), never its options or any text.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from server_bot import transcripts
from server_bot.bot import ServerBot, ServerContext
from server_bot.db.records import SessionInfo
from server_bot.moderation import Direction, Verdict
from shared.audit import AuditLevel, exception_code
from shared.log import get_logger
from shared.mentions import NO_PINGS, neutralise_mentions

log = get_logger(__name__)

ErrorHandler = Any  # discord.py types the tree's error handler loosely


# ---- moderation -------------------------------------------------------------------------------------


async def enforce_moderation(
    ctx: ServerContext,
    guild: discord.Guild | None,
    *,
    user_id: int,
    session_id: uuid.UUID | None,
    channel_id: int | None,
    text: str,
    direction: Direction,
) -> Verdict:
    """Check `text` and carry out the verdict (store, log, audit, suspend, alert); returns the verdict."""
    if ctx.moderator is None:
        return Verdict()
    verdict = ctx.moderator.check(text, direction)
    for match in verdict.matches:
        await ctx.repo.add_violation(user_id, match.rule, match.action.value, match.excerpt, session_id)
        log.info(
            "moderation: rule %s (%s) matched a %s of user %s", match.rule, match.action, direction, user_id
        )
        await ctx.audit.record(
            "moderation",
            success=not verdict.blocked,
            command=direction,
            user_id=user_id,
            channel_id=channel_id,
            detail=match.action.value,
            level=AuditLevel.WARNING,
        )
    if verdict.suspend_for is not None:
        until = datetime.now(UTC) + verdict.suspend_for
        await ctx.repo.suspend_user(user_id, until)
        log.info("moderation: user %s suspended until %s", user_id, until.isoformat(timespec="seconds"))
    if verdict.alert and guild is not None:
        await _alert_admins(ctx, guild, verdict, user_id=user_id, channel_id=channel_id, direction=direction)
    return verdict


def would_block(ctx: ServerContext, text: str, direction: Direction) -> bool:
    """Whether `text` would be blocked; stores nothing (for text still being streamed)."""
    return ctx.moderator is not None and ctx.moderator.check(text, direction).blocked


async def _alert_admins(
    ctx: ServerContext,
    guild: discord.Guild,
    verdict: Verdict,
    *,
    user_id: int,
    channel_id: int | None,
    direction: Direction,
) -> None:
    where = f" in <#{channel_id}>" if channel_id else ""
    lines = [f"⚠️ **Moderation alert**: a {direction} of <@{user_id}>{where}"]
    for match in verdict.matches:
        excerpt = discord.utils.escape_markdown(neutralise_mentions(match.excerpt))
        lines.append(f"- rule `{match.rule}` ({match.action.value}): “{excerpt}”")
    if verdict.suspend_for is not None:
        lines.append(f"The user is suspended for {verdict.suspend_for}.")
    try:
        channel = await ensure_admin_channel(guild, ctx.discord.admin_channel, ctx.discord.admin_role)
        await channel.send("\n".join(lines)[:2000], allowed_mentions=NO_PINGS)
    except discord.HTTPException:
        log.warning("could not post a moderation alert", exc_info=True)


async def ensure_admin_channel(guild: discord.Guild, name: str, admin_role: str) -> discord.TextChannel:
    """The admin channel, created if missing: only the admin role and this bot can see it."""
    existing = discord.utils.get(guild.text_channels, name=name)
    if existing is not None:
        return existing
    overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite] = {
        guild.default_role: discord.PermissionOverwrite(view_channel=False),
        guild.me: discord.PermissionOverwrite(
            view_channel=True, send_messages=True, read_message_history=True
        ),
    }
    role = discord.utils.get(guild.roles, name=admin_role)
    if role is None:
        log.warning("no %r role: the admin channel is visible to the bot only", admin_role)
    else:
        overwrites[role] = discord.PermissionOverwrite(
            view_channel=True, send_messages=True, read_message_history=True
        )
    log.info("creating admin channel #%s", name)
    return await guild.create_text_channel(name, overwrites=overwrites, reason="MeatLizard admin alerts")


# ---- sessions -------------------------------------------------------------------------------------


async def close_session(ctx: ServerContext, guild: discord.Guild, session: SessionInfo, reason: str) -> None:
    """End `session`, save its transcript and delete its channel."""
    await ctx.repo.end_session(session.id)
    await transcripts.save_transcript(ctx.repo, ctx.objects, session.id)
    channel = guild.get_channel(session.channel_id) if session.channel_id else None
    if channel is not None:
        await channel.delete(reason=reason)
    log.info("chat session %s closed: %s", session.id, reason)


# ---- the cog --------------------------------------------------------------------------------------


def command_code(interaction: discord.Interaction) -> str | None:
    """`ai-admin.status` for `/ai-admin status`: the audit log's code for a slash command."""
    command = interaction.command
    if command is None:
        return None
    return command.qualified_name.replace(" ", ".").lower()[:64]


def _latency_ms(interaction: discord.Interaction) -> float:
    return max(0.0, (discord.utils.utcnow() - interaction.created_at).total_seconds() * 1000)


class Safety(commands.Cog):
    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot
        self.ctx: ServerContext = bot.ctx
        self._previous_error_handler: ErrorHandler = bot.tree.on_error
        # Audit writes that finish after the user already has their answer; closing waits for them.
        self._writes: set[asyncio.Task[Any]] = set()

    async def cog_load(self) -> None:
        # The errors extension owns what the user is told; this wraps it to audit the failure first.
        previous = self._previous_error_handler

        async def audited(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
            cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
            await self.audit_command(interaction, success=False, detail=exception_code(cause))
            await previous(interaction, error)

        self.bot.tree.on_error = audited  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous_error_handler  # type: ignore[method-assign]
        if self._writes:
            await asyncio.wait(self._writes, timeout=5)

    async def audit_command(
        self, interaction: discord.Interaction, *, success: bool, detail: str | None = None
    ) -> None:
        write = asyncio.ensure_future(
            self.ctx.audit.record(
                "command",
                success=success,
                command=command_code(interaction),
                user_id=interaction.user.id,
                channel_id=interaction.channel_id,
                latency_ms=_latency_ms(interaction),
                detail=detail,
                level=AuditLevel.INFO if success else AuditLevel.WARNING,
            )
        )
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)
        await asyncio.shield(write)

    @commands.Cog.listener()
    async def on_app_command_completion(
        self, interaction: discord.Interaction, _command: app_commands.Command[Any, Any, Any]
    ) -> None:
        await self.audit_command(interaction, success=True)

    @commands.Cog.listener()
    async def on_member_ban(self, guild: discord.Guild, user: discord.User | discord.Member) -> None:
        if guild.id != self.ctx.discord.guild_id:
            return
        await self.ctx.repo.ban_user(user.id)
        await self.ctx.audit.record("member_banned", success=True, user_id=user.id)
        log.info("user %s banned from the guild: marked banned", user.id)
        session = await self.ctx.repo.get_open_session_for_user(user.id)
        if session is not None:
            await close_session(self.ctx, guild, session, "owner banned from the server")

    @commands.Cog.listener()
    async def on_member_unban(self, guild: discord.Guild, user: discord.User) -> None:
        if guild.id != self.ctx.discord.guild_id:
            return
        await self.ctx.repo.unban_user(user.id)
        await self.ctx.audit.record("member_unbanned", success=True, user_id=user.id)
        log.info("user %s unbanned", user.id)


async def setup(bot: ServerBot) -> None:
    await bot.add_cog(Safety(bot))
