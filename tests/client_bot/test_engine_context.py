"""Fitting history into the context window, with a word-counting stand-in for the tokenizer."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from client_bot.engine.context import fit_history
from client_bot.engine.errors import InvalidRequest, PromptTooLong
from client_bot.engine.types import ChatTurn


def words(turns: Sequence[ChatTurn]) -> int:
    # Like a chat template: a few marker tokens per turn plus the content.
    return sum(3 + len(turn.content.split()) for turn in turns)


def conversation(exchanges: int, words_per_turn: int = 10) -> list[ChatTurn]:
    turns = [ChatTurn("system", "be brief")]
    for i in range(exchanges):
        turns.append(ChatTurn("user", " ".join([f"q{i}"] * words_per_turn)))
        turns.append(ChatTurn("assistant", " ".join([f"a{i}"] * words_per_turn)))
    turns.append(ChatTurn("user", "latest question"))
    return turns


def test_history_that_fits_is_kept_whole() -> None:
    turns = conversation(3)
    fitted = fit_history(turns, budget=1000, count_tokens=words)
    assert fitted.turns == tuple(turns)
    assert (fitted.dropped_turns, fitted.prompt_tokens) == (0, words(turns))


def test_oldest_turns_are_dropped_keeping_system_and_latest() -> None:
    turns = conversation(10)  # 5 + 10 * 26 + 5 = 270 tokens
    fitted = fit_history(turns, budget=120, count_tokens=words)
    assert fitted.turns[0] == turns[0]
    assert fitted.turns[-1] == turns[-1]
    assert fitted.turns[1:] == tuple(turns[1 + fitted.dropped_turns :])
    assert fitted.prompt_tokens == words(fitted.turns) <= 120


@pytest.mark.parametrize("budget", [pytest.param(b, id=f"budget-{b}") for b in (10, 23, 50, 119, 200, 269)])
def test_the_fewest_turns_that_make_it_fit_are_dropped(budget: int) -> None:
    turns = conversation(10)
    fitted = fit_history(turns, budget=budget, count_tokens=words)
    assert words(fitted.turns) <= budget
    if fitted.dropped_turns > 0:
        one_less = [turns[0], *turns[fitted.dropped_turns :]]
        assert words(one_less) > budget


def test_system_turns_anywhere_in_the_history_are_kept() -> None:
    turns = [
        ChatTurn("user", "old " * 50),
        ChatTurn("system", "mid-conversation instruction"),
        ChatTurn("assistant", "older reply " * 20),
        ChatTurn("user", "now"),
    ]
    fitted = fit_history(turns, budget=20, count_tokens=words)
    assert [turn.role for turn in fitted.turns] == ["system", "user"]
    assert fitted.dropped_turns == 2


def test_latest_turn_that_alone_is_too_long_is_refused_not_truncated() -> None:
    turns = [ChatTurn("system", "be brief"), ChatTurn("user", "word " * 500)]
    with pytest.raises(PromptTooLong) as raised:
        fit_history(turns, budget=100, count_tokens=words)
    assert (raised.value.prompt_tokens, raised.value.budget) == (words(turns), 100)


def test_empty_history_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        fit_history([], budget=100, count_tokens=words)
