"""Spreading requests over several relay channels: each request keeps one channel, so it stays in order."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from shared import protocol
from shared.relay_lanes import Lanes

A, B, C = 101, 202, 303


def prompt(rid: str) -> protocol.Prompt:
    return protocol.Prompt(
        request_id=rid,
        messages=[protocol.ChatTurn(role="user", content="hi")],
        params=protocol.GenerationParams(max_tokens=8, temperature=0),
    )


def delta(rid: str, offset: int = 0, text: str = "x") -> protocol.Delta:
    return protocol.Delta(request_id=rid, offset=offset, text=text)


def done(rid: str) -> protocol.Done:
    return protocol.Done(request_id=rid, text="x", finish_reason="stop")


def beat() -> protocol.Heartbeat:
    return protocol.Heartbeat(model="m", queue_depth=0, tokens_per_s=1, uptime_s=1)


def test_new_requests_spread_evenly_over_the_channels() -> None:
    lanes = Lanes([A, B, C], spread=True)
    chosen = [lanes.outgoing(prompt(f"r{i}")) for i in range(9)]
    assert Counter(chosen) == {A: 3, B: 3, C: 3}


def test_a_new_request_goes_to_the_channel_with_the_fewest_requests_in_flight() -> None:
    lanes = Lanes([A, B], spread=True)
    first, second = (lanes.outgoing(prompt(rid)) for rid in ("r1", "r2"))
    assert {first, second} == {A, B}
    lanes.incoming(done("r1"), first)  # r1 answered: its channel is the idle one now
    assert [lanes.outgoing(prompt(rid)) for rid in ("r3", "r4")] == [first, second]


def test_every_message_of_a_request_uses_its_channel_in_both_directions() -> None:
    server = Lanes([A, B, C], spread=True)
    client = Lanes([A, B, C], spread=False)
    for rid in ("r1", "r2", "r3", "r4"):
        lane = server.outgoing(prompt(rid))
        client.incoming(prompt(rid), lane)  # the prompt arrives on its lane
        # The client answers there: every delta, then the final answer, then nothing is pinned any more.
        replies: list[protocol.Payload] = [delta(rid, 0, "a"), delta(rid, 1, "b"), done(rid)]
        assert [client.outgoing(payload) for payload in replies] == [lane] * 3
        assert client.lane_of(rid) is None
        # The server-bot's cancel for a request still in flight follows its prompt on the same channel.
        assert server.outgoing(protocol.Cancel(request_id=rid)) == lane


def test_a_re_sent_prompt_keeps_the_channel_of_the_first() -> None:
    server = Lanes([A, B], spread=True)
    first = server.outgoing(prompt("r1"))
    server.outgoing(prompt("r2"))
    assert server.outgoing(prompt("r1")) == first


def test_a_re_sent_prompt_arriving_on_another_channel_does_not_move_a_running_request() -> None:
    client = Lanes([A, B], spread=False)
    client.incoming(prompt("r1"), A)
    client.incoming(prompt("r1"), B)
    assert client.outgoing(delta("r1")) == A


def test_control_messages_use_the_first_channel() -> None:
    lanes = Lanes([A, B, C], spread=True)
    for rid in ("r1", "r2", "r3"):
        lanes.outgoing(prompt(rid))
    assert lanes.outgoing(beat()) == A
    assert lanes.outgoing(protocol.Reboot()) == A


def test_a_client_answers_an_unknown_request_on_the_control_channel() -> None:
    client = Lanes([A, B], spread=False)
    assert client.outgoing(done("never-seen")) == A


def test_a_channel_found_later_takes_new_requests() -> None:
    lanes = Lanes([A], spread=True)
    lanes.outgoing(prompt("r1"))
    lanes.add(B)
    lanes.add(B)
    assert lanes.channel_ids == [A, B]
    assert lanes.outgoing(prompt("r2")) == B


def test_a_prompt_in_a_channel_the_link_does_not_use_pins_nothing() -> None:
    client = Lanes([A], spread=False)
    client.incoming(prompt("r1"), C)
    assert client.lane_of("r1") is None


def test_the_oldest_requests_are_forgotten_beyond_the_bound() -> None:
    lanes = Lanes([A, B], spread=True, keep=3)
    for index in range(5):
        lanes.outgoing(prompt(f"r{index}"))
    assert [lanes.lane_of(f"r{index}") is None for index in range(5)] == [True, True, False, False, False]


@given(st.lists(st.tuples(st.integers(0, 7), st.sampled_from(["prompt", "delta", "done", "cancel"]))))
def test_a_request_never_changes_channel_while_it_is_pinned(steps: list[tuple[int, str]]) -> None:
    lanes = Lanes([A, B, C], spread=True)
    pinned: dict[str, int] = {}
    for number, kind in steps:
        rid = f"r{number}"
        choices: dict[str, protocol.Payload] = {
            "prompt": prompt(rid),
            "delta": delta(rid),
            "done": done(rid),
            "cancel": protocol.Cancel(request_id=rid),
        }
        payload = choices[kind]
        lane = lanes.outgoing(payload)
        if rid in pinned:
            assert lane == pinned[rid]
        if kind == "done":
            pinned.pop(rid, None)
        else:
            pinned[rid] = lane


def test_a_new_request_goes_where_an_urgent_post_leaves_soonest_then_where_fewest_are() -> None:
    waits = {A: 1.7, B: 0.0, C: 0.0}
    lanes = Lanes([A, B, C], spread=True, wait_s=lambda channel_id: waits[channel_id])
    chosen = [lanes.outgoing(prompt(f"r{i}")) for i in range(4)]
    assert chosen[:2] in ([B, C], [C, B])  # A would hold the prompt ~1.7 s
    assert set(chosen[2:]) == {B, C}
    waits[B] = 0.5
    assert lanes.outgoing(prompt("r5")) == C
    waits.update({A: 0.0, C: 0.04})  # within a tenth of a second counts as at once: the idle A wins
    assert lanes.outgoing(prompt("r6")) == A
