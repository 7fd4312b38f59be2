"""WebSettings: off by default; when on, the secret and OAuth2 client are required and checked together."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, WebSettings, load

ENABLED = {
    "enabled": True,
    "session_secret": "k" * 40,
    "discord_client_id": 1,
    "discord_client_secret": "client-secret-value",
}


def test_disabled_by_default_with_no_cors_origins_and_no_trusted_proxies() -> None:
    settings = load(WebSettings)
    assert settings.enabled is False and settings.cors_origins == [] and settings.trusted_proxies == []


def test_enabled_without_a_secret_names_the_variables_never_the_values() -> None:
    with pytest.raises(ConfigError) as caught:
        load(WebSettings, enabled=True, discord_client_secret="client-secret-value")
    message = str(caught.value)
    assert "WEB_SESSION_SECRET" in message and "WEB_DISCORD_CLIENT_ID" in message
    assert "client-secret-value" not in message


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"session_secret": "short"}, "WEB_SESSION_SECRET"),
        ({"session_secret": "changeme"}, "WEB_SESSION_SECRET"),
        ({"cors_origins": ["*"]}, "WEB_CORS_ORIGINS"),
        ({"cors_origins": ["https://a.example/path"]}, "WEB_CORS_ORIGINS"),
        ({"public_url": "http://chat.example.com"}, "WEB_PUBLIC_URL"),
        ({"public_url": "https://chat.example.com", "cookie_secure": False}, "WEB_COOKIE_SECURE"),
    ],
)
def test_malformed_values_stop_start_up_naming_the_variable(
    overrides: dict[str, object], variable: str
) -> None:
    with pytest.raises(ConfigError, match=variable) as caught:
        load(WebSettings, **{**ENABLED, **overrides})
    assert "k" * 40 not in str(caught.value)


def test_lists_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("WEB_TRUSTED_PROXIES", "10.0.0.2")
    settings = load(WebSettings)
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.trusted_proxies == ["10.0.0.2"]
    https = load(WebSettings, **ENABLED, public_url="https://chat.example.com/")
    assert https.redirect_uri == "https://chat.example.com/auth/callback"


def test_the_server_bot_refuses_to_start_with_the_web_app_on_and_no_session_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server_bot.main import ServerSettings  # noqa: PLC0415

    monkeypatch.setenv("WEB_ENABLED", "true")
    monkeypatch.setenv("WEB_DISCORD_CLIENT_SECRET", "client-secret-value")
    with pytest.raises(ConfigError) as caught:
        ServerSettings.from_env()
    assert "WEB_SESSION_SECRET" in str(caught.value)
    assert "client-secret-value" not in str(caught.value)
