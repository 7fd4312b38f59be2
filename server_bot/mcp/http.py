"""The Streamable HTTP endpoint: an ASGI app to mount at `/mcp` in the web app, guarding every request.

Each HTTP request must carry `Authorization: Bearer <personal access token>`; the guard checks it against
the token store on every request (so a revoked token stops working at once), audits a refusal as
`auth_failed` (no token text in the line) and answers 401 with a JSON-RPC error body. An accepted
request reaches the SDK's session manager with the verified `TokenInfo` in `request.state`.

`McpEndpoint` owns the session manager's task group: `start()` before serving, `stop()` on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from server_bot.mcp import audit as mcp_audit
from server_bot.mcp.server import TOKEN_STATE_KEY, McpDeps, build_server
from server_bot.mcp.tokens import TokenStore
from server_bot.ratelimit import RateLimiter
from shared.log import get_logger
from shared.tasks import spawn

log = get_logger(__name__)

# JSON-RPC's implementation-defined server error range; MCP clients read the HTTP 401 first anyway.
UNAUTHENTICATED = -32001


class McpEndpoint:
    def __init__(self, deps: McpDeps, tokens: TokenStore, *, version: str = "0") -> None:
        self._deps = deps
        self._tokens = tokens
        self.server = build_server(deps, version=version)
        # Stateful sessions with SSE responses: progress notifications ride the call's own stream.
        self._manager = StreamableHTTPSessionManager(app=self.server)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._running = False

    @property
    def tokens(self) -> TokenStore:
        return self._tokens

    @property
    def limiter(self) -> RateLimiter:
        """The per-token limiter (Redis when configured)."""
        return self._deps.limiter

    def web_extras(self) -> dict[str, Any]:
        """What the web app serves for MCP: this endpoint at /mcp and the /api/tokens routes."""
        # Imported on use: the web routes pull in the web app's dependencies.
        from server_bot.mcp.web_tokens import token_router  # noqa: PLC0415

        return {"mounts": {"/mcp": self}, "routers": [token_router(self._tokens)]}

    async def start(self) -> None:
        """Run the session manager in a task of its own (its anyio task group must be entered and left by
        one task, whichever tasks call start and stop)."""
        started = asyncio.Event()

        async def run() -> None:
            async with self._manager.run():
                started.set()
                await self._stopping.wait()

        self._task = spawn(run(), name="mcp-session-manager")
        waiter = asyncio.ensure_future(started.wait())
        await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not started.is_set():
            waiter.cancel()
            self._task.result()  # raises what stopped it
        self._running = True

    async def stop(self) -> None:
        self._running = False
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._deps.limiter.aclose()
        await self._tokens.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._running:
            await JSONResponse({"error": "the MCP endpoint is not running"}, status_code=503)(
                scope, receive, send
            )
            return
        scheme, _, secret = Headers(scope=scope).get("authorization", "").partition(" ")
        info = await self._tokens.verify(secret.strip()) if scheme.lower() == "bearer" else None
        if info is None:
            await self._refuse(scope, receive, send, detail="no_token" if not secret else "bad_token")
            return
        scope.setdefault("state", {})[TOKEN_STATE_KEY] = info
        await self._manager.asgi_app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, detail: str) -> None:
        await mcp_audit.write(
            self._deps.audit,
            mcp_audit.AUTH_FAILED,
            success=False,
            tool=None,
            user_id=None,
            channel_id=None,
            latency_ms=None,
            ip_address=_client_ip(scope),
            detail=detail,
        )
        body: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": None,
            "error": {
                "code": UNAUTHENTICATED,
                "message": "a valid personal access token is required: Authorization: Bearer <token> "
                "(create one with `meatlizard token create`)",
            },
        }
        headers = {"WWW-Authenticate": 'Bearer realm="meatlizard", error="invalid_token"'}
        await JSONResponse(body, status_code=401, headers=headers)(scope, receive, send)


def _client_ip(scope: Scope) -> str | None:
    client = scope.get("client")
    return mcp_audit.checked_ip(client[0]) if client else None
