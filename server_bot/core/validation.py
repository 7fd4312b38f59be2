"""Input checks the core applies itself, whatever the front already checked. Pure functions.

Text is repaired, not refused, where repair is lossless for the user: a lone UTF-16 surrogate (a broken
emoji half, which cannot be encoded and so cannot be sealed) becomes U+FFFD.
"""

from __future__ import annotations

import math
import re
import unicodedata

from server_bot.core.errors import EmptyPrompt, InvalidSetting, PromptTooLong, SystemPromptTooLong

_SURROGATE = re.compile("[\ud800-\udfff]")


def repair_text(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD, so it always encodes as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def has_visible_text(text: str) -> bool:
    """False for text made only of whitespace and invisible format characters (zero-width space, etc.)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs") for ch in text)


def clean_prompt(text: str, *, max_chars: int) -> str:
    """The prompt to store, or `EmptyPrompt` / `PromptTooLong`."""
    text = repair_text(text)
    if not has_visible_text(text):
        raise EmptyPrompt()
    if len(text) > max_chars:
        raise PromptTooLong(max_chars)
    return text


def clean_system_prompt(text: str | None, *, max_chars: int) -> str | None:
    """The system prompt to store; None or blank text means "back to the default"."""
    if text is None:
        return None
    text = repair_text(text).strip()
    if not has_visible_text(text):
        return None
    if len(text) > max_chars:
        raise SystemPromptTooLong(max_chars)
    return text


def check_temperature(value: float, *, maximum: float) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or not 0.0 <= value <= maximum:
        raise InvalidSetting(f"Temperature must be a number from 0 to at most {maximum}.")
    return float(value)


def check_max_tokens(value: int, *, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidSetting(f"Max tokens must be a whole number from 1 to at most {maximum}.")
    return value
