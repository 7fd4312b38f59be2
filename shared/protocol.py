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

On Discord these travel multiplexed: each post carries one BATCH envelope (kind SERVER_BATCH or
CLIENT_BATCH, on the control stream) holding every message that was pending for that direction, each
with its own session id (`shared/relay_outbox.py`). A lone message may still travel as its own envelope.
"""

from __future__ import annotations

import uuid
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Heartbeats are not about any chat session; they travel on this fixed control stream.
CONTROL_SESSION = uuid.UUID(int=0)


class Kind(IntEnum):
    """The envelope header's `kind` byte. Server-to-client kinds are < 16, client-to-server >= 16."""

    PROMPT = 1
    CANCEL = 2
    REBOOT = 3
    SERVER_BATCH = 15
    ACCEPTED = 16
    DELTA = 17
    DONE = 18
    FAILED = 19
    HEARTBEAT = 20
    CLIENT_BATCH = 31


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
    # The request's place in the host's queue: 1 = next to start, 0 = generating already. The same
    # numbering as a heartbeat's `queued` list (its index + 1), so a user never sees two places for one.
    queue_position: int = Field(ge=0)
    # The host's estimate of the wait before generation starts (0: unknown or none).
    eta_s: float = Field(default=0.0, ge=0)


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
    # Capacity (protocol v2; defaults keep v1 heartbeats valid): generation slots, how many are free,
    # and the request ids the host holds, running first then queued in order. The server-bot routes by
    # these and never re-sends a request a live host reports holding.
    slots: int = Field(default=1, ge=1)
    free_slots: int = Field(default=0, ge=0)
    running: list[str] = Field(default_factory=list, max_length=4096)
    queued: list[str] = Field(default_factory=list, max_length=4096)
    mean_reply_s: float = Field(default=0.0, ge=0)


class BatchItem(_Payload):
    """One message inside a BATCH: its session, kind and JSON payload (validated against the kind)."""

    session_id: uuid.UUID
    kind: int
    payload: dict[str, Any]


class Batch(_Payload):
    items: list[BatchItem] = Field(max_length=10_000)


Payload = Prompt | Cancel | Reboot | Accepted | Delta | Done | Failed | Heartbeat
ToClient = Prompt | Cancel | Reboot
ToServer = Accepted | Delta | Done | Failed | Heartbeat

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
_BATCH_KINDS = frozenset({Kind.SERVER_BATCH, Kind.CLIENT_BATCH})
KIND_OF: dict[type[Payload], Kind] = {cls: kind for kind, cls in PAYLOAD_TYPES.items()}


def batch_item(session_id: uuid.UUID, payload: Payload) -> BatchItem:
    """One message ready for a BATCH."""
    return BatchItem(
        session_id=session_id, kind=KIND_OF[type(payload)], payload=payload.model_dump(mode="json")
    )


def encode_batch(items: list[BatchItem]) -> bytes:
    return Batch(items=items).model_dump_json().encode()


def decode_batch(kind: int, data: bytes) -> list[tuple[uuid.UUID, Payload]]:
    """The messages in an authenticated envelope: a BATCH's items, or the one message of a plain kind."""
    if kind not in _BATCH_KINDS:
        raise ProtocolError(f"kind {kind} is not a batch")
    try:
        batch = Batch.model_validate_json(data)
    except ValidationError:
        raise ProtocolError("malformed Batch payload") from None
    out: list[tuple[uuid.UUID, Payload]] = []
    for item in batch.items:
        if item.kind in _BATCH_KINDS:
            raise ProtocolError("a batch cannot nest a batch")
        try:
            cls = PAYLOAD_TYPES[Kind(item.kind)]
        except ValueError:
            raise ProtocolError(f"unknown message kind {item.kind} in a batch") from None
        try:
            out.append((item.session_id, cls.model_validate(item.payload)))
        except ValidationError as exc:
            fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors(include_input=False)})
            raise ProtocolError(
                f"malformed {cls.__name__} in a batch (fields: {', '.join(fields)})"
            ) from None
    return out


def is_batch(kind: int) -> bool:
    return kind in _BATCH_KINDS


def encode(payload: Payload) -> tuple[Kind, bytes]:
    """The envelope kind and JSON bytes for a payload."""
    return KIND_OF[type(payload)], payload.model_dump_json().encode()


def decode(kind: int, data: bytes) -> Payload:
    """Parse the payload of an authenticated envelope; anything unexpected is a `ProtocolError`."""
    try:
        cls = PAYLOAD_TYPES[Kind(kind)]
    except (ValueError, KeyError):  # not a kind at all, or a batch kind (those go to `decode_batch`)
        raise ProtocolError(f"unknown message kind {kind}") from None
    try:
        return cls.model_validate_json(data)
    except ValidationError as exc:
        # Field names and error types only: the payload may hold conversation text.
        fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors(include_input=False)})
        raise ProtocolError(f"malformed {cls.__name__} payload (fields: {', '.join(fields)})") from None
