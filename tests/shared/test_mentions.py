"""Mass mentions are defused in text, and every write path can ping nobody."""

from __future__ import annotations

import unicodedata
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

# discord.py 2.7 imports the deprecated `audioop` (voice support); that is not what these tests are about.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

from shared.mentions import FULLWIDTH_AT, NO_PINGS, is_pingable, neutralise_mentions

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u034f", "\ufe0f"]


def discord_could_ping(text: str) -> bool:
    """An independent oracle: drop invisible and Markdown characters, fold case, look for an ASCII @ word."""
    visible = "".join(
        c for c in text if unicodedata.category(c) not in {"Cf", "Mn", "Me"} and c not in "*_~|`"
    )
    folded = unicodedata.normalize("NFKC", visible.replace(FULLWIDTH_AT, "#")).casefold()
    return "@everyone" in folded or "@here" in folded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("hi @everyone", "hi ＠everyone", id="everyone"),
        pytest.param("@here look", "＠here look", id="here"),
        pytest.param("@EVERYONE @Here", "＠EVERYONE ＠Here", id="case-variants"),
        pytest.param("@\u200beveryone", "＠\u200beveryone", id="zero-width-space"),
        pytest.param("@e\u202everyone", "＠e\u202everyone", id="bidi-override-inside-word"),
        pytest.param("@**here**", "＠**here**", id="markdown-bold"),
        pytest.param("@ｅｖｅｒｙｏｎｅ", "＠ｅｖｅｒｙｏｎｅ", id="full-width-letters"),
        pytest.param("@@here", "@＠here", id="only-the-at-before-the-word"),
        pytest.param("`@everyone`", "`＠everyone`", id="inside-code-span"),
    ],
)
def test_mass_mentions_get_a_full_width_at_sign(text: str, expected: str) -> None:
    assert neutralise_mentions(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("mail me at someone@example.com", id="email-address"),
        pytest.param("@ everyone", id="space-after-at"),
        pytest.param("<@123456789012345678> hi", id="user-mention-left-to-allowed-mentions"),
        pytest.param("everyone here is welcome", id="words-without-at"),
        pytest.param("@heroes and @ever", id="near-misses"),
    ],
)
def test_text_without_a_mass_mention_is_unchanged(text: str) -> None:
    assert neutralise_mentions(text) == text


def test_no_pings_allows_no_mention_of_any_kind() -> None:
    assert isinstance(NO_PINGS, discord.AllowedMentions)
    assert (NO_PINGS.everyone, NO_PINGS.users, NO_PINGS.roles, NO_PINGS.replied_user) == (False,) * 4
    # An empty parse list and no replied_user (Discord's default is false): nothing is pinged.
    assert dict(NO_PINGS.to_dict()) == {"parse": []}


def test_is_pingable_agrees_with_the_rewrite() -> None:
    assert is_pingable("hey @here")
    assert not is_pingable(neutralise_mentions("hey @here"))


mention_like_text = st.text(
    alphabet=st.sampled_from([*"@everyonhEVERYONH *_~|`a.", FULLWIDTH_AT, "ｅ", "Ｈ", "\u0301", *INVISIBLE]),
    max_size=40,
)


@given(text=mention_like_text)
def test_output_never_contains_a_pingable_mass_mention(text: str) -> None:
    out = neutralise_mentions(text)

    assert not discord_could_ping(out)
    assert not is_pingable(out)


@given(text=st.text(max_size=200))
def test_only_at_signs_are_ever_changed(text: str) -> None:
    out = neutralise_mentions(text)

    assert len(out) == len(text)
    assert all(a == b or (a == "@" and b == FULLWIDTH_AT) for a, b in zip(text, out, strict=True))
