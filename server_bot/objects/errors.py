"""The object-store exception tree. Callers catch `ObjectStoreError`, never `Exception`.

ObjectStoreError
├── InvalidObjectKey        the key is not a plain relative path (traversal, absolute, odd characters)
├── ObjectNotFound          no object under that key
└── ObjectStoreUnavailable  the store could not be reached or refused the request (network, auth, disk)
"""

from __future__ import annotations


class ObjectStoreError(Exception):
    """Base of every error raised by `server_bot.objects`."""


class InvalidObjectKey(ObjectStoreError):
    """The key is not a plain relative path of safe segments; it is refused before any IO."""


class ObjectNotFound(ObjectStoreError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object under key {key!r}")
        self.key = key


class ObjectStoreUnavailable(ObjectStoreError):
    """The store failed: unreachable, credentials refused, bucket missing, disk error."""
