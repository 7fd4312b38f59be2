"""A `Core` over real SQLite and a local object store, with the fake relay. No discord anywhere."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from server_bot.core import Actor, Core, CoreNotice
from server_bot.db import Repository, StorageSealer, create_engine, create_sessionmaker, upgrade_to_head
from server_bot.moderation import Moderator
from server_bot.objects.local import LocalFolderStore
from server_bot.ratelimit import RateLimiter, RateRules
from shared.audit import AuditLog
from shared.config import ChatSettings
from tests.server_bot.core.fakes import FakeRelay

ADMIN_ROLE = 555555555555555555
ALICE = Actor(111111111111111111, "discord")
BOB = Actor(222222222222222222, "web")
ADMIN = Actor(333333333333333333, "discord", role_ids=frozenset({ADMIN_ROLE}))

RULES = """
rules:
  - name: banned-word
    words: [forbiddenword]
    action: reject
"""


@dataclass
class Harness:
    core: Core
    relay: FakeRelay
    repo: Repository
    notices: list[CoreNotice] = field(default_factory=list)


def chat_settings() -> ChatSettings:
    return ChatSettings(max_prompt_chars=200, max_system_prompt_chars=100)


async def build(tmp_path: Path, relay: FakeRelay, **kwargs: object) -> tuple[Harness, object]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'core.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    repo = Repository(create_sessionmaker(engine), StorageSealer(os.urandom(32)))
    core = Core(
        repo=repo,
        objects=LocalFolderStore(tmp_path / "objects"),
        limiter=RateLimiter(RateRules(prompt_per_user="1000/minute", command_per_user="1000/minute")),
        relay=relay,
        audit=AuditLog(None, [repo.audit_sink]),
        chat=chat_settings(),
        moderator=Moderator.from_yaml(RULES),
        admin_role_id=ADMIN_ROLE,
        **kwargs,  # type: ignore[arg-type]
    )
    harness = Harness(core, relay, repo)

    async def listen(notice: CoreNotice) -> None:
        harness.notices.append(notice)

    core.subscribe(listen)
    return harness, engine


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h, engine = await build(tmp_path, FakeRelay())
    yield h
    await engine.dispose()  # type: ignore[attr-defined]
