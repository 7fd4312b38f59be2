"""The MCP tools: each parses its arguments (a pydantic model, whose JSON schema is the tool's inputSchema),
calls the core, and renders the result. Names, scopes and schemas are listed in docs/mcp.md.

A tool returns a `ToolOutput`; a refusal it expects is a `CoreError` (or `ToolRefused`), which the server
turns into a tool result with `isError` and the message meant for the user.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio
from pydantic import BaseModel, ConfigDict, Field

from server_bot.core import (
    Actor,
    ContextDropped,
    Core,
    Failed,
    FallbackReply,
    Finished,
    HostOffline,
    NoOpenSession,
    Queued,
    SessionInfo,
    TextSoFar,
    Withheld,
)
from server_bot.mcp.ports import DiscordFront, PostFailed, RelayReport
from server_bot.mcp.tokens import Scope
from shared.permissions import CLIENT_BOT_PERMISSIONS, SERVER_BOT_PERMISSIONS, names

ProgressFn = Callable[[float, str], Awaitable[None]]
MAX_PROMPT_CHARS = 8000  # the core applies ChatSettings.max_prompt_chars too; this bounds the wire
MAX_POST_CHARS = 2000  # one Discord message
CLOSE_TIMEOUT_S = 10.0  # for the core to stop a cancelled reply


class ToolRefused(Exception):
    """A refusal the tool itself decides (not the core's); `code` goes to the audit log."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ToolDeps:
    """What every tool call may use; built once per MCP server."""

    core: Core
    discord: DiscordFront
    relay: RelayReport


@dataclass
class ToolCall:
    deps: ToolDeps
    actor: Actor
    progress: ProgressFn
    # Set by the tool when the call concerns a Discord channel (the audit line's channel_id).
    channel_id: int | None = None


@dataclass(frozen=True)
class ToolOutput:
    text: str
    structured: dict[str, Any] | None = None
    is_error: bool = False
    code: str | None = None  # the audit detail when is_error


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    scope: Scope
    arguments: type[BaseModel]
    run: Callable[[ToolCall, Any], Awaitable[ToolOutput]]
    annotations: dict[str, Any] = field(default_factory=dict)

    def input_schema(self) -> dict[str, Any]:
        return self.arguments.model_json_schema()


# ---- arguments ----------------------------------------------------------------------------------------

SessionId = Annotated[
    uuid.UUID | None,
    Field(default=None, description="A session id from list_sessions; default: your open session"),
]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskArgs(_Args):
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS, description="What to ask the model")
    session_id: SessionId = None


class NoArgs(_Args):
    pass


class TranscriptArgs(_Args):
    session_id: uuid.UUID = Field(description="A session id from list_sessions")


class SettingsArgs(_Args):
    session_id: SessionId = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=32768)
    system_prompt: str | None = Field(
        default=None, max_length=8000, description="The session's system prompt; an empty string resets it"
    )


class PostArgs(_Args):
    text: str = Field(min_length=1, max_length=MAX_POST_CHARS, description="Message for your session channel")
    session_id: SessionId = None


class MetricsArgs(_Args):
    hours: int = Field(default=24, ge=1, le=24 * 31, description="How far back to summarise")


# ---- helpers ------------------------------------------------------------------------------------------


async def _session(call: ToolCall, session_id: uuid.UUID | None) -> SessionInfo:
    sessions = call.deps.core.sessions
    if session_id is not None:
        session = await sessions.get(call.actor, session_id)
    else:
        found = await sessions.current(call.actor)
        if found is None:
            raise NoOpenSession()
        session = found
    call.channel_id = session.channel_id
    return session


def _session_dict(session: SessionInfo) -> dict[str, Any]:
    return {
        "session_id": str(session.id),
        "front_end": session.front_end,
        "status": session.status.value,
        "channel_id": None if session.channel_id is None else str(session.channel_id),
        "created_at": session.created_at.isoformat(),
        "ended_at": None if session.ended_at is None else session.ended_at.isoformat(),
        "transcript_uri": transcript_uri(session.id),
    }


def transcript_uri(session_id: uuid.UUID) -> str:
    return f"meatlizard://sessions/{session_id}/transcript"


# ---- the tools ----------------------------------------------------------------------------------------


async def ask(call: ToolCall, args: AskArgs) -> ToolOutput:
    core = call.deps.core
    if args.session_id is None and await core.sessions.current(call.actor) is None:
        session = await core.sessions.open(call.actor)
    else:
        session = await _session(call, args.session_id)
    call.channel_id = session.channel_id
    stream = await core.conversation.submit(call.actor, session.id, args.prompt)
    notes: list[str] = []
    try:
        async for event in stream:
            if isinstance(event, TextSoFar):
                await call.progress(len(event.text), event.text)
            elif isinstance(event, Queued):
                await call.progress(0, f"(queued, position {event.position})")
            elif isinstance(event, HostOffline):
                await call.progress(0, event.message)
            elif isinstance(event, ContextDropped):
                notes.append(event.message)
            elif isinstance(event, Finished):
                structured = {
                    "session_id": str(session.id),
                    "finish_reason": event.finish_reason,
                    "reply_id": event.reply_id,
                    "completion_tokens": event.completion_tokens,
                    "notes": notes,
                }
                return ToolOutput(event.text, structured)
            elif isinstance(event, FallbackReply):
                return ToolOutput(event.text, {"session_id": str(session.id), "fallback": True})
            elif isinstance(event, Withheld):
                return ToolOutput(event.message, is_error=True, code="withheld")
            elif isinstance(event, Failed):
                return ToolOutput(event.message, is_error=True, code=event.code)
    finally:
        # Closing the stream early (the client cancelled, so this task is being cancelled) is what stops
        # the generation on the AI host: shielded, so the core's clean-up is not cancelled with us.
        with anyio.move_on_after(CLOSE_TIMEOUT_S, shield=True):
            await stream.aclose()
    return ToolOutput("The reply ended without an answer.", is_error=True, code="no_final_event")


async def list_sessions(call: ToolCall, args: NoArgs) -> ToolOutput:
    sessions = await call.deps.core.sessions.list_for(call.actor)
    items = [_session_dict(s) for s in sessions]
    lines = [f"{s['session_id']} {s['status']} ({s['front_end']}, {s['created_at']})" for s in items]
    return ToolOutput("\n".join(lines) or "You have no sessions yet.", {"sessions": items})


async def read_transcript(call: ToolCall, args: TranscriptArgs) -> ToolOutput:
    return ToolOutput(await transcript_markdown(call, args.session_id))


async def transcript_markdown(call: ToolCall, session_id: uuid.UUID) -> str:
    session = await call.deps.core.sessions.get(call.actor, session_id)
    call.channel_id = session.channel_id
    link = await call.deps.core.sessions.transcript(call.actor, session.id)
    return link.markdown.decode("utf-8")


async def session_settings(call: ToolCall, args: SettingsArgs) -> ToolOutput:
    sessions = call.deps.core.sessions
    session = await _session(call, args.session_id)
    if args.temperature is not None or args.max_tokens is not None:
        session = await sessions.update_settings(
            call.actor, session.id, temperature=args.temperature, max_tokens=args.max_tokens
        )
    if args.system_prompt is not None:
        session = await sessions.set_system_prompt(call.actor, session.id, args.system_prompt or None)
    settings = {
        "session_id": str(session.id),
        "temperature": session.temperature,
        "max_tokens": session.max_tokens,
        "system_prompt_set": session.system_prompt is not None,
    }
    text = f"temperature {session.temperature}, max tokens {session.max_tokens}, " + (
        "custom system prompt" if session.system_prompt else "default system prompt"
    )
    return ToolOutput(text, settings)


async def post_message(call: ToolCall, args: PostArgs) -> ToolOutput:
    session = await _session(call, args.session_id)
    if session.owner_id != call.actor.user_id or not session.is_open:
        raise NoOpenSession()
    if session.channel_id is None:
        raise ToolRefused("That session has no Discord channel to post in.", "no_channel")
    await call.deps.core.access.check(call.actor, "command")
    try:
        message_id = await call.deps.discord.post_to_channel(session.channel_id, args.text)
    except PostFailed as exc:
        raise ToolRefused(str(exc), "post_failed") from None
    return ToolOutput("Posted (mass mentions neutralised, nobody pinged).", {"message_id": str(message_id)})


async def admin_status(call: ToolCall, args: NoArgs) -> ToolOutput:
    core, relay = call.deps.core, call.deps.relay
    online = relay.client_online()
    host = relay.client
    status = {
        "requests_paused": await core.access.paused(),
        "fallback_enabled": await core.access.fallback_enabled(),
        "open_sessions": await core.repo.count_open_sessions(),
        "host_online": online,
        "model": host.model if host is not None and online else None,
        "queue_depth": host.queue_depth if host is not None and online else None,
        "tokens_per_s": round(host.tokens_per_s, 1) if host is not None and online else None,
        "requests_in_flight": relay.in_flight,
    }
    return ToolOutput(", ".join(f"{key}: {value}" for key, value in status.items()), status)


async def admin_metrics(call: ToolCall, args: MetricsArgs) -> ToolOutput:
    end = datetime.now(UTC)
    samples = await call.deps.core.repo.metric_samples(end - timedelta(hours=args.hours), end)
    requests = [s for s in samples if s.kind == "request"]
    speeds = [s.tokens_per_s for s in requests if s.tokens_per_s is not None]
    latencies = sorted(s.latency_ms for s in requests if s.latency_ms is not None)
    metrics = {
        "hours": args.hours,
        "requests": len(requests),
        "tokens": sum(s.tokens or 0 for s in requests),
        "mean_tokens_per_s": round(sum(speeds) / len(speeds), 2) if speeds else None,
        "median_latency_ms": latencies[len(latencies) // 2] if latencies else None,
    }
    return ToolOutput(", ".join(f"{key}: {value}" for key, value in metrics.items()), metrics)


async def permission_audit(call: ToolCall, args: NoArgs) -> ToolOutput:
    least = {"server": set(names(SERVER_BOT_PERMISSIONS)), "client": set(names(CLIENT_BOT_PERMISSIONS))}
    bots: list[dict[str, Any]] = []
    for report in call.deps.discord.bot_permissions():
        needed = least[report.bot]
        granted = report.granted
        bots.append(
            {
                "bot": report.bot,
                "in_guild": granted is not None,
                "least_privilege": sorted(needed),
                "granted": None if granted is None else sorted(granted),
                "missing": sorted(needed) if granted is None else sorted(needed - granted),
                "excessive": [] if granted is None else sorted(granted - needed),
            }
        )
    ok = all(bot["in_guild"] and not bot["missing"] and not bot["excessive"] for bot in bots)
    lines = [
        f"{bot['bot']}-bot: missing {', '.join(bot['missing']) or 'nothing'}; "
        f"beyond least privilege {', '.join(bot['excessive']) or 'nothing'}"
        for bot in bots
    ]
    return ToolOutput("\n".join(lines), {"least_privilege_met": ok, "bots": bots})


_READ_ONLY = {"readOnlyHint": True}
TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            "ask",
            "Ask the private model in your chat session (opens one if you have none). Progress "
            "notifications carry the reply text so far; cancelling the request stops the generation.",
            "chat",
            AskArgs,
            ask,
        ),
        ToolSpec(
            "list_sessions",
            "Your chat sessions, newest first.",
            "transcripts",
            NoArgs,
            list_sessions,
            _READ_ONLY,
        ),
        ToolSpec(
            "read_transcript",
            "The Markdown transcript of one of your sessions.",
            "transcripts",
            TranscriptArgs,
            read_transcript,
            _READ_ONLY,
        ),
        ToolSpec(
            "session_settings",
            "Show, or change, your session's temperature, max tokens and system prompt.",
            "chat",
            SettingsArgs,
            session_settings,
        ),
        ToolSpec(
            "post_message",
            "Post a message into your own session's Discord channel; @everyone/@here are neutralised and "
            "nobody is pinged.",
            "chat",
            PostArgs,
            post_message,
        ),
        ToolSpec(
            "admin_status",
            "Platform status: pause and fallback switches, open sessions, the AI host. AI Admin role.",
            "admin",
            NoArgs,
            admin_status,
            _READ_ONLY,
        ),
        ToolSpec(
            "admin_metrics",
            "Request count, tokens, speed and latency over the last hours. AI Admin role.",
            "admin",
            MetricsArgs,
            admin_metrics,
            _READ_ONLY,
        ),
        ToolSpec(
            "permission_audit",
            "Both bots' Discord permissions against the least privilege they need. AI Admin role.",
            "admin",
            NoArgs,
            permission_audit,
            _READ_ONLY,
        ),
    )
}
