"""The MCP server over Streamable HTTP, driven by the SDK's own client, on the whole stack (devcord, both
discord.py bots, the encrypted relay and a fake engine)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import pytest

from devcord import Devcord
from server_bot.mcp.tools import TOOLS, transcript_uri
from tests.e2e.harness import eventually, start_chat
from tests.mcp.harness import INITIALIZE, McpStack, RecordingEngine, connected, mcp_stack, replies

pytestmark = pytest.mark.e2e


@pytest.fixture
async def mcp(devcord: Devcord, tmp_path: Path) -> AsyncIterator[McpStack]:
    async with mcp_stack(devcord, RecordingEngine(replies, token_delay_s=0.02), tmp_path) as running:
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
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))

    # Long enough (~0.6 s of words) that the first text leaves before the answer: the relay gathers a
    # reply that is over within its pacing gap into the final post alone.
    prompt = "hello there " + " ".join(f"word{n}" for n in range(30))
    async with connected(mcp.url, token.secret) as session:
        result = await session.call_tool("ask", {"prompt": prompt}, progress_callback=on_progress)
    assert not result.is_error
    assert result.content[0].text == f"You said: {prompt}"  # type: ignore[union-attr]
    assert result.structured_content is not None and result.structured_content["finish_reason"] == "stop"
    texts = [message for _, message in seen if message]
    # The relay paces deltas to Discord's rate limits, so progress shows growing prefixes of the reply.
    assert texts and all(f"You said: {prompt}".startswith(text) for text in texts)
    assert [value for value, _ in seen] == sorted(value for value, _ in seen)


async def test_cancelling_the_call_mid_answer_stops_the_generation(mcp: McpStack) -> None:
    token = await mcp.token("alice", "chat")
    hub = mcp.stack.server.ctx.hub
    first_text = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if progress > 0:
            first_text.set()

    async with connected(mcp.url, token.secret) as session:
        async with anyio.create_task_group() as tasks:
            # 400 words at 20 ms each: about 8 s of generation if nothing stops it.
            tasks.start_soon(
                lambda: session.call_tool("ask", {"prompt": "count"}, progress_callback=on_progress)
            )
            with anyio.fail_after(10):
                await first_text.wait()
            cancelled_at = time.monotonic()
            tasks.cancel_scope.cancel()
        engine = mcp.stack.engine
        assert isinstance(engine, RecordingEngine)
        # The cancel went through the relay to the AI host, which stopped well before its 8 s answer ended.
        await eventually(lambda: _true(len(engine.cancelled) == 1 and hub.in_flight == 0), timeout=5)
        assert time.monotonic() - cancelled_at < 5
        sessions = await session.call_tool("session_settings", {})
        assert not sessions.is_error  # the session is fine and usable after a cancelled answer


async def _true(value: bool) -> bool:
    await asyncio.sleep(0)
    return value


async def test_a_transcript_is_listed_and_read_as_a_resource(mcp: McpStack) -> None:
    token = await mcp.token("alice", "chat,transcripts")
    async with connected(mcp.url, token.secret) as session:
        answer = await session.call_tool("ask", {"prompt": "remember the lizard"})
        assert answer.structured_content is not None
        uri = transcript_uri(uuid.UUID(answer.structured_content["session_id"]))
        listed = await session.list_resources()
        assert uri in [str(resource.uri) for resource in listed.resources]
        read = await session.read_resource(uri)
    text = read.contents[0].text  # type: ignore[union-attr]
    assert "remember the lizard" in text and "You said: remember the lizard" in text


async def test_a_posted_message_reaches_the_own_session_channel_without_pinging_anyone(mcp: McpStack) -> None:
    driver = mcp.stack.driver
    channel = await start_chat(driver, "alice")
    token = await mcp.token("alice", "chat")
    async with connected(mcp.url, token.secret) as session:
        result = await session.call_tool("post_message", {"text": "look @everyone and @here"})
    assert not result.is_error, result.content
    posted = [m for m in await driver.messages(channel) if "look" in m["content"]]
    assert len(posted) == 1
    assert posted[0]["content"] == "look \uff20everyone and \uff20here"
    assert posted[0]["mention_everyone"] is False and posted[0]["mentions"] == []


async def test_the_tools_call_in_docs_works_as_written_on_the_wire(mcp: McpStack) -> None:
    """The exact JSON-RPC of docs/mcp.md, sent by hand: initialize, initialized, then tools/call."""
    token = await mcp.token("alice", "chat")
    headers = {
        "Authorization": f"Bearer {token.secret}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    async with httpx2.AsyncClient(timeout=30) as http:
        opened = await http.post(mcp.url, json=INITIALIZE, headers=headers)
        assert opened.status_code == 200
        headers["Mcp-Session-Id"] = opened.headers["mcp-session-id"]
        headers["MCP-Protocol-Version"] = "2025-11-25"
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http.post(mcp.url, json=initialized, headers=headers)).status_code == 202
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "ask", "arguments": {"prompt": "Say hello"}, "_meta": {"progressToken": "p1"}},
        }
        answered = await http.post(mcp.url, json=call, headers=headers)
    assert answered.headers["content-type"].startswith("text/event-stream")
    messages = [json.loads(line[5:]) for line in answered.text.splitlines() if line.startswith("data:")]
    *progress, result = messages
    assert all(
        m["method"] == "notifications/progress" and m["params"]["progressToken"] == "p1" for m in progress
    )
    assert result["id"] == 2 and result["result"]["isError"] is False
    assert result["result"]["content"] == [{"type": "text", "text": "You said: Say hello"}]
