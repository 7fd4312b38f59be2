"""The deployment files say what docs/deploy.md promises: checked by parsing, since Docker is not run here.

docker-compose.yml: the database and Redis sit on an internal network with no host ports, every service
runs as a non-root user with a health check and a restart policy, and secrets only ever come from `.env`.
.env.example (with deploy/env.compose.example) documents every variable the code and compose read.
"""

from __future__ import annotations

import plistlib
import re
from configparser import ConfigParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from shared import config

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
ENV_EXAMPLES = (ROOT / ".env.example", ROOT / "deploy" / "env.compose.example")
# Names that carry a secret; their values must be references to .env, never literals.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$|_KEY_ID$|_KEYS$|AUTH|_URL$")
# `${VAR}` or `${VAR:?message}`: required, no fallback. `${VAR:-x}` / `${VAR-x}` would be a default.
REQUIRED_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(:?\?[^}]*)?\}")
ANY_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)([^}]*)\}")
# Service and network names are in the URLs, so a URL is a literal apart from its secret parts.
URL_WITH_SECRET = re.compile(r"^[a-z0-9+]+://[^:@/]*:\$\{[A-Z0-9_]+(:\?[^}]*)?\}@")


def _documented() -> set[str]:
    names: set[str] = set()
    for path in ENV_EXAMPLES:
        for line in path.read_text().splitlines():
            match = re.match(r"\s*#?\s*([A-Z][A-Z0-9_]*)=", line)
            if match:
                names.add(match.group(1))
    return names


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _settings_variables() -> list[str]:
    classes = [
        value
        for value in vars(config).values()
        if isinstance(value, type) and issubclass(value, BaseSettings) and value.__module__ == config.__name__
    ]
    assert len(classes) >= 7, "expected one settings class per area"
    variables = []
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        variables += [f"{prefix}{name.upper()}" for name in cls.model_fields]
    return variables


def _compose_text() -> str:
    """docker-compose.yml without its comment lines (they may show `${VAR}` syntax as an example)."""
    lines = (ROOT / "docker-compose.yml").read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _compose_references() -> set[str]:
    return {match.group(1) for match in ANY_REFERENCE.finditer(_compose_text())}


@pytest.mark.parametrize("service", [pytest.param(name, id=name) for name in ("postgres", "redis")])
def test_database_and_redis_are_internal_only(service: str) -> None:
    spec = SERVICES[service]
    assert "ports" not in spec, f"{service} must not publish a host port"
    networks = spec["networks"]
    assert networks, f"{service} must be on a network"
    for network in networks:
        assert COMPOSE["networks"][network].get("internal") is True, f"{service} is on {network}"


@pytest.mark.parametrize("service", [pytest.param(name, id=name) for name in SERVICES])
def test_every_service_is_healthchecked_restarted_and_not_root(service: str) -> None:
    spec = SERVICES[service]
    test = spec["healthcheck"]["test"]
    assert test and test != ["NONE"] and not spec["healthcheck"].get("disable")
    assert spec["restart"] in {"unless-stopped", "always", "on-failure"}
    user = str(spec.get("user", ""))
    assert user, f"{service} must set user:"
    assert user.split(":", maxsplit=1)[0] not in {"root", "0"}


@pytest.mark.parametrize("service", [pytest.param(name, id=name) for name in SERVICES])
def test_every_service_is_read_only_without_capabilities_or_new_privileges(service: str) -> None:
    spec = SERVICES[service]
    assert spec.get("read_only") is True, f"{service} must run on a read-only root file system"
    assert spec.get("cap_drop") == ["ALL"], f"{service} must drop every capability"
    assert "no-new-privileges:true" in spec.get("security_opt", []), f"{service} must set no-new-privileges"
    # Scratch space is a tmpfs; anything else writable must be a named volume (its data) or a tmpfs.
    # A file from the repo (e.g. the proxy's Caddyfile) may be bound only read-only.
    tmpfs = spec.get("tmpfs", [])
    assert "/tmp" in tmpfs, f"{service} needs a tmpfs /tmp on a read-only root"
    for volume in spec.get("volumes", []):
        if str(volume).endswith(":ro"):
            continue
        source = str(volume).split(":", 1)[0]
        assert source in COMPOSE.get("volumes", {}), f"{service} mounts {source}, not a named volume"
    assert "privileged" not in spec and "cap_add" not in spec, f"{service} must not regain privileges"


def test_published_ports_listen_on_loopback_only() -> None:
    # ...except the HTTPS proxy's 80 and 443, which are the way in for people (docs/deploy.md).
    assert SERVICES["proxy"]["ports"] == ["80:8080", "443:8443"]
    for name, spec in SERVICES.items():
        for port in spec.get("ports", []) if name != "proxy" else []:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond the host"


def test_expected_services_are_present() -> None:
    assert {"postgres", "redis", "s3", "server-bot"} <= set(SERVICES)
    assert SERVICES["postgres"]["image"].startswith("postgres:15")
    assert SERVICES["s3"]["image"].startswith("chrislusf/seaweedfs")
    assert "-s3" in SERVICES["s3"]["command"]
    assert "8081" in " ".join(SERVICES["server-bot"]["ports"]), "the /health port is published"


def test_secrets_come_only_from_dotenv() -> None:
    assert SERVICES["server-bot"]["env_file"] in (".env", [".env"])
    for name, spec in SERVICES.items():
        for key, value in _environment(spec).items():
            if not SECRET_NAME.search(key):
                continue
            whole = REQUIRED_REFERENCE.fullmatch(value)
            assert whole or URL_WITH_SECRET.match(value), f"{name}: {key} must come from .env, not a literal"
    for match in ANY_REFERENCE.finditer(_compose_text()):
        assert REQUIRED_REFERENCE.fullmatch(match.group(0)), f"{match.group(0)} has an inline default"


def test_every_variable_the_code_reads_is_in_env_example() -> None:
    missing = sorted(set(_settings_variables()) - _documented())
    assert not missing, f"not documented in .env.example: {missing}"


def test_every_variable_compose_reads_is_documented() -> None:
    missing = sorted(_compose_references() - _documented())
    assert not missing, f"docker-compose.yml reads undocumented variables: {missing}"


def test_dockerfile_runs_the_server_bot_as_non_root_without_the_llm_extra() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.count("FROM python:3.11-slim") >= 1
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert "[llm" not in text and "llama" not in text.split("\n# ---", 1)[1]
    assert re.search(r'^CMD \["python", "-m", "server_bot"\]', text, re.MULTILINE)


def test_dockerignore_keeps_secrets_out_of_the_image() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored and ".git" in ignored and ".venv" in ignored


def test_systemd_unit_runs_the_client_bot_unprivileged() -> None:
    unit = ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment, method-assign]
    unit.read(ROOT / "deploy" / "meatlizard-client-bot.service")
    service = unit["Service"]
    assert service["ExecStart"].endswith("python -m client_bot")
    assert service["User"] not in {"root", "0"}
    assert service["NoNewPrivileges"] == "yes"
    assert service["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_launchd_plist_runs_the_client_bot() -> None:
    with (ROOT / "deploy" / "com.meatlizard.client-bot.plist").open("rb") as handle:
        plist = plistlib.load(handle)
    assert plist["Label"] == "com.meatlizard.client-bot"
    assert plist["ProgramArguments"][-2:] == ["-m", "client_bot"]
    assert plist["RunAtLoad"] is True
    assert "KeepAlive" in plist
