"""The one place where relay events become core events.

The relay (`server_bot.relay`) yields `shared.protocol` payloads plus its own notices (`Offline`,
`Expired`, `Queued` in `server_bot.relay_notices`, a module free of discord.py). An event this module
does not know is logged and skipped: a newer relay must not crash a conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

from server_bot import relay_notices
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
        if event.queue_position == 0:
            return None  # generating already: the text itself is the news
        # The host's place in its queue (1 = next).
        eta = getattr(event, "eta_s", None)
        return Queued(
            position=event.queue_position,
            eta_s=float(eta) if isinstance(eta, int | float) and eta > 0 else None,
        )
    if isinstance(event, relay_notices.Offline):
        return HostOffline(keep_for_s=event.keep_for_s)
    if isinstance(event, relay_notices.Expired):
        return Failed.of("expired")
    if isinstance(event, relay_notices.Queued):
        return Queued(position=event.position, eta_s=event.eta_s)
    log.warning("ignoring a relay event the core does not know: %s", type(event).__name__)
    return None
