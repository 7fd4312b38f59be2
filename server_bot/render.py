"""Split a reply into Discord messages of at most 2000 characters.

Cuts fall at a paragraph break if one is near the end of the page, else at a line break, else at a space.
A cut never falls inside a code fence; only a single code block longer than a page is cut inside, and
then the fence is closed at the end of the page and reopened (same language) on the next, so every
message renders on its own.
"""

from __future__ import annotations

import re

MESSAGE_LIMIT = 2000
_FENCE = re.compile(r"^```(\S*)", re.MULTILINE)
# A cut earlier than this fraction of a page wastes too much room; look for a weaker boundary instead.
_MIN_FILL = 0.5


def split_reply(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pages of `text`, each at most `limit` characters, cut at the best boundary outside code fences."""
    pages: list[str] = []
    rest = text
    reopen = ""
    while rest:
        rest = reopen + rest
        if len(rest) <= limit:
            pages.append(rest)
            break
        page, rest, reopen = _cut(rest, limit)
        pages.append(page)
        rest = rest.lstrip("\n") if not reopen else rest
    return pages or [""]


def _cut(text: str, limit: int) -> tuple[str, str, str]:
    """One page from the front of `text`: (page, remainder, fence header to reopen on the next page)."""
    fences = _fence_spans(text)
    window = text[:limit]
    for boundary in ("\n\n", "\n", " "):
        cut = _last_boundary(window, boundary, fences)
        if cut is not None and cut >= limit * _MIN_FILL:
            return text[:cut].rstrip(), text[cut:], ""
    # No good boundary outside a fence: cut inside the fence we are in (or hard, if none).
    inside = next((span for span in fences if span[0] < limit <= span[1]), None)
    if inside is None:
        return window, text[limit:], ""
    header = "```" + inside[2] + "\n"
    room = limit - len("\n```")
    cut = text.rfind("\n", inside[0] + 1, room)
    cut = cut if cut > inside[0] else room
    return text[:cut] + "\n```", text[cut:].lstrip("\n"), header


def _last_boundary(window: str, boundary: str, fences: list[tuple[int, int, str]]) -> int | None:
    position = len(window)
    while (position := window.rfind(boundary, 0, position)) > 0:
        if not any(start < position < end for start, end, _ in fences):
            return position
    return None


def _fence_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, language) of each fenced block; an unclosed fence runs to the end of the text."""
    spans: list[tuple[int, int, str]] = []
    opened: tuple[int, str] | None = None
    for match in _FENCE.finditer(text):
        if opened is None:
            opened = (match.start(), match.group(1))
        else:
            spans.append((opened[0], match.end(), opened[1]))
            opened = None
    if opened is not None:
        spans.append((opened[0], len(text), opened[1]))
    return spans
