"""The product as deployed: devcord, the server-bot and the client-bot as separate OS processes, started
with their real entry points and configured only through the environment (as systemd or compose would).

People act through devcord's driver API. Nothing of the bots is imported: the suite sees what a user and
an operator see (channels with edit history, the audit log, /health, exit codes), so it keeps working
whatever the bots look like inside.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from devcord.testing import Driver, DriverError, demo_scenario
from tests.reliability.history import Report, check_history
from tests.reliability.processes import Backends, ManagedProcess

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Options:
    """What a run may change; everything reaches the bots as environment variables."""

    token_delay_s: float | None = 0.05  # None: the real model (SmolLM2)
    fake_slots: int = 1  # requests the fake engine streams at once
    reply_timeout_s: float = 30.0
    prompt_keep_s: float = 600.0
    heartbeat_interval_s: float = 20.0
    gateway_heartbeat_ms: int = 5000
    prompt_rate_per_user: str = "1000/minute"
    prompt_rate_global: str = "100000/minute"
    backends: Backends | None = None  # None: SQLite, in-process limits, a local folder
    object_store_dir: Path | None = None
    use_s3: bool = True  # with backends: transcripts in SeaweedFS (False: the local folder store)
    extra_env: dict[str, str] = field(default_factory=dict)


class Deployment:
    """Start with `await Deployment.up(workdir, options)`; `down()` stops everything it started."""

    def __init__(self, workdir: Path, options: Options) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.options = options
        self.devcord_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.devcord_port}"
        self.driver = Driver(self.base_url)
        self.processes: dict[str, ManagedProcess] = {}
        self.health_ports = {"server-bot": free_port(), "client-bot": free_port()}
        self.bot_ids: dict[str, int] = {}
        self._tokens: dict[str, str] = {}
        self.s3_bucket: str | None = None
        # Channels copied before their chat was ended (an ended chat's channel is deleted).
        self.snapshots: dict[int, list[dict[str, Any]]] = {}

    @classmethod
    async def up(cls, workdir: Path, options: Options) -> Deployment:
        deployment = cls(workdir, options)
        try:
            await deployment._start()
        except BaseException:
            await deployment.down()
            raise
        return deployment

    # -- processes -----------------------------------------------------------------------------------

    def _process(self, name: str, module: str, args: list[str], env: dict[str, str]) -> ManagedProcess:
        base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(self.workdir)}
        process = ManagedProcess(
            name,
            [sys.executable, "-m", module, *args],
            {**base, **env},
            self.workdir,  # no .env file here: settings come from the environment only
            self.workdir / f"{name}.log",
        )
        self.processes[name] = process
        return process

    async def _start(self) -> None:
        scenario = demo_scenario(heartbeat_interval_ms=self.options.gateway_heartbeat_ms)
        # The load run has many people: devcord's default message_create limit is Discord's own.
        scenario_path = self.workdir / "scenario.yaml"
        scenario_path.write_text(yaml.safe_dump(scenario))
        # The bots log in with the tokens the scenario gave devcord (shaped like Discord's).
        self._tokens = {str(app["name"]): str(app["token"]) for app in scenario["applications"]}
        devcord = self._process(
            "devcord",
            "devcord",
            ["--port", str(self.devcord_port), "--scenario", str(scenario_path), "--log-level", "WARNING"],
            {},
        )
        devcord.start()
        await self._until(self._devcord_ready, "devcord", 30)
        config = await self.driver.config()
        self.api_base, self.gateway_url = str(config["api_base"]), str(config["gateway_url"])
        state = await self.driver.state()
        self.guild_id = int(state["guilds"][0]["id"])
        for name in ("server-bot", "client-bot"):
            self.bot_ids[name] = await self.driver.user_id(name)
        self._process("server-bot", "server_bot", [], self._server_env()).start()
        await self.wait_healthy("server-bot", 60)
        self._process("client-bot", "client_bot", [], self._client_env()).start()
        await self.wait_healthy("client-bot", 120)

    def _common_env(self) -> dict[str, str]:
        if not hasattr(self, "_relay_key"):
            self._relay_key = secrets.token_hex(32)
        return {
            "DISCORD_API_BASE": self.api_base,
            "DISCORD_GATEWAY_URL": self.gateway_url,
            "DISCORD_GUILD_ID": str(self.guild_id),
            "DISCORD_SERVER_BOT_USER_ID": str(self.bot_ids["server-bot"]),
            "DISCORD_CLIENT_BOT_USER_ID": str(self.bot_ids["client-bot"]),
            "DISCORD_GUILD_READY_TIMEOUT_S": "0.2",
            "PAYLOAD_ENCRYPTION_KEY": self._relay_key,
            "RELAY_HEARTBEAT_INTERVAL_S": str(self.options.heartbeat_interval_s),
            **self.options.extra_env,
        }

    def _server_env(self) -> dict[str, str]:
        o = self.options
        env = {
            **self._common_env(),
            "SERVER_BOT_TOKEN": self._tokens["server-bot"],
            "SERVER_BOT_HEALTH_PORT": str(self.health_ports["server-bot"]),
            "SERVER_BOT_REPLY_TIMEOUT_S": str(o.reply_timeout_s),
            "SERVER_BOT_PROMPT_KEEP_S": str(o.prompt_keep_s),
            "SERVER_BOT_PROMPT_RATE_PER_USER": o.prompt_rate_per_user,
            "SERVER_BOT_PROMPT_RATE_GLOBAL": o.prompt_rate_global,
            "STORAGE_ENCRYPTION_KEY": secrets.token_hex(32),
            "AUDIT_LOG_FILE": str(self.audit_path),
            "OBJECT_STORE_DIR": str(o.object_store_dir or self.workdir / "objects"),
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir / 'meatlizard.db'}",
        }
        if o.backends is not None:
            b = o.backends
            b.redis.start()
            b.redis.flush()
            env |= {"DATABASE_URL": b.postgres.new_database_url(), "REDIS_URL": b.redis.url}
        if o.backends is not None and o.use_s3:
            b = o.backends
            self.s3_bucket = b.s3.new_bucket()
            env |= {
                "S3_ENDPOINT_URL": b.s3.server.endpoint_url,
                "S3_BUCKET": self.s3_bucket,
                "AWS_ACCESS_KEY_ID": b.s3.server.access_key,
                "AWS_SECRET_ACCESS_KEY": b.s3.server.secret_key,
                "AWS_DEFAULT_REGION": b.s3.server.region,
            }
        self._server_env_cache = env
        return env

    def _client_env(self) -> dict[str, str]:
        env = {
            **self._common_env(),
            "CLIENT_BOT_TOKEN": self._tokens["client-bot"],
            "CLIENT_BOT_HEALTH_PORT": str(self.health_ports["client-bot"]),
        }
        if self.options.token_delay_s is not None:
            env["CLIENT_BOT_FAKE_ENGINE_TOKEN_DELAY_S"] = str(self.options.token_delay_s)
            env["CLIENT_BOT_FAKE_ENGINE_SLOTS"] = str(self.options.fake_slots)
        return env

    @property
    def relay_key_hex(self) -> str:
        """The relay master key both bots were given (a bench opens the relay posts with it)."""
        return self._common_env()["PAYLOAD_ENCRYPTION_KEY"]

    @property
    def audit_path(self) -> Path:
        return self.workdir / "audit.log"

    async def _devcord_ready(self) -> bool:
        try:
            await self.driver.config()
        except (aiohttp.ClientError, OSError):
            return False
        return True

    async def health(self, name: str) -> tuple[int, Any]:
        url = f"http://127.0.0.1:{self.health_ports[name]}/health"
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(url, timeout=aiohttp.ClientTimeout(total=3)) as resp,
            ):
                return resp.status, await resp.json(content_type=None)
        except (aiohttp.ClientError, OSError, TimeoutError):
            return 0, None

    async def wait_healthy(self, name: str, within_s: float) -> None:
        async def healthy() -> bool:
            if not self.processes[name].running:
                raise RuntimeError(f"{name} exited:\n{self.processes[name].log_tail()}")
            return (await self.health(name))[0] == 200

        await self._until(healthy, name, within_s)

    async def restart(self, name: str, within_s: float = 60) -> None:
        """Start `name` again after a kill or stop, as a supervisor would, and wait until it is healthy."""
        process = self.processes[name]
        if process.running:
            process.kill()
        process.start()
        if name != "devcord":
            await self.wait_healthy(name, within_s)

    async def _until(self, check: Any, what: str, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while not await check():
            if time.monotonic() > deadline:
                tail = self.processes[what].log_tail() if what in self.processes else ""
                raise TimeoutError(f"{what} not ready after {within_s}s\n{tail}")
            await asyncio.sleep(0.1)

    async def down(self, grace_s: float = 10) -> None:
        for name in ("client-bot", "server-bot", "devcord"):
            if name in self.processes and self.processes[name].running:
                self.processes[name].signal(signal.SIGCONT)
                self.processes[name].terminate(grace_s)
        await self.driver.close()

    # -- what people saw -----------------------------------------------------------------------------

    def audit(self) -> list[dict[str, Any]]:
        if not self.audit_path.exists():
            return []
        records = []
        for line in self.audit_path.read_text().splitlines():
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line torn by SIGKILL
        return records

    async def channels(self, channel_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        out = {}
        for cid in channel_ids:
            try:
                out[cid] = await self.driver.messages(cid, include_deleted=True)
            except DriverError:
                out[cid] = self.snapshots.get(cid, [])
        return out

    async def check(self, channel_ids: list[int]) -> Report:
        return self.check_channels(await self.channels(channel_ids))

    def check_channels(self, channels: dict[int, list[dict[str, Any]]]) -> Report:
        return check_history(channels, self.bot_ids.values(), self.audit())
