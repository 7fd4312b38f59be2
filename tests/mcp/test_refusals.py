"""Refused MCP calls: no token, a revoked token, too narrow a scope, a non-admin, the per-token rate limit
and bad arguments, each with an error that says what is wrong (SDK client over Streamable HTTP)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from client_bot.engine import FakeEngine
from devcord import Devcord
from server_bot.mcp.http import UNAUTHENTICATED
from server_bot.mcp.tools import TOOLS, ToolOutput
from tests.mcp.harness import (
    INITIALIZE,
    TEST_RATE_PER_TOKEN,
    McpStack,
    connected,
    mcp_stack,
    raw_post,
    replies,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
async def mcp(devcord: Devcord, tmp_path: Path) -> AsyncIterator[McpStack]:
    async with mcp_stack(devcord, FakeEngine(replies), tmp_path) as running:
        yield running


def _audit(mcp: McpStack, event: str) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, mcp.audit_lines()) if line["event"] == event]


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param(None, id="no-token"),
        pytest.param("mlz_" + "A" * 43, id="unknown-token"),
        pytest.param("hunter2", id="not-a-token"),
    ],
)
async def test_a_request_without_a_valid_token_is_refused_and_audited(
    mcp: McpStack, secret: str | None
) -> None:
    response = await raw_post(mcp.url, secret, INITIALIZE)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "personal access token" in response.json()["error"]["message"]
    [failed] = _audit(mcp, "auth_failed")
    assert failed["success"] is False and failed["ip_address"] == "127.0.0.1" and failed["user_id"] is None


async def test_a_revoked_token_stops_working_at_once(mcp: McpStack) -> None:
    token = await mcp.token("alice", "chat,transcripts")
    async with connected(mcp.url, token.secret) as session:
        assert not (await session.call_tool("list_sessions", {})).is_error
        await mcp.tokens.revoke(token.info.user_id, token.info.id)
        with pytest.raises(MCPError, match="personal access token") as refused:
            await session.call_tool("list_sessions", {})
        assert refused.value.code == UNAUTHENTICATED
    assert (await raw_post(mcp.url, token.secret, INITIALIZE)).status_code == 401
    # The refused call, the client's closing DELETE and the raw POST: each refused, each audited.
    details = [line["detail"] for line in _audit(mcp, "auth_failed")]
    assert len(details) >= 2 and set(details) == {"bad_token"}


async def test_a_tool_outside_the_token_scope_is_refused(mcp: McpStack) -> None:
    token = await mcp.token("admin", "chat")
    async with connected(mcp.url, token.secret) as session:
        result = await session.call_tool("admin_status", {})
    assert result.is_error
    assert "lacks the 'admin' scope" in result.content[0].text  # type: ignore[union-attr]


async def test_admin_tools_need_the_ai_admin_role_at_call_time(mcp: McpStack) -> None:
    member = await mcp.token("alice", "admin")
    async with connected(mcp.url, member.secret) as session:
        refused = await session.call_tool("admin_status", {})
    assert refused.is_error and "AI Admin" in refused.content[0].text  # type: ignore[union-attr]

    admin = await mcp.token("admin", "admin")
    async with connected(mcp.url, admin.secret) as session:
        status = await session.call_tool("admin_status", {})
        audit = await session.call_tool("permission_audit", {})
        metrics = await session.call_tool("admin_metrics", {"hours": 2})
    assert not status.is_error and status.structured_content is not None
    assert status.structured_content["host_online"] is True
    assert not metrics.is_error
    assert not audit.is_error and audit.structured_content is not None
    bots = {bot["bot"]: bot for bot in audit.structured_content["bots"]}
    assert set(bots) == {"server", "client"}
    assert "manage_channels" in bots["server"]["least_privilege"]
    assert bots["client"]["in_guild"] is True and "send_messages" in bots["client"]["granted"]


async def test_the_rate_limit_per_token_is_reached(mcp: McpStack) -> None:
    allowed = int(TEST_RATE_PER_TOKEN.split("/")[0])
    token = await mcp.token("alice", "transcripts")
    other = await mcp.token("alice", "transcripts")
    async with connected(mcp.url, token.secret) as session:
        results = [await session.call_tool("list_sessions", {}) for _ in range(allowed + 1)]
    assert [r.is_error for r in results] == [False] * allowed + [True]
    assert "going a bit fast" in results[-1].content[0].text  # type: ignore[union-attr]
    async with connected(mcp.url, other.secret) as session:  # another token has its own quota
        assert not (await session.call_tool("list_sessions", {})).is_error


@pytest.mark.parametrize(
    ("tool", "arguments", "says"),
    [
        pytest.param("ask", {}, "prompt: Field required", id="missing"),
        pytest.param("ask", {"prompt": "x" * 8001}, "prompt: String should have at most 8000", id="too-long"),
        pytest.param("ask", {"prompt": ""}, "prompt: String should have at least 1", id="empty"),
        pytest.param("ask", {"prompt": "hi", "model": "gpt"}, "model: Extra inputs", id="unknown-field"),
        pytest.param(
            "read_transcript", {"session_id": "nope"}, "session_id: Input should be a valid UUID", id="id"
        ),
        pytest.param(
            "admin_metrics", {"hours": 0}, "hours: Input should be greater than or equal to 1", id="range"
        ),
        pytest.param("no_such_tool", {}, "unknown tool 'no_such_tool'", id="unknown-tool"),
    ],
)
async def test_bad_arguments_get_a_json_rpc_error_that_says_what_is_wrong(
    mcp: McpStack, tool: str, arguments: dict[str, Any], says: str
) -> None:
    token = await mcp.token("admin", "chat,transcripts,admin")
    async with connected(mcp.url, token.secret) as session:
        with pytest.raises(MCPError) as refused:
            await session.call_tool(tool, arguments)
    assert refused.value.code == -32602
    assert says in refused.value.message
    assert "x" * 100 not in refused.value.message  # the value itself is never echoed


async def test_someone_elses_transcript_is_a_tool_error_not_a_leak(mcp: McpStack) -> None:
    alice = await mcp.token("alice", "chat,transcripts")
    bob = await mcp.token("bob", "transcripts")
    async with connected(mcp.url, alice.secret) as session:
        answer = await session.call_tool("ask", {"prompt": "secret plans"})
    assert answer.structured_content is not None
    async with connected(mcp.url, bob.secret) as session:
        result = await session.call_tool(
            "read_transcript", {"session_id": answer.structured_content["session_id"]}
        )
    assert result.is_error
    assert "secret plans" not in result.content[0].text  # type: ignore[union-attr]


async def test_a_banned_person_is_refused_every_tool(mcp: McpStack) -> None:
    token = await mcp.token("bob", "chat,transcripts")
    await mcp.stack.server.ctx.core.access.ban(token.info.user_id)
    async with connected(mcp.url, token.secret) as session:
        listed = await session.call_tool("list_sessions", {})
    assert listed.is_error and "banned" in listed.content[0].text  # type: ignore[union-attr]


@pytest.mark.redis
async def test_the_per_token_limit_counts_in_redis_when_configured(
    devcord: Devcord, tmp_path: Path, redis_url: str
) -> None:
    allowed = int(TEST_RATE_PER_TOKEN.split("/")[0])
    async with mcp_stack(devcord, FakeEngine(replies), tmp_path, redis_url=redis_url) as mcp:
        token = await mcp.token("alice", "transcripts")
        async with connected(mcp.url, token.secret) as session:
            results = [await session.call_tool("list_sessions", {}) for _ in range(allowed + 1)]
        assert mcp.endpoint.limiter.uses_redis and not mcp.endpoint.limiter.degraded
    assert [r.is_error for r in results] == [False] * allowed + [True]


async def test_an_unexpected_failure_is_a_tool_error_without_a_stack_trace(
    mcp: McpStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(call: object, args: object) -> ToolOutput:
        raise RuntimeError("database password=hunter2 in a traceback")

    monkeypatch.setitem(TOOLS, "list_sessions", dataclasses.replace(TOOLS["list_sessions"], run=broken))
    token = await mcp.token("alice", "transcripts")
    async with connected(mcp.url, token.secret) as session:
        result = await session.call_tool("list_sessions", {})
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and text == "Internal error; it was logged. Please try again."
    assert "hunter2" not in mcp.audit_path.read_text(encoding="utf-8")
