"""What the web app's routes share: settings, the application core, login, limits. Built once in the
server-bot process from its own objects (the same core, relay, database and object store)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from fastapi import APIRouter
from starlette.types import ASGIApp

from server_bot.core import Core
from server_bot.core.ports import ObjectStore, Relay
from server_bot.web.login import DiscordLogin, Logins
from server_bot.web.security import WebLimits
from server_bot.web.streams import ReplyPumps
from shared.audit import AuditLog
from shared.config import WebSettings


class HostReport(Protocol):
    """What the AI host last said about itself (the relay hub's `ClientStatus`)."""

    @property
    def model(self) -> str: ...
    @property
    def queue_depth(self) -> int: ...
    @property
    def tokens_per_s(self) -> float: ...


class RelayStatus(Relay, Protocol):
    """The relay as the admin dashboard reads it (the core does not report hosts)."""

    @property
    def client(self) -> HostReport | None: ...
    @property
    def in_flight(self) -> int: ...


@dataclass
class WebContext:
    settings: WebSettings
    core: Core
    login: DiscordLogin
    limits: WebLimits
    # Transcript downloads need the JSON file too; the core hands out the Markdown link only.
    objects: ObjectStore
    audit: AuditLog
    # Read-only, for the admin dashboard's host status (the core does not report it).
    relay: RelayStatus
    logins: Logins = field(default_factory=Logins)
    pumps: ReplyPumps = field(default_factory=ReplyPumps)
    # Further ASGI apps served at a path, e.g. {"/mcp": the MCP endpoint} (server_bot/mcp).
    mounts: Mapping[str, ASGIApp] = field(default_factory=dict)
    # Further routers, e.g. /api/tokens (server_bot/mcp/web_tokens.py).
    routers: Sequence[APIRouter] = ()
