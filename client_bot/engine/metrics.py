"""Throughput of recent generations, for the admin commands."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThroughputSample:
    finished_at: float  # time.time() when the generation ended
    completion_tokens: int
    run_s: float  # seconds the worker spent on it (queue wait excluded)


@dataclass(frozen=True, slots=True)
class EngineStats:
    model_name: str
    loaded: bool
    queue_depth: int
    running: int
    tokens_per_s: float | None  # over the recent window; None before any token was generated
    recent: tuple[ThroughputSample, ...]
    # Capacity, for routing across hosts. A one-at-a-time engine has one slot.
    slots_total: int = 1
    slots_free: int = 1
    cached_sessions: int = 0  # sessions whose KV cache is kept for their next turn
    aggregate_tokens_per_s: float | None = None  # all sequences together, while decoding


class ThroughputWindow:
    """A ring of the last `size` generations; written by the worker, read by the event loop."""

    def __init__(self, size: int) -> None:
        self._samples: deque[ThroughputSample] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, completion_tokens: int, run_s: float) -> None:
        with self._lock:
            self._samples.append(ThroughputSample(time.time(), completion_tokens, run_s))

    def samples(self) -> tuple[ThroughputSample, ...]:
        with self._lock:
            return tuple(self._samples)

    def tokens_per_s(self) -> float | None:
        samples = self.samples()
        tokens = sum(s.completion_tokens for s in samples)
        seconds = sum(s.run_s for s in samples if s.completion_tokens)
        if tokens == 0 or seconds <= 0:
            return None
        return tokens / seconds


class RateMeter:
    """Tokens per second of decode time over the last `window_s` seconds of decode steps."""

    def __init__(self, window_s: float = 30.0) -> None:
        self._window_s = window_s
        self._steps: deque[tuple[float, int, float]] = deque()
        self._lock = threading.Lock()

    def record(self, tokens: int, busy_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._steps.append((now, tokens, busy_s))
            while self._steps and self._steps[0][0] < now - self._window_s:
                self._steps.popleft()

    def tokens_per_s(self) -> float | None:
        with self._lock:
            tokens = sum(step[1] for step in self._steps)
            busy = sum(step[2] for step in self._steps)
        if tokens == 0 or busy <= 0:
            return None
        return tokens / busy
