"""The client-bot's relay with a fake engine and a fake link: no Discord, no real sleeps."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from client_bot.engine import FakeEngine
from client_bot.relay import ClientRelay
from shared import protocol
from shared.relay_link import RelayLink

SESSION = uuid.uuid4()


@dataclass
class FakeLink:
    sent: list[tuple[uuid.UUID, protocol.Payload]] = field(default_factory=list)

    async def drained(self) -> None:
        return None

    async def send(self, session_id: uuid.UUID, payload: protocol.Payload) -> None:
        self.sent.append((session_id, payload))

    async def close(self, *, flush_within_s: float = 0.0) -> None:
        pass

    def finals(self) -> list[protocol.Payload]:
        return [p for _, p in self.sent if isinstance(p, protocol.Done | protocol.Failed)]


def prompt(rid: str = "r1") -> protocol.Prompt:
    return protocol.Prompt(
        request_id=rid,
        messages=[protocol.ChatTurn(role="user", content="hello there")],
        params=protocol.GenerationParams(max_tokens=16, temperature=0),
    )


async def relay_with(engine: FakeEngine, answered: Path | None = None) -> tuple[ClientRelay, FakeLink]:
    await engine.start()
    link = FakeLink()
    return ClientRelay(cast(RelayLink, link), engine, heartbeat_interval_s=60, answered_path=answered), link


async def settle(relay: ClientRelay) -> None:
    while relay._running:
        await asyncio.gather(*relay._running.values(), return_exceptions=True)


async def test_a_prompt_streams_deltas_then_one_done(tmp_path: Path) -> None:
    relay, link = await relay_with(FakeEngine())
    await relay.dispatch(SESSION, prompt())
    await settle(relay)
    deltas = "".join(p.text for _, p in link.sent if isinstance(p, protocol.Delta))
    (done,) = link.finals()
    assert isinstance(done, protocol.Done) and done.text == deltas == "You said: hello there"
    await relay.stop()


async def test_a_resent_prompt_is_not_generated_twice_and_gets_the_same_answer() -> None:
    engine = FakeEngine()
    relay, link = await relay_with(engine)
    await relay.dispatch(SESSION, prompt())
    await relay.dispatch(SESSION, prompt())  # still running: ignored
    await settle(relay)
    await relay.dispatch(SESSION, prompt())  # answered: the answer again
    await settle(relay)
    assert len(link.finals()) == 2 and link.finals()[0] == link.finals()[1]
    assert len(engine.stats().recent) == 1
    await relay.stop()


async def test_a_replayed_prompt_does_not_run_again_after_a_restart(tmp_path: Path) -> None:
    answered = tmp_path / "answered.txt"
    relay, _ = await relay_with(FakeEngine(), answered)
    await relay.dispatch(SESSION, prompt("once"))
    await settle(relay)
    await relay.stop()
    engine = FakeEngine()
    restarted, link = await relay_with(engine, answered)
    await restarted.dispatch(SESSION, prompt("once"))
    await settle(restarted)
    assert link.sent == []
    assert engine.stats().recent == ()
    await restarted.stop()


async def test_the_heartbeat_lists_running_then_queued_requests() -> None:
    engine = FakeEngine(token_delay_s=0.01)
    relay, link = await relay_with(engine)
    for rid in ("a", "b", "c"):
        await relay.dispatch(SESSION, prompt(rid))
    while not relay._generating:
        await asyncio.sleep(0)
    beat = relay.heartbeat()
    assert beat.running == ["a"]
    assert beat.queued == ["b", "c"]
    accepted = [p for _, p in link.sent if isinstance(p, protocol.Accepted)]
    assert [a.request_id for a in accepted] == ["b", "c"]
    await relay.stop()


async def test_reboot_waits_for_the_requests_in_hand() -> None:
    relay, link = await relay_with(FakeEngine())
    rebooted = asyncio.Event()

    async def on_reboot() -> None:
        assert link.finals(), "rebooted before answering"
        rebooted.set()

    relay.on_reboot = on_reboot
    await relay.dispatch(SESSION, prompt())
    await relay.dispatch(protocol.CONTROL_SESSION, protocol.Reboot())
    await asyncio.wait_for(rebooted.wait(), 5)
    await relay.stop()


async def test_stopping_finishes_the_requests_in_hand_and_leaves_new_prompts_to_a_resend() -> None:
    relay, link = await relay_with(FakeEngine(token_delay_s=0.01))
    await relay.dispatch(SESSION, prompt("a"))
    await relay.drain(within_s=5)
    assert [p.request_id for p in link.finals() if isinstance(p, protocol.Done)] == ["a"]
    await relay.dispatch(SESSION, prompt("b"))  # arrives while stopping: not started
    assert not relay._running
    await relay.stop()


async def test_stopping_is_bounded_when_a_request_does_not_finish() -> None:
    relay, link = await relay_with(FakeEngine(token_delay_s=10))
    await relay.dispatch(SESSION, prompt("slow"))
    await asyncio.wait_for(relay.drain(within_s=0.1), 5)
    assert link.finals() == []
    await relay.stop()
