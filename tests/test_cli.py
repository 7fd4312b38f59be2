"""The `meatlizard` operator command: keys and least-privilege invite URLs."""

from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import discord
import pytest

from meatlizard.cli import main

# Written out from Discord's permissions table, independently of meatlizard.invite:
# View Channels 1<<10, Send Messages 1<<11, Read Message History 1<<16, Attach Files 1<<15,
# Embed Links 1<<14, Manage Channels 1<<4, Manage Roles 1<<28.
CLIENT_BOT_PERMISSIONS = 1024 + 2048 + 65536 + 32768
SERVER_BOT_PERMISSIONS = CLIENT_BOT_PERMISSIONS + 16384 + 16 + 268435456


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _query(url: str) -> dict[str, list[str]]:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://discord.com/oauth2/authorize"
    return parse_qs(parts.query)


def test_keygen_prints_a_fresh_64_hex_key(capsys: pytest.CaptureFixture[str]) -> None:
    code, first, _ = _run(capsys, "keygen")
    _, second, _ = _run(capsys, "keygen")
    assert code == 0
    assert re.fullmatch(r"[0-9a-f]{64}\n", first)
    assert first != second


def test_console_script_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "meatlizard.cli", "keygen"], capture_output=True, text=True, check=True
    )
    assert re.fullmatch(r"[0-9a-f]{64}\n", done.stdout)


@pytest.mark.parametrize(
    ("bot", "permissions", "scopes"),
    [
        pytest.param("server", SERVER_BOT_PERMISSIONS, "bot applications.commands", id="server-bot"),
        pytest.param("client", CLIENT_BOT_PERMISSIONS, "bot", id="client-bot"),
    ],
)
def test_invite_url_asks_for_exactly_the_needed_permissions_and_scopes(
    capsys: pytest.CaptureFixture[str], bot: str, permissions: int, scopes: str
) -> None:
    code, out, _ = _run(capsys, "invite-url", "--client-id", "1234567890", "--bot", bot)
    assert code == 0
    query = _query(out.strip())
    assert query["client_id"] == ["1234567890"]
    assert query["scope"] == [scopes]
    assert query["permissions"] == [str(permissions)]


def test_invite_url_defaults_to_the_server_bot(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "invite-url", "--client-id", "42")
    assert _query(out.strip())["permissions"] == [str(SERVER_BOT_PERMISSIONS)]


def test_no_bot_may_ban_members(capsys: pytest.CaptureFixture[str]) -> None:
    for bot in ("server", "client"):
        _, out, _ = _run(capsys, "invite-url", "--client-id", "42", "--bot", bot)
        assert not int(_query(out.strip())["permissions"][0]) & discord.Permissions(ban_members=True).value


def test_invite_url_can_preselect_the_guild(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "invite-url", "--client-id", "42", "--guild-id", "777")
    query = _query(out.strip())
    assert query["guild_id"] == ["777"]
    assert query["disable_guild_select"] == ["true"]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--client-id", "my-bot"], id="non-numeric-client-id"),
        pytest.param(["--client-id", "42", "--guild-id", "general"], id="non-numeric-guild-id"),
    ],
)
def test_invite_url_refuses_malformed_ids(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = _run(capsys, "invite-url", *argv)
    assert code == 2
    assert out == ""
    assert "numeric" in err


def test_unknown_bot_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["invite-url", "--client-id", "42", "--bot", "admin"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_demo_options_are_passed_through_to_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_demo(argv: list[str]) -> int:
        seen.append(argv)
        return 0

    # The real demo loads the model; this test is about the hand-over of its options only.
    monkeypatch.setattr("meatlizard.demo.main", fake_demo)
    assert main(["demo", "--once", "--port", "8000"]) == 0
    assert seen == [["--once", "--port", "8000"]]


def test_other_commands_refuse_unknown_options() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["keygen", "--once"])
    assert exited.value.code == 2


def test_hostkey_prints_the_documented_host_key_and_never_echoes_a_bad_master(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEY", bytes(range(32)).hex())
    code, out, _ = _run(capsys, "hostkey", "1234567890123456789")
    assert (code, out) == (0, "71ca931f6d0435f5ba767360cb9a9e888d294857c837048aa40cde13c2aba948\n")
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEY", "secret-ish-text")
    code, out, err = _run(capsys, "hostkey", "1")
    assert code == 2 and out == "" and "PAYLOAD_ENCRYPTION_KEY" in err and "secret-ish" not in err
