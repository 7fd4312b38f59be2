"""The encrypted relay envelope: AES-256-GCM with per-stream subkeys, authenticated headers and replay
protection, in a binary form and a Discord-safe text form. Wire format: docs/protocol.md.

Bots use `EnvelopeChannel`; the pure `seal_envelope`/`open_envelope` exist for tests and tools. Every
rejection of received data is an `EnvelopeError`; misuse or misconfiguration is an `EnvelopeUsageError`.
"""

from shared.envelope.aead import Aead
from shared.envelope.channel import EnvelopeChannel
from shared.envelope.codec import OpenedEnvelope, open_envelope, seal_envelope
from shared.envelope.discord_form import (
    ATTACHMENT_FILENAME,
    MAX_CONTENT_CHARS,
    TEXT_PREFIX,
    DiscordForm,
    check_attachment_size,
    encode_text,
    from_attachment,
    from_content,
    looks_like_envelope,
    to_discord,
)
from shared.envelope.errors import (
    EnvelopeError,
    EnvelopeTooLarge,
    EnvelopeUsageError,
    InvalidKey,
    InvalidNonce,
    MalformedEnvelope,
    ReplayedEnvelope,
    ReplayError,
    StaleEnvelope,
    TamperedEnvelope,
    UnexpectedDirection,
    UnknownKey,
    UnsupportedVersion,
)
from shared.envelope.header import MAX_ENVELOPE_BYTES, OVERHEAD_BYTES, Direction
from shared.envelope.keys import KeyRing, derive_host_key, generate_key_hex, key_id_of, parse_hex_key
from shared.envelope.replay import DEFAULT_FRESHNESS_WINDOW_S, ReplayGuard, SequenceClock

__all__ = [
    "ATTACHMENT_FILENAME",
    "DEFAULT_FRESHNESS_WINDOW_S",
    "MAX_CONTENT_CHARS",
    "MAX_ENVELOPE_BYTES",
    "OVERHEAD_BYTES",
    "TEXT_PREFIX",
    "Aead",
    "Direction",
    "DiscordForm",
    "EnvelopeChannel",
    "EnvelopeError",
    "EnvelopeTooLarge",
    "EnvelopeUsageError",
    "InvalidKey",
    "InvalidNonce",
    "KeyRing",
    "MalformedEnvelope",
    "OpenedEnvelope",
    "ReplayError",
    "ReplayGuard",
    "ReplayedEnvelope",
    "SequenceClock",
    "StaleEnvelope",
    "TamperedEnvelope",
    "UnexpectedDirection",
    "UnknownKey",
    "UnsupportedVersion",
    "check_attachment_size",
    "derive_host_key",
    "encode_text",
    "from_attachment",
    "from_content",
    "generate_key_hex",
    "key_id_of",
    "looks_like_envelope",
    "open_envelope",
    "parse_hex_key",
    "seal_envelope",
    "to_discord",
]
