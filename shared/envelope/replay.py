"""Replay protection: the sender's sequence clock and the receiver's guard.

Sequence numbers are microsecond timestamps pushed forward when needed: the sender uses
``max(last + 1, now_us)``. They therefore increase across sender restarts (the clock moved on), and a
receiver that knows nothing about a stream — because it restarted or evicted the stream from its LRU —
can still refuse an old recording: the first envelope it accepts on a stream must carry a seq within the
freshness window of its own clock. Once a stream is known, seqs must strictly increase.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from shared.envelope.errors import ReplayedEnvelope, StaleEnvelope

DEFAULT_FRESHNESS_WINDOW_S = 600.0
DEFAULT_MAX_STREAMS = 65536

Clock = Callable[[], int]
_StreamKey = tuple[bytes, int]


def now_us() -> int:
    """Wall-clock microseconds since the epoch: the time base of every seq."""
    return time.time_ns() // 1000


class SequenceClock:
    """Hands out strictly increasing seqs: the current time in µs, or last + 1 if the clock lags."""

    __slots__ = ("_clock", "_last")

    def __init__(self, clock: Clock = now_us) -> None:
        self._clock = clock
        self._last = 0

    def next(self) -> int:
        # One counter for all streams keeps memory flat and is still strictly increasing per stream.
        seq = max(self._last + 1, self._clock())
        self._last = seq
        return seq


class ReplayGuard:
    """Remembers the last accepted seq of up to `max_streams` streams, least recently used evicted first.

    `freshness_window_s` bounds how far (either way) the seq of the first envelope on an unknown stream
    may be from now; None accepts any first seq (then a receiver restart forgets every stream).
    """

    __slots__ = ("_clock", "_max_streams", "_streams", "_window_us")

    def __init__(
        self,
        *,
        freshness_window_s: float | None = DEFAULT_FRESHNESS_WINDOW_S,
        max_streams: int = DEFAULT_MAX_STREAMS,
        clock: Clock = now_us,
    ) -> None:
        if max_streams < 1:
            raise ValueError("the replay guard needs room for at least one stream")
        if freshness_window_s is not None and freshness_window_s < 0:
            raise ValueError("the freshness window cannot be negative")
        self._window_us = None if freshness_window_s is None else int(freshness_window_s * 1_000_000)
        self._max_streams = max_streams
        self._clock = clock
        self._streams: OrderedDict[_StreamKey, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._streams)

    def accept(self, session_id: bytes, direction: int, seq: int) -> None:
        """Record `seq` for the stream, or raise `ReplayedEnvelope`/`StaleEnvelope` and record nothing.

        Call only for an envelope that has already been authenticated, so forged envelopes can neither
        advance a stream nor evict one.
        """
        key = (session_id, direction)
        streams = self._streams
        last = streams.get(key)
        if last is None:
            self._check_fresh(seq)
        elif seq <= last:
            if seq == last:
                raise ReplayedEnvelope("this sequence number was already accepted on this stream")
            raise StaleEnvelope("sequence number is older than the last one accepted on this stream")
        streams[key] = seq
        streams.move_to_end(key)
        if len(streams) > self._max_streams:
            streams.popitem(last=False)

    def _check_fresh(self, seq: int) -> None:
        if self._window_us is None:
            return
        skew_us = seq - self._clock()
        if skew_us < -self._window_us:
            raise StaleEnvelope("first envelope of an unknown stream is older than the freshness window")
        if skew_us > self._window_us:
            raise StaleEnvelope("first envelope of an unknown stream is dated beyond the freshness window")
