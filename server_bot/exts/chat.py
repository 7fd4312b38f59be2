"""`/chat` and the conversation itself: prompts in a private channel, streamed replies back.

A plain message from the session owner in their channel is a prompt. It is stored (sealed), sent to the
client-bot with the whole history, and the reply is streamed into the channel. One reply per session at a
time: a prompt sent while the previous one is being answered waits its turn rather than being dropped.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import defaultdict
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from server_bot import channels, transcripts
from server_bot.bot import ServerBot, ServerContext
from server_bot.db.errors import SessionAlreadyOpen
from server_bot.db.models import Role
from server_bot.db.records import SessionInfo, SessionSettings
from server_bot.errors import Blocked, ChatError, NoOpenSession, NotSessionOwner, RateLimited, RequestsPaused
from server_bot.exts.errors import tell, user_message
from server_bot.exts.safety import enforce_moderation, would_block
from server_bot.metrics_chart import REQUEST
from server_bot.relay import Expired, Offline
from server_bot.reply_writer import NO_PINGS, ReplyWriter
from shared import metrics, protocol
from shared.audit import exception_code
from shared.log import get_logger
from shared.mentions import neutralise_mentions

log = get_logger(__name__)

REQUESTS_PAUSED = "requests_paused"
# Labelled Markov replies while the AI host is offline; unset, SERVER_BOT_FALLBACK_ENABLED decides.
FALLBACK_ENABLED = "fallback_enabled"
PROMPT_BLOCKED = "That message was not sent to the AI: it breaks this server's content rules."
REPLY_WITHHELD = "*(The reply was withheld: it broke this server's content rules.)*"
_FAILURES = {
    "busy": "The AI host is busy right now. Please try again in a minute.",
    "prompt_too_long": "That prompt is too long for the model's context. Try a shorter one or `/chat reset`.",
    "engine_error": "The model failed while answering. Please try again.",
    "bad_request": "The AI host could not read that request. Please try again.",
}


class InvalidSetting(ChatError):
    """A /chat settings value outside the configured bounds."""


class Chat(commands.Cog):
    chat = app_commands.Group(name="chat", description="Your private AI chat", guild_only=True)

    def __init__(self, bot: ServerBot) -> None:
        self.bot = bot
        self.ctx: ServerContext = bot.ctx
        # One reply per session at a time; the next prompt waits here.
        self._turn_locks: defaultdict[uuid.UUID, asyncio.Lock] = defaultdict(asyncio.Lock)

    # ---- commands -------------------------------------------------------------------------------

    @chat.command(name="start", description="Open your private AI chat channel")
    async def start(self, interaction: discord.Interaction) -> None:
        guild, member = _guild_member(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._check_allowed(member.id, "command")
        existing = await self.ctx.repo.get_open_session_for_user(member.id)
        if existing is not None and existing.channel_id and guild.get_channel(existing.channel_id):
            await interaction.followup.send(
                f"You already have a chat: <#{existing.channel_id}>", ephemeral=True
            )
            return
        if existing is not None:  # its channel was deleted by hand: close it and start afresh
            await self.ctx.repo.end_session(existing.id)
        channel = await self._open_channel(guild, member)
        try:
            session = await self.ctx.repo.open_session(member.id, guild.id, channel.id, self._defaults())
        except SessionAlreadyOpen:
            await channel.delete(reason="duplicate /chat start")
            raise
        await channel.send(
            f"Hi {member.mention}! This channel is private to you (and the AI admins). "
            "Just type to talk to the AI. `/chat end` closes it.",
            allowed_mentions=NO_PINGS,
        )
        log.info("session %s opened in channel %s", session.id, channel.id)
        await interaction.followup.send(f"Your private chat is ready: {channel.mention}", ephemeral=True)

    @chat.command(name="end", description="Close your chat; its transcript is saved")
    async def end(self, interaction: discord.Interaction) -> None:
        session = await self._own_session(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.ctx.repo.end_session(session.id)
        await transcripts.save_transcript(self.ctx.repo, self.ctx.objects, session.id)
        await interaction.followup.send("Your chat is closed and its transcript saved.", ephemeral=True)
        channel = (
            interaction.guild.get_channel(session.channel_id)
            if interaction.guild and session.channel_id
            else None
        )
        if channel is not None:
            await channel.delete(reason="/chat end")

    @chat.command(name="reset", description="Forget the conversation so far")
    async def reset(self, interaction: discord.Interaction) -> None:
        session = await self._own_session(interaction)
        forgotten = await self.ctx.repo.reset_history(session.id)
        await tell(interaction, f"Done: I forgot {forgotten} earlier messages.")

    @chat.command(name="system", description="Set the system prompt for this chat")
    @app_commands.describe(prompt="How the AI should behave in this chat")
    async def system(
        self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 1500]
    ) -> None:
        session = await self._own_session(interaction)
        await self.ctx.repo.set_system_prompt(session.id, prompt)
        await tell(interaction, "System prompt updated.")

    @chat.command(name="settings", description="Set temperature and reply length for this chat")
    async def settings(
        self,
        interaction: discord.Interaction,
        temperature: app_commands.Range[float, 0.0, 2.0] | None = None,
        max_tokens: app_commands.Range[int, 1, 8192] | None = None,
    ) -> None:
        session = await self._own_session(interaction)
        bounds = self.ctx.chat
        if temperature is not None and temperature > bounds.max_temperature:
            raise InvalidSetting(f"Temperature can be at most {bounds.max_temperature}.")
        if max_tokens is not None and max_tokens > bounds.max_max_tokens:
            raise InvalidSetting(f"Max tokens can be at most {bounds.max_max_tokens}.")
        session = await self.ctx.repo.update_settings(
            session.id, temperature=temperature, max_tokens=max_tokens
        )
        await tell(
            interaction, f"Settings: temperature {session.temperature}, max tokens {session.max_tokens}."
        )

    @chat.command(name="transcript", description="A short-lived link to this chat's transcript")
    async def transcript(self, interaction: discord.Interaction) -> None:
        session = await self._own_session(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        info = await transcripts.save_transcript(self.ctx.repo, self.ctx.objects, session.id)
        ttl = self.ctx.storage.transcript_link_ttl_s
        link = await self.ctx.objects.link(info.md_key, ttl)
        await interaction.followup.send(f"Transcript (link valid {ttl // 60} min): {link}", ephemeral=True)

    # ---- prompts --------------------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None or not message.content.strip():
            return
        # Session channels live in the sessions category; skip the database for every other channel.
        category = getattr(message.channel, "category", None)
        if category is None or category.name != self.ctx.discord.sessions_category:
            return
        session = await self.ctx.repo.get_session_by_channel(message.channel.id)
        if session is None or not session.is_open or message.author.id != session.owner_id:
            return
        assert isinstance(message.channel, discord.TextChannel)
        try:
            await self._check_allowed(message.author.id, "prompt")
        except ChatError as refusal:
            await self.ctx.audit.record(
                "prompt",
                success=False,
                user_id=message.author.id,
                channel_id=message.channel.id,
                detail=exception_code(refusal),
            )
            await message.reply(str(refusal), allowed_mentions=NO_PINGS, delete_after=30)
            return
        verdict = await enforce_moderation(
            self.ctx,
            message.guild,
            user_id=message.author.id,
            session_id=session.id,
            channel_id=message.channel.id,
            text=message.content,
            direction="prompt",
        )
        if verdict.blocked:
            suspended = " Your access is suspended for a while." if verdict.suspend_for else ""
            await message.reply(PROMPT_BLOCKED + suspended, allowed_mentions=NO_PINGS)
            return
        await self.answer(session, message.channel, prompt=message.content)

    async def answer(self, session: SessionInfo, channel: discord.TextChannel, *, prompt: str | None) -> None:
        """Answer `prompt` (or, with None, answer the last prompt again) in the session's channel."""
        async with self._turn_locks[session.id]:
            if prompt is None:
                await self.ctx.repo.drop_last_reply(session.id)
            else:
                await self.ctx.repo.add_message(session.id, Role.USER, prompt)
            session = await self.ctx.repo.get_session(session.id)
            if not self.ctx.hub.client_online() and await self._fallback_enabled():
                await self._answer_with_fallback(session, channel)
                return
            pending = await self.ctx.hub.submit(
                session.id, await self._conversation(session), _params(session)
            )
            writer = ReplyWriter(
                channel,
                stop_view=_view(StopButton(pending.request_id)),
                done_view=_view(RegenerateButton(session.id)),
            )
            writer.start_typing()
            try:
                await self._stream(session, channel, pending, writer)
            finally:
                await writer.aclose()

    async def _stream(
        self, session: SessionInfo, channel: discord.TextChannel, pending: Any, writer: ReplyWriter
    ) -> None:
        text = ""
        withholding = False  # once the text so far would be blocked, nothing more of it is shown
        async for event in pending:
            if isinstance(event, protocol.Delta):
                if event.offset + len(event.text) > len(text):
                    text = text[: event.offset] + event.text
                    withholding = withholding or would_block(self.ctx, text, "reply")
                    if not withholding:
                        writer.update(text)
            elif isinstance(event, Offline):
                minutes = max(1, round(event.keep_for_s / 60))
                await writer.notice(
                    "⚠️ The AI host is offline right now. Your prompt is kept for about "
                    f"{minutes} min and will be answered as soon as the host is back."
                )
            elif isinstance(event, protocol.Done):
                await self._finish(session, channel, event, writer)
            elif isinstance(event, protocol.Failed):
                await writer.abandon()
                await writer.notice(_FAILURES[event.code])
            elif isinstance(event, Expired):
                await writer.abandon()
                await writer.notice(
                    "The AI host did not come back in time, so your prompt could not be answered. "
                    "Please send it again later."
                )

    async def _finish(
        self, session: SessionInfo, channel: discord.TextChannel, done: protocol.Done, writer: ReplyWriter
    ) -> None:
        await self._record_request(done)
        verdict = await enforce_moderation(
            self.ctx,
            channel.guild,
            user_id=session.owner_id,
            session_id=session.id,
            channel_id=channel.id,
            text=done.text,
            direction="reply",
        )
        if verdict.blocked:
            await writer.finish(REPLY_WITHHELD)
            return
        # Stored before it is shown: whoever sees the reply (or presses Regenerate) finds it in the history.
        if done.text.strip():
            await self.ctx.repo.add_message(session.id, Role.ASSISTANT, done.text, done.completion_tokens)
        suffix = {"cancelled": "\n\n*(stopped)*", "length": "\n\n*(cut off at the reply length limit)*"}
        await writer.finish(done.text + suffix.get(done.finish_reason, ""))
        if done.dropped_turns:
            await writer.notice(
                f"ℹ️ The conversation is longer than the model can read at once: the oldest "
                f"{done.dropped_turns} "
                "messages were left out of this reply. `/chat reset` starts afresh."
            )

    async def _record_request(self, done: protocol.Done) -> None:
        generation_s = done.total_ms / 1000
        metrics.reply_finished(done.finish_reason, generation_s, done.completion_tokens)
        await self.ctx.repo.add_metric_sample(
            REQUEST,
            tokens=done.completion_tokens,
            tokens_per_s=done.completion_tokens / generation_s if generation_s > 0 else None,
            latency_ms=done.total_ms,
        )

    async def _fallback_enabled(self) -> bool:
        return await self.ctx.repo.get_toggle(FALLBACK_ENABLED, default=self.ctx.server.fallback_enabled)

    async def _answer_with_fallback(self, session: SessionInfo, channel: discord.TextChannel) -> None:
        """A labelled Markov reply to the last prompt; it is not the model, so the history skips it."""
        prompts = [text for role, text in await self.ctx.repo.history(session.id) if role is Role.USER]
        reply = self.ctx.fallback.reply(prompts[-1] if prompts else "")
        await self.ctx.audit.record(
            "prompt", success=True, user_id=session.owner_id, channel_id=channel.id, detail="fallback_reply"
        )
        await channel.send(neutralise_mentions(reply), allowed_mentions=NO_PINGS)

    # ---- helpers --------------------------------------------------------------------------------

    async def _conversation(self, session: SessionInfo) -> list[protocol.ChatTurn]:
        system = session.system_prompt or self.ctx.chat.system_prompt
        turns = [protocol.ChatTurn(role="system", content=system)]
        turns += [
            protocol.ChatTurn(role=role.value, content=text)
            for role, text in await self.ctx.repo.history(session.id)
        ]
        return turns

    def _defaults(self) -> SessionSettings:
        chat = self.ctx.chat
        return SessionSettings(None, chat.default_temperature, chat.default_max_tokens)

    async def _check_allowed(self, user_id: int, scope: str) -> None:
        if await self.ctx.repo.get_toggle(REQUESTS_PAUSED):
            raise RequestsPaused()
        user = await self.ctx.repo.get_user(user_id)
        if user is not None and user.banned:
            raise Blocked("you are banned from this server")
        if user is not None and user.is_blocked(datetime.now(UTC)):
            raise Blocked("your access is suspended for now")
        decision = await self.ctx.limiter.check(scope, user_id)  # type: ignore[arg-type]
        if not decision.allowed:
            raise RateLimited(decision.retry_after_s)

    async def _own_session(self, interaction: discord.Interaction) -> SessionInfo:
        session = await self.ctx.repo.get_open_session_for_user(interaction.user.id)
        if session is None:
            raise NoOpenSession()
        await self._check_allowed(interaction.user.id, "command")
        return session

    async def _open_channel(self, guild: discord.Guild, member: discord.Member) -> discord.TextChannel:
        category = await channels.ensure_category(guild, self.ctx.discord.sessions_category)
        admin_role = discord.utils.get(guild.roles, name=self.ctx.discord.admin_role)
        return await channels.create_session_channel(
            guild, category, member, admin_role, self.ctx.discord.client_bot_user_id
        )


def _params(session: SessionInfo) -> protocol.GenerationParams:
    return protocol.GenerationParams(max_tokens=session.max_tokens, temperature=session.temperature)


def _guild_member(interaction: discord.Interaction) -> tuple[discord.Guild, discord.Member]:
    if interaction.guild is None or not isinstance(interaction.user, discord.Member):
        raise ChatError("This command works in a server only.")
    return interaction.guild, interaction.user


def _view(item: discord.ui.Item[Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(item)
    return view


async def _answering_errors(interaction: discord.Interaction, work: Coroutine[Any, Any, None]) -> None:
    """Buttons bypass the command tree's error handler; route their errors through the same messages."""
    try:
        await work
    except Exception as exc:
        await tell(interaction, user_message(exc))


def _chat_cog(interaction: discord.Interaction) -> Chat:
    cog = interaction.client.get_cog("Chat")  # type: ignore[attr-defined]
    assert isinstance(cog, Chat)
    return cog


class StopButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ml:stop:(?P<request_id>[0-9a-f]{16})"
):
    """Stops the reply being written. Dynamic, so it keeps working across restarts."""

    def __init__(self, request_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Stop", style=discord.ButtonStyle.danger, custom_id=f"ml:stop:{request_id}"
            )
        )
        self.request_id = request_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> StopButton:
        return cls(match["request_id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _answering_errors(interaction, self._stop(interaction))

    async def _stop(self, interaction: discord.Interaction) -> None:
        cog = _chat_cog(interaction)
        session = await cog.ctx.repo.get_session_by_channel(interaction.channel_id or 0)
        if session is None or session.owner_id != interaction.user.id:
            raise NotSessionOwner()
        await interaction.response.defer()
        await cog.ctx.hub.cancel(self.request_id)


class RegenerateButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"ml:regen:(?P<session_id>[0-9a-f]{32})"
):
    """Answers the last prompt again, replacing the last reply in the history."""

    def __init__(self, session_id: uuid.UUID) -> None:
        super().__init__(
            discord.ui.Button(
                label="Regenerate",
                style=discord.ButtonStyle.secondary,
                custom_id=f"ml:regen:{session_id.hex}",
            )
        )
        self.session_id = session_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RegenerateButton:
        return cls(uuid.UUID(match["session_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        await _answering_errors(interaction, self._regenerate(interaction))

    async def _regenerate(self, interaction: discord.Interaction) -> None:
        cog = _chat_cog(interaction)
        session = await cog.ctx.repo.get_session(self.session_id)
        if not session.is_open or session.owner_id != interaction.user.id:
            raise NotSessionOwner()
        await cog._check_allowed(interaction.user.id, "prompt")
        if not isinstance(interaction.channel, discord.TextChannel):
            return
        await interaction.response.defer()
        if interaction.message is not None:
            await interaction.message.edit(view=None)
        await cog.answer(session, interaction.channel, prompt=None)


async def setup(bot: ServerBot) -> None:
    bot.add_dynamic_items(StopButton, RegenerateButton)
    await bot.add_cog(Chat(bot))
