"""The relay with the real model: SmolLM2-135M-Instruct through llama-cpp, streamed into Discord."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_bot.engine import ChatTurn, EngineConfig, GenerationRequest, GenerationResult, LlamaEngine
from devcord import Devcord
from devcord.testing import Driver
from server_bot.core.conversation import system_text
from shared.config import ChatSettings
from tests.e2e.harness import bot_reply, stack_on, start_chat

pytestmark = [pytest.mark.e2e, pytest.mark.llm]

PROMPT = "Say hello to a lizard in one short sentence."
GREEDY = {"default_temperature": 0.0, "default_max_tokens": 48}
LENGTH_NOTE = "\n\n*(cut off at the reply length limit)*"


def _engine() -> LlamaEngine:
    return LlamaEngine(EngineConfig(n_ctx=2048, n_threads=2))


async def _direct_reply() -> str:
    """What the model says to the same conversation without Discord in between (greedy: deterministic)."""
    request = GenerationRequest(
        request_id="reference",
        session_id="reference",
        messages=[ChatTurn("system", system_text(ChatSettings(), None)), ChatTurn("user", PROMPT)],
        max_tokens=GREEDY["default_max_tokens"],
        temperature=0.0,
    )
    async with _engine() as engine:
        async for event in engine.generate(request):
            if isinstance(event, GenerationResult):
                return event.text
    raise AssertionError("no result")


async def test_real_model_reply_arrives_through_the_relay_unchanged(
    devcord: Devcord, driver: Driver, tmp_path: Path
) -> None:
    async with stack_on(devcord, _engine(), tmp_path, chat=GREEDY) as stack:
        channel = await start_chat(driver, "alice")
        prompt = await driver.post(channel, "alice", PROMPT)
        reply = await bot_reply(driver, channel, after=int(prompt["id"]), timeout_s=60)
        relayed = [m for relay in stack.relay_channel_ids for m in await driver.messages(relay)]
    expected = await _direct_reply()
    assert expected.strip()
    assert reply["content"].removesuffix(LENGTH_NOTE) == expected.strip()
    assert len(reply["history"]) >= 1, "the reply was streamed: edited in place as text arrived"
    words = [w for w in expected.split() if len(w) > 4]
    assert all(w not in m["content"] for m in relayed for w in words), "the relay carries ciphertext only"
    assert await driver.served_429() == 0
