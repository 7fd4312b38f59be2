"""Chat sessions on the web: list (Discord and web sessions alike), open, read, talk, stop,
regenerate, settings, end. Each route parses, calls the application core, and renders."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from server_bot.core import ReplyNotRegenerable, RequestNotFound
from server_bot.web.deps import Context, Viewer, actor_of
from server_bot.web.render import session_detail_json, session_json

router = APIRouter(prefix="/api/sessions")
_SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # nginx: do not buffer the stream


class Prompt(BaseModel):
    text: str = Field(max_length=100_000)  # the core enforces the real limit with a clear message


class Regenerate(BaseModel):
    reply_id: int | None = None


class Settings(BaseModel):
    temperature: float | None = None
    max_tokens: int | None = None
    system_prompt: str | None = Field(default=None, max_length=100_000)


@router.get("")
async def list_sessions(ctx: Context, login: Viewer) -> list[dict[str, Any]]:
    sessions = await ctx.core.sessions.list_for(actor_of(ctx, login))
    return [session_json(s) for s in sessions]


@router.post("", status_code=201)
async def start_chat(ctx: Context, login: Viewer) -> dict[str, Any]:
    session = await ctx.core.sessions.open(actor_of(ctx, login), guild_id=ctx.login.guild_id)
    return session_json(session)


@router.get("/{session_id}")
async def read_session(session_id: uuid.UUID, ctx: Context, login: Viewer) -> dict[str, Any]:
    actor = actor_of(ctx, login)
    session = await ctx.core.sessions.get(actor, session_id)
    return session_detail_json(session, await ctx.core.sessions.history(actor, session_id))


@router.post("/{session_id}/messages")
async def send_message(
    session_id: uuid.UUID, prompt: Prompt, ctx: Context, login: Viewer
) -> StreamingResponse:
    # Refusals (not yours, closed, too fast, empty...) are raised here, before the stream starts.
    stream = await ctx.core.conversation.submit(actor_of(ctx, login), session_id, prompt.text)
    return StreamingResponse(ctx.pumps.follow(stream), media_type="text/event-stream", headers=_SSE_HEADERS)


@router.post("/{session_id}/regenerate")
async def regenerate(
    session_id: uuid.UUID, body: Regenerate, ctx: Context, login: Viewer
) -> StreamingResponse:
    actor = actor_of(ctx, login)
    session = await ctx.core.sessions.get(actor, session_id)
    # The core's history has no message ids, so "the latest reply" is asked of the repository.
    reply_id = body.reply_id or await ctx.core.repo.latest_reply_id(session.id)
    if reply_id is None:
        raise ReplyNotRegenerable()
    stream = await ctx.core.conversation.regenerate(actor, reply_id)
    if stream.session_id != session.id:
        await stream.aclose()
        raise ReplyNotRegenerable()
    return StreamingResponse(ctx.pumps.follow(stream), media_type="text/event-stream", headers=_SSE_HEADERS)


@router.post("/{session_id}/stop")
async def stop(session_id: uuid.UUID, ctx: Context, login: Viewer) -> dict[str, bool]:
    actor = actor_of(ctx, login)
    await ctx.core.sessions.get(actor, session_id)
    request_id = ctx.core.conversation.in_flight(session_id)
    if request_id is None:
        raise RequestNotFound()
    await ctx.core.conversation.stop(actor, request_id)
    return {"ok": True}


@router.put("/{session_id}/settings")
async def update_settings(
    session_id: uuid.UUID, body: Settings, ctx: Context, login: Viewer
) -> dict[str, Any]:
    actor = actor_of(ctx, login)
    session = await ctx.core.sessions.update_settings(
        actor, session_id, temperature=body.temperature, max_tokens=body.max_tokens
    )
    if body.system_prompt is not None:
        session = await ctx.core.sessions.set_system_prompt(actor, session_id, body.system_prompt)
    return session_json(session)


@router.post("/{session_id}/end")
async def end_chat(session_id: uuid.UUID, ctx: Context, login: Viewer) -> dict[str, Any]:
    actor = actor_of(ctx, login)
    await ctx.core.sessions.get(actor, session_id)  # someone else's id is "not found", not "forbidden"
    session = await ctx.core.sessions.close(session_id, reason="ended", by=actor)
    return session_json(session)
