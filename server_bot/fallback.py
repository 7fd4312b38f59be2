"""Replies for when the AI host is offline: a word-level, order-2 Markov chain over a public-domain text.

The chain is built once per process from ``server_bot/data/fallback_corpus.txt`` (US founding documents
and two Lincoln speeches; the file header names the sources). Every reply starts with `FALLBACK_LABEL` so
nobody mistakes it for the model. The reply is made only of corpus words: the prompt picks where the chain
starts (a prompt word that occurs in the corpus, when there is one) but none of its text is echoed, so a
fallback reply can never carry a user's ping, link or slur back into the channel.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources

from shared.log import get_logger

log = get_logger(__name__)

FALLBACK_LABEL = "[fallback — the AI host is offline]"
DEFAULT_MAX_WORDS = 60
_SENTENCE_END = (".", "!", "?")
_KEY_CHARS = re.compile(r"[^\w'-]+")

State = tuple[str, str]


class FallbackError(Exception):
    """Base of the fallback-responder errors (an unusable corpus, a bad request)."""


@dataclass(frozen=True, slots=True)
class MarkovChain:
    """Order-2 chain: each pair of consecutive words maps to the words seen after it (with repeats)."""

    successors: dict[State, list[str]]
    sentence_starts: list[State]
    # normalised word -> states whose first word is that word, so a prompt word can pick the start.
    states_by_word: dict[str, list[State]]

    @classmethod
    def build(cls, text: str) -> MarkovChain:
        words = text.split()
        if len(words) < 3:
            raise FallbackError("the fallback corpus needs at least three words")
        successors: dict[State, list[str]] = defaultdict(list)
        starts: list[State] = [(words[0], words[1])]
        for first, second, third in zip(words, words[1:], words[2:], strict=False):
            successors[(first, second)].append(third)
            if first.endswith(_SENTENCE_END) and second[:1].isupper():
                starts.append((second, third))
        by_word: dict[str, list[State]] = defaultdict(list)
        for state in successors:
            key = word_key(state[0])
            if key:
                by_word[key].append(state)
        return cls(dict(successors), starts, dict(by_word))

    def walk(self, start: State, rng: random.Random, max_words: int) -> list[str]:
        """Up to `max_words` words from `start`; past half-way, stop at the first sentence end."""
        out = list(start[:max_words])
        state = start
        while len(out) < max_words:
            if len(out) >= max_words // 2 and out[-1].endswith(_SENTENCE_END):
                break
            choices = self.successors.get(state)
            if not choices:
                # The corpus's last pair has no successor: carry on from a fresh sentence.
                state = rng.choice(self.sentence_starts)
                out.extend(state[: max_words - len(out)])
                continue
            following = rng.choice(choices)
            out.append(following)
            state = (state[1], following)
        return out


def word_key(word: str) -> str:
    """A word as the index sees it: lower case, surrounding punctuation stripped."""
    return _KEY_CHARS.sub("", word).strip("'-").casefold()


def _corpus_text() -> str:
    raw = resources.files("server_bot").joinpath("data/fallback_corpus.txt").read_text(encoding="utf-8")
    return "\n".join(line for line in raw.splitlines() if not line.startswith("#"))


@cache
def default_chain() -> MarkovChain:
    """The chain over the bundled corpus, built on first use and shared by every responder."""
    chain = MarkovChain.build(_corpus_text())
    log.info("fallback chain built: %d states", len(chain.successors))
    return chain


class FallbackResponder:
    """Labelled Markov-chain replies. With a `seed`, the same calls give the same replies."""

    def __init__(self, seed: int | None = None, chain: MarkovChain | None = None) -> None:
        self._chain = chain or default_chain()
        # Not for security: this only varies filler text.
        self._rng = random.Random(seed)  # noqa: S311

    def reply(self, prompt: str, max_words: int = DEFAULT_MAX_WORDS) -> str:
        """`FALLBACK_LABEL` followed by at most `max_words` generated words."""
        if max_words < 1:
            raise FallbackError("max_words must be at least 1")
        start = self._start_for(prompt)
        words = self._chain.walk(start, self._rng, max_words)
        return f"{FALLBACK_LABEL} {' '.join(words)}"

    def _start_for(self, prompt: str) -> State:
        """Start at the longest prompt word the corpus knows (the most telling one), else anywhere."""
        known = [key for key in map(word_key, prompt.split()) if key in self._chain.states_by_word]
        if known:
            word = max(known, key=len)
            return self._rng.choice(self._chain.states_by_word[word])
        return self._rng.choice(self._chain.sentence_starts)
