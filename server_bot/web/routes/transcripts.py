"""Transcripts: one's own, listed and downloaded as Markdown or JSON through an authenticated route.

On S3 the answer is a redirect to a pre-signed link valid at most 15 minutes (StorageSettings caps it);
on the embedded local store, whose links only work on the same machine, the app sends the file itself."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from server_bot.transcripts import transcript_keys
from server_bot.web.deps import Context, Viewer, actor_of
from server_bot.web.render import session_json

router = APIRouter(prefix="/api/transcripts")
_TYPES = {"md": "text/markdown; charset=utf-8", "json": "application/json"}


@router.get("")
async def list_transcripts(ctx: Context, login: Viewer) -> list[dict[str, Any]]:
    sessions = await ctx.core.sessions.list_for(actor_of(ctx, login))
    return [{"session_id": str(s.id), **session_json(s)} for s in sessions]


@router.get("/{session_id}.{fmt}", response_model=None)
async def download(
    session_id: uuid.UUID, fmt: Literal["md", "json"], ctx: Context, login: Viewer
) -> Response:
    # The core checks ownership, saves the transcript as it stands and links the Markdown.
    link = await ctx.core.sessions.transcript(actor_of(ctx, login), session_id)
    json_key, _ = transcript_keys(session_id)
    if link.shareable:
        url = link.url if fmt == "md" else await ctx.objects.link(json_key, link.ttl_s)
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    body = link.markdown if fmt == "md" else await ctx.objects.get(json_key)
    headers = {
        "Content-Disposition": f'attachment; filename="transcript-{session_id}.{fmt}"',
        "Cache-Control": "no-store",
    }
    return Response(body, media_type=_TYPES[fmt], headers=headers)
