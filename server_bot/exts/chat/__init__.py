"""The Discord front of the conversation: `/chat` commands, prompts in session channels, reply rendering
and buttons, and the core's notices (closed channels, transfers, interrupted prompts, alerts).

Every decision is the core's (`server_bot.core`); these modules parse, call it, and render.
"""

from __future__ import annotations

from server_bot.bot import ServerBot
from server_bot.core import PromptBlocked, Withheld
from server_bot.exts.chat.commands import ChatCommands
from server_bot.exts.chat.notices import SessionNotices
from server_bot.exts.chat.prompts import PromptListener
from server_bot.exts.chat.replies import RegenerateButton, StopButton

# What users are shown (tests compare against these).
PROMPT_BLOCKED = PromptBlocked().user_message
REPLY_WITHHELD = Withheld().message


async def setup(bot: ServerBot) -> None:
    bot.add_dynamic_items(StopButton, RegenerateButton)
    await bot.add_cog(ChatCommands(bot))
    await bot.add_cog(PromptListener(bot))
    await bot.add_cog(SessionNotices(bot))
