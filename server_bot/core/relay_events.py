"""The one place where relay events become core events.

The relay (`server_bot.relay`, owned by the relay team) yields `shared.protocol` payloads plus its own
notices (`Offline`, `Expired`, perhaps `Queued`). Its module imports discord.py, so its notice classes are
recognised here by name and fields, not imported. An event this module does not know is logged and
skipped: a newer relay must not crash a conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from server_bot.core.events import Failed, HostOffline, Queued
from shared import protocol
from shared.log import get_logger

log = get_logger(__name__)

_KNOWN_FAILURES = ("busy", "prompt_too_long", "engine_error", "bad_request")


@dataclass(frozen=True, slots=True)
class TextChunk:
    """A piece of reply text at `offset` (relay deltas may repeat or overlap after a re-send)."""

    offset: int
    text: str


RelayUpdate = Queued | HostOffline | TextChunk | protocol.Done | Failed


def translate(event: object) -> RelayUpdate | None:
    """The core's view of one relay event; None for events that change nothing for the user."""
    if isinstance(event, protocol.Delta):
        return TextChunk(event.offset, event.text)
    if isinstance(event, protocol.Done):
        return event
    if isinstance(event, protocol.Failed):
        return Failed.of(event.code) if event.code in _KNOWN_FAILURES else Failed.of("unknown")
    if isinstance(event, protocol.Accepted):
        return Queued(position=event.queue_position)
    name = type(event).__name__
    if name == "Offline":
        return HostOffline(keep_for_s=float(getattr(event, "keep_for_s", 0.0)))
    if name == "Expired":
        return Failed.of("expired")
    if name == "Queued":
        position = getattr(event, "position", 0)
        eta = getattr(event, "eta_s", None)
        return Queued(
            position=int(position) if isinstance(position, int) else 0,
            eta_s=float(eta) if isinstance(eta, int | float) else None,
        )
    log.warning("ignoring a relay event the core does not know: %s", name)
    return None
