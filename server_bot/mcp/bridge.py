"""`meatlizard mcp`: the stdio entry point for local MCP clients, as a bridge to the server's `/mcp`.

The platform's model is reached through the server-bot's relay, which lives in the server-bot process;
so the stdio server forwards every JSON-RPC message both ways between its stdin/stdout and the
Streamable HTTP endpoint, with the personal access token in the Authorization header. Auth, scopes,
limits and audit are therefore exactly those of the HTTP endpoint.
"""

from __future__ import annotations

from typing import Any

import anyio
from mcp.client.streamable_http import streamable_http_client
from mcp.server.stdio import stdio_server
from mcp.shared._httpx_utils import create_mcp_http_client

from shared.log import get_logger

log = get_logger(__name__)


async def run_bridge(url: str, token: str) -> None:
    """Forward stdin→`url` and `url`→stdout until stdin closes."""
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with (
        http,
        stdio_server() as (local_read, local_write),
        streamable_http_client(url, http_client=http) as (remote_read, remote_write),
        anyio.create_task_group() as tasks,
    ):

        async def upstream() -> None:
            await _pump(local_read, remote_write, "stdin")
            tasks.cancel_scope.cancel()  # the local client went away: the bridge ends

        tasks.start_soon(upstream)
        tasks.start_soon(_pump, remote_read, local_write, "server")


async def _pump(source: Any, sink: Any, name: str) -> None:
    async with source:
        async for message in source:
            if isinstance(message, Exception):
                # A transport error (say, HTTP 401): the class only, the message may echo a header.
                log.warning("mcp bridge: %s reported %s", name, type(message).__name__)
                continue
            await sink.send(message)
