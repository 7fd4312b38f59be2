"""Separate OS processes the suite supervises: start, SIGKILL / SIGTERM / SIGSTOP, restart, RSS.

Also the production backends (PostgreSQL 15, redis-server, SeaweedFS) started outside pytest, reusing
the fixtures' helpers, with stop/start on the same port so an outage can be staged mid-conversation.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.fixtures import postgres as pg
from tests.fixtures import s3 as s3fix
from tests.fixtures.redis import RedisServer


@dataclass
class ManagedProcess:
    """One supervised process: its own session (signals reach only it), output to a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts} at {time.time():.3f} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        if self.running:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would; waits until it is gone."""
        self.signal(signal.SIGKILL)
        self.wait(10)

    def terminate(self, grace_s: float) -> tuple[float, int | None]:
        """SIGTERM, as systemd or `docker stop` would; SIGKILL after `grace_s`. (seconds taken, exit code)."""
        started = time.monotonic()
        self.signal(signal.SIGTERM)
        code = self.wait(grace_s)
        if code is None:
            self.kill()
        return time.monotonic() - started, code

    def wait(self, timeout_s: float) -> int | None:
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def restart(self) -> None:
        if self.running:
            self.kill()
        self.start()

    def rss_mb(self) -> float | None:
        """Resident memory of the process now, from /proc (None when it is not running)."""
        if not self.running:
            return None
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@dataclass
class Postgres:
    """A throwaway PostgreSQL 15 cluster that can be stopped (immediate mode) and started again."""

    server: pg.PostgresServer = field(
        default_factory=lambda: pg.PostgresServer(
            port=pg.free_port(), base_dir=Path(tempfile.mkdtemp(prefix="meatlizard-chaos-pg-"))
        )
    )

    def __post_init__(self) -> None:
        # The outage scenario stops it like a crash: what the server-bot committed must survive, as it
        # does in production.
        pg._start(self.server, durable_commits=True)

    def stop(self) -> None:
        pg._stop(self.server)

    def start(self) -> None:
        s = self.server
        options = f"-p {s.port} -k {s.socket_dir} -c listen_addresses={s.host} " + pg.server_settings(
            durable_commits=True
        )
        ctl = [str(pg.PG_BIN / "pg_ctl"), "-D", str(s.data_dir), "-l", str(s.base_dir / "log")]
        subprocess.run(pg._as_postgres([*ctl, "-o", options, "-w", "-t", "60", "start"]), check=True)

    def new_database_url(self) -> str:
        return self.server.url(self.server.create_database())

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.server.base_dir, ignore_errors=True)


class Redis(RedisServer):
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install -y redis-server)")
        super().__init__(binary, Path(tempfile.mkdtemp(prefix="meatlizard-chaos-redis-")))
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class SeaweedFS:
    """`weed mini` on fixed free ports, so a SIGKILL and a restart bring the same endpoint back."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="meatlizard-chaos-s3-"))
        (self.base / "data").mkdir()
        self.ports = s3fix._free_ports(10)
        self.server = s3fix.S3Server(
            f"http://127.0.0.1:{self.ports[6]}", secrets.token_hex(10), secrets.token_hex(20)
        )
        s3fix._write_identities(self.base / "identities.json", self.server.access_key, self.server.secret_key)
        self.sse_key = secrets.token_hex(32)
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        env = {**os.environ, "WEED_S3_SSE_KEY": self.sse_key}
        log_path = self.base / "weed.log"
        with log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                s3fix._weed_command(self.base, self.ports, self.base / "identities.json"),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        s3fix._wait_until_ready(self.server, self.process, log_path)

    def stop(self) -> None:
        # weed ignores SIGTERM; SIGKILL its own process group.
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def new_bucket(self) -> str:
        name = f"chaos-{uuid.uuid4().hex[:16]}"
        self.server.client().create_bucket(Bucket=name)
        return name

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


@dataclass
class Backends:
    """PostgreSQL + Redis + SeaweedFS for one chaos or load run (each scenario gets its own database,
    a flushed Redis and its own bucket)."""

    postgres: Postgres
    redis: Redis
    s3: SeaweedFS

    @classmethod
    def start(cls) -> Backends:
        return cls(Postgres(), Redis(), SeaweedFS())

    def close(self) -> None:
        for part in (self.s3, self.redis, self.postgres):
            part.close()
