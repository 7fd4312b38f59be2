"""The database area's exception tree. Callers catch `DatabaseError`, never `Exception`.

DatabaseError
├── SessionAlreadyOpen   the user already owns an open chat session (one open session per user)
├── SessionNotFound      no chat session with that id
├── SessionNotOpen       the chat session exists but has ended (no new messages, settings or owners)
├── ChannelInUse         another chat session is already bound to that Discord channel
├── UserNotFound         no user with that Discord id
├── SealingError         stored text could not be sealed or opened (wrong key, tampered or moved row)
│   └── UnknownStorageKey  the blob names a storage key id that is neither current nor a previous key
├── StorageKeyError      STORAGE_ENCRYPTION_KEY (or a previous key) is missing or malformed
└── MigrationError       Alembic could not bring the schema to the requested revision
"""

from __future__ import annotations


class DatabaseError(Exception):
    """Base of every error raised by `server_bot.db`."""


class SessionAlreadyOpen(DatabaseError):
    """The user already owns an open chat session; end it before opening another."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} already has an open chat session")
        self.user_id = user_id


class SessionNotFound(DatabaseError):
    """No chat session with that id."""


class SessionNotOpen(DatabaseError):
    """The chat session has ended; it takes no new messages, settings or owners."""


class ChannelInUse(DatabaseError):
    """Another chat session is already bound to that Discord channel."""


class UserNotFound(DatabaseError):
    """No user row for that Discord user id."""


class SealingError(DatabaseError):
    """Stored text could not be sealed or opened: wrong key, tampered ciphertext, or a row moved."""


class UnknownStorageKey(SealingError):
    """The sealed blob names a key id that is neither the current nor a previous storage key."""


class StorageKeyError(DatabaseError):
    """A storage key setting is missing or malformed; the message names the variable, never the value."""


class MigrationError(DatabaseError):
    """Alembic failed to bring the schema to the requested revision."""
