"""Errors a user can be told about. The central handler (`server_bot.exts.errors`) shows `str(exc)`.

ChatError                 a request the bot refuses, with a message for the user
├── NoOpenSession         the user has no open chat session (or this channel is not one)
├── NotSessionOwner       someone else's session
├── RequestsPaused        an admin paused new sessions and prompts
├── Blocked               banned or suspended
├── RateLimited           too many prompts or commands; carries retry_after_s
├── RelayUnavailable      the relay channel is not set up yet
└── NotAdmin              the command needs the AI Admin role
"""

from __future__ import annotations

import math


class ChatError(Exception):
    """Refused with a message meant for the user."""


class NoOpenSession(ChatError):
    def __init__(self) -> None:
        super().__init__("You have no open chat session. Start one with `/chat start`.")


class NotSessionOwner(ChatError):
    def __init__(self) -> None:
        super().__init__("Only the owner of this chat session can do that.")


class RequestsPaused(ChatError):
    def __init__(self) -> None:
        super().__init__("New chats and prompts are paused by an admin right now. Please try again later.")


class Blocked(ChatError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"You can't use the AI chat: {reason}.")


class RateLimited(ChatError):
    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"You're going a bit fast. Try again in {math.ceil(retry_after_s)} s.")


class RelayUnavailable(ChatError):
    def __init__(self) -> None:
        super().__init__("The AI relay is still starting up. Please try again in a moment.")


class NotAdmin(ChatError):
    def __init__(self, role: str) -> None:
        super().__init__(f"This command needs the **{role}** role.")
