"""A tiny HTTP health endpoint for each bot: ``GET /health``.

The bots register one async check per component (gateway connected, database, Redis, object store, model
loaded). Each check returns ``True``/``False`` or ``(ok, detail)``; it is run with a timeout, and a check
that raises or times out counts as down. The response is::

    {"status": "ok" | "degraded" | "down",
     "components": {name: {"ok": bool, "required": bool, "detail": str}}}

``ok`` (HTTP 200) when every component is up, ``degraded`` (still 200) when only optional components are
down, ``down`` (HTTP 503) when a required component is down - so a load balancer or Docker health check
can use the status code alone. An exception is reported by its class name only: its message could hold a
connection string.

The same server answers ``GET /metrics`` with the process's Prometheus metrics (see shared/metrics.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiohttp import web

from shared import metrics
from shared.log import get_logger

log = get_logger(__name__)

CheckResult = bool | tuple[bool, str]
HealthCheck = Callable[[], Awaitable[CheckResult]]

DEFAULT_CHECK_TIMEOUT_S = 2.0


class HealthError(Exception):
    """Base of the health-endpoint errors (bad registration, server not started)."""


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    ok: bool
    required: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "required": self.required, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: HealthStatus
    components: dict[str, ComponentHealth]

    @property
    def http_status(self) -> int:
        return 503 if self.status is HealthStatus.DOWN else 200

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "components": {name: c.to_dict() for name, c in self.components.items()},
        }


@dataclass(frozen=True, slots=True)
class _Registered:
    check: HealthCheck
    required: bool
    timeout_s: float


class HealthServer:
    """Serves ``GET /health`` on `host`:`port` (port 0 picks a free one; read `.port` after `start()`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._checks: dict[str, _Registered] = {}
        self._runner: web.AppRunner | None = None
        self._bound_port: int | None = None

    def add_check(
        self,
        name: str,
        check: HealthCheck,
        *,
        required: bool = True,
        timeout_s: float = DEFAULT_CHECK_TIMEOUT_S,
    ) -> None:
        """Register `check` under `name`; a later registration under the same name is an error."""
        if name in self._checks:
            raise HealthError(f"health check {name!r} is already registered")
        if timeout_s <= 0:
            raise HealthError(f"health check {name!r}: timeout_s must be positive")
        self._checks[name] = _Registered(check, required, timeout_s)

    async def report(self) -> HealthReport:
        """Run every check concurrently and combine them; usable without the HTTP server."""
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(self._checks[name]) for name in names))
        components = dict(zip(names, results, strict=True))
        return HealthReport(_overall(components.values()), components)

    async def _run(self, registered: _Registered) -> ComponentHealth:
        try:
            async with asyncio.timeout(registered.timeout_s):
                outcome = await registered.check()
        except TimeoutError:
            return ComponentHealth(False, registered.required, f"timed out after {registered.timeout_s:g}s")
        except Exception as exc:
            # The class name only: the message may quote a DSN or a host.
            return ComponentHealth(False, registered.required, f"check failed: {type(exc).__name__}")
        ok, detail = outcome if isinstance(outcome, tuple) else (outcome, "")
        return ComponentHealth(bool(ok), registered.required, detail or ("ok" if ok else "down"))

    async def _handle(self, _request: web.Request) -> web.Response:
        report = await self.report()
        if report.status is not HealthStatus.OK:
            down = sorted(name for name, c in report.components.items() if not c.ok)
            log.warning("health %s: down components %s", report.status.value, down)
        return web.json_response(report.to_dict(), status=report.http_status)

    async def _metrics(self, _request: web.Request) -> web.Response:
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def start(self) -> None:
        if self._runner is not None:
            raise HealthError("health server already started")
        app = web.Application()
        app.router.add_get("/health", self._handle)
        app.router.add_get("/metrics", self._metrics)
        metrics.count_discord_429s()
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        self._runner = runner
        self._bound_port = _bound_port(runner)
        log.info("health endpoint on http://%s:%d/health", self._host, self._bound_port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._bound_port = None

    @property
    def port(self) -> int:
        """The port actually bound (differs from the requested one when that was 0)."""
        if self._bound_port is None:
            raise HealthError("health server is not started")
        return self._bound_port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}/health"


def _overall(components: Any) -> HealthStatus:
    status = HealthStatus.OK
    for component in components:
        if component.ok:
            continue
        if component.required:
            return HealthStatus.DOWN
        status = HealthStatus.DEGRADED
    return status


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        # IPv4 (host, port) and IPv6 (host, port, flow, scope) tuples both keep the port second.
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise HealthError("health server bound no TCP address")
