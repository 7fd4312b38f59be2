"""The server-bot's real start-up path refuses settings that are wrong across areas, naming the variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from meatlizard.stack import SERVER_BOT_TOKEN
from shared.envelope import generate_key_hex
from tests.fixtures.redis import RedisServer


def _base_env() -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(root),
        "DISCORD_GUILD_ID": "1",
        "DISCORD_SERVER_BOT_USER_ID": "2",
        "DISCORD_CLIENT_BOT_USER_ID": "3",
        "SERVER_BOT_TOKEN": SERVER_BOT_TOKEN,
    }


def _start_server_bot(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server_bot"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,  # no .env file here
        timeout=60,
        check=False,
    )


def test_the_server_bot_refuses_a_storage_key_equal_to_the_relay_key(tmp_path: Path) -> None:
    key = generate_key_hex()
    env = _base_env() | {
        "PAYLOAD_ENCRYPTION_KEY": key,
        "STORAGE_ENCRYPTION_KEY": key.upper(),  # the same key, spelt differently
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'never.db'}",
    }
    result = _start_server_bot(env, tmp_path)
    assert result.returncode == 2, result.stderr
    assert "STORAGE_ENCRYPTION_KEY must differ from PAYLOAD_ENCRYPTION_KEY" in result.stderr
    assert key not in result.stderr and key.upper() not in result.stderr
    assert not (tmp_path / "never.db").exists(), "refused before touching the database"


@pytest.mark.parametrize("password", ["wrong-password-value", None], ids=["wrong", "missing"])
def test_the_server_bot_refuses_a_redis_that_rejects_its_password_naming_redis_url_only(
    tmp_path: Path, redis_auth_server: RedisServer, password: str | None
) -> None:
    url = redis_auth_server.url_with_password(password)
    env = _base_env() | {
        "PAYLOAD_ENCRYPTION_KEY": generate_key_hex(),
        "STORAGE_ENCRYPTION_KEY": generate_key_hex(),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "REDIS_URL": url,
    }

    result = _start_server_bot(env, tmp_path)

    assert result.returncode == 2, result.stderr
    assert "REDIS_URL" in result.stderr
    assert "wrong-password-value" not in result.stderr and url not in result.stderr
    assert str(redis_auth_server.password) not in result.stderr
    assert "Traceback" not in result.stderr
