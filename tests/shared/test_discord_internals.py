"""The discord.py internals module refuses versions it was not written for, with a clear message."""

from __future__ import annotations

import discord
import pytest

from shared import discord_internals
from shared.config import DiscordSettings
from shared.discord_endpoints import apply


def test_the_installed_discord_py_is_supported() -> None:
    discord_internals.check_version()


@pytest.mark.parametrize("version", ["2.6.4", "3.0.0", "1.7.3"])
def test_other_discord_py_versions_stop_start_up_naming_the_problem(version: str) -> None:
    with pytest.raises(discord_internals.UnsupportedDiscordVersion, match=rf"discord\.py {version} is not"):
        discord_internals.check_version(version)


def test_redirecting_checks_the_version_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord, "__version__", "9.9.9")
    settings = DiscordSettings(guild_id=1, server_bot_user_id=2, client_bot_user_id=3)
    with pytest.raises(discord_internals.UnsupportedDiscordVersion, match=r"pinned in pyproject\.toml"):
        apply(settings)
