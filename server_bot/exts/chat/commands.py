"""`/chat`: open, close, reset, configure and export your private chat; forget or export your data.
Parse, call the core, render."""

from __future__ import annotations

import io

import discord
from discord import app_commands
from discord.ext import commands

from server_bot import channels
from server_bot.actors import actor_of, guild_member
from server_bot.bot import ServerBot, ServerContext
from server_bot.channel_room import SessionChannels
from server_bot.command_tree import tell
from server_bot.core import SessionAlreadyOpen
from server_bot.discord_budget import Priority, budget_for
from server_bot.exts.chat.user_data import ask_to_forget, send_export
from shared.log import get_logger
from shared.mentions import NO_PINGS

log = get_logger(__name__)


class ChatCommands(commands.Cog):
    chat = app_commands.Group(name="chat", description="Your private AI chat", guild_only=True)

    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot
        self.ctx: ServerContext = bot.ctx
        self.places = SessionChannels(bot.ctx)

    @chat.command(name="start", description="Open your private AI chat channel")
    async def start(self, interaction: discord.Interaction) -> None:
        guild, member = guild_member(interaction)
        actor = actor_of(member)
        await interaction.response.defer(ephemeral=True, thinking=True)
        sessions = self.ctx.core.sessions
        if await sessions.current(actor) is None:
            self.places.check_room(guild)  # near Discord's 500 channels: say so before opening anything
        try:
            session = await sessions.open(actor, guild_id=guild.id)
        except SessionAlreadyOpen as existing:
            if existing.channel_id is None or guild.get_channel(existing.channel_id) is not None:
                raise
            # Its channel was deleted by hand: close it (transcript saved) and start afresh.
            await sessions.close(existing.session_id, reason="channel_lost")
            session = await sessions.open(actor, guild_id=guild.id)
        # The channel and the welcome are two writes within the bot's global limit, like replies: many
        # people starting at once must not push the bot past it (server_bot/discord_budget).
        budget = budget_for(self.bot.http)
        try:
            await budget.acquire(Priority.FINAL)
            channel = await self.places.create(guild, member, await channels.admin_role(self.ctx, guild))
            await sessions.attach_channel(session.id, channel.id)
        except BaseException:
            await sessions.close(session.id, reason="channel_lost")
            raise
        client = self.ctx.hub.client
        model = f" (model `{client.model}`)" if client is not None and self.ctx.hub.client_online() else ""
        await budget.acquire(Priority.FINAL)
        await channel.send(
            f"Hi {member.mention}! This channel is private to you (and the AI admins). "
            f"Just type to talk to the AI{model}. `/chat end` closes it.",
            allowed_mentions=NO_PINGS,
        )
        log.info("session %s opened in channel %s", session.id, channel.id)
        await interaction.followup.send(f"Your private chat is ready: {channel.mention}", ephemeral=True)

    @chat.command(name="end", description="Close your chat; its transcript is saved")
    async def end(self, interaction: discord.Interaction) -> None:
        actor = actor_of(interaction.user)
        session = await self.ctx.core.sessions.require_current(actor)
        await interaction.response.defer(ephemeral=True, thinking=True)
        # Closing stops a reply being written, saves the transcript and tells every front.
        await self.ctx.core.sessions.close(session.id, reason="ended", by=actor)
        await interaction.followup.send(
            "Your chat is closed and its transcript saved."
            if self.ctx.core.sessions.transcript_saved(session.id)
            else "Your chat is closed. Storage is unavailable right now, so its transcript is not stored "
            "yet: it will be saved automatically when storage is back.",
            ephemeral=True,
        )
        # This front closed it, so it removes the channel itself, after answering (see SessionClosed).
        if interaction.guild is not None and session.channel_id is not None:
            await channels.delete_session_channel(interaction.guild, session.channel_id, "/chat end")

    @chat.command(name="reset", description="Forget the conversation so far")
    async def reset(self, interaction: discord.Interaction) -> None:
        actor = actor_of(interaction.user)
        session = await self.ctx.core.sessions.require_current(actor)
        forgotten = await self.ctx.core.sessions.reset(actor, session.id)
        if session.channel_id is not None:
            self.bot.latest_replies.retire(session.channel_id)
        await tell(interaction, f"Done: I forgot {forgotten} earlier messages.")

    @chat.command(name="system", description="Set the system prompt for this chat (empty: the default)")
    @app_commands.describe(prompt="How the AI should behave in this chat")
    async def system(
        self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 1500]
    ) -> None:
        actor = actor_of(interaction.user)
        session = await self.ctx.core.sessions.require_current(actor)
        updated = await self.ctx.core.sessions.set_system_prompt(actor, session.id, prompt)
        await tell(interaction, "System prompt updated." if updated.system_prompt else "System prompt reset.")

    @chat.command(name="settings", description="Set temperature and reply length for this chat")
    async def settings(
        self,
        interaction: discord.Interaction,
        temperature: app_commands.Range[float, 0.0, 2.0] | None = None,
        max_tokens: app_commands.Range[int, 1, 8192] | None = None,
    ) -> None:
        actor = actor_of(interaction.user)
        session = await self.ctx.core.sessions.require_current(actor)
        session = await self.ctx.core.sessions.update_settings(
            actor, session.id, temperature=temperature, max_tokens=max_tokens
        )
        await tell(
            interaction, f"Settings: temperature {session.temperature}, max tokens {session.max_tokens}."
        )

    @chat.command(name="transcript", description="This chat's transcript")
    async def transcript(self, interaction: discord.Interaction) -> None:
        actor = actor_of(interaction.user)
        session = await self.ctx.core.sessions.require_current(actor)
        await interaction.response.defer(ephemeral=True, thinking=True)
        link = await self.ctx.core.sessions.transcript(actor, session.id)
        if link.shareable:
            await interaction.followup.send(
                f"Transcript (link valid {link.ttl_s // 60} min): {link.url}", ephemeral=True
            )
            return
        # A local folder store's file:// link is useless to a user elsewhere: attach the file instead.
        await interaction.followup.send(
            "Your transcript:",
            file=discord.File(io.BytesIO(link.markdown), filename=link.filename),
            ephemeral=True,
        )

    @chat.command(name="forget", description="Delete all your chats and data here (asks first)")
    async def forget(self, interaction: discord.Interaction) -> None:
        await ask_to_forget(self.ctx, interaction)

    @chat.command(name="export", description="Get all your data here as a JSON file only you can see")
    async def export(self, interaction: discord.Interaction) -> None:
        await send_export(self.ctx, interaction)
