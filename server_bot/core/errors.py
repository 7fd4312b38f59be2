"""The core's exception tree: every refusal carries a message meant for the user (`str(exc)`).

Fronts catch `CoreError` and show `exc.user_message` their own way (an ephemeral Discord reply, an HTTP
4xx body, an MCP tool error). The messages name no front's commands: a front adds its own hint by `code`
(the snake-cased class name, e.g. "no_open_session"; the Discord front's map is `server_bot.hints`).
Nothing below is a bug: bugs surface as ordinary exceptions.

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
├── UnknownHost               no GPU host with that Discord user id behind this server-bot
└── InvalidInput              a value the core does not accept; the message says what is allowed
    ├── EmptyPrompt           empty, whitespace or zero-width characters only
    ├── PromptTooLong         longer than ChatSettings.max_prompt_chars
    ├── InvalidSetting        temperature / max tokens outside the allowed range
    └── SystemPromptTooLong   longer than ChatSettings.max_system_prompt_chars
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import datetime


class CoreError(Exception):
    """Refused with a message meant for the user; `code` names the refusal for fronts and logs."""

    code = "core_error"

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.code = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    @property
    def user_message(self) -> str:
        return str(self)


class NoOpenSession(CoreError):
    def __init__(self) -> None:
        super().__init__("You have no open chat session.")


class NotSessionOwner(CoreError):
    def __init__(self) -> None:
        super().__init__("Only the owner of this chat session can do that.")


class SessionAlreadyOpen(CoreError):
    def __init__(self, session_id: uuid.UUID, channel_id: int | None = None) -> None:
        self.session_id = session_id
        self.channel_id = channel_id
        super().__init__("You already have an open chat: continue it, or end it first.")


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
        super().__init__(f"This needs the {role} role.")


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


class UnknownHost(CoreError):
    def __init__(self, host_id: int) -> None:
        self.host_id = host_id
        super().__init__(f"No GPU host has the id {host_id}; the status lists every host and its id.")


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
