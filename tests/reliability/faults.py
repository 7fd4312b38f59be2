"""The chaos scenarios: each fault, the behaviour promised (written before it was run), and how it is
injected into a live conversation. `inject` returns (what was observed, whether the promise held); the
history checker then judges the conversations themselves."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devcord.testing import DriverError
from meatlizard.scripted_user import command_reply
from tests.reliability.deployment import Deployment, Options
from tests.reliability.people import Person, Turn
from tests.reliability.processes import Backends


@dataclass
class Stage:
    deployment: Deployment
    people: list[Person]
    backends: Backends | None

    async def mid_reply(self, within_s: float = 30) -> tuple[Person, Turn]:
        """Wait until some reply is partly shown (text visible, not final yet)."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            for person in self.people:
                for turn in person.turns:
                    if turn.first_text_s is not None and not turn.done:
                        return person, turn
            await asyncio.sleep(0.02)
        raise TimeoutError("no reply was being written")

    async def settled(self, turn: Turn, within_s: float) -> float | None:
        """Seconds until `turn` has its final reply or a notice (None: not within `within_s`)."""
        started = time.monotonic()
        while not turn.done:
            if time.monotonic() - started > within_s:
                return None
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    async def person_finished(self, person: Person, turns: int, within_s: float = 120) -> None:
        deadline = time.monotonic() + within_s
        while len(person.turns) < turns or not all(t.done for t in person.turns):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{person.name} did not finish")
            await asyncio.sleep(0.1)

    async def tell(self, person: Person, command: str) -> str:
        try:
            return await command_reply(self.deployment.driver, person.name, "general", command)
        except (TimeoutError, DriverError) as exc:
            return f"(no answer: {exc!r})"[:160]


Inject = Callable[[Stage], Awaitable[tuple[str, bool]]]


@dataclass
class Fault:
    name: str
    expected: str
    inject: Inject
    options: dict[str, Any] = field(default_factory=lambda: {"token_delay_s": 0.2})
    people: int = 2
    turns: int = 3
    words: int = 12
    turn_timeout_s: float = 60
    fault_timeout_s: float = 150
    settle_s: float = 60  # after the fault step, how long the conversations may take to finish
    backends: bool = True
    check_transcripts: bool = True
    prepare: Callable[[Path, Options], None] | None = None


def _fmt(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f}s"


async def sigkill_client(stage: Stage) -> tuple[str, bool]:
    _, turn = await stage.mid_reply()
    client = stage.deployment.processes["client-bot"]
    t0 = time.monotonic()
    client.kill()
    await asyncio.sleep(2)
    await stage.deployment.restart("client-bot")
    back = time.monotonic() - t0
    took = await stage.settled(turn, 90)
    took = None if took is None else took + back
    return f"client back after {back:.1f}s; in-flight prompt settled {_fmt(took)} after the kill", (
        took is not None and took <= 15
    )


async def sigkill_server(stage: Stage) -> tuple[str, bool]:
    _, turn = await stage.mid_reply()
    t0 = time.monotonic()
    stage.deployment.processes["server-bot"].kill()
    await asyncio.sleep(2)
    await stage.deployment.restart("server-bot")
    back = time.monotonic() - t0
    took = await stage.settled(turn, 60)
    took = None if took is None else took + back
    return f"server back after {back:.1f}s; in-flight prompt settled {_fmt(took)} after the kill", (
        took is not None
    )


async def sigterm_both(stage: Stage) -> tuple[str, bool]:
    await stage.mid_reply()
    procs = stage.deployment.processes
    grace = 15.0
    (server_s, server_code), (client_s, client_code) = await asyncio.gather(
        asyncio.to_thread(procs["server-bot"].terminate, grace),
        asyncio.to_thread(procs["client-bot"].terminate, grace),
    )
    tracebacks = sum(procs[n].log_tail(20000).count("Traceback") for n in ("server-bot", "client-bot"))
    await stage.deployment.restart("server-bot")
    await stage.deployment.restart("client-bot")
    ok = server_code == 0 and client_code == 0 and tracebacks == 0
    return (
        f"server-bot exit {server_code} after {server_s:.1f}s, client-bot exit {client_code} after "
        f"{client_s:.1f}s (grace {grace:.0f}s), {tracebacks} tracebacks in the logs"
    ), ok


async def sigstop_client(stage: Stage) -> tuple[str, bool]:
    _, turn = await stage.mid_reply()
    client = stage.deployment.processes["client-bot"]
    t0 = time.monotonic()
    client.signal(signal.SIGSTOP)
    notice_at = None
    while time.monotonic() - t0 < 75:
        if turn.interim_s is not None or turn.notice_s is not None:
            notice_at = time.monotonic() - t0
            break
        await asyncio.sleep(0.1)
    client.signal(signal.SIGCONT)
    took = await stage.settled(turn, 60)
    return (
        f"offline notice {_fmt(notice_at)} after SIGSTOP (promised 30 s); prompt settled "
        f"{_fmt(None if took is None else took + (notice_at or 75))} after SIGSTOP"
    ), notice_at is not None and notice_at <= 32


def _gateway(action: str) -> Inject:
    async def inject(stage: Stage) -> tuple[str, bool]:
        _, turn = await stage.mid_reply()
        driver = stage.deployment.driver
        call = driver.drop_gateway if action == "drop" else driver.reconnect_gateway
        affected = [await call("server-bot"), await call("client-bot")]
        took = await stage.settled(turn, 60)
        return f"{sum(affected)} sessions affected; in-flight prompt settled {_fmt(took)} later", True

    return inject


async def storm_429(stage: Stage) -> tuple[str, bool]:
    await stage.mid_reply()
    driver = stage.deployment.driver
    before = await driver.served_429()
    await driver.set_ratelimits(force_429={"count": 40, "retry_after": 0.3})
    await asyncio.sleep(8)
    return f"devcord served {await driver.served_429() - before} 429s", True


async def http_5xx(stage: Stage) -> tuple[str, bool]:
    await stage.mid_reply()
    driver = stage.deployment.driver
    await driver.http_faults(error_status=500, error_count=6)
    await asyncio.sleep(2)
    await stage.mid_reply()
    await driver.http_faults(error_status=503, error_count=6)
    await asyncio.sleep(6)
    return "12 REST calls answered 500/503 in two bursts", True


async def _health_during(stage: Stage, seconds: float) -> list[str]:
    """The server-bot's /health status, sampled every half second for `seconds`."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        code, body = await stage.deployment.health("server-bot")
        seen.append(f"{code}:{(body or {}).get('status')}")
        await asyncio.sleep(0.5)
    return seen


async def postgres_outage(stage: Stage) -> tuple[str, bool]:
    assert stage.backends is not None
    await stage.mid_reply()
    await asyncio.to_thread(stage.backends.postgres.stop)
    during = await _health_during(stage, 6)
    await asyncio.to_thread(stage.backends.postgres.start)
    await asyncio.sleep(3)
    after, _ = await stage.deployment.health("server-bot")
    down = any(s.startswith("503") for s in during)
    return f"/health during the 6 s outage {sorted(set(during))}, {after} after", down and after == 200


async def redis_outage(stage: Stage) -> tuple[str, bool]:
    assert stage.backends is not None
    await stage.mid_reply()
    stage.backends.redis.stop()
    during = await _health_during(stage, 6)
    await asyncio.to_thread(stage.backends.redis.start)
    degraded = any(s.endswith("degraded") for s in during)
    return f"/health during the 6 s outage {sorted(set(during))} (Redis is optional)", degraded


async def s3_outage_at_save(stage: Stage) -> tuple[str, bool]:
    assert stage.backends is not None
    person = stage.people[0]
    await stage.person_finished(person, 3)
    stage.deployment.snapshots[person.channel_id] = await stage.deployment.driver.messages(
        person.channel_id, include_deleted=True
    )
    await asyncio.to_thread(stage.backends.s3.stop)
    told = await stage.tell(person, "chat end")
    await asyncio.sleep(2)
    await asyncio.to_thread(stage.backends.s3.start)
    return f"/chat end with S3 down told the user: {told[:120]!r}", _honest_about_saving(told)


def _mount_full_tmpfs(workdir: Path, options: Options) -> None:
    target = workdir / "objects-tmpfs"
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(target)], check=True)
    with contextlib.suppress(OSError), (target / "filler").open("wb") as filler:
        while True:
            filler.write(b"\0" * 4096)
            filler.flush()
    options.object_store_dir = target
    options.use_s3 = False


async def full_disk_at_save(stage: Stage) -> tuple[str, bool]:
    person = stage.people[0]
    await stage.person_finished(person, 3)
    stage.deployment.snapshots[person.channel_id] = await stage.deployment.driver.messages(
        person.channel_id, include_deleted=True
    )
    told = await stage.tell(person, "chat end")
    target = stage.deployment.options.object_store_dir
    assert target is not None
    await asyncio.to_thread(subprocess.run, ["umount", "-l", str(target)], check=False)
    return f"/chat end on a full disk told the user: {told[:120]!r}", _honest_about_saving(told)


def _honest_about_saving(told: str) -> bool:
    """The chat was closed and the user told, plainly, that the transcript is not stored yet (never that
    it was saved, nor a vague "something went wrong")."""
    said = told.lower()
    return "closed" in said and "not stored yet" in said and "transcript saved" not in said


FAST: dict[str, Any] = {"token_delay_s": 0.05}

FAULTS: list[Fault] = [
    Fault(
        "sigkill-client",
        "client-bot SIGKILLed mid-reply, restarted after 2 s: the reply is finished or the user told "
        "within 15 s of the kill; no duplicate; later turns answered",
        sigkill_client,
    ),
    Fault(
        "sigkill-server",
        "server-bot SIGKILLed mid-reply, restarted after 2 s: the half-written reply is finished or the "
        "user told; nothing silently dropped; no duplicate; the chat keeps answering",
        sigkill_server,
    ),
    Fault(
        "sigterm-both",
        "SIGTERM to both bots with a prompt in flight: each exits 0 within 15 s without tracebacks, "
        "the prompt is answered or the user told; after a restart the chats keep answering",
        sigterm_both,
    ),
    Fault(
        "sigstop-client",
        "client-bot frozen (SIGSTOP) mid-reply: the offline notice within 30 s, the reply once it "
        "thaws (SIGCONT), exactly once",
        sigstop_client,
        turns=2,
        turn_timeout_s=150,
        fault_timeout_s=200,
        settle_s=90,
    ),
    Fault(
        "gateway-drop",
        "both bots' gateway connections dropped mid-reply: they resume, nothing lost or repeated",
        _gateway("drop"),
    ),
    Fault(
        "op7-reconnect",
        "devcord asks both bots to reconnect (op 7) mid-reply: they resume, nothing lost or repeated",
        _gateway("reconnect"),
    ),
    Fault(
        "429-storm",
        "40 forced 429s (retry_after 0.3 s) mid-conversation: the bots wait and retry; nothing lost",
        storm_429,
    ),
    Fault(
        "http-5xx",
        "two bursts of 6 REST 500/503 answers mid-reply: retried; nothing lost or repeated",
        http_5xx,
    ),
    Fault(
        "postgres-outage",
        "PostgreSQL stopped 6 s mid-conversation: /health says down (503) then ok; prompts in the "
        "outage answered or the user told; nothing lost",
        postgres_outage,
    ),
    Fault(
        "redis-outage",
        "Redis stopped 6 s: rate limits fall back in-process, /health 'degraded'; every prompt answered",
        redis_outage,
    ),
    Fault(
        "s3-outage-at-save",
        "SeaweedFS down during /chat end: the chat is closed, the user told its transcript is not stored "
        "yet (not 'saved' falsely); it is saved once S3 is back and equals what the channel showed",
        s3_outage_at_save,
        options=FAST,
    ),
    Fault(
        "full-disk-at-save",
        "local object store on a full 256 KiB tmpfs during /chat end: the chat is closed and the user "
        "told plainly its transcript is not stored yet (not 'saved'); other chats are unaffected",
        full_disk_at_save,
        options=FAST,
        prepare=_mount_full_tmpfs,
        check_transcripts=False,
    ),
]
