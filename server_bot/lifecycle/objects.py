"""Deleting objects for the lifecycle jobs: by exact key, and by age under a prefix."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from server_bot.objects import ListableObjectStore, ObjectStore, validate_key
from server_bot.objects.errors import InvalidObjectKey

TRANSCRIPT_PREFIX = "transcripts/"
BACKUP_PREFIX = "backups/"


def transcript_folder(session_id: object) -> str:
    """Where every object of one chat session lives (`server_bot.transcripts.transcript_keys`)."""
    return f"{TRANSCRIPT_PREFIX}{session_id}/"


async def delete_keys(store: ObjectStore, keys: Iterable[str]) -> int:
    """Delete each distinct key; returns how many were asked for. Invalid keys (a corrupt row) are skipped:
    they can hold no object, since every write validates its key."""
    count = 0
    for key in sorted(set(keys)):
        try:
            validate_key(key)
        except InvalidObjectKey:
            continue
        await store.delete(key)
        count += 1
    return count


async def delete_older_than(store: ListableObjectStore, prefix: str, cutoff: datetime) -> int:
    """Delete every object under `prefix` last written before `cutoff`; returns how many."""
    old = [item.key for item in await store.list_objects(prefix) if item.modified_at < cutoff]
    return await delete_keys(store, old)


async def delete_under(store: ObjectStore, prefix: str) -> int:
    """Delete everything under `prefix` if the store can list; returns how many (0 if it cannot list)."""
    if not isinstance(store, ListableObjectStore):
        return 0
    return await delete_keys(store, [item.key for item in await store.list_objects(prefix)])
