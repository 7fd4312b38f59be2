"""What every object store offers, and the key rules all of them share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from server_bot.objects.errors import InvalidObjectKey

# Pre-signed links never outlive this, whatever the caller asks for: a leaked link dies quickly.
MAX_LINK_SECONDS = 900
MAX_KEY_LENGTH = 512

# Segments start with a letter or digit, so "." / ".." / hidden names and empty segments can't occur.
_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*")


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative path like `transcripts/<uuid>/transcript.md`, else raise."""
    if not key or len(key) > MAX_KEY_LENGTH or _KEY_PATTERN.fullmatch(key) is None:
        raise InvalidObjectKey(f"object key {key[:80]!r} is not a plain relative path of safe segments")
    return key


def clamp_link_seconds(expires_s: int) -> int:
    """Requested lifetimes are clamped to 1..MAX_LINK_SECONDS."""
    return max(1, min(int(expires_s), MAX_LINK_SECONDS))


@runtime_checkable
class ObjectStore(Protocol):
    """A flat key -> bytes store. Keys must pass `validate_key`; errors derive from `ObjectStoreError`.

    `links_are_shareable` says whether `link()` returns a URL another person can open (S3: yes, a
    pre-signed URL; local folder: no, a file:// URL only useful on the same machine). A bot that needs to
    give a user the file should attach it instead when this is False.
    """

    links_are_shareable: bool

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; raises `ObjectNotFound`."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    async def link(self, key: str, expires_s: int = MAX_LINK_SECONDS) -> str:
        """A URL to read the object, valid at most `MAX_LINK_SECONDS`; raises `ObjectNotFound`."""
        ...


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One listed object: its key and when it was last written (UTC)."""

    key: str
    modified_at: datetime


@runtime_checkable
class ListableObjectStore(ObjectStore, Protocol):
    """A store that can also list its keys - what retention purges and `forget` need to find objects."""

    async def list_objects(self, prefix: str) -> list[StoredObject]:
        """Every object whose key starts with `prefix` (a folder-like `a/b/`), in no promised order."""
        ...
