"""Mention safety for everything either bot writes to Discord.

Two layers, both always used:

1. `NO_PINGS` is passed as `allowed_mentions` on every send/edit. Discord then notifies nobody, whatever
   the content says: it is the real guarantee, enforced by Discord's API.
2. `neutralise_mentions()` rewrites `@everyone` / `@here` in the text itself so the message does not even
   *look* like a mass ping (and stays harmless if it is ever copied, quoted, or sent by a path that forgot
   layer 1). The ASCII `@` becomes the full-width at sign U+FF20, which Discord never parses as a mention.

Discord's own parser matches the literal lower-case `@everyone`/`@here`; zero-width characters between
`@` and the word used to defeat it but no longer do (Discord changed that in 2020), and bidi overrides
such as U+202E have been used to smuggle pings through naive filters. So the rewrite is deliberately wider
than Discord's parser: it ignores case (after NFKC, so full-width letters count), and it looks through
invisible characters (format characters, combining marks, fillers) and Markdown emphasis between the `@`
and the word. A false positive only changes one glyph; a false negative would ping a whole guild.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import discord


@cache
def _no_pings() -> discord.AllowedMentions:
    import discord  # noqa: PLC0415 - only the Discord fronts need it; the core must not import discord

    return discord.AllowedMentions.none()


def __getattr__(name: str) -> discord.AllowedMentions:
    # `NO_PINGS` pings nobody: no users, no roles, no @everyone/@here, not even a replied-to author. It is
    # built on first use so that text-only users of this module (the core, transcripts) never load discord.
    if name == "NO_PINGS":
        return _no_pings()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


FULLWIDTH_AT = "\uff20"
_MASS_MENTIONS = ("everyone", "here")
_LONGEST = max(len(word) for word in _MASS_MENTIONS)
# Markdown emphasis/spoiler/code marks that may sit between "@" and the word without showing up.
_MARKDOWN_MARKS = frozenset("*_~|`")
# Invisible letters that are not in a "mark" or "format" category (Hangul fillers, Khmer inherent vowels).
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u17b4\u17b5\u3164\uffa0")


def neutralise_mentions(text: str) -> str:
    """Return `text` with every `@` that could start `@everyone`/`@here` replaced by U+FF20 (full-width @)."""
    if "@" not in text:
        return text
    chars = list(text)
    for index, char in enumerate(chars):
        if char == "@" and _starts_mass_mention(text, index + 1):
            chars[index] = FULLWIDTH_AT
    return "".join(chars)


def is_pingable(text: str) -> bool:
    """Whether `text` still contains something that could be read as `@everyone`/`@here`."""
    return any(char == "@" and _starts_mass_mention(text, i + 1) for i, char in enumerate(text))


def _starts_mass_mention(text: str, start: int) -> bool:
    """Whether the visible letters from `start` on spell one of the mass-mention words, ignoring case."""
    visible: list[str] = []
    for index in range(start, len(text)):
        char = text[index]
        if _is_ignorable(char):
            continue
        visible.append(unicodedata.normalize("NFKC", char).casefold())
        skeleton = "".join(visible)
        if any(skeleton.startswith(word) for word in _MASS_MENTIONS):
            return True
        if len(skeleton) >= _LONGEST or not any(word.startswith(skeleton) for word in _MASS_MENTIONS):
            return False
    return False


def _is_ignorable(char: str) -> bool:
    if char in _MARKDOWN_MARKS or char in _INVISIBLE_LETTERS:
        return True
    # Cf: zero-width space/joiners, bidi overrides, soft hyphen; Mn/Me: combining marks, variation selectors.
    return unicodedata.category(char) in {"Cf", "Mn", "Me"}
