"""An MCP `ask` answered by the real model (SmolLM2-135M-Instruct through llama-cpp) through the relay."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_bot.engine import EngineConfig, LlamaEngine
from devcord import Devcord
from tests.mcp.harness import connected, mcp_stack

pytestmark = [pytest.mark.e2e, pytest.mark.llm]

GREEDY = {"default_temperature": 0.0, "default_max_tokens": 48}


async def test_the_real_model_answers_an_mcp_ask_with_streamed_progress(
    devcord: Devcord, tmp_path: Path
) -> None:
    engine = LlamaEngine(EngineConfig(n_ctx=2048, n_threads=2))
    async with mcp_stack(devcord, engine, tmp_path, chat=GREEDY) as mcp:
        token = await mcp.token("alice", "chat")
        seen: list[str] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            if message:
                seen.append(message)

        async with connected(mcp.url, token.secret) as session:
            answer = await session.call_tool(
                "ask",
                {"prompt": "Say hello to a lizard in one short sentence."},
                progress_callback=on_progress,
            )
    assert not answer.is_error
    text = answer.content[0].text  # type: ignore[union-attr]
    assert text.strip()
    assert seen and all(text.startswith(partial) for partial in seen)
