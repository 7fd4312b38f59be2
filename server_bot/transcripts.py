"""Transcripts of ended chat sessions: rendered to JSON and Markdown, stored in the object store.

Keys: `transcripts/{session_id}/transcript.json` and `transcripts/{session_id}/transcript.md`; the
transcripts table remembers them so each ended session is saved once. The Markdown may be posted to or
opened from Discord, so `@everyone` / `@here` are neutralised with a full-width at sign
(`shared.mentions.neutralise_mentions`, the same rewrite every bot message gets).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from server_bot.db import Repository, SessionInfo, TranscriptInfo, Turn
from server_bot.objects import ObjectStore
from shared.log import get_logger
from shared.mentions import neutralise_mentions

log = get_logger(__name__)

FORMAT = "meatlizard-transcript/1"


def transcript_keys(session_id: uuid.UUID) -> tuple[str, str]:
    """(json_key, md_key) for a session."""
    base = f"transcripts/{session_id}/transcript"
    return f"{base}.json", f"{base}.md"


def render_json(session: SessionInfo, turns: Sequence[Turn]) -> bytes:
    document = {
        "format": FORMAT,
        "session": {
            "id": str(session.id),
            "owner_id": str(session.owner_id),
            "guild_id": _id_text(session.guild_id),
            "channel_id": _id_text(session.channel_id),
            "status": session.status.value,
            "system_prompt": session.system_prompt,
            "temperature": session.temperature,
            "max_tokens": session.max_tokens,
            "created_at": session.created_at.isoformat(),
            "ended_at": _iso(session.ended_at),
        },
        "turns": [
            {
                "role": turn.role.value,
                "text": turn.text,
                "created_at": turn.created_at.isoformat(),
                "token_count": turn.token_count,
            }
            for turn in turns
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def render_markdown(session: SessionInfo, turns: Sequence[Turn]) -> str:
    lines = [
        f"# Chat session {session.id}",
        "",
        f"- Owner: {session.owner_id}",
        f"- Started: {session.created_at.isoformat()}",
        f"- Ended: {_iso(session.ended_at) or 'still open'}",
        f"- Temperature: {session.temperature}, max tokens: {session.max_tokens}",
    ]
    if session.system_prompt:
        lines += ["", "## System prompt", "", session.system_prompt]
    lines += ["", "## Conversation"]
    for turn in turns:
        lines += ["", f"### {turn.role.value} · {turn.created_at.isoformat()}", "", turn.text]
    return neutralise_mentions("\n".join(lines) + "\n")


async def save_transcript(repo: Repository, store: ObjectStore, session_id: uuid.UUID) -> TranscriptInfo:
    """Render the session, store both files, then record the keys (so a failed upload is retried)."""
    session = await repo.get_session(session_id)
    turns = await repo.turns(session_id)
    json_key, md_key = transcript_keys(session_id)
    await store.put(json_key, render_json(session, turns), "application/json")
    await store.put(md_key, render_markdown(session, turns).encode("utf-8"), "text/markdown; charset=utf-8")
    info = await repo.record_transcript(session_id, json_key, md_key)
    log.info("transcript saved for chat session %s (%d turns)", session_id, len(turns))
    return info


async def save_pending_transcripts(repo: Repository, store: ObjectStore, limit: int = 20) -> int:
    """Save transcripts for ended sessions that have none yet; returns how many were saved."""
    pending = await repo.list_ended_sessions_without_transcript(limit)
    for session in pending:
        await save_transcript(repo, store, session.id)
    return len(pending)


def _id_text(value: int | None) -> str | None:
    # Snowflakes exceed JavaScript's safe integers; strings keep them exact for any reader.
    return None if value is None else str(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
