"""Bot tokens shaped like Discord's: `base64(bot id) . base64(timestamp) . base64(HMAC)`, each part
unpadded URL-safe base64. Client libraries read the bot's id from the first part, so a scenario token
must carry the right id; the other two parts only need the right form."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

# The timestamp part counts seconds from Discord's token epoch (2011-01-01).
_TOKEN_EPOCH_S = 1293840000
_SHAPE = re.compile(r"^([A-Za-z0-9_-]{16,40})\.([A-Za-z0-9_-]{6})\.([A-Za-z0-9_-]{27,38})$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def bot_token(bot_id: int, *, secret: str, issued_at: int) -> str:
    """A well-formed token for `bot_id`; `secret` and `issued_at` make it reproducible."""
    head = _b64(str(bot_id).encode())
    stamp = _b64(max(issued_at - _TOKEN_EPOCH_S, 0).to_bytes(4, "big"))
    mac = hmac.new(secret.encode(), f"{head}.{stamp}".encode(), hashlib.sha256).digest()[:28]
    return f"{head}.{stamp}.{_b64(mac)}"


def token_bot_id(token: str) -> int | None:
    """The bot id a token claims (its first part), or None when the token is not shaped like Discord's."""
    match = _SHAPE.match(token)
    if match is None:
        return None
    head = match.group(1)
    try:
        text = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None
