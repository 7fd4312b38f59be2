"""The whole stack (devcord, both bots, a fake engine) with the MCP endpoint served over HTTP, and the
official MCP client from the same SDK connected to it with a personal access token."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from client_bot.engine import Engine, FakeEngine, GenerationRequest
from devcord import Devcord
from meatlizard.stack import Stack
from meatlizard.web_login import web_on_devcord
from server_bot.mcp.http import McpEndpoint
from server_bot.mcp.tokens import NewToken, TokenStore
from server_bot.mcp.wiring import build_endpoint
from tests.e2e.harness import stack_on


def replies(request: GenerationRequest) -> str:
    """The fake engine's answers: "count" gets a long one (to cancel mid-way), anything else an echo."""
    prompt = request.messages[-1].content
    if prompt == "count":
        return " ".join(str(number) for number in range(400))
    return f"You said: {prompt}"


class RecordingEngine(FakeEngine):
    """The fake engine, noting which requests the AI host was asked to stop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cancelled: list[str] = []

    def cancel(self, request_id: str) -> bool:
        self.cancelled.append(request_id)
        return super().cancel(request_id)


# Tight enough for a test to reach it, loose enough for the others never to.
TEST_RATE_PER_TOKEN = "8/minute"


@dataclass
class McpStack:
    stack: Stack
    endpoint: McpEndpoint
    url: str
    tokens: TokenStore
    audit_path: Path
    web_url: str

    async def user_id(self, name: str) -> int:
        return await self.stack.driver.user_id(name)

    async def token(self, user: str, scopes: str) -> NewToken:
        return await self.tokens.create(await self.user_id(user), scopes, name=f"test-{user}")

    def audit_lines(self) -> list[str]:
        return self.audit_path.read_text(encoding="utf-8").splitlines()


@contextlib.asynccontextmanager
async def mcp_stack(
    devcord: Devcord, engine: Engine, workdir: Path, **options: Any
) -> AsyncIterator[McpStack]:
    async with stack_on(devcord, engine, workdir, **options) as stack:
        ctx = stack.server.ctx
        endpoint = build_endpoint(
            core=ctx.core,
            audit=ctx.audit,
            relay=ctx.hub,
            bot=stack.server,
            discord_settings=ctx.discord,
            database_url=ctx.storage.database_url,
            redis_url=ctx.storage.redis_url,
            rate_per_token=TEST_RATE_PER_TOKEN,
        )
        await endpoint.start()
        tokens = TokenStore.open(ctx.storage.database_url)
        try:
            # Mounted in the real web app (its middleware and all), as the server-bot serves it.
            async with web_on_devcord(devcord, ctx, 0, **endpoint.web_extras()) as web:
                assert ctx.storage.audit_log_file is not None
                yield McpStack(stack, endpoint, f"{web.url}/mcp", tokens, ctx.storage.audit_log_file, web.url)
        finally:
            await endpoint.stop()
            await tokens.aclose()


@contextlib.asynccontextmanager
async def connected(url: str, secret: str | None) -> AsyncIterator[ClientSession]:
    """An initialized MCP client session over Streamable HTTP, sending `secret` as the bearer token."""
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else None
    async with (
        create_mcp_http_client(headers=headers) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write, read_timeout_seconds=30) as session,
    ):
        await session.initialize()
        yield session


async def raw_post(url: str, secret: str | None, body: dict[str, Any]) -> httpx2.Response:
    """One JSON-RPC POST as any client sends it (to see the HTTP status of a refusal)."""
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    async with httpx2.AsyncClient() as http:
        return await http.post(url, json=body, headers=headers)


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "raw-test", "version": "0"},
    },
}
