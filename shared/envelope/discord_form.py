"""How an envelope rides on Discord: message text when it fits, otherwise an attachment.

Text form: ``ML1.`` + unpadded base64url of the binary envelope. Its alphabet is ``A-Z a-z 0-9 - _``
plus the prefix's ``.``: no ``@ < > # :`` so mention parsing and filters never match, no whitespace so
Discord's trimming cannot alter it, and it never starts with ``-``, ``#`` or ``>`` so even a rendering
client shows no list, heading or quote. (``_`` and ``-`` can only affect how a human's client *renders*
the text; the API stores and delivers message content byte for byte, and the bots read
``message.content``, never ``clean_content``.)

Anything that does not fit in Discord's 2000-character message goes as the raw envelope in an
attachment named ``envelope.bin``. Every size limit is checked before decoding or decrypting.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from shared.envelope.errors import EnvelopeTooLarge, MalformedEnvelope
from shared.envelope.header import MAX_ENVELOPE_BYTES

TEXT_PREFIX = "ML1."
MAX_CONTENT_CHARS = 2000  # Discord's limit for a message's content
ATTACHMENT_FILENAME = "envelope.bin"

_STD_TO_URL = bytes.maketrans(b"+/", b"-_")
_URL_TO_STD = bytes.maketrans(b"-_", b"+/")
_PADDING = {0: b"", 2: b"==", 3: b"="}
# The unused low bits of a final character must be zero, or two texts would decode to the same bytes.
_CANONICAL_LAST = {
    2: frozenset(b"AQgw"),  # 1 byte in the last group: 2 data bits, low 4 bits zero
    3: frozenset(b"AEIMQUYcgkosw048"),  # 2 bytes: low 2 bits zero
}
_PREFIX_LEN = len(TEXT_PREFIX)


@dataclass(frozen=True, slots=True)
class DiscordForm:
    """Exactly one of `content` (message text) or `attachment` (bytes for `envelope.bin`) is set."""

    content: str | None
    attachment: bytes | None


def encode_text(blob: bytes) -> str:
    """The text form of an envelope, whatever its length (`to_discord` decides whether it fits)."""
    encoded = binascii.b2a_base64(blob, newline=False).translate(_STD_TO_URL).rstrip(b"=")
    return TEXT_PREFIX + encoded.decode("ascii")


def to_discord(blob: bytes, *, max_content_chars: int = MAX_CONTENT_CHARS) -> DiscordForm:
    """Message text if the text form fits in `max_content_chars`, else an attachment."""
    # 4 base64 characters per 3 bytes, rounded up, without padding.
    if _PREFIX_LEN + (len(blob) * 4 + 2) // 3 <= max_content_chars:
        return DiscordForm(content=encode_text(blob), attachment=None)
    return DiscordForm(content=None, attachment=bytes(blob))


def looks_like_envelope(text: object) -> bool:
    """Cheap pre-filter for incoming messages: does this text claim to be an envelope?"""
    return isinstance(text, str) and text.startswith(TEXT_PREFIX)


def from_content(
    text: str, *, max_chars: int = MAX_CONTENT_CHARS, max_bytes: int = MAX_ENVELOPE_BYTES
) -> bytes:
    """The binary envelope inside message text; raises only `EnvelopeError` subclasses.

    Lengths are checked before any decoding. The result still has to be opened (authenticated).
    """
    if not isinstance(text, str):
        raise MalformedEnvelope(f"message content is text, not {type(text).__name__}")
    if len(text) > max_chars:
        raise EnvelopeTooLarge(f"{len(text)}-character message exceeds the {max_chars}-character limit")
    if not text.startswith(TEXT_PREFIX):
        raise MalformedEnvelope(f"not an envelope: text does not start with {TEXT_PREFIX!r}")
    body_len = len(text) - _PREFIX_LEN
    if body_len * 3 // 4 > max_bytes:
        raise EnvelopeTooLarge(f"text form decodes to over the {max_bytes}-byte limit")
    try:
        body = text[_PREFIX_LEN:].encode("ascii")
    except UnicodeEncodeError:
        raise MalformedEnvelope("text form contains a non-ASCII character") from None
    return _decode_base64url(body)


def _decode_base64url(body: bytes) -> bytes:
    remainder = len(body) % 4
    if remainder == 1:
        raise MalformedEnvelope("text form has an impossible length for base64")
    # Strict mode rejects anything outside the standard alphabet, so refuse the standard-only
    # characters first; what remains valid is exactly unpadded base64url.
    if b"+" in body or b"/" in body or b"=" in body:
        raise MalformedEnvelope("text form contains a character outside base64url")
    if remainder and body[-1] not in _CANONICAL_LAST[remainder]:
        raise MalformedEnvelope("text form is not canonical base64url")
    try:
        return binascii.a2b_base64(body.translate(_URL_TO_STD) + _PADDING[remainder], strict_mode=True)
    except (binascii.Error, ValueError):
        raise MalformedEnvelope("text form contains a character outside base64url") from None


def check_attachment_size(size: int, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> None:
    """Call with the attachment's *declared* size before downloading it."""
    if size > max_bytes:
        raise EnvelopeTooLarge(f"{size}-byte attachment exceeds the {max_bytes}-byte limit")
    if size < 0:
        raise MalformedEnvelope("attachment declares a negative size")


def from_attachment(data: bytes, *, max_bytes: int = MAX_ENVELOPE_BYTES) -> bytes:
    """The binary envelope inside a downloaded attachment (checks the real size too)."""
    if not isinstance(data, bytes | bytearray):
        raise MalformedEnvelope(f"an attachment is bytes, not {type(data).__name__}")
    check_attachment_size(len(data), max_bytes=max_bytes)
    return bytes(data)
