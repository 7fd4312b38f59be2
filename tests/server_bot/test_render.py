"""Reply pages: at most 2000 characters, cut at paragraphs, never inside a code fence unless one block is
longer than a page, and then fenced on both sides so each message renders alone."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from server_bot.render import MESSAGE_LIMIT, split_reply

FENCE = "```"


def _normalised(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_short_reply_is_one_page() -> None:
    assert split_reply("hello") == ["hello"]


def test_empty_reply_is_one_empty_page() -> None:
    assert split_reply("") == [""]


def test_cut_falls_on_a_paragraph_break() -> None:
    paragraph = "word " * 150
    pages = split_reply(f"{paragraph}\n\n{paragraph}\n\n{paragraph}")
    assert len(pages) == 2
    assert all(page.strip().endswith("word") for page in pages)


def test_cut_never_falls_inside_a_code_fence_that_fits_on_a_page() -> None:
    code = FENCE + "python\n" + "x = 1\n" * 150 + FENCE
    text = "intro " * 200 + "\n\n" + code + "\n\nafter"
    pages = split_reply(text)
    assert any(code in page for page in pages)


def test_long_code_block_is_closed_and_reopened_with_its_language() -> None:
    code = FENCE + "python\n" + "print('hi')\n" * 400 + FENCE
    pages = split_reply(code)
    assert len(pages) > 1
    for page in pages:
        assert page.count(FENCE) % 2 == 0
        assert page.startswith(FENCE + "python")


paragraphs = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=700),
        st.builds(lambda body: f"{FENCE}js\n{body}\n{FENCE}", st.text(alphabet="ab \n=;", max_size=3000)),
    ),
    max_size=8,
)


@settings(max_examples=80, deadline=None)
@given(paragraphs)
def test_pages_fit_and_keep_every_character(parts: list[str]) -> None:
    text = "\n\n".join(parts)
    pages = split_reply(text)
    assert all(len(page) <= MESSAGE_LIMIT for page in pages)
    rebuilt = "".join(pages).replace(f"\n{FENCE}{FENCE}js\n", "")
    assert _normalised(rebuilt) == _normalised(text)
