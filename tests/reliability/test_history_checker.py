"""The history checker itself, on synthetic channel histories shaped like devcord's stored messages."""

from __future__ import annotations

from itertools import count
from typing import Any

from tests.reliability.history import check_history, check_transcript, classify, marker

BOT = 1
ALICE = 2
BOB = 3
_ids = count(100)
Json = dict[str, Any]


def prompt(who: int, text: str) -> Json:
    return {"id": next(_ids), "author": {"id": str(who)}, "content": text}


def _buttons(prefix: str) -> list[Json]:
    return [{"type": 1, "components": [{"type": 2, "custom_id": f"{prefix}abc"}]}]


def reply(text: str, *, streamed: tuple[str, ...] = ()) -> Json:
    """A finished reply: streamed versions with a Stop button, then the final text with Regenerate."""
    history = [{"content": t, "components": _buttons("ml:stop:")} for t in streamed]
    return {
        "id": next(_ids),
        "author": {"id": str(BOT), "bot": True},
        "content": text,
        "components": _buttons("ml:regen:"),
        "history": history,
    }


def half_written(text: str) -> Json:
    return {"id": next(_ids), "author": {"id": str(BOT), "bot": True}, "content": text, **_stop()}


def _stop() -> Json:
    return {"components": _buttons("ml:stop:")}


def notice(text: str, *, answers: Json | None = None) -> Json:
    message: Json = {"id": next(_ids), "author": {"id": str(BOT), "bot": True}, "content": text}
    if answers is not None:
        message["message_reference"] = {"message_id": answers["id"]}
    return message


def echo(p: Json) -> Json:
    return reply(f"You said: {p['content']}", streamed=("You said:",))


def test_a_clean_conversation_passes() -> None:
    p1, p2 = prompt(ALICE, f"{marker('alice', 1)} hi"), prompt(ALICE, f"{marker('alice', 2)} again")
    report = check_history({10: [p1, echo(p1), p2, echo(p2)]}, [BOT])
    assert report.ok, report.problems
    assert (report.accepted, report.answered, report.lost) == (2, 2, 0)


def test_a_duplicate_final_reply_is_caught() -> None:
    p1 = prompt(ALICE, f"{marker('alice', 1)} hi")
    report = check_history({10: [p1, echo(p1), echo(p1)]}, [BOT])
    assert report.duplicated == 1
    assert not report.ok


def test_a_duplicate_final_reply_without_markers_is_caught_first_in_first_out() -> None:
    p1 = prompt(ALICE, "hi")
    report = check_history({10: [p1, reply("Hello!"), reply("Hello!")]}, [BOT])
    assert report.duplicated == 1


def test_a_lost_prompt_is_caught() -> None:
    p1, p2 = prompt(ALICE, f"{marker('alice', 1)} hi"), prompt(ALICE, f"{marker('alice', 2)} again")
    report = check_history({10: [p1, echo(p1), p2]}, [BOT])
    assert report.lost == 1 and report.answered == 1


def test_a_half_written_reply_with_a_live_stop_button_is_lost() -> None:
    p1 = prompt(ALICE, f"{marker('alice', 1)} hi")
    report = check_history({10: [p1, half_written("You said: [[alice#1]]")]}, [BOT])
    assert report.lost == 1


def test_out_of_order_replies_are_caught() -> None:
    p1, p2 = prompt(ALICE, f"{marker('alice', 1)} hi"), prompt(ALICE, f"{marker('alice', 2)} again")
    report = check_history({10: [p1, p2, echo(p2), echo(p1)]}, [BOT])
    assert report.out_of_order == 1
    assert report.lost == 0 and report.duplicated == 0


def test_reply_text_in_the_wrong_channel_is_caught_even_in_an_earlier_edit() -> None:
    a1, b1 = prompt(ALICE, f"{marker('alice', 1)} hi"), prompt(BOB, f"{marker('bob', 1)} yo")
    leaked = reply(f"You said: {b1['content']}", streamed=(f"You said: {a1['content']}",))
    bob_leak = reply(f"You said: {a1['content']}")
    report = check_history({10: [a1, leaked], 20: [b1, echo(b1)]}, [BOT])
    assert report.wrong_channel == 1
    report = check_history({10: [a1, echo(a1)], 20: [b1, bob_leak]}, [BOT])
    assert report.wrong_channel == 1 and not report.ok


def test_a_rate_limit_notice_answers_its_prompt_and_offline_notices_wait_for_the_reply() -> None:
    p1, p2 = prompt(ALICE, f"{marker('alice', 1)} hi"), prompt(ALICE, f"{marker('alice', 2)} fast")
    refusal = notice("You're going a bit fast. Try again in 9 s.", answers=p2) | {"deleted": True}
    offline = notice("⚠️ The AI host is offline right now. Your prompt is kept for about 10 min")
    report = check_history({10: [p1, offline, p2, refusal, echo(p1)]}, [BOT])
    assert report.ok, report.problems
    assert (report.answered, report.notices) == (1, 1)


def test_a_notice_and_a_reply_to_one_prompt_count_as_a_duplicate() -> None:
    p1 = prompt(ALICE, f"{marker('alice', 1)} hi")
    expired = notice("The AI host did not come back in time, so your prompt could not be answered.")
    report = check_history({10: [p1, expired, echo(p1)]}, [BOT])
    assert report.duplicated == 1


def test_an_audit_refusal_nobody_was_told_about_is_a_problem() -> None:
    p1 = prompt(ALICE, f"{marker('alice', 1)} hi")
    audit = [{"event": "prompt", "success": False, "channel_id": 10}]
    report = check_history({10: [p1, echo(p1)]}, [BOT], audit)
    assert any("refused" in problem for problem in report.problems)


def test_classify_reads_buttons_and_wording() -> None:
    assert classify(reply("x")) == "final"
    assert classify(half_written("x")) == "partial"
    assert classify(notice("ℹ️ The conversation is longer than the model can read")) == "info"
    assert classify({"content": "p1", "history": [{"content": "p", **_stop()}]}) == "page"


def test_a_reply_whose_regenerate_button_was_taken_away_by_the_next_prompt_is_still_final() -> None:
    earlier = reply("Hello!", streamed=("Hel",))
    retired = {**earlier, "components": [], "history": [*earlier["history"], {**earlier, "history": []}]}
    assert classify(retired) == "final"
    p1, p2 = prompt(ALICE, f"{marker('alice', 1)} hi"), prompt(ALICE, f"{marker('alice', 2)} again")
    first = {**echo(p1), "components": [], "history": [echo(p1)]}
    report = check_history({10: [p1, first, p2, echo(p2)]}, [BOT])
    assert (report.answered, report.lost, report.duplicated) == (2, 0, 0), report.problems


def test_transcript_must_equal_what_the_channel_showed() -> None:
    p1 = prompt(ALICE, "hi")
    shown = [p1, reply("Hello!\n\n*(stopped)*")]
    good = [{"role": "user", "text": "hi"}, {"role": "assistant", "text": "Hello!"}]
    assert check_transcript(shown, good, [BOT]) == []
    bad = [{"role": "user", "text": "hi"}, {"role": "assistant", "text": "Hello there!"}]
    assert check_transcript(shown, bad, [BOT])
