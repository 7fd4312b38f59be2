"""The web app as it runs in the server-bot: a real `Core` over SQLite and a local object store, a fake
relay (tests/web/fakes.py), devcord as Discord (OAuth2 included), uvicorn on a free port; and
helpers to sign in through devcord's consent page with httpx or headless Chromium."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devcord import Devcord
from server_bot.core import Core
from server_bot.db import Repository, StorageSealer, create_engine, create_sessionmaker, upgrade_to_head
from server_bot.lifecycle import UserDataService
from server_bot.objects import ObjectStore
from server_bot.objects.local import LocalFolderStore
from server_bot.ratelimit import RateLimiter, RateRules
from server_bot.web import WebServer, build_web
from shared.audit import AuditLog
from shared.config import ChatSettings, WebSettings
from tests.web.fakes import SlowEchoRelay

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SECRET = "s" * 48


@dataclass
class Stack:
    devcord: Devcord
    core: Core
    relay: SlowEchoRelay
    web: WebServer
    guild_id: int
    admin_role_id: int

    @property
    def url(self) -> str:
        return self.web.url

    def user_id(self, name: str) -> int:
        return self.devcord.world.user_named(name).id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def objects(tmp_path: Path) -> ObjectStore:
    """The object store behind transcripts; the embedded local folder unless a module overrides it."""
    return LocalFolderStore(tmp_path / "objects")


@pytest.fixture
def limits_redis_url() -> str | None:
    """Where the web's rate limits count: in process unless a module overrides it with Redis."""
    return None


@pytest.fixture
def web_overrides() -> dict[str, Any]:
    """Override in a module to change WebSettings (e.g. tight rate limits, CORS origins)."""
    return {}


@pytest.fixture
async def stack(
    devcord: Devcord,
    tmp_path: Path,
    web_overrides: dict[str, Any],
    objects: ObjectStore,
    limits_redis_url: str | None,
) -> AsyncIterator[Stack]:
    world = devcord.world
    guild = next(g for g in world.guilds.values() if g.name == "MeatLizard")
    admin_role = next(r for r in guild.roles.values() if r.name == "AI Admin")
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient() as http:
        client = (
            await http.post(
                devcord.base_url + "/_devcord/oauth2/clients",
                json={"application": "server-bot", "redirect_uris": [public_url + "/auth/callback"]},
            )
        ).json()
    url = f"sqlite+aiosqlite:///{tmp_path / 'web.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    repo_sessions, sealer = create_sessionmaker(engine), StorageSealer(os.urandom(32))
    repo = Repository(repo_sessions, sealer)
    audit = AuditLog(None, [repo.audit_sink])
    relay = SlowEchoRelay()
    core = Core(
        repo=repo,
        objects=objects,
        limiter=RateLimiter(RateRules(prompt_per_user="1000/minute", command_per_user="1000/minute")),
        relay=relay,
        audit=audit,
        hosts=relay,
        chat=ChatSettings(),
        admin_role_id=admin_role.id,
        user_data=UserDataService(repo_sessions, sealer, objects, audit, None),
    )
    fields: dict[str, Any] = {
        "enabled": True,
        "port": port,
        "public_url": public_url,
        "session_secret": SECRET,
        # httpx keeps Secure cookies for https only; the flag itself is tested on its own.
        "cookie_secure": False,
        "discord_client_id": int(client["client_id"]),
        "discord_client_secret": client["client_secret"],
        "discord_authorize_url": devcord.base_url + "/oauth2/authorize",
    }
    settings = WebSettings(**{**fields, **web_overrides})
    web = build_web(
        settings,
        core=core,
        api_base=devcord.api_base,
        guild_id=guild.id,
        objects=objects,
        audit=audit,
        relay=relay,
        redis_url=limits_redis_url,
    )
    await web.start()
    try:
        yield Stack(devcord, core, relay, web, guild.id, admin_role.id)
    finally:
        await web.stop()
        await relay.aclose()
        audit.close()
        await engine.dispose()


async def sign_in(stack: Stack, user: str) -> httpx.AsyncClient:
    """An httpx client signed in as `user` through devcord's consent page; its `headers` carry CSRF."""
    http = httpx.AsyncClient(base_url=stack.url)
    start = await http.get("/login")
    assert start.status_code == 303, start.text
    page = await http.get(start.headers["location"])
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    fields.update({"user": user, "action": "authorize"})
    consent = await http.post(stack.devcord.base_url + "/oauth2/authorize", data=fields)
    callback = await http.get(consent.headers["location"])
    if callback.status_code == 303:
        me = await http.get("/api/me")
        http.headers["X-CSRF-Token"] = me.json()["csrf"]
    http.last_login = callback  # type: ignore[attr-defined]
    return http
