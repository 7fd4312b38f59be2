"""The application core: sessions, the conversation, access, moderation and audit, for every front end.

Imports nothing of discord.py (a test proves it). Fronts (Discord cogs, web routes, MCP tools) build an
`Actor`, call `Core`'s services, and render the plain results and `ReplyEvent`s; refusals are `CoreError`s
whose `user_message` is meant for the user.

Public API:
- `Core` (app): `.access` `AccessService`, `.sessions` `SessionService`, `.conversation`
  `ConversationService`, `.moderation` `ModerationService`, `.oversight` `OversightService` (admins'
  reads: open sessions, banned users, the audit trail by `AuditQuery`), `.hosts` `HostService` (the GPU
  hosts: `HostStatus` rows, drain → `HostDrain`, undrain, reboot), `.idle` (closes idle sessions; its
  task starts with `.start()` and ends with `.aclose()`), `.subscribe(listener)`.
- Admin actions (ban, unban, suspend, toggles, transfer, host drain/undrain/reboot) are audited by the
  core as `ADMIN_ACTION`.
- `Actor`, `FrontEnd` (identity).
- Reply events (events): `Accepted`, `Queued`, `TextSoFar`, `HostOffline`, `ContextDropped`, `Finished`,
  `Withheld`, `FallbackReply`, `Failed`; `ReplyEvent`, `ReplyStream`, `FINAL_EVENTS`.
- Notices (events): `SessionClosed`, `SessionTransferred`, `RequestInterrupted`, `ModerationAlert`;
  `CoreNotice`, `NoticeListener`.
- Records (from the db layer): `SessionInfo`, `Turn`; `TranscriptLink` (sessions).
- Errors (errors): `CoreError` and its tree.
- Ports (ports): `Relay`, `RelayPending`, `HostDirectory`, `HostRow`,
  `RateLimiter`, `ObjectStore`, `Clock`, `SystemClock`, `Repository`.
"""

from server_bot.core.access import AccessService
from server_bot.core.admin_audit import ADMIN_ACTION
from server_bot.core.app import Core
from server_bot.core.conversation import ConversationService
from server_bot.core.errors import (
    Banned,
    Blocked,
    CoreError,
    EmptyPrompt,
    InvalidInput,
    InvalidSetting,
    NoOpenSession,
    NotAdmin,
    NotSessionOwner,
    PromptBlocked,
    PromptTooLong,
    RateLimited,
    RelayUnavailable,
    ReplyNotRegenerable,
    RequestNotFound,
    RequestsPaused,
    SessionAlreadyOpen,
    Suspended,
    SystemPromptTooLong,
    UnknownHost,
)
from server_bot.core.events import (
    FINAL_EVENTS,
    Accepted,
    CloseReason,
    ContextDropped,
    CoreNotice,
    Failed,
    FailureCode,
    FallbackReply,
    Finished,
    FinishReason,
    HostOffline,
    ModerationAlert,
    NoticeListener,
    Queued,
    ReplyEvent,
    ReplyStream,
    RequestInterrupted,
    SessionClosed,
    SessionTransferred,
    TextSoFar,
    Withheld,
)
from server_bot.core.hosts import HostDrain, HostService, HostStatus, parse_host_id
from server_bot.core.identity import FRONT_ENDS, Actor, FrontEnd
from server_bot.core.moderation import ModerationService
from server_bot.core.oversight import AuditQuery, OversightService
from server_bot.core.ports import (
    Clock,
    HostDirectory,
    HostRow,
    ObjectStore,
    RateLimiter,
    Relay,
    RelayPending,
    Repository,
    SystemClock,
)
from server_bot.core.sessions import SessionService, TranscriptLink
from server_bot.core.user_data import EXPORT_FILENAME, UserData, UserDataStore, UserDataUnavailable
from server_bot.db.records import SessionInfo, Turn

__all__ = [
    "ADMIN_ACTION",
    "EXPORT_FILENAME",
    "FINAL_EVENTS",
    "FRONT_ENDS",
    "Accepted",
    "AccessService",
    "Actor",
    "AuditQuery",
    "Banned",
    "Blocked",
    "Clock",
    "CloseReason",
    "ContextDropped",
    "ConversationService",
    "Core",
    "CoreError",
    "CoreNotice",
    "EmptyPrompt",
    "Failed",
    "FailureCode",
    "FallbackReply",
    "FinishReason",
    "Finished",
    "FrontEnd",
    "HostDirectory",
    "HostDrain",
    "HostOffline",
    "HostRow",
    "HostService",
    "HostStatus",
    "InvalidInput",
    "InvalidSetting",
    "ModerationAlert",
    "ModerationService",
    "NoOpenSession",
    "NotAdmin",
    "NotSessionOwner",
    "NoticeListener",
    "ObjectStore",
    "OversightService",
    "PromptBlocked",
    "PromptTooLong",
    "Queued",
    "RateLimited",
    "RateLimiter",
    "Relay",
    "RelayPending",
    "RelayUnavailable",
    "ReplyEvent",
    "ReplyNotRegenerable",
    "ReplyStream",
    "Repository",
    "RequestInterrupted",
    "RequestNotFound",
    "RequestsPaused",
    "SessionAlreadyOpen",
    "SessionClosed",
    "SessionInfo",
    "SessionService",
    "SessionTransferred",
    "Suspended",
    "SystemClock",
    "SystemPromptTooLong",
    "TextSoFar",
    "TranscriptLink",
    "Turn",
    "UnknownHost",
    "UserData",
    "UserDataStore",
    "UserDataUnavailable",
    "Withheld",
    "parse_host_id",
]
