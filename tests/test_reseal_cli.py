"""`meatlizard reseal` end to end on a real SQLite database: rotate, reseal, drop the old key, read all."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from meatlizard.cli import main
from server_bot.db import (
    Repository,
    Role,
    SessionSettings,
    StorageSealer,
    create_engine,
    create_sessionmaker,
    upgrade_to_head,
)

OLD, NEW = os.urandom(32), os.urandom(32)


async def _write(url: str) -> None:
    await upgrade_to_head(url)
    engine = create_engine(url)
    repo = Repository(create_sessionmaker(engine), StorageSealer(OLD))
    for user in range(3):
        session = await repo.open_session(user + 1, 1, 10 + user, SessionSettings("prompt", 0.5, 32))
        await repo.add_message(session.id, Role.USER, f"hello from {user}")
        await repo.add_violation(user + 1, "rule", "warn", "excerpt", session.id)
    await engine.dispose()


async def _read_all(url: str, sealer: StorageSealer) -> list[str | None]:
    engine = create_engine(url)
    repo = Repository(create_sessionmaker(engine), sealer)
    texts: list[str | None] = []
    try:
        for user in range(3):
            session = await repo.get_open_session_for_user(user + 1)
            assert session is not None
            texts += [session.system_prompt, *(t.text for t in await repo.turns(session.id))]
            texts += [v.excerpt for v in await repo.violations_for_user(user + 1)]
    finally:
        await engine.dispose()
    return texts


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("AUDIT_LOG_FILE", str(tmp_path / "audit.log"))
    monkeypatch.delenv("PAYLOAD_ENCRYPTION_KEY", raising=False)
    asyncio.run(_write(url))
    return url


def test_reseal_then_dropping_the_old_key_keeps_everything_readable(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORAGE_ENCRYPTION_KEY", NEW.hex())
    monkeypatch.setenv("STORAGE_PREVIOUS_KEYS", OLD.hex())
    assert main(["reseal", "--check"]) == 1
    assert "rows still under a previous key: 9" in capsys.readouterr().out

    assert main(["reseal", "--batch", "2"]) == 0

    out, err = capsys.readouterr()
    assert "messages: 3/3 scanned" in err and "re-sealed 9 of 9" in err
    assert "rows still under a previous key: 0" in out
    monkeypatch.setenv("STORAGE_PREVIOUS_KEYS", "")
    assert main(["reseal", "--check"]) == 0
    texts = asyncio.run(_read_all(database_url, StorageSealer(NEW)))
    audit_lines = Path("audit.log").read_text().splitlines()
    assert len(audit_lines) == 1 and '"event":"storage_resealed"' in audit_lines[0]
    assert "resealed:9.scanned:9" in audit_lines[0]
    assert texts == [text for user in range(3) for text in ("prompt", f"hello from {user}", "excerpt")]


def test_reseal_without_the_old_key_fails_clearly_and_changes_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORAGE_ENCRYPTION_KEY", NEW.hex())
    monkeypatch.setenv("STORAGE_PREVIOUS_KEYS", "")

    assert main(["reseal"]) == 1

    err = capsys.readouterr().err
    assert "previous key" in err and OLD.hex() not in err and NEW.hex() not in err
    assert len(asyncio.run(_read_all(database_url, StorageSealer(OLD)))) == 9


def test_reseal_with_a_malformed_key_names_the_variable_not_the_value(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORAGE_ENCRYPTION_KEY", "not-a-key-but-a-secret-value")

    assert main(["reseal"]) == 2

    err = capsys.readouterr().err
    assert "STORAGE_ENCRYPTION_KEY" in err and "not-a-key-but-a-secret-value" not in err
