"""The server-bot's database: schema (Alembic-managed), at-rest sealing and the repository.

Start-up: `await upgrade_to_head(url)`, then `Repository(create_sessionmaker(create_engine(url)),
StorageSealer.from_env())`. Errors derive from `DatabaseError`.
"""

from server_bot.db.engine import create_engine, create_sessionmaker
from server_bot.db.errors import (
    ChannelInUse,
    DatabaseError,
    MigrationError,
    SealingError,
    SessionAlreadyOpen,
    SessionNotFound,
    SessionNotOpen,
    StorageKeyError,
    UnknownStorageKey,
    UserNotFound,
)
from server_bot.db.migrate import downgrade_to_base, upgrade_to_head
from server_bot.db.models import Role, SessionStatus
from server_bot.db.records import (
    AuditEventInfo,
    MetricSampleInfo,
    SessionInfo,
    SessionSettings,
    ToggleInfo,
    TranscriptInfo,
    Turn,
    UserInfo,
    ViolationInfo,
)
from server_bot.db.repository import Repository
from server_bot.db.sealing import StorageSealer

__all__ = [
    "AuditEventInfo",
    "ChannelInUse",
    "DatabaseError",
    "MetricSampleInfo",
    "MigrationError",
    "Repository",
    "Role",
    "SealingError",
    "SessionAlreadyOpen",
    "SessionInfo",
    "SessionNotFound",
    "SessionNotOpen",
    "SessionSettings",
    "SessionStatus",
    "StorageKeyError",
    "StorageSealer",
    "ToggleInfo",
    "TranscriptInfo",
    "Turn",
    "UnknownStorageKey",
    "UserInfo",
    "UserNotFound",
    "ViolationInfo",
    "create_engine",
    "create_sessionmaker",
    "downgrade_to_base",
    "upgrade_to_head",
]
