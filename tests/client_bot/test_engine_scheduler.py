"""FairScheduler: per-session FIFO served in turns, without the model."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client_bot.engine.scheduler import FairScheduler


def _queue(pushes: list[tuple[str, str]]) -> FairScheduler[str]:
    scheduler: FairScheduler[str] = FairScheduler()
    for session_id, request_id in pushes:
        scheduler.push(session_id, request_id, request_id)
    return scheduler


def _drain(scheduler: FairScheduler[str]) -> list[str]:
    order = []
    while (item := scheduler.pop()) is not None:
        order.append(item)
    return order


def test_one_session_is_served_first_in_first_out() -> None:
    assert _drain(_queue([("a", "a1"), ("a", "a2"), ("a", "a3")])) == ["a1", "a2", "a3"]


def test_chatty_session_takes_turns_with_a_later_newcomer() -> None:
    scheduler = _queue([("a", f"a{i}") for i in range(1, 6)] + [("b", "b1"), ("b", "b2")])
    assert _drain(scheduler) == ["a1", "b1", "a2", "b2", "a3", "a4", "a5"]


def test_newcomer_waits_behind_at_most_one_request_of_the_chatty_session() -> None:
    scheduler = _queue([("a", f"a{i}") for i in range(1, 6)])
    assert scheduler.pop() == "a1"
    assert scheduler.pop() == "a2"
    scheduler.push("b", "b1", "b1")
    assert scheduler.pop() == "b1"


def test_session_that_just_ran_goes_behind_one_that_waits() -> None:
    # a1 was taken (it is running) before a2 and b1 arrived: b has not had a turn yet, so it goes first.
    scheduler = _queue([("a", "a1")])
    assert scheduler.pop() == "a1"
    scheduler.push("a", "a2", "a2")
    scheduler.push("b", "b1", "b1")
    assert _drain(scheduler) == ["b1", "a2"]


def test_long_idle_session_gets_no_saved_up_priority() -> None:
    scheduler = _queue([("a", "a1")])
    scheduler.pop()
    for i in range(1, 4):
        scheduler.push("b", f"b{i}", f"b{i}")
    assert scheduler.pop() == "b1"
    assert scheduler.pop() == "b2"
    # a was idle during b's turns; it gets the next turn, not three in a row.
    scheduler.push("a", "a2", "a2")
    scheduler.push("a", "a3", "a3")
    assert _drain(scheduler) == ["a2", "b3", "a3"]


def test_removed_request_is_never_popped() -> None:
    scheduler = _queue([("a", "a1"), ("a", "a2"), ("b", "b1")])
    assert scheduler.remove("a2") == "a2"
    assert _drain(scheduler) == ["a1", "b1"]


@pytest.mark.parametrize(
    "request_id",
    [pytest.param("zzz", id="unknown"), pytest.param("a1", id="already-popped")],
)
def test_removing_a_request_that_is_not_queued_returns_none(request_id: str) -> None:
    scheduler = _queue([("a", "a1"), ("a", "a2")])
    scheduler.pop()
    assert scheduler.remove(request_id) is None
    assert len(scheduler) == 1


def test_removing_a_sessions_last_request_forgets_the_session() -> None:
    scheduler = _queue([("a", "a1"), ("b", "b1")])
    scheduler.remove("a1")
    assert scheduler.pending("a") == 0
    assert _drain(scheduler) == ["b1"]


def test_pop_many_returns_the_same_order_as_repeated_pops() -> None:
    pushes = [("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1"), ("c", "c1"), ("c", "c2")]
    batched = _queue(pushes)
    batches = [batched.pop_many(4), batched.pop_many(4), batched.pop_many(4)]
    assert batches[0] + batches[1] == _drain(_queue(pushes))
    assert [len(batch) for batch in batches] == [4, 2, 0]


def test_length_and_pending_count_queued_requests() -> None:
    scheduler = _queue([("a", "a1"), ("a", "a2"), ("b", "b1")])
    assert (len(scheduler), scheduler.pending("a"), scheduler.pending("b")) == (3, 2, 1)
    scheduler.pop()
    assert (len(scheduler), scheduler.pending("a")) == (2, 1)


def test_drain_empties_the_queue() -> None:
    scheduler = _queue([("a", "a1"), ("b", "b1")])
    assert sorted(scheduler.drain()) == ["a1", "b1"]
    assert len(scheduler) == 0
    assert scheduler.pop() is None


@given(st.lists(st.sampled_from("abcd"), min_size=1, max_size=40))
def test_requests_queued_together_are_served_in_rounds(sessions: list[str]) -> None:
    scheduler = _queue([(session, f"{session}{i}") for i, session in enumerate(sessions)])
    order = [item[0] for item in _drain(scheduler)]
    totals = Counter(sessions)
    served: Counter[str] = Counter()
    for session in order:
        served[session] += 1
        # No session gets a second turn in a round while another still waiting has had fewer.
        waiting = [s for s in totals if served[s] < totals[s]]
        assert all(served[session] <= served[other] + 1 for other in waiting)
    assert served == totals
