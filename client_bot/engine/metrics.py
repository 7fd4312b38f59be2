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
    # Generations the engine runs at once (the relay's heartbeat announces it for routing).
    slots: int = 1


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
