"""What travels inside relay envelopes: the message kinds and their JSON payloads.

The envelope (`shared.envelope`) authenticates and encrypts; this module gives the bytes meaning.
The client-bot is stateless across requests: every PROMPT carries the whole conversation, so any
client-bot can answer any request. That is what lets several GPU hosts sit behind one server-bot.

Flow of one request (server-bot "S", client-bot "C"):

    S -> C  PROMPT  {request_id, messages, params}
    C -> S  ACCEPTED{request_id, queue_position}          (C is alive and has queued it)
    C -> S  DELTA   {request_id, offset, text}  ...       (coalesced, paced to Discord's rate limits)
    C -> S  DONE    {request_id, text, finish_reason, ...} (always the full text: nothing rides on deltas)
    S -> C  CANCEL  {request_id}                          (the user pressed Stop)
    C -> S  FAILED  {request_id, code}                    (the request could not be served)
    C -> S  HEARTBEAT {model, queue_depth, ...}           (every few seconds, on the control stream)
    S -> C  REBOOT  {}                                    (an admin asked: finish the jobs, then restart)
"""

from __future__ import annotations

import uuid
from enum import IntEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Heartbeats are not about any chat session; they travel on this fixed control stream.
CONTROL_SESSION = uuid.UUID(int=0)


class Kind(IntEnum):
    """The envelope header's `kind` byte. Server-to-client kinds are < 16, client-to-server >= 16."""

    PROMPT = 1
    CANCEL = 2
    REBOOT = 3
    ACCEPTED = 16
    DELTA = 17
    DONE = 18
    FAILED = 19
    HEARTBEAT = 20


class ProtocolError(Exception):
    """An authenticated envelope whose payload does not match its kind (a bug or a version skew)."""


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChatTurn(_Payload):
    role: Literal["system", "user", "assistant"]
    content: str


class GenerationParams(_Payload):
    max_tokens: int = Field(ge=1, le=8192)
    temperature: float = Field(ge=0, le=2)
    seed: int | None = None


class Prompt(_Payload):
    request_id: str = Field(min_length=1, max_length=64)
    messages: list[ChatTurn] = Field(min_length=1)
    params: GenerationParams


class Cancel(_Payload):
    request_id: str


class Reboot(_Payload):
    """Finish the requests in hand, then exit with `RESTART_EXIT_CODE` for the supervisor to restart."""


class Accepted(_Payload):
    request_id: str
    queue_position: int = Field(ge=0)


class Delta(_Payload):
    request_id: str
    # Where `text` starts in the reply; lets the receiver ignore a delta it has already applied.
    offset: int = Field(ge=0)
    text: str


FinishReason = Literal["stop", "length", "cancelled"]


class Done(_Payload):
    request_id: str
    text: str
    finish_reason: FinishReason
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Older turns that no longer fit the model's context; the user is told.
    dropped_turns: int = 0
    first_token_ms: float = 0.0
    total_ms: float = 0.0


FailureCode = Literal["busy", "prompt_too_long", "engine_error", "bad_request"]


class Failed(_Payload):
    request_id: str
    code: FailureCode


class Heartbeat(_Payload):
    model: str
    queue_depth: int = Field(ge=0)
    tokens_per_s: float = Field(ge=0)
    uptime_s: float = Field(ge=0)


Payload = Prompt | Cancel | Reboot | Accepted | Delta | Done | Failed | Heartbeat

PAYLOAD_TYPES: dict[Kind, type[Payload]] = {
    Kind.PROMPT: Prompt,
    Kind.CANCEL: Cancel,
    Kind.REBOOT: Reboot,
    Kind.ACCEPTED: Accepted,
    Kind.DELTA: Delta,
    Kind.DONE: Done,
    Kind.FAILED: Failed,
    Kind.HEARTBEAT: Heartbeat,
}
KIND_OF: dict[type[Payload], Kind] = {cls: kind for kind, cls in PAYLOAD_TYPES.items()}


def encode(payload: Payload) -> tuple[Kind, bytes]:
    """The envelope kind and JSON bytes for a payload."""
    return KIND_OF[type(payload)], payload.model_dump_json().encode()


def decode(kind: int, data: bytes) -> Payload:
    """Parse the payload of an authenticated envelope; anything unexpected is a `ProtocolError`."""
    try:
        cls = PAYLOAD_TYPES[Kind(kind)]
    except ValueError:
        raise ProtocolError(f"unknown message kind {kind}") from None
    try:
        return cls.model_validate_json(data)
    except ValidationError as exc:
        # Field names and error types only: the payload may hold conversation text.
        fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors(include_input=False)})
        raise ProtocolError(f"malformed {cls.__name__} payload (fields: {', '.join(fields)})") from None
