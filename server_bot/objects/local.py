"""The embedded default object store: a folder on the bot's own disk."""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from server_bot.objects.base import MAX_LINK_SECONDS, StoredObject, validate_key
from server_bot.objects.errors import InvalidObjectKey, ObjectNotFound, ObjectStoreUnavailable
from shared.log import get_logger

log = get_logger(__name__)


class LocalFolderStore:
    """Objects are files under `root`; the key is the relative path.

    Decisions: `content_type` is not stored (a folder has nowhere to keep it); `link()` returns a
    `file://` URL that only works on this machine and cannot expire, so `links_are_shareable` is False —
    fine for the local demo, where the operator and the user share the machine. Writes are atomic
    (temp file + rename), so a reader never sees half an object.
    """

    links_are_shareable = False

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root).resolve()

    @property
    def root(self) -> Path:
        return self._root

    def _path(self, key: str) -> Path:
        path = (self._root / validate_key(key)).resolve()
        # The key pattern already excludes traversal; this also catches symlinks pointing outside the root.
        if not path.is_relative_to(self._root):
            raise InvalidObjectKey(f"object key {key[:80]!r} resolves outside the store")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as exc:
            raise ObjectStoreUnavailable(f"could not write object {key!r}: {exc.strerror}") from exc

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise ObjectStoreUnavailable(f"could not read object {key!r}: {exc.strerror}") from exc

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink, True)
        except OSError as exc:
            raise ObjectStoreUnavailable(f"could not delete object {key!r}: {exc.strerror}") from exc

    async def list_objects(self, prefix: str) -> list[StoredObject]:
        """Objects under `prefix`; half-written temp files (`.tmp-*`) are not objects and are skipped."""
        try:
            return await asyncio.to_thread(self._list, prefix)
        except OSError as exc:
            raise ObjectStoreUnavailable(f"could not list objects under {prefix!r}: {exc.strerror}") from exc

    def _list(self, prefix: str) -> list[StoredObject]:
        found: list[StoredObject] = []
        if not self._root.is_dir():
            return found
        for path in self._root.rglob("*"):
            if path.name.startswith(".tmp-") or not path.is_file():
                continue
            key = path.relative_to(self._root).as_posix()
            if key.startswith(prefix):
                modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                found.append(StoredObject(key, modified))
        return found

    async def link(self, key: str, expires_s: int = MAX_LINK_SECONDS) -> str:
        """A `file://` URL (see the class note); `expires_s` cannot be honoured by a plain file."""
        if not await self.exists(key):
            raise ObjectNotFound(key)
        return self._path(key).as_uri()


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
