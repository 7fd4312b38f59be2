"""The stateful endpoint a bot holds: seals outgoing envelopes, opens incoming ones exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from shared.envelope.codec import OpenedEnvelope, open_envelope_with_session_bytes, seal_envelope
from shared.envelope.header import MAX_ENVELOPE_BYTES, Direction
from shared.envelope.keys import KeyRing
from shared.envelope.replay import (
    DEFAULT_FRESHNESS_WINDOW_S,
    DEFAULT_MAX_STREAMS,
    Clock,
    ReplayGuard,
    SequenceClock,
    now_us,
)


class EnvelopeChannel:
    """One bot's end of the relay.

    `local_direction` is the direction this endpoint *sends*: the server-bot seals SERVER_TO_CLIENT and
    only opens CLIENT_TO_SERVER, so its own envelope echoed back is refused (`UnexpectedDirection`).
    Meant for one event loop; it is not thread-safe.
    """

    __slots__ = ("_incoming", "_keyring", "_max_size", "_outgoing", "_replay", "_seq")

    def __init__(
        self,
        keyring: KeyRing,
        local_direction: Direction,
        *,
        freshness_window_s: float | None = DEFAULT_FRESHNESS_WINDOW_S,
        max_envelope_bytes: int = MAX_ENVELOPE_BYTES,
        max_streams: int = DEFAULT_MAX_STREAMS,
        clock: Clock = now_us,
    ) -> None:
        self._keyring = keyring
        self._outgoing = Direction(local_direction)
        self._incoming = self._outgoing.reverse
        self._max_size = max_envelope_bytes
        self._seq = SequenceClock(clock)
        self._replay = ReplayGuard(
            freshness_window_s=freshness_window_s, max_streams=max_streams, clock=clock
        )

    @property
    def outgoing(self) -> Direction:
        return self._outgoing

    @property
    def incoming(self) -> Direction:
        return self._incoming

    def seal(self, session_id: uuid.UUID, kind: int, payload: bytes) -> bytes:
        """A new envelope for `session_id` with the next seq, under the primary key."""
        return seal_envelope(
            self._keyring,
            direction=self._outgoing,
            session_id=session_id,
            kind=kind,
            seq=self._seq.next(),
            payload=payload,
            max_size=self._max_size,
        )

    def open(
        self, blob: bytes | bytearray, *, check: Callable[[OpenedEnvelope], None] | None = None
    ) -> OpenedEnvelope:
        """Authenticate, decrypt and replay-check an incoming envelope; raises `EnvelopeError`s, or what
        `check` raises: the caller's test of the authenticated envelope (e.g. that its stream is the one
        of the channel it arrived in), run before the envelope may touch replay state, so an envelope
        refused there is not spent and cannot advance a stream."""
        opened, session_bytes = open_envelope_with_session_bytes(
            self._keyring, blob, self._incoming, self._max_size
        )
        if check is not None:
            check(opened)
        # Only now, after authentication, may the envelope touch replay state.
        self._replay.accept(session_bytes, self._incoming, opened.seq)
        return opened
