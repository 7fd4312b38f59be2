"""GET /health over a real aiohttp server: ok, degraded (optional part down) or down (503)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from shared.health import CheckResult, HealthCheck, HealthError, HealthServer


@pytest.fixture
async def server() -> AsyncIterator[HealthServer]:
    health = HealthServer("127.0.0.1", 0)
    yield health
    await health.stop()


async def get_health(health: HealthServer) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as client, client.get(health.url) as response:
        return response.status, await response.json()


def returns(result: CheckResult) -> HealthCheck:
    async def check() -> CheckResult:
        return result

    return check


async def never_answers() -> CheckResult:
    await asyncio.sleep(3600)
    return True


async def raises_with_a_secret() -> CheckResult:
    raise ConnectionError("postgresql://admin:hunter2@db/meatlizard")


async def test_all_components_up_is_ok(server: HealthServer) -> None:
    server.add_check("gateway", returns(True))
    server.add_check("database", returns((True, "sqlite")))
    await server.start()

    status, body = await get_health(server)

    assert status == 200
    assert body == {
        "status": "ok",
        "components": {
            "gateway": {"ok": True, "required": True, "detail": "ok"},
            "database": {"ok": True, "required": True, "detail": "sqlite"},
        },
    }


async def test_an_optional_component_down_is_degraded_but_200(server: HealthServer) -> None:
    server.add_check("gateway", returns(True))
    server.add_check("redis", returns((False, "in-memory fallback")), required=False)
    await server.start()

    status, body = await get_health(server)

    assert (status, body["status"]) == (200, "degraded")
    assert body["components"]["redis"] == {  # type: ignore[index]
        "ok": False,
        "required": False,
        "detail": "in-memory fallback",
    }


async def test_a_required_component_down_is_503_down(server: HealthServer) -> None:
    server.add_check("gateway", returns(False))
    server.add_check("redis", returns(False), required=False)
    await server.start()

    status, body = await get_health(server)

    assert (status, body["status"]) == (503, "down")


async def test_a_slow_check_times_out_and_counts_as_down(server: HealthServer) -> None:
    server.add_check("model", never_answers, timeout_s=0.05)
    await server.start()

    status, body = await get_health(server)

    assert status == 503
    assert body["components"]["model"]["detail"] == "timed out after 0.05s"  # type: ignore[index]


async def test_a_failing_check_reports_its_class_not_its_message(server: HealthServer) -> None:
    server.add_check("database", raises_with_a_secret)
    await server.start()

    status, body = await get_health(server)

    assert status == 503
    assert body["components"]["database"]["detail"] == "check failed: ConnectionError"  # type: ignore[index]
    assert "hunter2" not in str(body)


async def test_no_components_is_ok(server: HealthServer) -> None:
    await server.start()

    assert await get_health(server) == (200, {"status": "ok", "components": {}})


async def test_checks_run_concurrently(server: HealthServer) -> None:
    # Each check waits until all of them have started: run one after another, they would all time out.
    parts = 5
    started = 0
    everyone_started = asyncio.Event()

    async def waits_for_the_others() -> CheckResult:
        nonlocal started
        started += 1
        if started == parts:
            everyone_started.set()
        await everyone_started.wait()
        return True

    for index in range(parts):
        server.add_check(f"part{index}", waits_for_the_others, timeout_s=5)

    report = await server.report()

    assert report.http_status == 200
    assert all(component.ok for component in report.components.values())


@pytest.mark.parametrize(
    "timeout_s",
    [pytest.param(0.0, id="zero"), pytest.param(-1.0, id="negative")],
)
def test_a_nonpositive_timeout_is_refused(timeout_s: float) -> None:
    with pytest.raises(HealthError, match="timeout_s"):
        HealthServer().add_check("x", returns(True), timeout_s=timeout_s)


def test_a_name_can_be_registered_once() -> None:
    health = HealthServer()
    health.add_check("gateway", returns(True))
    with pytest.raises(HealthError, match="gateway"):
        health.add_check("gateway", returns(True))


async def test_stop_frees_the_port_and_other_paths_are_404(server: HealthServer) -> None:
    await server.start()
    base = server.url.removesuffix("/health")
    async with aiohttp.ClientSession() as client, client.get(base + "/other") as response:
        assert response.status == 404
    await server.stop()

    with pytest.raises(HealthError):
        _ = server.port
