"""What a pending reply yields besides the host's own messages: notices the relay hub itself decides.

A module of its own, outside the `server_bot.relay` package (which imports discord.py), so that the core
can recognise these notices by type (`server_bot.core.relay_events.translate`) and still import nothing
of discord.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import protocol


@dataclass(frozen=True, slots=True)
class Offline:
    """No host has answered in time; the prompt is kept for another `keep_for_s` seconds."""

    keep_for_s: float


@dataclass(frozen=True, slots=True)
class Expired:
    """No host came back in time; the prompt was dropped."""


@dataclass(frozen=True, slots=True)
class Queued:
    """A live host holds the prompt in its queue: `position` requests are ahead of it (1 = next).

    Sent when the host accepts the prompt and again whenever the position changes.
    """

    position: int
    eta_s: float


ReplyEvent = protocol.Delta | protocol.Done | protocol.Failed | protocol.Accepted | Offline | Expired | Queued
FINAL_EVENTS = (protocol.Done, protocol.Failed, Expired)
