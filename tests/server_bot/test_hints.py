"""The Discord front adds its own command hints to the core's front-neutral words."""

from __future__ import annotations

import uuid

from server_bot.core import ContextDropped, Failed, NoOpenSession, NotAdmin, SessionAlreadyOpen
from server_bot.hints import context_dropped_text, failure_text, refusal_text


def test_refusals_get_the_discord_command_that_helps() -> None:
    assert refusal_text(NoOpenSession()) == "You have no open chat session. Start one with `/chat start`."
    already = refusal_text(SessionAlreadyOpen(uuid.UUID(int=1), 42))
    assert "<#42>" in already and "`/chat end`" in already
    assert refusal_text(NotAdmin()) == NotAdmin().user_message  # nothing to add


def test_failures_and_dropped_context_point_to_chat_reset() -> None:
    assert failure_text(Failed.of("prompt_too_long")).endswith("`/chat reset` starts afresh.")
    assert failure_text(Failed.of("busy")) == Failed.of("busy").message
    assert context_dropped_text(ContextDropped(2)).endswith("`/chat reset` starts afresh.")
