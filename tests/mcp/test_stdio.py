"""`meatlizard mcp`, the stdio entry point, driven by the SDK's stdio client: it launches the command and
talks to it over stdin/stdout; the command forwards to the server's Streamable HTTP endpoint."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from client_bot.engine import FakeEngine
from devcord import Devcord
from server_bot.mcp.tools import TOOLS
from tests.mcp.harness import mcp_stack, replies

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _command(url: str, token: str) -> StdioServerParameters:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "MEATLIZARD_MCP_TOKEN": token}
    return StdioServerParameters(
        command=sys.executable, args=["-m", "meatlizard.cli", "mcp", "--url", url], env=env, cwd=str(REPO)
    )


async def test_a_stdio_client_initializes_lists_tools_and_gets_an_answer(
    devcord: Devcord, tmp_path: Path
) -> None:
    async with mcp_stack(devcord, FakeEngine(replies), tmp_path) as mcp:
        token = await mcp.token("alice", "chat")
        async with (
            stdio_client(_command(mcp.url, token.secret)) as (read, write),
            ClientSession(read, write, read_timeout_seconds=30) as session,
        ):
            initialized = await session.initialize()
            assert initialized.server_info.name == "meatlizard"
            assert {tool.name for tool in (await session.list_tools()).tools} == set(TOOLS)
            answer = await session.call_tool("ask", {"prompt": "over stdio"})
        assert answer.content[0].text == "You said: over stdio"  # type: ignore[union-attr]


async def test_a_stdio_client_with_a_bad_token_is_told_why(devcord: Devcord, tmp_path: Path) -> None:
    async with (
        mcp_stack(devcord, FakeEngine(replies), tmp_path) as mcp,
        stdio_client(_command(mcp.url, "mlz_" + "B" * 43)) as (read, write),
        ClientSession(read, write, read_timeout_seconds=30) as session,
    ):
        with pytest.raises(MCPError, match="personal access token"):
            await session.initialize()
