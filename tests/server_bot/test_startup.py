"""The server-bot's real start-up path refuses settings that are wrong across areas, naming the variables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from meatlizard.stack import SERVER_BOT_TOKEN
from shared.envelope import generate_key_hex


def test_the_server_bot_refuses_a_storage_key_equal_to_the_relay_key(tmp_path: Path) -> None:
    key = generate_key_hex()
    root = Path(__file__).resolve().parents[2]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(root),
        "DISCORD_GUILD_ID": "1",
        "DISCORD_SERVER_BOT_USER_ID": "2",
        "DISCORD_CLIENT_BOT_USER_ID": "3",
        "SERVER_BOT_TOKEN": SERVER_BOT_TOKEN,
        "PAYLOAD_ENCRYPTION_KEY": key,
        "STORAGE_ENCRYPTION_KEY": key.upper(),  # the same key, spelt differently
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'never.db'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "server_bot"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # no .env file here
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "STORAGE_ENCRYPTION_KEY must differ from PAYLOAD_ENCRYPTION_KEY" in result.stderr
    assert key not in result.stderr and key.upper() not in result.stderr
    assert not (tmp_path / "never.db").exists(), "refused before touching the database"
