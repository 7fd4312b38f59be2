"""After a run of MCP calls (answered, refused, invalid, cancelled, admin, a resource read), the audit log
holds one `tool_call` line per call with the security guide's fields, and no token, key or conversation
text anywhere in the file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from client_bot.engine import FakeEngine
from devcord import Devcord
from server_bot.mcp.tools import transcript_uri
from tests.e2e.harness import eventually
from tests.mcp.harness import INITIALIZE, connected, mcp_stack, raw_post, replies

pytestmark = pytest.mark.e2e

GUIDE_FIELDS = {
    "timestamp",
    "level",
    "event",
    "tool",
    "user_id",
    "channel_id",
    "success",
    "latency_ms",
    "ip_address",
}
PROMPT = "the owl flies at midnight"


async def test_the_audit_log_has_one_tool_call_line_per_call_and_no_secrets_or_text(
    devcord: Devcord, tmp_path: Path
) -> None:
    async with mcp_stack(devcord, FakeEngine(replies, token_delay_s=0.02), tmp_path) as mcp:
        alice = await mcp.token("alice", "chat,transcripts")
        admin = await mcp.token("admin", "admin")
        calls = 0
        async with connected(mcp.url, alice.secret) as session:
            answer = await session.call_tool("ask", {"prompt": PROMPT})
            assert answer.structured_content is not None
            session_id = answer.structured_content["session_id"]
            await session.call_tool("list_sessions", {})
            await session.call_tool("read_transcript", {"session_id": session_id})
            await session.read_resource(transcript_uri(uuid.UUID(session_id)))
            await session.call_tool("admin_status", {})  # refused: scope
            with pytest.raises(MCPError):
                await session.call_tool("ask", {"prompt": ""})  # invalid
            calls += 6
            first_text = anyio.Event()

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                first_text.set()

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(
                    lambda: session.call_tool("ask", {"prompt": "count"}, progress_callback=on_progress)
                )
                with anyio.fail_after(10):
                    await first_text.wait()
                tasks.cancel_scope.cancel()
            calls += 1
        async with connected(mcp.url, admin.secret) as session:
            await session.call_tool("permission_audit", {})
            calls += 1
        assert (await raw_post(mcp.url, None, INITIALIZE)).status_code == 401

        def tool_calls() -> list[dict[str, Any]]:
            return [line for line in map(json.loads, mcp.audit_lines()) if line["event"] == "tool_call"]

        async def all_written() -> bool:
            return len(tool_calls()) >= calls

        await eventually(all_written)
        lines = tool_calls()
        assert len(lines) == calls
        assert all(set(line) >= GUIDE_FIELDS for line in lines)
        assert all(
            line["ip_address"] == "127.0.0.1" and isinstance(line["latency_ms"], float) for line in lines
        )
        assert [line["tool"] for line in lines] == [
            "ask",
            "list_sessions",
            "read_transcript",
            "resource:transcript",
            "admin_status",
            "ask",
            "ask",
            "permission_audit",
        ]
        assert [line["success"] for line in lines] == [True, True, True, True, False, False, False, True]
        assert lines[4]["detail"] == "scope_missing" and lines[5]["detail"] == "invalid_params"
        assert {line["user_id"] for line in lines} == {alice.info.user_id, admin.info.user_id}
        assert any(line["event"] == "auth_failed" for line in map(json.loads, mcp.audit_lines()))

        settings = mcp.stack.settings
        text = mcp.audit_path.read_text(encoding="utf-8")
        forbidden = [
            alice.secret,
            admin.secret,
            alice.secret[4:20],
            settings.relay.payload_encryption_key.get_secret_value(),
            settings.storage.storage_encryption_key.get_secret_value(),
            PROMPT,
            "owl",
            "You said",
            "Bearer",
        ]
        assert [secret for secret in forbidden if secret.lower() in text.lower()] == []
