"""What the web app's routes share: settings, the application core, login, limits. Built once by
`server.py` from the server-bot's own objects (same core, same relay, same database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server_bot.web.login import DiscordLogin, Logins
from server_bot.web.security import WebLimits
from shared.config import WebSettings


@dataclass
class WebContext:
    settings: WebSettings
    login: DiscordLogin
    limits: WebLimits
    admin_role_id: int | None
    core: Any
    logins: Logins = field(default_factory=Logins)
