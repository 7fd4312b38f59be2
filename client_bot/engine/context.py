"""Fitting a session's history into the model's context window.

Policy: keep every system turn and the latest turn; drop the oldest other turns until the templated
prompt fits the budget (`n_ctx - max_tokens`). If the kept minimum still does not fit, raise
`PromptTooLong` instead of truncating the user's message (see that exception for why).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from client_bot.engine.errors import InvalidRequest, PromptTooLong
from client_bot.engine.types import ChatTurn

TokenCounter = Callable[[Sequence[ChatTurn]], int]
"""Tokens of the prompt the model would see for these turns (chat template applied)."""


@dataclass(frozen=True, slots=True)
class FittedPrompt:
    turns: tuple[ChatTurn, ...]
    prompt_tokens: int
    dropped_turns: int


def fit_history(turns: Sequence[ChatTurn], budget: int, count_tokens: TokenCounter) -> FittedPrompt:
    """Keep as much recent history as fits in `budget` prompt tokens."""
    if not turns:
        raise InvalidRequest("a request needs at least one message")
    full = _keep_newest(turns, len(turns))
    full_tokens = count_tokens(full)
    if full_tokens <= budget:
        return FittedPrompt(full, full_tokens, 0)
    droppable = _droppable_count(turns)
    minimal = _keep_newest(turns, len(turns) - droppable)
    minimal_tokens = count_tokens(minimal)
    if minimal_tokens > budget:
        raise PromptTooLong(minimal_tokens, budget)
    return _binary_search_fit(turns, droppable, budget, count_tokens, (minimal, minimal_tokens))


def _droppable_count(turns: Sequence[ChatTurn]) -> int:
    """Non-system turns before the latest one."""
    return sum(1 for turn in turns[:-1] if turn.role != "system")


def _keep_newest(turns: Sequence[ChatTurn], keep: int) -> tuple[ChatTurn, ...]:
    """All system turns plus the newest `keep - #system` others, in their original order."""
    to_drop = len(turns) - keep
    kept: list[ChatTurn] = []
    for turn in turns[:-1]:
        if turn.role != "system" and to_drop > 0:
            to_drop -= 1
            continue
        kept.append(turn)
    kept.append(turns[-1])
    return tuple(kept)


def _binary_search_fit(
    turns: Sequence[ChatTurn],
    droppable: int,
    budget: int,
    count_tokens: TokenCounter,
    known_fit: tuple[tuple[ChatTurn, ...], int],
) -> FittedPrompt:
    # Prompt length only shrinks as more turns are dropped, so the fewest drops that fit is found in
    # log(n) tokenizations rather than one per turn.
    best_turns, best_tokens = known_fit
    best_dropped = droppable
    low, high = 1, droppable - 1  # 0 drops is known not to fit, `droppable` drops is known to fit
    while low <= high:
        middle = (low + high) // 2
        candidate = _keep_newest(turns, len(turns) - middle)
        tokens = count_tokens(candidate)
        if tokens <= budget:
            best_turns, best_tokens, best_dropped = candidate, tokens, middle
            high = middle - 1
        else:
            low = middle + 1
    return FittedPrompt(best_turns, best_tokens, best_dropped)
