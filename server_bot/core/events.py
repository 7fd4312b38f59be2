"""What the core tells a front end: reply events (one stream per prompt) and notices about sessions.

A `ReplyStream` yields, in order: `Accepted` (once the prompt is stored and handed to the relay; it
carries the request id a Stop control needs), any of `Queued` / `TextSoFar` / `HostOffline`, then
exactly one final event: `Finished`, `Withheld`, `FallbackReply` or `Failed`. `ContextDropped` may come
right before `Finished`. Fronts render each type their own way; the `message` fields are user-facing text
a front may show as is (they name no front's commands; a front adds its own hints, e.g. by failure code).

`SessionClosed`, `SessionTransferred`, `RequestInterrupted` and `ModerationAlert` reach fronts through
`Core.subscribe(listener)`: they happen outside any one stream (a ban, an admin transfer, a restart).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

from server_bot.core.identity import FrontEnd
from server_bot.moderation import Direction, Verdict

FinishReason = Literal["stop", "length", "cancelled"]
FailureCode = Literal[
    "busy",  # the AI host refused: too much work right now
    "prompt_too_long",  # the conversation does not fit the model's context
    "engine_error",  # the model failed while answering
    "bad_request",  # the AI host could not read the request
    "expired",  # the AI host did not come back in time
    "session_closed",  # the chat was closed while the reply was being written
    "server_restarted",  # the server-bot restarted before the reply arrived
    "superseded",  # a regenerate raced another reply; that reply is no longer the latest
    "unknown",  # an event the core does not know (a newer relay); logged
]

FAILURE_MESSAGES: dict[str, str] = {
    "busy": "The AI host is busy right now. Please try again in a minute.",
    "prompt_too_long": "That prompt is too long for the model's context. Try a shorter one, or start the "
    "conversation afresh.",
    "engine_error": "The model failed while answering. Please try again.",
    "bad_request": "The AI host could not read that request. Please try again.",
    "expired": "The AI host did not come back in time, so your prompt could not be answered. "
    "Please send it again later.",
    "session_closed": "The chat was closed while the reply was being written.",
    "server_restarted": "The server restarted before your prompt was answered; please send it again.",
    "superseded": "That reply was replaced before it could be regenerated.",
    "unknown": "Something unexpected happened while answering. Please try again.",
}


# ---- reply events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    """The prompt is stored and on its way; `request_id` identifies it for `ConversationService.stop`."""

    request_id: str
    session_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Queued:
    """The AI host has the prompt waiting: `position` is its place in the queue (1 = next up); `eta_s`,
    when the relay knows, about how long until it starts. Sent again whenever the place changes."""

    position: int
    eta_s: float | None = None

    @property
    def message(self) -> str:
        eta = f" (about {max(1, round(self.eta_s))} s)" if self.eta_s else ""
        return f"⏳ You are {max(1, self.position)} in the queue{eta}."


@dataclass(frozen=True, slots=True)
class TextSoFar:
    """The whole reply text so far (not a delta): render it by replacing what was shown."""

    text: str


@dataclass(frozen=True, slots=True)
class HostOffline:
    """The AI host is silent; the prompt is kept for about `keep_for_s` and answered if it comes back."""

    keep_for_s: float

    @property
    def message(self) -> str:
        minutes = max(1, round(self.keep_for_s / 60))
        return (
            "⚠️ The AI host is offline right now. Your prompt is kept for about "
            f"{minutes} min and will be answered as soon as the host is back."
        )


@dataclass(frozen=True, slots=True)
class ContextDropped:
    """The oldest `dropped_turns` turns did not fit the model's context. Sent once per session until the
    history shrinks (a reset, or fewer turns dropped than last time)."""

    dropped_turns: int

    @property
    def message(self) -> str:
        return (
            "ℹ️ The conversation is longer than the model can read at once: the oldest "
            f"{self.dropped_turns} messages were left out of this reply."
        )


@dataclass(frozen=True, slots=True)
class Finished:
    """Final: the reply. `reply_id` is its stored id (for `regenerate`); None when the text was empty."""

    text: str
    finish_reason: FinishReason
    reply_id: int | None
    completion_tokens: int = 0

    @property
    def suffix(self) -> str:
        """A note a front may append: why the reply ended early."""
        return {"cancelled": "\n\n*(stopped)*", "length": "\n\n*(cut off at the reply length limit)*"}.get(
            self.finish_reason, ""
        )


@dataclass(frozen=True, slots=True)
class Withheld:
    """Final: the reply broke the content rules; it was neither stored nor should any of it stay shown."""

    message: str = "*(The reply was withheld: it broke this server's content rules.)*"


@dataclass(frozen=True, slots=True)
class FallbackReply:
    """Final: the AI host is offline and fallback replies are on; a labelled canned reply, not stored."""

    text: str


@dataclass(frozen=True, slots=True)
class Failed:
    """Final: no reply. `message` is for the user; `code` for logs and fronts that want their own words."""

    code: FailureCode
    message: str

    @classmethod
    def of(cls, code: FailureCode) -> Failed:
        return cls(code, FAILURE_MESSAGES[code])


ReplyEvent = (
    Accepted
    | Queued
    | TextSoFar
    | HostOffline
    | ContextDropped
    | Finished
    | Withheld
    | FallbackReply
    | Failed
)
FINAL_EVENTS = (Finished, Withheld, FallbackReply, Failed)


class ReplyStream(Protocol):
    """The events of one prompt. Iterate it once; closing it early (break / aclose) stops the request."""

    @property
    def session_id(self) -> uuid.UUID: ...

    def __aiter__(self) -> AsyncIterator[ReplyEvent]: ...

    async def aclose(self) -> None: ...


# ---- notices outside a stream -------------------------------------------------------------------------

CloseReason = Literal["ended", "banned", "channel_lost", "admin", "idle", "forgotten"]


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """A session was closed (its transcript saved). The front that owns it removes its place (channel)."""

    session_id: uuid.UUID
    owner_id: int
    front_end: FrontEnd
    channel_id: int | None
    reason: CloseReason
    # The front end whose user closed it (None: the platform, e.g. a ban). A front that closed its own
    # session may tidy up itself after answering its user.
    closed_via: FrontEnd | None = None


@dataclass(frozen=True, slots=True)
class SessionTransferred:
    """An admin gave a session to another user; the front updates who can see it."""

    session_id: uuid.UUID
    old_owner_id: int
    new_owner_id: int
    front_end: FrontEnd
    channel_id: int | None


@dataclass(frozen=True, slots=True)
class RequestInterrupted:
    """At start-up: a prompt accepted before the restart was never answered. Tell its user (once)."""

    request_id: str
    session_id: uuid.UUID
    owner_id: int
    front_end: FrontEnd
    channel_id: int | None
    message: str = FAILURE_MESSAGES["server_restarted"]


@dataclass(frozen=True, slots=True)
class ModerationAlert:
    """For admins: a text of `user_id` matched alerting rules. Excerpts are raw text: neutralise them."""

    user_id: int
    session_id: uuid.UUID | None
    channel_id: int | None
    direction: Direction
    verdict: Verdict


CoreNotice = SessionClosed | SessionTransferred | RequestInterrupted | ModerationAlert


class NoticeListener(Protocol):
    """A front's callback for `CoreNotice`s; exceptions it raises are logged, never propagated."""

    async def __call__(self, notice: CoreNotice) -> None: ...
