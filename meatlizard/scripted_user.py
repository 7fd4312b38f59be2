"""A scripted person in devcord: run slash commands, post prompts, wait for the bot's finished reply.

Used by `meatlizard demo --once`, the end-to-end tests and the relay benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devcord.testing import Driver

Json = dict[str, Any]


async def start_chat(driver: Driver, user: str, channel: str = "general") -> int:
    """Run `/chat start` as `user`; return the id of their private channel."""
    view = await driver.command(user, channel, "chat start")
    done = await driver.wait_interaction(view["id"], _has_text, within=10)
    text = shown_texts(done)[-1]
    if "<#" not in text:
        raise RuntimeError(f"/chat start did not open a channel: {text}")
    return int(text.split("<#")[1].split(">")[0])


async def command_reply(driver: Driver, user: str, channel: str | int, command: str, **options: Any) -> str:
    """Run a slash command as `user`; return the text the user was shown."""
    view = await driver.command(user, channel, command, **options)
    done = await driver.wait_interaction(view["id"], _has_text, within=10)
    return shown_texts(done)[-1]


async def bot_reply(
    driver: Driver,
    channel: int,
    *,
    after: int = 0,
    done: Callable[[Json], bool] | None = None,
    timeout_s: float = 20,
) -> Json:
    """The bot's next finished reply in `channel` (its final edit carries the Regenerate button)."""
    finished = done or has_regenerate_button
    return await driver.wait_for_message(
        channel,
        lambda m: int(m["id"]) > after and m["author"].get("bot", False) and finished(m),
        within=timeout_s,
    )


def has_regenerate_button(message: Json) -> bool:
    return any(
        component.get("custom_id", "").startswith("ml:regen:")
        for row in message.get("components", [])
        for component in row.get("components", [])
    )


def shown_texts(view: Json) -> list[str]:
    """What the user was shown by an interaction: the original response (a deferral's first follow-up
    replaces it) and any further follow-ups, oldest first."""
    messages = [view.get("original"), *view.get("followups", [])]
    return [m["content"] for m in messages if m and m.get("content")]


def _has_text(view: Json) -> bool:
    return bool(shown_texts(view))
