"""The envelope error tree.

Two families, deliberately unrelated:

``EnvelopeError`` — a received envelope (bytes or Discord text) was rejected. The decoder raises nothing
else, whatever it is fed, so a receiving bot catches exactly this base class::

    EnvelopeError
    ├── MalformedEnvelope        not an envelope: bad magic, truncated, bad text form, bad field value
    │   └── UnsupportedVersion   a version byte other than 1 (including a downgrade attempt)
    ├── EnvelopeTooLarge         over the size limit; refused before decoding or decrypting
    ├── UnknownKey               sealed under a key id this ring does not hold
    ├── TamperedEnvelope         authentication failed: altered, spliced, or a wrong key with a colliding id
    ├── UnexpectedDirection      travelling the wrong way, e.g. our own envelope turned around
    └── ReplayError              authentic, but not new
        ├── ReplayedEnvelope     this stream has already accepted this sequence number
        └── StaleEnvelope        older than what the stream has accepted, or outside the freshness window

``EnvelopeUsageError`` (a ``ValueError``) — local code or configuration misused the API: a malformed key,
a nonce of the wrong size, a kind outside 0..255. Never caused by received data; it is a bug or a
configuration mistake and should stop start-up rather than be caught per message.

No message in either family ever contains plaintext, key material or key text.
"""

from __future__ import annotations


class EnvelopeError(Exception):
    """A received envelope was rejected; the base of everything the decoder raises."""


class MalformedEnvelope(EnvelopeError):
    """The input is not a well-formed v1 envelope (or its Discord text form)."""


class UnsupportedVersion(MalformedEnvelope):
    """The version byte is not one this code speaks (only version 1 exists)."""


class EnvelopeTooLarge(EnvelopeError):
    """The envelope, its text form or a declared attachment size exceeds the configured limit."""


class UnknownKey(EnvelopeError):
    """The envelope names a key id that is neither the primary nor a previous key."""


class TamperedEnvelope(EnvelopeError):
    """AES-GCM authentication failed: header, nonce, ciphertext or tag was altered, or the key is wrong."""


class UnexpectedDirection(EnvelopeError):
    """The envelope's direction is the one this endpoint sends, not the one it receives."""


class ReplayError(EnvelopeError):
    """The envelope is authentic but has been seen before or is too old to be accepted."""


class ReplayedEnvelope(ReplayError):
    """This (session, direction, seq) has already been accepted."""


class StaleEnvelope(ReplayError):
    """The seq is below the stream's last accepted seq, or outside the freshness window for a new stream."""


class EnvelopeUsageError(ValueError):
    """Local code or configuration misused the envelope API; never raised because of received data."""


class InvalidKey(EnvelopeUsageError):
    """A key is not 32 bytes / 64 hex characters (the message never contains the key text)."""


class InvalidNonce(EnvelopeUsageError):
    """A nonce is not 12 bytes; the project AES-GCM layer accepts nothing else."""
