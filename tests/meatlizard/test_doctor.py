"""`meatlizard doctor` against devcord: all green when set up right, one red line per misconfiguration."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest

from devcord.testing import demo_scenario
from meatlizard.cli import main
from meatlizard.doctor import Check, Status, run_checks
from meatlizard.gguf_metadata import write_metadata
from tests.meatlizard.conftest import RELAY_KEY, model_without_template


def failing(checks: list[Check]) -> dict[str, str]:
    return {c.name: c.detail for c in checks if c.status is Status.FAIL}


def scenario(change: str) -> dict[str, Any]:
    data = copy.deepcopy(demo_scenario(heartbeat_interval_ms=1000))
    if change == "server-bot lacks the members intent":
        data["applications"][0]["intents"] = ["MESSAGE_CONTENT"]
    elif change == "relay open to everyone":
        relay = next(c for c in data["guilds"][0]["channels"] if c["name"] == "relay")
        relay["overwrites"] = [o for o in relay["overwrites"] if o["role"] != "@everyone"]
    elif change == "a further relay channel open to everyone":
        relay = next(c for c in data["guilds"][0]["channels"] if c["name"] == "relay")
        further = copy.deepcopy(relay) | {"name": "relay-2"}
        further["overwrites"] = [o for o in further["overwrites"] if o["role"] != "@everyone"]
        data["guilds"][0]["channels"].append(further)
    elif change == "relay opened to a person's role":
        relay = next(c for c in data["guilds"][0]["channels"] if c["name"] == "relay")
        relay["overwrites"].append({"role": "AI Admin", "allow": ["VIEW_CHANNEL"]})
    elif change == "server-bot lacks a permission":
        role = next(r for r in data["guilds"][0]["roles"] if r["name"] == "server-bot")
        role["permissions"] = [p for p in role["permissions"] if p != "MANAGE_ROLES"]
    return data


async def test_a_correct_devcord_deployment_is_all_green(deployment: Path) -> None:
    checks = await run_checks("both")
    assert failing(checks) == {}
    names = [c.name for c in checks]
    for expected in (
        "server-bot token", "server-bot intents", "server-bot in the server", "server-bot permissions",
        "client-bot token", "client-bot intents", "client-bot in the server", "client-bot permissions",
        "AI Admin role", "relay channel", "PAYLOAD_ENCRYPTION_KEY", "STORAGE_ENCRYPTION_KEY", "keys distinct",
        "database", "model file", "chat template", "context", "GPU offload",
    ):  # fmt: skip
        assert expected in names
    token = next(c for c in checks if c.name == "server-bot token")
    assert "bot server-bot" in token.detail and "application server-bot" in token.detail


async def test_the_command_prints_one_line_per_check_and_exits_zero(
    deployment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The command runs its own event loop; devcord keeps serving in this one.
    assert await asyncio.to_thread(main, ["doctor"]) == 0
    out = capsys.readouterr().out
    assert "✔ relay channel: #relay" in out
    assert "all " in out and "checks passed" in out
    assert "devcord-server-bot-token" not in out


@pytest.mark.parametrize(
    ("variable", "value", "red_line"),
    [
        pytest.param(
            "SERVER_BOT_TOKEN", "not-the-right-token-at-all-0000", "server-bot token", id="wrong-token"
        ),
        pytest.param("CLIENT_BOT_TOKEN", "devcord-server-bot-token", "client-bot token", id="swapped-token"),
        pytest.param("DISCORD_ADMIN_ROLE", "AI Overlords", "AI Admin role", id="missing-role"),
        pytest.param("STORAGE_ENCRYPTION_KEY", RELAY_KEY, "keys distinct", id="equal-keys"),
        pytest.param("PAYLOAD_ENCRYPTION_KEY", "1234", "PAYLOAD_ENCRYPTION_KEY", id="short-key"),
        pytest.param("DISCORD_RELAY_CHANNEL", "ai-relay", "relay channel", id="no-relay-channel"),
        pytest.param("MODEL_CONTEXT", "65536", "context", id="context-beyond-the-model"),
    ],
)
async def test_each_misconfigured_setting_gets_its_own_red_line(
    deployment: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, red_line: str
) -> None:
    monkeypatch.setenv(variable, value)
    checks = await run_checks("both")
    assert list(failing(checks)) == [red_line]
    bad = next(c for c in checks if c.name == red_line)
    assert bad.fix
    assert value not in bad.detail or variable.startswith(("DISCORD_", "MODEL_"))


@pytest.mark.parametrize(
    ("devcord_scenario", "red_line", "says"),
    [
        pytest.param(
            scenario("server-bot lacks the members intent"),
            "server-bot intents",
            "Server Members Intent",
            id="missing-intent",
        ),
        pytest.param(
            scenario("relay open to everyone"), "relay channel", "visible to @everyone", id="relay-public"
        ),
        pytest.param(
            scenario("relay opened to a person's role"), "relay channel", "role 'AI Admin'", id="relay-shared"
        ),
        pytest.param(
            scenario("a further relay channel open to everyone"),
            "relay channel",
            "#relay-2 is visible to @everyone",
            id="further-relay-public",
        ),
        pytest.param(
            scenario("server-bot lacks a permission"),
            "server-bot permissions",
            "manage_roles",
            id="missing-permission",
        ),
    ],
)
async def test_each_misconfigured_server_gets_its_own_red_line(
    deployment: Path, red_line: str, says: str
) -> None:
    found = failing(await run_checks("both"))
    assert list(found) == [red_line]
    assert says in found[red_line]


async def test_an_unmigrated_database_is_red(deployment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = deployment / "empty.db"
    empty.touch()
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{empty}")
    found = failing(await run_checks("server"))
    assert list(found) == ["database"]
    assert "at migration none" in found["database"]


async def test_a_model_without_chat_template_is_red(
    deployment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_PATH", str(model_without_template(deployment)))
    found = failing(await run_checks("client"))
    assert list(found) == ["chat template"]


async def test_a_failing_check_makes_the_command_exit_non_zero(
    deployment: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STORAGE_ENCRYPTION_KEY", RELAY_KEY)
    assert await asyncio.to_thread(main, ["doctor", "--host", "server"]) == 1
    out = capsys.readouterr().out
    assert "✘ keys distinct: STORAGE_ENCRYPTION_KEY equals PAYLOAD_ENCRYPTION_KEY" in out
    assert "fix: give STORAGE_ENCRYPTION_KEY its own key" in out
    assert RELAY_KEY not in out


async def test_nothing_configured_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SERVER_BOT_TOKEN", raising=False)
    monkeypatch.delenv("CLIENT_BOT_TOKEN", raising=False)
    assert list(failing(await run_checks())) == ["host"]


async def test_a_model_file_llama_cpp_cannot_open_is_red(
    deployment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = deployment / "metadata-only.gguf"
    write_metadata(path, {"general.architecture": "llama", "tokenizer.chat_template": "{{ messages }}"})
    monkeypatch.setenv("MODEL_PATH", str(path))
    found = failing(await run_checks("client"))
    assert list(found) == ["model file"]
    assert "llama.cpp cannot open it" in found["model file"]


async def test_a_missing_model_file_is_red(deployment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_PATH", str(deployment / "nowhere.gguf"))
    found = failing(await run_checks("client"))
    assert list(found) == ["model file"]
    assert "does not exist" in found["model file"]
