"""The core's exception tree: every refusal carries a message meant for the user (`str(exc)`).

Fronts catch `CoreError` and show `exc.user_message` their own way (an ephemeral Discord reply, an HTTP
4xx body, an MCP tool error). Nothing below is a bug: bugs surface as ordinary exceptions.

CoreError                     a request the core refuses, with a message for the user
├── NoOpenSession             the user has no open chat session (or that id is not theirs)
├── NotSessionOwner           someone else's session
├── SessionAlreadyOpen        the user already has an open chat (one per user); carries its session
├── RequestsPaused            an admin paused new chats and prompts
├── Blocked                   the user may not use the chat
│   ├── Banned                banned from the server
│   └── Suspended             suspended until `until` (moderation or an admin)
├── RateLimited               too fast; carries retry_after_s
├── NotAdmin                  the action needs the admin capability (decided by role id, never name)
├── RelayUnavailable          the relay to the AI host is not set up yet
├── PromptBlocked             the prompt broke the content rules; not sent (maybe suspended)
├── ReplyNotRegenerable       that reply is not the latest answer of an open chat any more
├── RequestNotFound           no request in flight with that id (already finished or never existed)
└── InvalidInput              a value the core does not accept; the message says what is allowed
    ├── EmptyPrompt           empty, whitespace or zero-width characters only
    ├── PromptTooLong         longer than ChatSettings.max_prompt_chars
    ├── InvalidSetting        temperature / max tokens outside the allowed range
    └── SystemPromptTooLong   longer than ChatSettings.max_system_prompt_chars
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime


class CoreError(Exception):
    """Refused with a message meant for the user."""

    @property
    def user_message(self) -> str:
        return str(self)


class NoOpenSession(CoreError):
    def __init__(self) -> None:
        super().__init__("You have no open chat session. Start one with `/chat start`.")


class NotSessionOwner(CoreError):
    def __init__(self) -> None:
        super().__init__("Only the owner of this chat session can do that.")


class SessionAlreadyOpen(CoreError):
    def __init__(self, session_id: uuid.UUID, channel_id: int | None = None) -> None:
        self.session_id = session_id
        self.channel_id = channel_id
        where = f" <#{channel_id}>" if channel_id else ""
        super().__init__(f"You already have an open chat{where}. End it with `/chat end` first.")


class RequestsPaused(CoreError):
    def __init__(self) -> None:
        super().__init__("New chats and prompts are paused by an admin right now. Please try again later.")


class Blocked(CoreError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"You can't use the AI chat: {reason}.")


class Banned(Blocked):
    def __init__(self) -> None:
        super().__init__("you are banned from this server")


class Suspended(Blocked):
    def __init__(self, until: datetime | None = None) -> None:
        self.until = until
        super().__init__("your access is suspended for now")


class RateLimited(CoreError):
    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"You're going a bit fast. Try again in {math.ceil(retry_after_s)} s.")


class NotAdmin(CoreError):
    def __init__(self, role: str = "AI Admin") -> None:
        super().__init__(f"This needs the **{role}** role.")


class RelayUnavailable(CoreError):
    def __init__(self) -> None:
        super().__init__("The AI relay is still starting up. Please try again in a moment.")


class PromptBlocked(CoreError):
    def __init__(self, suspended: bool = False) -> None:
        self.suspended = suspended
        extra = " Your access is suspended for a while." if suspended else ""
        super().__init__(
            "That message was not sent to the AI: it breaks this server's content rules." + extra
        )


class ReplyNotRegenerable(CoreError):
    def __init__(self) -> None:
        super().__init__("Only the latest reply of an open chat can be regenerated.")


class RequestNotFound(CoreError):
    def __init__(self) -> None:
        super().__init__("That reply is no longer being written.")


class InvalidInput(CoreError):
    """A value outside what the core accepts; the message says what is allowed."""


class EmptyPrompt(InvalidInput):
    def __init__(self) -> None:
        super().__init__("That message has no visible text, so nothing was sent to the AI.")


class PromptTooLong(InvalidInput):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"That message is too long: at most {limit} characters, please.")


class InvalidSetting(InvalidInput):
    """A /chat settings value outside the configured bounds."""


class SystemPromptTooLong(InvalidInput):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"The system prompt can be at most {limit} characters.")
