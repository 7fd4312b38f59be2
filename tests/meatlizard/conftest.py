"""A correctly configured deployment against devcord, as environment variables, for doctor and setup."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from client_bot.engine.model_files import default_model_path
from devcord import Devcord
from devcord.testing import Driver
from server_bot.db.migrate import upgrade_to_head
from tests.devcord.bots import TOKENS

RELAY_KEY = "ab" * 32
STORAGE_KEY = "cd" * 32
# Every variable the doctor reads; cleared first so the machine's own environment cannot leak in.
VARIABLES = (
    "DISCORD_API_BASE", "DISCORD_GATEWAY_URL", "DISCORD_GUILD_ID", "DISCORD_SERVER_BOT_USER_ID",
    "DISCORD_CLIENT_BOT_USER_ID", "DISCORD_ADMIN_ROLE", "DISCORD_RELAY_CHANNEL", "DISCORD_SESSIONS_CATEGORY",
    "DISCORD_ADMIN_ROLE_ID", "DISCORD_RELAY_CHANNEL_ID", "DISCORD_SESSIONS_CATEGORY_ID",
    "PAYLOAD_ENCRYPTION_KEY", "PAYLOAD_ENCRYPTION_PREVIOUS_KEYS", "STORAGE_ENCRYPTION_KEY",
    "STORAGE_PREVIOUS_KEYS", "DATABASE_URL", "S3_ENDPOINT_URL", "S3_BUCKET", "REDIS_URL",
    "SERVER_BOT_TOKEN", "CLIENT_BOT_TOKEN", "MODEL_PATH", "MODEL_CONTEXT",
)  # fmt: skip


@pytest.fixture
async def deployment(
    devcord: Devcord, driver: Driver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Set the environment of a host running both bots against devcord; returns the work directory."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    state = await driver.state()
    bots = {app["name"]: app["bot_user_id"] for app in state["applications"]}
    database = f"sqlite+aiosqlite:///{tmp_path / 'meatlizard.db'}"
    await upgrade_to_head(database)
    env = {
        "DISCORD_API_BASE": devcord.api_base,
        "DISCORD_GUILD_ID": state["guilds"][0]["id"],
        "DISCORD_SERVER_BOT_USER_ID": bots["server-bot"],
        "DISCORD_CLIENT_BOT_USER_ID": bots["client-bot"],
        "DISCORD_RELAY_CHANNEL": "relay",
        "PAYLOAD_ENCRYPTION_KEY": RELAY_KEY,
        "STORAGE_ENCRYPTION_KEY": STORAGE_KEY,
        "DATABASE_URL": database,
        "SERVER_BOT_TOKEN": TOKENS["server-bot"],
        "CLIENT_BOT_TOKEN": TOKENS["client-bot"],
    }
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    return tmp_path


def model_without_template(directory: Path) -> Path:
    """The bundled model with its chat template key renamed in place (same length, still valid GGUF)."""
    copy = directory / "no-template.gguf"
    shutil.copyfile(default_model_path(), copy)
    data = bytearray(copy.read_bytes())
    at = data.find(b"tokenizer.chat_template")
    assert at > 0
    data[at : at + len(b"tokenizer.chat_template")] = b"tokenizer.chat_templatX"
    copy.write_bytes(bytes(data))
    return copy
