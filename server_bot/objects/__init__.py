"""Object stores for transcripts: `LocalFolderStore` (embedded default) and `S3ObjectStore` (production).

Both satisfy the `ObjectStore` protocol; errors derive from `ObjectStoreError`.
"""

from server_bot.objects.base import (
    MAX_LINK_SECONDS,
    ListableObjectStore,
    ObjectStore,
    StoredObject,
    clamp_link_seconds,
    validate_key,
)
from server_bot.objects.errors import (
    InvalidObjectKey,
    ObjectNotFound,
    ObjectStoreError,
    ObjectStoreUnavailable,
)
from server_bot.objects.local import LocalFolderStore
from server_bot.objects.s3 import S3ObjectStore

__all__ = [
    "MAX_LINK_SECONDS",
    "InvalidObjectKey",
    "ListableObjectStore",
    "LocalFolderStore",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectStoreError",
    "ObjectStoreUnavailable",
    "S3ObjectStore",
    "StoredObject",
    "clamp_link_seconds",
    "validate_key",
]
