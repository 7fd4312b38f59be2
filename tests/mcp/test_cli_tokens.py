"""`meatlizard token create|list|revoke` and `meatlizard mcp`'s refusal without its settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from meatlizard.cli import main


def test_a_token_is_printed_once_listed_without_it_and_revoked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"]
    assert main(["token", "create", "--user", "42", "--scope", "chat,admin", "--name", "desk", *db]) == 0
    created = capsys.readouterr()
    secret = created.out.strip()
    assert secret.startswith("mlz_") and "shown once" in created.err

    assert main(["token", "list", "--user", "42", *db]) == 0
    listed = capsys.readouterr().out
    assert "desk\tadmin,chat\tactive" in listed and secret not in listed

    assert main(["token", "revoke", "--user", "42", "--id", "1", *db]) == 0
    assert main(["token", "list", "--user", "42", *db]) == 0
    assert "revoked" in capsys.readouterr().out


def test_bad_scopes_and_someone_elses_token_are_refused_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--database-url", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"]
    assert main(["token", "create", "--user", "42", "--scope", "root", *db]) == 2
    assert "chat,transcripts,admin" in capsys.readouterr().err
    assert main(["token", "revoke", "--user", "42", "--id", "9", *db]) == 2
    assert "no token with id 9" in capsys.readouterr().err


def test_mcp_needs_a_url_and_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MEATLIZARD_MCP_TOKEN", raising=False)
    assert main(["mcp", "--url", "http://127.0.0.1:1/mcp"]) == 2
    assert "MEATLIZARD_MCP_TOKEN" in capsys.readouterr().err
