"""The Discord front's own words after the core's front-neutral ones: which slash command helps next.

The core's refusals and failure messages name no front's commands (the web and MCP have none of these);
this map adds the Discord hint by the refusal's `code` or the failure's code.
"""

from __future__ import annotations

from server_bot.core import ContextDropped, CoreError, Failed, SessionAlreadyOpen

REFUSAL_HINTS: dict[str, str] = {
    "no_open_session": "Start one with `/chat start`.",
    "session_already_open": "`/chat end` closes it.",
    "unknown_host": "`/ai-admin status` lists the hosts.",
}
FAILURE_HINTS: dict[str, str] = {
    "prompt_too_long": "`/chat reset` starts afresh.",
}
CONTEXT_DROPPED_HINT = "`/chat reset` starts afresh."


def refusal_text(refusal: CoreError) -> str:
    """The core's message, then where to go and what to type on Discord."""
    parts = [refusal.user_message]
    if isinstance(refusal, SessionAlreadyOpen) and refusal.channel_id is not None:
        parts.append(f"It is <#{refusal.channel_id}>.")
    if (hint := REFUSAL_HINTS.get(refusal.code)) is not None:
        parts.append(hint)
    return " ".join(parts)


def failure_text(failure: Failed) -> str:
    hint = FAILURE_HINTS.get(failure.code)
    return failure.message if hint is None else f"{failure.message} {hint}"


def context_dropped_text(dropped: ContextDropped) -> str:
    return f"{dropped.message} {CONTEXT_DROPPED_HINT}"
