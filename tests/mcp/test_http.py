"""The MCP server over Streamable HTTP, driven by the SDK's own client, on the whole stack (devcord, both
discord.py bots, the encrypted relay and a fake engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client_bot.engine import FakeEngine
from devcord import Devcord
from server_bot.mcp.tools import TOOLS
from tests.mcp.harness import McpStack, connected, mcp_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
async def mcp(devcord: Devcord, tmp_path: Path) -> AsyncIterator[McpStack]:
    async with mcp_stack(devcord, FakeEngine(token_delay_s=0.02), tmp_path) as running:
        yield running


async def test_initialize_and_tools_list_name_every_tool_with_a_schema(mcp: McpStack) -> None:
    token = await mcp.token("alice", "chat")
    async with connected(mcp.url, token.secret) as session:
        tools = (await session.list_tools()).tools
    assert {tool.name for tool in tools} == set(TOOLS)
    ask = next(tool for tool in tools if tool.name == "ask")
    assert ask.input_schema["required"] == ["prompt"]
    assert ask.input_schema["properties"]["prompt"]["maxLength"] == 8000


async def test_an_answer_comes_through_the_relay_with_progress_carrying_the_text(mcp: McpStack) -> None:
    token = await mcp.token("alice", "chat")
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async with connected(mcp.url, token.secret) as session:
        result = await session.call_tool("ask", {"prompt": "hello there"}, progress_callback=on_progress)
    assert not result.is_error
    assert result.content[0].text == "You said: hello there"  # type: ignore[union-attr]
    assert result.structured_content is not None and result.structured_content["finish_reason"] == "stop"
    texts = [message for _, message in progress if message]
    # The relay paces deltas to Discord's rate limits, so progress shows growing prefixes of the reply.
    assert texts and all("You said: hello there".startswith(text) for text in texts)
    assert [value for value, _ in progress] == sorted(value for value, _ in progress)
