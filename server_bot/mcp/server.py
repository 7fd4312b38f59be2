"""The MCP server (the SDK's low-level `Server`): tools/list, tools/call, resources, each call checked,
limited and audited here, in one place, so the tools stay thin.

A call goes: who (the token the HTTP guard verified) → which tool → rate limit per token → scope →
arguments (JSON-RPC -32602 naming each bad field) → AI Admin role for admin tools (the core's check, by
role id, at call time) → the tool → one `tool_call` audit line. Refusals and failures are tool results
with `isError` and a message for the user; an unexpected exception is logged and answered with a plain
"internal error", never a stack trace.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from server_bot.core import Actor, CoreError
from server_bot.core import RateLimited as CoreRateLimited
from server_bot.mcp import audit as mcp_audit
from server_bot.mcp.tokens import TokenInfo
from server_bot.mcp.tools import (
    TOOLS,
    ToolCall,
    ToolDeps,
    ToolOutput,
    ToolRefused,
    ToolSpec,
    transcript_markdown,
)
from server_bot.ratelimit import RateLimiter
from shared.audit import AuditLog, exception_code
from shared.log import get_logger

log = get_logger(__name__)

TOKEN_STATE_KEY = "mcp_token"  # noqa: S105 - a dict key, not a secret; where the HTTP guard leaves the verified `TokenInfo` (request.state)
_TRANSCRIPT_URI = re.compile(r"meatlizard://sessions/([0-9a-fA-F-]{36})/transcript")
_RESOURCE_TOOL = "resource:transcript"  # the audit line's `tool` for resources/read


@dataclass
class McpDeps:
    tools: ToolDeps
    audit: AuditLog
    limiter: RateLimiter  # per token: keyed by the token's id, its own rules


@dataclass(frozen=True)
class _Caller:
    token: TokenInfo
    ip: str | None


def _caller(ctx: ServerRequestContext[Any, Any]) -> _Caller:
    request = ctx.request
    token = getattr(getattr(request, "state", None), TOKEN_STATE_KEY, None)
    if not isinstance(token, TokenInfo):
        # The guard refuses unauthenticated HTTP requests before they get here; this is a wiring bug.
        raise MCPError(types.INVALID_REQUEST, "not authenticated: send Authorization: Bearer <token>")
    client = getattr(request, "client", None)
    return _Caller(token, getattr(client, "host", None))


def build_server(deps: McpDeps, *, version: str = "0") -> Server[Any]:
    calls = _Calls(deps)
    return Server(
        "meatlizard",
        version=version,
        instructions="MeatLizard: ask the private model, read your sessions and transcripts; admin tools "
        "need the admin scope and the AI Admin role.",
        on_list_tools=calls.list_tools,
        on_call_tool=calls.call_tool,
        on_list_resources=calls.list_resources,
        on_list_resource_templates=calls.list_resource_templates,
        on_read_resource=calls.read_resource,
    )


class _Calls:
    def __init__(self, deps: McpDeps) -> None:
        self._deps = deps

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        _caller(ctx)
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=spec.name,
                    description=f"{spec.description} (scope: {spec.scope})",
                    input_schema=spec.input_schema(),
                    annotations=types.ToolAnnotations(**spec.annotations) if spec.annotations else None,
                )
                for spec in TOOLS.values()
            ]
        )

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        caller = _caller(ctx)
        started = time.perf_counter()
        spec = TOOLS.get(params.name)
        call = ToolCall(self._deps.tools, Actor(caller.token.user_id, "mcp"), _progress(ctx))
        outcome: ToolOutput
        try:
            if spec is None:
                raise MCPError(
                    types.INVALID_PARAMS, f"unknown tool {params.name[:64]!r}; tools/list names them"
                )
            outcome = await self._run(spec, call, caller, params.arguments or {})
        except MCPError as exc:
            await self._audit(spec, call, caller, started, success=False, detail=_error_code(exc))
            raise
        except BaseException as exc:  # cancelled by the client: still one audit line
            with anyio.CancelScope(shield=True):
                await self._audit(spec, call, caller, started, success=False, detail=exception_code(exc))
            raise
        await self._audit(spec, call, caller, started, success=not outcome.is_error, detail=outcome.code)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=outcome.text)],
            structured_content=outcome.structured,
            is_error=outcome.is_error,
        )

    async def _run(
        self, spec: ToolSpec, call: ToolCall, caller: _Caller, arguments: dict[str, Any]
    ) -> ToolOutput:
        try:
            refusal = await self._admit(spec.scope, caller)
            if refusal is not None:
                return refusal
            try:
                args = spec.arguments.model_validate(arguments)
            except ValidationError as exc:
                raise MCPError(
                    types.INVALID_PARAMS, f"invalid arguments for {spec.name}: {_describe(exc)}"
                ) from None
            if spec.scope == "admin":
                call.actor = await self._with_roles(call.actor)
                await call.deps.core.access.require_admin(call.actor)
            return await spec.run(call, args)
        except CoreError as exc:
            return ToolOutput(exc.user_message, is_error=True, code=exception_code(exc))
        except ToolRefused as exc:
            return ToolOutput(str(exc), is_error=True, code=exc.code)
        except MCPError:
            raise
        except Exception:
            log.exception("MCP tool %s failed", spec.name)
            return ToolOutput(
                "Internal error; it was logged. Please try again.", is_error=True, code="internal"
            )

    async def _admit(self, scope: str, caller: _Caller) -> ToolOutput | None:
        """The per-token rate limit, then the token's scope; a refusal as a tool error, else None."""
        decision = await self._deps.limiter.check("command", caller.token.id)
        if not decision.allowed:
            wait = max(1, math.ceil(decision.retry_after_s))
            message = CoreRateLimited(wait).user_message + " (rate limit per access token)"
            return ToolOutput(message, is_error=True, code="rate_limited")
        if scope not in caller.token.scopes:
            message = f"This access token lacks the {scope!r} scope; create one with it to use this tool."
            return ToolOutput(message, is_error=True, code="scope_missing")
        try:
            # A ban or suspension follows the person onto every front, whatever the tool.
            await self._deps.tools.core.access.check_not_blocked(caller.token.user_id)
        except CoreError as exc:
            return ToolOutput(exc.user_message, is_error=True, code=exception_code(exc))
        return None

    async def _with_roles(self, actor: Actor) -> Actor:
        roles = await self._deps.tools.discord.member_role_ids(actor.user_id)
        return Actor(actor.user_id, actor.front_end, roles, actor.guild_id)

    async def _audit(
        self,
        spec: ToolSpec | None,
        call: ToolCall,
        caller: _Caller,
        started: float,
        *,
        success: bool,
        detail: str | None,
        tool: str | None = None,
    ) -> None:
        await mcp_audit.write(
            self._deps.audit,
            mcp_audit.TOOL_CALL,
            success=success,
            tool=tool or (spec.name if spec is not None else None),
            user_id=caller.token.user_id,
            channel_id=call.channel_id,
            latency_ms=(time.perf_counter() - started) * 1000,
            ip_address=caller.ip,
            detail=detail if detail is None else detail[:64],
        )

    # ---- resources: one transcript per session --------------------------------------------------------

    async def list_resources(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        caller = _caller(ctx)
        if "transcripts" not in caller.token.scopes:
            return types.ListResourcesResult(resources=[])
        sessions = await self._deps.tools.core.sessions.list_for(Actor(caller.token.user_id, "mcp"))
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    name=f"transcript-{s.id}",
                    uri=f"meatlizard://sessions/{s.id}/transcript",
                    description=f"Your {s.front_end} session of {s.created_at:%Y-%m-%d %H:%M} UTC",
                    mime_type="text/markdown",
                )
                for s in sessions
            ]
        )

    async def list_resource_templates(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        _caller(ctx)
        template = types.ResourceTemplate(
            name="transcript",
            uri_template="meatlizard://sessions/{session_id}/transcript",
            description="The Markdown transcript of one of your sessions (scope: transcripts)",
            mime_type="text/markdown",
        )
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def read_resource(
        self, ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        caller = _caller(ctx)
        started = time.perf_counter()
        call = ToolCall(self._deps.tools, Actor(caller.token.user_id, "mcp"), _progress(ctx))
        uri = str(params.uri)
        try:
            match = _TRANSCRIPT_URI.fullmatch(uri)
            if match is None:
                raise MCPError(
                    types.INVALID_PARAMS, "unknown resource: expected meatlizard://sessions/<id>/transcript"
                )
            refusal = await self._admit("transcripts", caller)
            if refusal is not None:
                raise MCPError(types.INVALID_REQUEST, refusal.text)
            try:
                markdown = await transcript_markdown(call, uuid.UUID(match.group(1)))
            except CoreError as exc:
                raise MCPError(types.INVALID_PARAMS, exc.user_message) from None
            except Exception:
                log.exception("MCP resources/read failed")
                raise MCPError(types.INTERNAL_ERROR, "Internal error; it was logged.") from None
        except BaseException as exc:
            detail = _error_code(exc) if isinstance(exc, MCPError) else exception_code(exc)
            with anyio.CancelScope(shield=True):
                await self._audit(
                    None, call, caller, started, success=False, detail=detail, tool=_RESOURCE_TOOL
                )
            raise
        await self._audit(None, call, caller, started, success=True, detail=None, tool=_RESOURCE_TOOL)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, mime_type="text/markdown", text=markdown)]
        )


def _progress(ctx: ServerRequestContext[Any, Any]) -> Any:
    async def report(progress: float, message: str) -> None:
        # A no-op when the client sent no progress token.
        await ctx.session.report_progress(progress, None, message)

    return report


def _describe(exc: ValidationError) -> str:
    """Each bad field and what is wrong with it; never the value (it may be the user's text)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _error_code(exc: MCPError) -> str:
    return {types.INVALID_PARAMS: "invalid_params", types.INVALID_REQUEST: "invalid_request"}.get(
        exc.code, "mcp_error"
    )
