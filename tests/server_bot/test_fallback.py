"""Offline fallback replies: labelled, bounded, deterministic with a seed, and made only of corpus words."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server_bot.fallback import (
    FALLBACK_LABEL,
    FallbackError,
    FallbackResponder,
    MarkovChain,
    default_chain,
    word_key,
)


def corpus_words() -> set[str]:
    return {word for state in default_chain().successors for word in state} | {
        word for words in default_chain().successors.values() for word in words
    }


def generated_words(reply: str) -> list[str]:
    assert reply.startswith(FALLBACK_LABEL + " ")
    return reply.removeprefix(FALLBACK_LABEL + " ").split()


def test_the_bundled_corpus_is_sizeable_and_names_its_public_domain_source() -> None:
    raw = resources.files("server_bot").joinpath("data/fallback_corpus.txt").read_text(encoding="utf-8")
    header = " ".join(line.lstrip("# ") for line in raw.splitlines() if line.startswith("#"))
    body_words = sum(len(line.split()) for line in raw.splitlines() if not line.startswith("#"))

    assert "public domain" in header
    assert "Gettysburg Address" in header
    assert body_words > 2000


def test_a_reply_starts_with_the_offline_label() -> None:
    reply = FallbackResponder(seed=1).reply("hello?")

    assert reply.startswith("[fallback — the AI host is offline] ")
    assert generated_words(reply)


def test_the_same_seed_gives_the_same_replies() -> None:
    first, second = FallbackResponder(seed=42), FallbackResponder(seed=42)

    assert [first.reply("tell me about liberty") for _ in range(3)] == [
        second.reply("tell me about liberty") for _ in range(3)
    ]


def test_different_seeds_give_different_replies() -> None:
    replies = {FallbackResponder(seed=seed).reply("what now?") for seed in range(5)}

    assert len(replies) > 1


@pytest.mark.parametrize(
    ("prompt", "word"),
    [
        pytest.param("What about Liberty?", "liberty", id="capitalised-with-punctuation"),
        pytest.param("the war and its wounds", "wounds", id="longest-known-word"),
        pytest.param("xyzzy plugh Congress", "congress", id="unknown-words-skipped"),
    ],
)
def test_the_chain_starts_from_a_prompt_word_it_knows(prompt: str, word: str) -> None:
    words = generated_words(FallbackResponder(seed=3).reply(prompt))

    assert word_key(words[0]) == word


def test_a_prompt_with_no_known_word_still_gets_a_reply() -> None:
    words = generated_words(FallbackResponder(seed=3).reply("xyzzy plugh"))

    assert words[0][:1].isupper()


def test_the_prompt_text_is_never_echoed() -> None:
    reply = FallbackResponder(seed=9).reply("@everyone <@1234> liberty https://evil.example")

    assert "@" not in reply
    assert "evil" not in reply
    assert set(generated_words(reply)) <= corpus_words()


@pytest.mark.parametrize("max_words", [pytest.param(n, id=f"{n}-words") for n in (1, 2, 3, 10, 200)])
def test_replies_never_exceed_max_words(max_words: int) -> None:
    assert len(generated_words(FallbackResponder(seed=5).reply("liberty", max_words))) <= max_words


def test_zero_max_words_is_refused() -> None:
    with pytest.raises(FallbackError, match="max_words"):
        FallbackResponder(seed=1).reply("hi", 0)


def test_the_walk_continues_past_the_end_of_a_tiny_corpus() -> None:
    chain = MarkovChain.build("One fish two fish. Red fish blue fish")
    reply = FallbackResponder(seed=0, chain=chain).reply("blue", max_words=30)

    words = generated_words(reply)
    assert 2 < len(words) <= 30
    assert set(words) <= {"One", "fish", "two", "fish.", "Red", "blue"}


def test_a_corpus_too_small_for_order_two_is_refused() -> None:
    with pytest.raises(FallbackError, match="three words"):
        MarkovChain.build("too short")


@settings(max_examples=50)
@given(prompt=st.text(max_size=100), max_words=st.integers(min_value=1, max_value=80), seed=st.integers())
def test_any_prompt_gets_a_labelled_bounded_reply_of_corpus_words(
    prompt: str, max_words: int, seed: int
) -> None:
    words = generated_words(FallbackResponder(seed=seed).reply(prompt, max_words))

    assert 1 <= len(words) <= max_words
    assert set(words) <= corpus_words()
