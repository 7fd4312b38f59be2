"""Settings: a missing or malformed secret stops start-up, naming the variable and never its value."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, ModelSettings, RelaySettings, ServerBotSettings, load, load_all

GOOD_KEY = "ab" * 32
SECRET_LOOKING = "S3cr3t-value-that-must-not-leak-0123456789"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory) -> None:
    for name in (
        "PAYLOAD_ENCRYPTION_KEY",
        "PAYLOAD_ENCRYPTION_PREVIOUS_KEYS",
        "SERVER_BOT_TOKEN",
        "MODEL_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_missing_secret_is_named() -> None:
    with pytest.raises(ConfigError, match="PAYLOAD_ENCRYPTION_KEY is required but not set"):
        load(RelaySettings)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(SECRET_LOOKING, id="not-hex"),
        pytest.param(GOOD_KEY[:-2], id="too-short"),
        pytest.param(GOOD_KEY + "00", id="too-long"),
    ],
)
def test_malformed_key_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEY", value)
    with pytest.raises(ConfigError) as caught:
        load(RelaySettings)
    message = str(caught.value)
    assert "PAYLOAD_ENCRYPTION_KEY must be 64 hex characters" in message
    assert value not in message


def test_placeholder_secret_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVER_BOT_TOKEN", "changethis")
    with pytest.raises(ConfigError, match="SERVER_BOT_TOKEN is still the placeholder"):
        load(ServerBotSettings)


def test_malformed_previous_key_list_is_named_without_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEY", GOOD_KEY)
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_PREVIOUS_KEYS", f"{'cd' * 32},{SECRET_LOOKING}")
    with pytest.raises(ConfigError) as caught:
        load(RelaySettings)
    assert "PAYLOAD_ENCRYPTION_PREVIOUS_KEYS" in str(caught.value)
    assert SECRET_LOOKING not in str(caught.value)


def test_previous_keys_are_split_and_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEY", GOOD_KEY)
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_PREVIOUS_KEYS", f" {'cd' * 32} , ,{'ef' * 32}")
    assert load(RelaySettings).previous_keys() == ["cd" * 32, "ef" * 32]


def test_all_problems_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVER_BOT_TOKEN", "short")
    with pytest.raises(ConfigError) as caught:
        load_all(RelaySettings, ServerBotSettings)
    assert "PAYLOAD_ENCRYPTION_KEY is required" in str(caught.value)
    assert "SERVER_BOT_TOKEN does not look like a Discord bot token" in str(caught.value)


def test_empty_value_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_PATH", "")
    assert load(ModelSettings).path is None


def test_secret_is_not_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEY", GOOD_KEY)
    assert GOOD_KEY not in repr(load(RelaySettings))
