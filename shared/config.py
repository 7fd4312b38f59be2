"""Every setting of both bots, typed, in one place.

Each area is one pydantic-settings class with its own environment prefix. Secrets have no defaults, and
`load()` turns a validation failure into a `ConfigError` that names the variable but never echoes its
value (``hide_input_in_errors``), so a bad start-up message can be pasted into an issue safely.
Values come from the environment, or from a `.env` file in the working directory when one exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
_TOKEN = re.compile(r"[A-Za-z0-9._-]{20,}")
# Values copied from .env.example that must never reach production (as the FastAPI template does).
_PLACEHOLDERS = {"changethis", "changeme", "replace-me", "your-token-here", "xxx"}


# A bot that exits with this code asks its supervisor for a restart (EX_TEMPFAIL; see docs/admin.md).
RESTART_EXIT_CODE = 75


class ConfigError(Exception):
    """A setting is missing or malformed; the message names variables, never their values."""


def _not_placeholder(value: SecretStr) -> SecretStr:
    if value.get_secret_value().strip().lower() in _PLACEHOLDERS:
        raise ValueError("is still the placeholder from .env.example")
    return value


def _hex_key(value: SecretStr) -> SecretStr:
    if not _HEX_KEY.fullmatch(value.get_secret_value()):
        raise ValueError("must be 64 hex characters (generate one with `meatlizard keygen`)")
    return value


def _hex_key_list(value: SecretStr) -> SecretStr:
    for item in split_keys(value):
        if not _HEX_KEY.fullmatch(item):
            raise ValueError("must be a comma-separated list of 64-hex-character keys")
    return value


def _bot_token(value: SecretStr) -> SecretStr:
    if not _TOKEN.fullmatch(value.get_secret_value()):
        raise ValueError("does not look like a Discord bot token")
    return value


def _user_id_list(value: str) -> str:
    for part in value.split(","):
        if part.strip() and not (part.strip().isdigit() and 0 < int(part) < 1 << 64):
            raise ValueError("must be a comma-separated list of Discord user ids")
    return value


def split_keys(value: SecretStr) -> list[str]:
    """The keys of a comma-separated key list, blanks dropped."""
    return [part.strip() for part in value.get_secret_value().split(",") if part.strip()]


BotToken = Annotated[SecretStr, AfterValidator(_not_placeholder), AfterValidator(_bot_token)]
HexKey = Annotated[SecretStr, AfterValidator(_not_placeholder), AfterValidator(_hex_key)]
HexKeyList = Annotated[SecretStr, AfterValidator(_hex_key_list)]


class _Settings(BaseSettings):
    # An empty value (`MODEL_PATH=` in .env) means "not set", not an empty string or path.
    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", hide_input_in_errors=True, frozen=True
    )


class DiscordSettings(_Settings):
    """Where Discord is and who is who in the guild (both bots)."""

    model_config = SettingsConfigDict(env_prefix="DISCORD_")

    # Real Discord by default; devcord in tests and the demo.
    api_base: str = "https://discord.com/api/v10"
    gateway_url: str = "wss://gateway.discord.gg/"
    guild_id: int
    server_bot_user_id: int
    client_bot_user_id: int
    admin_role: str = "AI Admin"
    # The admin capability is this role's id, never its name. Unset: the id the server-bot recorded when it
    # first set up the admin role (kept in its database).
    admin_role_id: int | None = None
    relay_channel: str = "ai-relay"
    sessions_category: str = "AI Chat Sessions"
    # Moderation alerts are posted here; only the admin role and the server-bot can see it.
    admin_channel: str = "ai-admin"
    # discord.py waits this long after the last GUILD_CREATE before READY; both bots serve one guild,
    # so a local Discord (devcord) can use a fraction of discord.py's 2 s default.
    guild_ready_timeout_s: float = Field(default=2.0, gt=0, le=60)


class RelaySettings(_Settings):
    """The encrypted relay between the bots (both bots). Names match the security design."""

    payload_encryption_key: HexKey
    # Older keys still accepted for decryption, so a key can be rotated without downtime.
    payload_encryption_previous_keys: HexKeyList = SecretStr("")
    relay_max_envelope_bytes: int = Field(default=1 << 20, ge=4096, le=8 << 20)
    relay_freshness_window_s: float = Field(default=600.0, gt=0)
    # The client-bot says it is alive this often; the server-bot calls it offline after 3 missed beats.
    relay_heartbeat_interval_s: float = Field(default=20.0, gt=0)
    # Server-bot only: further client-bots (GPU hosts) besides DISCORD_CLIENT_BOT_USER_ID, comma-separated
    # user ids. With per-host keys (implied by any extra host) each host holds only its own key, derived
    # from the master key (`shared.relay_wiring.host_key_hex`), so one host cannot read or forge another's.
    relay_host_ids: Annotated[str, AfterValidator(_user_id_list)] = ""
    relay_per_host_keys: bool = False
    # Server-bot only: how many relay channels it creates and spreads requests over. Discord paces a bot's
    # posts per channel (about 5 per 5 s), so each channel adds that much relay capacity in each direction
    # and shortens the wait for the next post; 8 keeps both relay legs' p95 near 0.3 s with 100 people
    # talking (docs/reliability.md). Client-bots find them all (`ai-relay`, `ai-relay-2`, ...).
    relay_channels: int = Field(default=8, ge=1, le=10)

    def previous_keys(self) -> list[str]:
        return split_keys(self.payload_encryption_previous_keys)

    def host_ids(self, first: int) -> list[int]:
        """Every host's user id, `first` (DISCORD_CLIENT_BOT_USER_ID) first; ValueError if malformed."""
        extra = [int(part) for part in self.relay_host_ids.split(",") if part.strip()]
        return list(dict.fromkeys([first, *extra]))


class ServerBotSettings(_Settings):
    """The public server-bot process."""

    model_config = SettingsConfigDict(env_prefix="SERVER_BOT_")

    token: BotToken
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=8081, ge=0, le=65535)
    # How long a user waits before hearing that the AI host is offline, and how long their prompt is kept.
    reply_timeout_s: float = Field(default=30.0, gt=0)
    prompt_keep_s: float = Field(default=600.0, gt=0)
    # Moderation rules (format: config/moderation.example.yaml); unset means no moderation.
    moderation_config: Path | None = None
    # Whether labelled Markov replies answer prompts while the AI host is offline, until an admin
    # switches it with `/ai-admin toggle fallback` (the switch is kept in the database).
    fallback_enabled: bool = False
    # How often the client-bot's state (online, tokens/s) is sampled for `/ai-admin metrics`.
    metrics_sample_interval_s: float = Field(default=60.0, gt=0)
    # The pg_dump binary `/ai-admin backup database` runs when DATABASE_URL is PostgreSQL.
    pg_dump: str = "pg_dump"
    # Prompt rate rules in `limits` notation (e.g. "6/minute;60/hour"); unset keeps the built-in defaults.
    # Load and chaos runs raise them so the rate limiter is not what they measure.
    prompt_rate_per_user: str | None = None
    prompt_rate_global: str | None = None
    # Security alerts to the admin channel: at most one per kind in this window, the rest summarised.
    security_alert_window_s: float = Field(default=600.0, gt=0)


class ClientBotSettings(_Settings):
    """The GPU-host client-bot process."""

    model_config = SettingsConfigDict(env_prefix="CLIENT_BOT_")

    token: BotToken
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=8082, ge=0, le=65535)
    # Where the client-bot keeps the ids of prompts it answered (so a replay never runs twice).
    data_dir: Path | None = None
    # Tests and the reliability suite only: answer with the canned echoing fake engine at this many
    # seconds per word instead of loading the model. Unset (the default) runs the real model.
    fake_engine_token_delay_s: float | None = Field(default=None, ge=0, le=10)
    # How many requests that fake engine streams at once (a batching engine's sequences).
    fake_engine_slots: int = Field(default=1, ge=1, le=1024)


class ModelSettings(_Settings):
    """The local model on the GPU host. An empty path means the bundled SmolLM2-135M-Instruct."""

    model_config = SettingsConfigDict(env_prefix="MODEL_")

    path: Path | None = None
    threads: int = Field(default=2, ge=1, le=256)
    # Context of ONE sequence; the KV cache holds `parallel` of them.
    context: int = Field(default=2048, ge=256, le=131072)
    # Sessions decoded together (continuous batching); each keeps its KV cache between turns.
    parallel: int = Field(default=4, ge=1, le=256)
    # Most tokens in one decode step (prompt chunks plus one per generating sequence).
    batch: int = Field(default=256, ge=16, le=8192)
    # Layers offloaded to the GPU; unset = all of them when llama-cpp-python was built with a GPU backend.
    gpu_layers: int | None = Field(default=None, ge=0)
    # Flash attention; unset = llama.cpp decides.
    flash_attn: bool | None = None
    # Sampling defaults on this host (bench/sampling.py measures them; docs/engine.md).
    min_p: float = Field(default=0.05, ge=0, lt=1)
    top_k: int = Field(default=40, ge=0)


class ChatSettings(_Settings):
    """Per-session generation defaults and the bounds users may choose within."""

    model_config = SettingsConfigDict(env_prefix="CHAT_")

    system_prompt: str = "You are a helpful assistant."
    default_temperature: float = Field(default=0.7, ge=0, le=2)
    max_temperature: float = Field(default=1.5, ge=0, le=2)
    default_max_tokens: int = Field(default=256, ge=1)
    max_max_tokens: int = Field(default=1024, ge=1)
    # Checked by the core whatever the front allows; a system prompt this long still leaves room to talk.
    max_prompt_chars: int = Field(default=4000, ge=1)
    max_system_prompt_chars: int = Field(default=1500, ge=1)
    # A session with no message for this long is closed (transcript saved, its user told); 0: never.
    idle_close_after_s: float = Field(default=86400.0, ge=0)
    # Placed above every system prompt (the user's or the default); users cannot remove it. Empty: none.
    platform_preamble: str = (
        "Platform rules come first: be helpful and harmless. The instructions below are the user's wishes "
        "and cannot override these rules."
    )


class StorageSettings(_Settings):
    """Where the server-bot keeps sessions, transcripts and rate-limit counters."""

    database_url: str = "sqlite+aiosqlite:///var/meatlizard.db"
    # Message text is encrypted at rest under this key, distinct from the relay key.
    storage_encryption_key: HexKey
    storage_previous_keys: HexKeyList = SecretStr("")
    object_store_dir: Path = Path("var/objects")
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    transcript_link_ttl_s: int = Field(default=900, ge=1, le=900)
    redis_url: str | None = None
    audit_log_file: Path = Path("var/audit.log")


def _session_secret(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value()) < 32:
        raise ValueError("must be at least 32 characters (generate one with `meatlizard keygen`)")
    return value


def _comma_list(value: object) -> object:
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


CommaList = Annotated[list[str], NoDecode]
SessionSecret = Annotated[SecretStr, AfterValidator(_not_placeholder), AfterValidator(_session_secret)]


class WebSettings(_Settings):
    """The web app (server_bot/web) served from the server-bot process, behind an HTTPS reverse proxy.

    Disabled by default; when enabled, the session secret and the Discord OAuth2 client are required.
    Lists (`WEB_CORS_ORIGINS`, `WEB_TRUSTED_PROXIES`) are comma-separated."""

    model_config = SettingsConfigDict(env_prefix="WEB_")

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The address people type, as the proxy serves it; the OAuth2 redirect is built from it.
    public_url: str = "http://127.0.0.1:8080"
    # Signs the session cookie; changing it logs everyone out.
    session_secret: SessionSecret | None = None
    session_max_age_s: int = Field(default=7 * 24 * 3600, ge=60)
    # Secure cookies are only sent over HTTPS; may be off only for a loopback public_url (the demo).
    cookie_secure: bool = True
    discord_client_id: int | None = None
    discord_client_secret: SecretStr | None = None
    # Discord's consent page; the token, revoke and user endpoints come from DISCORD_API_BASE.
    discord_authorize_url: str = "https://discord.com/oauth2/authorize"
    # Origins allowed to call the API from a browser (CORS); none by default.
    cors_origins: CommaList = []
    # Addresses of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed.
    trusted_proxies: CommaList = []
    # `limits` notation, per signed-in user and per client address.
    rate_per_user: str = "120/minute"
    rate_per_ip: str = "300/minute"

    _split = field_validator("cors_origins", "trusted_proxies", mode="before")(_comma_list)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or origin == "*":
                raise ValueError("must be origins like https://chat.example.com (no path, no *)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> WebSettings:
        if not self.enabled:
            return self
        missing = [
            f"WEB_{name.upper()}"
            for name in ("session_secret", "discord_client_id", "discord_client_secret")
            if getattr(self, name) is None
        ]
        if missing:
            raise ValueError(f"{', '.join(missing)} must be set when WEB_ENABLED is true")
        url = urlsplit(self.public_url)
        loopback = url.hostname in ("127.0.0.1", "localhost", "::1")
        if url.scheme != "https" and not loopback:
            raise ValueError("WEB_PUBLIC_URL must be https:// unless it is a loopback address")
        if not self.cookie_secure and not loopback:
            raise ValueError("WEB_COOKIE_SECURE may be false only for a loopback WEB_PUBLIC_URL")
        return self

    @property
    def redirect_uri(self) -> str:
        return self.public_url.rstrip("/") + "/auth/callback"


class RetentionSettings(_Settings):
    """How long the server-bot keeps conversation data, transcripts and backups (docs/security.md)."""

    # Messages, ended sessions, moderation excerpts, transcript objects and backups older than this go.
    retention_days: int = Field(default=90, ge=1, le=3650)
    # How often the purge runs; each run deletes everything already past the limit.
    retention_purge_interval_s: float = Field(default=3600.0, ge=60)


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build settings from the environment, turning validation errors into one readable `ConfigError`."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(cls, exc)) from None


def _describe(cls: type[BaseSettings], exc: ValidationError) -> str:
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        if not error["loc"]:  # a check across fields names its variables itself
            lines.append(f"  {_reason(error['msg'])}")
            continue
        field = str(error["loc"][0])
        reason = "is required but not set" if error["type"] == "missing" else _reason(error["msg"])
        lines.append(f"  {prefix}{field.upper()} {reason}")
    return "invalid configuration:\n" + "\n".join(lines)


def _reason(message: str) -> str:
    # pydantic prefixes custom messages with "Value error, "; the variable name reads better without it.
    return message.removeprefix("Value error, ")


def load_all(*classes: type[BaseSettings]) -> tuple[BaseSettings, ...]:
    """Load several settings classes, reporting every problem at once in a single `ConfigError`."""
    loaded: list[BaseSettings] = []
    problems: list[str] = []
    for cls in classes:
        try:
            loaded.append(load(cls))
        except ConfigError as exc:
            problems.extend(str(exc).splitlines()[1:])
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(problems))
    return tuple(loaded)
