"""How the web shows the core's results: records as JSON, reply events as server-sent events.

Reply text goes out as JSON strings and the page puts it into text nodes; nothing here builds HTML."""

from __future__ import annotations

from typing import Any

from server_bot.core import (
    Accepted,
    ContextDropped,
    Failed,
    FallbackReply,
    Finished,
    HostOffline,
    Queued,
    ReplyEvent,
    TextSoFar,
    Withheld,
)
from server_bot.db.records import SessionInfo, Turn


def session_json(session: SessionInfo) -> dict[str, Any]:
    return {
        "id": str(session.id),
        "title": f"Chat of {session.created_at:%Y-%m-%d %H:%M}",
        "front_end": session.front_end,
        "status": session.status.value,
        "created_at": session.created_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
    }


def session_detail_json(session: SessionInfo, turns: list[Turn]) -> dict[str, Any]:
    return {
        **session_json(session),
        "settings": {
            "temperature": session.temperature,
            "max_tokens": session.max_tokens,
            "system_prompt": session.system_prompt,
        },
        "messages": [{"role": turn.role.value, "text": turn.text} for turn in turns],
    }


def event_json(event: ReplyEvent) -> dict[str, Any]:
    match event:
        case Accepted(request_id=request_id):
            return {"type": "accepted", "request_id": request_id}
        case Queued(position=position):
            return {"type": "notice", "text": f"Waiting for the AI host (position {position + 1})."}
        case TextSoFar(text=text):
            return {"type": "replace", "text": text}
        case HostOffline() | ContextDropped():
            return {"type": "notice", "text": event.message}
        case Finished(text=text, reply_id=reply_id, finish_reason=reason):
            return {"type": "done", "text": text + event.suffix, "reply_id": reply_id, "reason": reason}
        case Withheld(message=message):
            return {"type": "done", "text": message, "reply_id": None, "reason": "withheld"}
        case FallbackReply(text=text):
            return {"type": "done", "text": text, "reply_id": None, "reason": "fallback"}
        case Failed(message=message, code=code):
            return {"type": "error", "text": message, "code": code}
